"""Tests for engine.rules.matcher: evasion variants match, ordinary words do not,
allow lists suppress exempt contexts, evidence quotes the exact original text,
and untrusted term lists are validated."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.rules.matcher import MAX_TERM_CHARS, MAX_TERMS, KeywordMatcher, Match, TermError
from engine.rules.text import normalize

BAN = ["最佳", "最高级", "国家级", "第一品牌", "销量第一", "NO.1", "TOP1", "顶级", "治愈"]


@pytest.fixture(scope="module")
def ban() -> KeywordMatcher:
    return KeywordMatcher.compile(BAN)


@pytest.fixture(scope="module")
def ban_homophones() -> KeywordMatcher:
    return KeywordMatcher.compile(BAN, homophones=True)


def find(m: KeywordMatcher, text: str, allow: KeywordMatcher | None = None) -> list[tuple[str, str]]:
    """(term, original) pairs, after checking each match's evidence is exact."""
    n = normalize(text)
    out = []
    for hit in m.find(n, allow=allow):
        assert isinstance(hit, Match)
        assert hit.original == text[hit.original_start : hit.original_end]
        assert (hit.original_start, hit.original_end) == n.original_span(hit.start, hit.end)
        assert 0 <= hit.start < hit.end <= len(n.text)
        out.append((hit.term, hit.original))
    assert m.search(n) == bool(m.find(n))
    return out


# --- variants that must match, with the exact original quoted --------------------------------


@pytest.mark.parametrize(
    ("text", "term", "original"),
    [
        ("全场ＮＯ．１好货", "NO.1", "ＮＯ．１"),
        ("we are no 1 here", "NO.1", "no 1"),
        ("N O . 1", "NO.1", "N O . 1"),
        ("No.1!", "NO.1", "No.1"),
        ("No.one", "NO.1", "No.one"),
        ("品质Top 1", "TOP1", "Top 1"),
        ("top一", "TOP1", "top一"),
        ("Top one 单品", "TOP1", "Top one"),
        ("ＴＯＰ１", "TOP1", "ＴＯＰ１"),
        ("买 顶 级 好物", "顶级", "顶 级"),
        ("顶·级面料", "顶级", "顶·级"),
        ("顶.级", "顶级", "顶.级"),
        ("顶🔥级", "顶级", "顶🔥级"),
        ("顶\u200b级", "顶级", "顶\u200b级"),
        ("顶️级", "顶级", "顶️级"),
        ("「國家級」非遺", "国家级", "國家級"),
        ("這是最佳選擇", "最佳", "最佳"),
        ("最\u3000佳", "最佳", "最\u3000佳"),
        ("销量第1", "销量第一", "销量第1"),
        ("销量第壹", "销量第一", "销量第壹"),
        ("銷量第一", "销量第一", "銷量第一"),
        ("第１品牌", "第一品牌", "第１品牌"),
    ],
)
def test_evasion_variants_match(ban: KeywordMatcher, text: str, term: str, original: str) -> None:
    assert find(ban, text) == [(term, original)]


@pytest.mark.parametrize(
    ("text", "original"),
    [
        ("好评如潮醉佳之选", "醉佳"),
        ("zui佳", "zui佳"),
        ("最jia", "最jia"),
        ("zuijia", "zuijia"),
        ("ZUI JIA 推荐", "ZUI JIA"),
        ("Zuì Jiā", "Zuì Jiā"),
        ("醉 佳", "醉 佳"),
        ("醉jia", "醉jia"),
    ],
)
def test_homophones_and_pinyin(ban: KeywordMatcher, ban_homophones: KeywordMatcher, text: str, original: str) -> None:
    assert find(ban_homophones, text) == [("最佳", original)]
    assert find(ban, text) == []  # homophones are opt-in per list


def test_homophones_keep_numerals(ban_homophones: KeywordMatcher) -> None:
    assert find(ban_homophones, "销量弟1") == [("销量第一", "销量弟1")]
    assert find(ban_homophones, "xiaoliangdiyi") == [("销量第一", "xiaoliangdiyi")]


