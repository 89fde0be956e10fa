"""Tests for engine.rules.text: what normalize() removes, keeps, folds and converts,
that its fast paths agree with the per-character definition, and that the lazy
offset map quotes the exact original characters."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.rules import text as T
from engine.rules.text import BOUNDARY_CHARS, NormText, char_norm, is_boundary, normalize


def norm(s: str) -> str:
    return normalize(s).text


# --- what happens to characters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＮＯ．１", "no1"),  # full-width letters, digit, full stop
        ("ＡＢＣ１２３ａｂｃ", "abc123abc"),
        ("Top 1", "top1"),
        ("TOP１", "top1"),
        ("Straße", "strasse"),  # full case folding
        ("zuì jiā", "zuijia"),  # pinyin tone marks are combining marks after NFKD
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana
        ("①②", "12"),
        ("™", "tm"),
        ("𝐓𝐎𝐏𝟏", "top1"),  # mathematical bold (astral) letters
    ],
)
def test_compatibility_and_case_folding(raw: str, expected: str) -> None:
    assert norm(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "最 佳",
        "最\u3000佳",  # ideographic space
        "最\t佳",
        "最\u200b佳",  # zero-width space
        "最\u200c\u200d\u200e\u200f佳",
        "最\u2060\u2061\u2062\u2063\u2064佳",
        "最\ufeff佳",
        "最\u00ad佳",  # soft hyphen
        "最\ufe0f佳",  # variation selector
        "最\U000e0101佳",  # variation selector supplement
        "最🔥佳",
        "最❤️佳",
        "最★佳",
        "最.佳",
        "最·佳",
        "最•佳",
        "最-佳",
        "最_佳",
        "最*佳",
        "最~佳",
        "最|佳",
        "最/佳",
        "最\\佳",
        "最'佳",
        '最"佳',
        "最`佳",
        "最・佳",
        "最—佳",
        "最～佳",
        "最“佳”",
        "最#佳",
        "最 . - * 佳",
    ],
)
def test_separators_inside_words_are_removed(raw: str) -> None:
    assert norm(raw) == "最佳"


@pytest.mark.parametrize("sep", list("，。！？；：、,!?;:\n\r") + ["…", "【", "】", "(", ")", "「", "《", "\u2028"])
def test_clause_boundaries_are_kept_verbatim(sep: str) -> None:
    assert is_boundary(sep)
    assert sep in BOUNDARY_CHARS
    assert norm(f"最{sep}佳") == f"最{sep}佳"


def test_fullwidth_boundaries_are_not_rewritten_to_ascii() -> None:
    # Boundaries stay as written; the matcher treats all of them as one class.
    assert norm("第一，第二") == "第一，第二"
    assert norm("a, b") == "a,b"


def test_currency_and_percent_are_kept() -> None:
    assert norm("100% ¥99") == "100%¥99"


def test_decimal_point_is_deleted_too() -> None:
    # Documented consequence: read numbers from the original, not the normalised text.
    assert norm("9.9元") == "99元"


def test_traditional_is_converted_to_simplified() -> None:
    assert norm("國家級") == "国家级"
    assert "最佳" in norm("繁體中文：這是最佳選擇")
    assert norm("這是最佳選擇") == "这是最佳选择"
    assert norm("獨一無二") == "独一无二"


def test_traditional_after_folding_is_converted() -> None:
    # A compatibility ideograph folds to a unified one that t2s then converts.
    assert char_norm("\uf900") == "豈"  # CJK COMPATIBILITY IDEOGRAPH-F900 -> U+8C48
    assert norm("\uf900") == "岂"
    assert norm("臺 灣 製 造") == "台湾制造"


def test_t2s_is_skipped_without_a_traditional_character(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(s: str) -> str:
        raise AssertionError(f"t2s called on {s!r}")

    monkeypatch.setattr(T, "_t2s", boom)
    assert norm("简体中文最佳选择，第一品牌 NO.1 🔥") == "简体中文最佳选择，第一品牌no1"


def test_empty_and_nothing_left() -> None:
    assert norm("") == ""
    assert norm(" \u200b🔥 ") == ""


def test_non_str_is_rejected() -> None:
    with pytest.raises(TypeError):
        normalize(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        normalize(b"abc")  # type: ignore[arg-type]


def test_lone_surrogates_are_deleted_not_passed_to_opencc() -> None:
    assert norm("國\ud800家\udfff級") == "国家级"


def test_no_gluing_across_sentences() -> None:
    assert "最佳" not in norm("最近。佳节快乐")
    assert "国家级" not in norm("本品销往多个国家，级别不同价格不同")


# --- the offset map -------------------------------------------------------------------------


def quote(s: str, start: int, end: int) -> str:
    n = normalize(s)
    a, b = n.original_span(start, end)
    assert n.original_text(start, end) == s[a:b]
    return s[a:b]


def test_original_span_quotes_exact_original_characters() -> None:
    assert quote("顶 级", 0, 2) == "顶 级"
    assert quote("醉佳", 0, 2) == "醉佳"
    assert quote("ＮＯ．１", 0, 3) == "ＮＯ．１"
    assert quote("买 顶·级 货", 1, 3) == "顶·级"
    assert quote("  顶🔥级  ", 0, 2) == "顶🔥级"  # deleted chars around the span are not quoted
    assert quote("國家級品質", 0, 3) == "國家級"
    assert quote("Ｔｏｐ　１！", 0, 4) == "Ｔｏｐ　１"
    assert quote("😀𝐓𝐎𝐏𝟏😀", 1, 3) == "𝐎𝐏"


def test_span_inside_a_multi_character_folding() -> None:
    # "™" becomes "tm": either letter quotes the whole original symbol.
    n = normalize("x™y")
    assert n.text == "xtmy"
    assert n.original_span(1, 2) == (1, 2)
    assert n.original_span(2, 3) == (1, 2)
    assert n.original_span(1, 3) == (1, 2)


def test_offset_map_is_lazy() -> None:
    n = normalize("顶 级")
    assert n._starts is None
    n.original_span(0, 1)
    assert n._starts is not None


def test_empty_spans_and_bounds() -> None:
    n = normalize(" 顶 级 ")
    assert n.original_span(0, 0) == (1, 1)
    assert n.original_span(2, 2) == (4, 4)
    with pytest.raises(ValueError):
        n.original_span(0, 3)
    with pytest.raises(ValueError):
        n.original_span(2, 1)
    with pytest.raises(ValueError):
        n.original_span(-1, 1)
    assert normalize("").original_span(0, 0) == (0, 0)
    assert normalize("🔥").original_span(0, 0) == (0, 0)


def test_align_fallback_when_t2s_changes_length() -> None:
    # No current OpenCC dictionary changes length; the fallback must still be exact and monotonic.
    pre, post = "abXcd", "abYYcd"
    starts, ends = [0, 1, 3, 4, 5], [1, 3, 4, 5, 6]
    s, e = T._align(pre, post, starts, ends, 6)
    assert s == [0, 1, 3, 3, 4, 5]
    assert e == [1, 3, 4, 4, 5, 6]


def test_view_is_computed_once() -> None:
    calls = []
    n = normalize("最佳")

    def fn(s: str) -> str:
        calls.append(s)
        return s.upper()

    assert n.view("k", fn) == "最佳".upper()
    assert n.view("k", fn) == "最佳".upper()
    assert calls == ["最佳"]


# --- fast paths agree with the per-character definition (exhaustive) -----------------------


def _expected(s: str) -> str:
    r = "".join(char_norm(c) for c in s)
    return T._t2s(r) if T._TRAD_SEARCH(r) else r


def test_every_bmp_character_matches_the_definition() -> None:
    bad = []
    for cp in range(0x10000):
        ch = chr(cp)
        if normalize(ch).text != _expected(ch):
            bad.append(hex(cp))
    assert not bad, bad[:20]


def test_astral_samples_match_the_definition() -> None:
    cps = list(range(0x10000, 0x110000, 97)) + list(range(0x1D400, 0x1D800)) + list(range(0x1F000, 0x1FB00))
    cps += list(range(0x2F800, 0x2FA20)) + list(range(0xE0000, 0xE0080)) + list(range(0xE0100, 0xE01F0))
    bad = [hex(cp) for cp in cps if normalize(chr(cp)).text != _expected(chr(cp))]
    assert not bad, bad[:20]


def test_whole_text_equals_concatenation_of_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(T, "_t2s", lambda s: s)  # compare before t2s (phrase conversion is contextual)
    chars = "".join(chr(cp) for cp in range(0x20, 0x10000) if not 0xD800 <= cp <= 0xDFFF)
    assert normalize(chars).text == "".join(char_norm(c) for c in chars)


def test_char_norm_is_a_fixpoint() -> None:
    bad = []
    for cp in range(0x10000):
        for out in char_norm(chr(cp)):
            if char_norm(out) != out:
                bad.append((hex(cp), out))
    assert not bad, bad[:20]


def test_lower_shortcut_is_safe() -> None:
    # normalize() applies str.lower() before the per-character folding.
    bad = []
    for cp in range(0x110000):
        ch = chr(cp)
        low = ch.lower()
        if low != ch and "".join(char_norm(c) for c in low) != char_norm(ch):
            bad.append(hex(cp))
    assert not bad, bad[:20]
    assert norm("ΟΔΟΣ") == norm("οδος") == norm("οδοσ")  # final sigma


def test_identity_blocks_skipped_by_the_scan_are_identity() -> None:
    for lo, hi in T._IDENTITY_BLOCKS:
        assert all(char_norm(chr(cp)) == chr(cp) for cp in range(lo, hi + 1))


def test_traditional_set_contains_only_characters_t2s_changes() -> None:
    assert T._TRAD_LIST
    assert all(T._t2s(c) != c for c in T._TRAD_LIST[:500])
    assert "國" in T._TRAD_LIST and "国" not in T._TRAD_LIST


# --- properties -----------------------------------------------------------------------------

_any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=60)
_tricky = st.text(
    alphabet=st.sampled_from(list("最佳顶级國家級 ·.-\u200b\ufe0f🔥ＮＯ１™①İΣ，。!\n") + ["\U0001d400", "\ud800"]),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_any_text, _tricky))
def test_normalize_never_raises_and_spans_are_sane(s: str) -> None:
    n = normalize(s)
    assert isinstance(n, NormText) and n.original == s
    length, olen = len(n.text), len(s)
    prev_start = prev_end = -1
    for i in range(length):
        a, b = n.original_span(i, i + 1)
        assert 0 <= a < b <= olen
        assert a >= prev_start and b >= prev_end  # monotonic
        prev_start, prev_end = a, b
    for i in range(length + 1):
        for j in range(i, length + 1):
            a, b = n.original_span(i, j)
            assert 0 <= a <= b <= olen
            if j > i:
                assert (a, b) == (n.original_span(i, i + 1)[0], n.original_span(j - 1, j)[1])
    # Empty spans move forward with their position.
    empties = [n.original_span(i, i)[0] for i in range(length + 1)]
    assert empties == sorted(empties)


@settings(max_examples=200, deadline=None)
@given(_tricky)
def test_each_normalised_character_comes_from_its_original_span(s: str) -> None:
    n = normalize(s)
    for i, ch in enumerate(n.text):
        a, b = n.original_span(i, i + 1)
        source = "".join(char_norm(c) for c in s[a:b])
        assert ch in source or ch in T._t2s(source)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_any_text, _tricky))
def test_offset_map_equals_the_naive_per_character_map(s: str) -> None:
    n = normalize(s)
    starts: list[int] = []
    for i, c in enumerate(s):
        starts.extend([i] * len(char_norm(c)))
    assert len(starts) == len(n.text)  # t2s never changes the length
    assert [n.original_span(i, i + 1) for i in range(len(n.text))] == [(i, i + 1) for i in starts]


def test_idempotent_on_common_text() -> None:
    for s in ["ＮＯ．１ 顶·级 國家級 🔥 Top one", "最近。佳节", "Straße ™ ①"]:
        once = norm(s)
        assert norm(once) == once