@pytest.mark.parametrize("text", ["打底衣", "罪加一等", "严禁醉驾", "嘴甲"])
def test_homophone_only_spans_are_not_matches(ban_homophones: KeywordMatcher, text: str) -> None:
    # Every character substituted: ordinary Chinese, not an evasion (底衣 ~ 第一, 醉驾 ~ 最佳).
    assert find(ban_homophones, text) == []
    assert find(KeywordMatcher.compile(["第一"], homophones=True), text) == []


def test_homophone_context_reading() -> None:
    m = KeywordMatcher.compile(["银行"], homophones=True)
    assert find(m, "yinhang") == [("银行", "yinhang")]
    assert find(m, "银航") == [("银行", "银航")]


def test_homophone_rejection_falls_back_to_a_shorter_match() -> None:
    m = KeywordMatcher.compile(["最佳", "最佳品牌"], homophones=True)
    # "最佳频排": 频排 ~ 品牌 by sound but 最佳 is literal, so the long term is plausible.
    assert find(m, "最佳频排") == [("最佳品牌", "最佳频排")]
    m2 = KeywordMatcher.compile(["佳品", "罪佳品"], homophones=True)
    assert find(m2, "醉佳品") == [("罪佳品", "醉佳品")]


# --- things that must not match ---------------------------------------------------------------


def test_plain_sentence_break() -> None:
    assert find(KeywordMatcher.compile(["最佳"]), "最近。佳节快乐") == []


@pytest.mark.parametrize(
    "text",
    ["最近上新", "第一步：清洁面部", "最高立减50元", "最后一步", "第一次购买", "最大化", "最少", "最好先咨询客服"],
)
def test_ordinary_words_are_not_matched(text: str) -> None:
    m = KeywordMatcher.compile(["最佳", "第一品牌", "最高级"])
    assert find(m, text) == []
    assert find(KeywordMatcher.compile(["最佳", "第一品牌", "最高级"], homophones=True), text) == []


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("本品销往多个国家，级别不同价格不同", "国家级"),  # would glue into 国家级别
        ("看月销量：第一批已售罄", "销量第一"),  # would glue into 销量第一批
        ("选最\n佳节礼物", "最佳"),
        ("顶【级】", "顶级"),
    ],
)
def test_no_gluing_across_clause_boundaries(text: str, term: str) -> None:
    m = KeywordMatcher.compile([term])
    assert find(m, text) == []
    glued = text.replace("。", "").replace("，", "").replace("：", "").replace("\n", "").replace("【", "").replace("】", "")
    assert find(m, glued) != []  # proves the example would glue without the boundary


# --- allow lists --------------------------------------------------------------------------------


def test_allow_list_suppresses_exempt_contexts(ban: KeywordMatcher) -> None:
    allow = KeywordMatcher.compile(["最佳食用期", "最佳使用方法", "治愈系"])
    assert find(ban, "本品最佳食用期为3个月", allow) == []
    assert find(ban, "最 佳 食用期：30天", allow) == []
    assert find(ban, "最佳食用期3个月，口感最佳", allow) == [("最佳", "最佳")]
    assert find(ban, "治愈系萌宠玩偶", allow) == []
    assert find(ban, "治愈系玩偶，能治愈失眠", allow) == [("治愈", "治愈")]
    assert find(ban, "本品最佳食用期为3个月") == [("最佳", "最佳")]  # without allow


def test_allow_list_overlap_is_any_overlap(ban: KeywordMatcher) -> None:
    allow = KeywordMatcher.compile(["佳食"])
    assert find(ban, "最佳食品", allow) == []


# --- matching semantics -------------------------------------------------------------------------


def test_leftmost_longest_and_non_overlapping() -> None:
    m = KeywordMatcher.compile(["最高", "最高级", "级别", "佳品", "最佳"])
    assert find(m, "最高级别") == [("最高级", "最高级")]
    assert find(m, "最佳品") == [("最佳", "最佳")]
    assert find(m, "最高 最佳 最高级") == [("最高", "最高"), ("最佳", "最佳"), ("最高级", "最高级")]


def test_term_is_reported_as_written_and_duplicates_keep_the_first() -> None:
    m = KeywordMatcher.compile(["NO.1", "第一", "第1", "ＮＯ１"])
    # Duplicates are judged on the normalised text. Among numeral-equivalent
    # terms, the one spelled like the text wins, otherwise the first listed.
    assert m.terms == ("NO.1", "第一", "第1")
    assert find(m, "no1 第壹 第1 第一") == [("NO.1", "no1"), ("第一", "第壹"), ("第1", "第1"), ("第一", "第一")]


def test_numerals_can_be_disabled() -> None:
    m = KeywordMatcher.compile(["第一"], numerals=False)
    assert find(m, "第1") == []
    assert find(m, "第一") == [("第一", "第一")]


def test_numeral_folding_works_both_ways() -> None:
    m = KeywordMatcher.compile(["top1", "第一", "两天见效"])
    assert find(m, "TOP一") == [("top1", "TOP一")]
    assert find(m, "第1") == [("第一", "第1")]
    assert find(m, "2天见效") == [("两天见效", "2天见效")]
    assert find(m, "贰天见效") == [("两天见效", "贰天见效")]


def test_long_numeric_term_uses_the_collapsed_form() -> None:
    m = KeywordMatcher.compile(["12315热线", "最佳"])
    assert find(m, "一二三一五热线") == [("12315热线", "一二三一五热线")]
    assert find(m, "壹2叁1five 热线") == [("12315热线", "壹2叁1five 热线")]
    assert find(m, "12315") == []


def test_term_with_a_boundary_matches_any_boundary() -> None:
    m = KeywordMatcher.compile(["第一，"])
    assert find(m, "第一。然后") == [("第一，", "第一。")]
    assert find(m, "第1, 然后") == [("第一，", "第1,")]
    assert find(m, "第一步") == []


def test_regex_metacharacters_are_literal() -> None:
    m = KeywordMatcher.compile(["a+b", "(?i)最佳", "100%", "x$"])
    assert m.terms == ("a+b", "(?i)最佳", "100%", "x$")
    assert find(m, "ab") == [("a+b", "ab")]  # "+" is a symbol: deleted like in text
    assert find(m, "最佳") == []
    assert find(m, "（？i）最佳") == [("(?i)最佳", "（？i）最佳")]
    assert find(m, "百分百 100%") == [("100%", "100%")]
    assert find(m, "x $") == [("x$", "x $")]  # currency signs are kept
    assert find(m, "x") == []


def test_empty_list_never_matches() -> None:
    m = KeywordMatcher.compile([])
    assert len(m) == 0
    assert find(m, "最佳") == []


def test_search_is_a_cheap_yes_no(ban: KeywordMatcher, ban_homophones: KeywordMatcher) -> None:
    assert ban.search(normalize("顶 级"))
    assert not ban.search(normalize("连衣裙"))
    assert ban_homophones.search(normalize("醉佳"))
    assert not ban_homophones.search(normalize("醉驾"))


# --- validation of untrusted terms ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "needle"),
    [
        (["最佳", ""], "#2 is empty"),
        (["   "], "#1 is empty"),
        (["\u200b\u200b"], "'\\u200b\\u200b' normalises to nothing"),
        (["🔥"], "'🔥' normalises to nothing"),
        (["..."], "'...' normalises to nothing"),
        (["，"], "only punctuation"),
        (["最佳", 100], "#2 100 is a int"),
        (["最佳", None], "#2 None is a NoneType"),
        (["x" * (MAX_TERM_CHARS + 1)], "characters long"),
        (["\ufdfa" * 5], "normalises to 75 characters"),  # one ligature is 15 Arabic letters
    ],
)
def test_bad_terms_are_rejected_with_their_name(terms: list, needle: str) -> None:
    with pytest.raises(TermError) as err:
        KeywordMatcher.compile(terms)
    assert needle in str(err.value)
    assert isinstance(err.value, ValueError)


def test_too_many_terms() -> None:
    with pytest.raises(TermError, match="too many terms"):
        KeywordMatcher.compile([f"词{i}" for i in range(MAX_TERMS + 1)])


def test_pattern_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.rules import matcher

    monkeypatch.setattr(matcher, "MAX_PATTERN_CHARS", 2_000)
    KeywordMatcher.compile([f"型号{i}" for i in range(10)])
    with pytest.raises(TermError, match="list too large"):
        KeywordMatcher.compile([f"{chr(0x4E00 + i)}{i:04d}" for i in range(100)])


def test_a_single_string_is_not_a_list() -> None:
    with pytest.raises(TermError, match="not a single string"):
        KeywordMatcher.compile("最佳")  # type: ignore[arg-type]


def test_term_error_names_the_index() -> None:
    with pytest.raises(TermError) as err:
        KeywordMatcher.compile(["最佳", "ok", ""])
    assert err.value.index == 2 and err.value.term == ""


@pytest.mark.parametrize(
    ("term", "homophones"),
    [("装" * 64, True), ("1" * 64, False), ("一二三四五六七八九〇" * 6, True), ("zhuang" * 10, True), ("第一，" * 21, True)],
)
def test_extreme_terms_compile_and_match_themselves(term: str, homophones: bool) -> None:
    m = KeywordMatcher.compile([term], homophones=homophones)
    assert m.search(normalize(term))
    assert find(m, "x" + term + "x")[0][0] == term


def test_max_length_term_is_accepted() -> None:
    term = "最" * MAX_TERM_CHARS
    m = KeywordMatcher.compile([term])
    assert find(m, "x" + term + "x") == [(term, term)]


# --- properties -----------------------------------------------------------------------------

_CJK = "最佳顶级国家第品牌销量治愈好高低"
_DECOR = [" ", "\u200b", "·", ".", "🔥", "\ufe0f", "-", "\u3000"]


@settings(max_examples=200, deadline=None)
@given(
    terms=st.lists(st.text(alphabet=_CJK, min_size=2, max_size=5), min_size=1, max_size=8),
    pick=st.integers(min_value=0),
    decor=st.lists(st.sampled_from(_DECOR), max_size=6),
    prefix=st.text(alphabet="xyzw", max_size=5),
    suffix=st.text(alphabet="xyzw", max_size=5),
)
def test_a_decorated_term_is_always_found(terms: list[str], pick: int, decor: list[str], prefix: str, suffix: str) -> None:
    m = KeywordMatcher.compile(terms)
    term = terms[pick % len(terms)]
    chars = list(term)
    for k, d in enumerate(decor):
        chars.insert(1 + (k % (len(term) - 1)) * 2 if len(chars) > 1 else 1, d)
    written = "".join(chars)
    hits = m.find(normalize(prefix + written + suffix))
    assert len(hits) == 1
    assert normalize(hits[0].term).text == term or normalize(term).text in normalize(hits[0].term).text
    assert hits[0].original.startswith(term[0]) and hits[0].original.endswith(term[-1])


@settings(max_examples=200, deadline=None)
@given(
    terms=st.lists(st.text(min_size=1, max_size=6).filter(lambda t: normalize(t).text.strip("，。,!?;:") != ""), min_size=1, max_size=6),
    text=st.text(max_size=60),
    homophones=st.booleans(),
)
def test_find_never_raises_and_matches_are_ordered(terms: list[str], text: str, homophones: bool) -> None:
    try:
        m = KeywordMatcher.compile(terms, homophones=homophones)
    except TermError:
        return
    n = normalize(text)
    hits = m.find(n)
    last_end = 0
    for h in hits:
        assert last_end <= h.start < h.end <= len(n.text)
        assert h.term in m.terms
        assert h.original == text[h.original_start : h.original_end]
        last_end = h.end
