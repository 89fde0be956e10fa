"""Fast paths of the text functions: they must never change an answer or its evidence.

1. Once the pack prefilter has found no term in a field, prefiltered text
   functions (contains_any, count_any, near) answer "nothing" at once
   (EvalContext.clean) instead of going through the memo and compute.
2. matches() skips RE2 when the text holds none of the literals every match of
   the pattern must contain (functions.required_literals).
"""
from __future__ import annotations

import msgspec
import pytest
import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import Location
from engine.events.examples import default_event, deep_merge
from engine.events.schema import Event
from engine.rules.compiler import Compiler
from engine.rules.context import EvalContext
from engine.rules.expr import parse_condition
from engine.rules.functions import _RE2_OPTIONS, required_literals
from engine.rules.matcher import KeywordMatcher
from engine.rules.text import normalize

_decoder = msgspec.json.Decoder(Event)

LISTS = {
    "ad_ban": KeywordMatcher.compile(["最佳", "国家级", "第一品牌"], homophones=True),
    "claims": KeywordMatcher.compile(["根治", "包治", "特效"]),
    "near_b": KeywordMatcher.compile(["产品", "疗效"]),
    "allow": KeywordMatcher.compile(["最佳食用期"]),
    "short": KeywordMatcher.compile(["券", "最佳"]),  # a one-character term: not covered by the prefilter
}
COVERED = frozenset({"ad_ban", "claims"})
PREFILTER = (KeywordMatcher.compile([t for n in sorted(COVERED) for t in LISTS[n].terms], homophones=True), COVERED)

CONDITIONS = [
    'contains_any(title, "ad_ban")',
    'contains_any(title, "ad_ban", allow="allow")',
    'count_any(title, "ad_ban")',
    'count_any(title, "claims") + count_any(title, "ad_ban")',
    'near(title, "claims", "near_b", within=4)',
    'near(title, "ad_ban", "near_b")',
    'contains_any(title, "short")',  # not prefiltered
    'contains_any(title, "claims") or matches(title, "最佳|根治")',
]

TEXTS = [
    "",
    "普通的保温杯 500ml",
    "国家级最佳产品",
    "最佳食用期见包装",
    "最佳食用期见包装，最佳口感",
    "根治疗效好",
    "包治百病的产品",
    "醉佳 国家级",  # homophone of 最佳
    "领券立减",
    "第一品牌，特效产品",
    "ＮＯ．１ 最\u200b佳",
]


def listing(title):
    return _decoder.decode(msgspec.json.encode(deep_merge(default_event("listing"), {"title": title})))


def compile_all(prefilter):
    comp = Compiler("listing", ("listing",), LISTS, {}, prefilter=prefilter)
    return [comp.compile(parse_condition(c, Location(file="t.yaml", line=1, col=1))) for c in CONDITIONS]


def run_rules(fns, event):
    """Evaluate every condition as one rule each, in order and twice (memo replay), on one context."""
    ctx = EvalContext(event, "listing", event.occurred_at.timestamp())
    out = []
    for _ in range(2):
        for fn in fns:
            ctx.begin_rule()
            value = fn(ctx)
            out.append((value, [dict(m) for m in ctx.matches]))
    return out, ctx


@pytest.mark.parametrize("title", TEXTS)
def test_prefiltered_answers_and_evidence_equal_unfiltered(title) -> None:
    event = listing(title)
    plain, _ = run_rules(compile_all(None), event)
    fast, ctx = run_rules(compile_all(PREFILTER), event)
    assert fast == plain
    for (v1, _), (v2, _) in zip(fast, plain):
        assert type(v1) is type(v2)


def test_clean_field_is_remembered_and_skips_the_memo() -> None:
    event = listing("普通的保温杯")
    fns = compile_all(PREFILTER)
    ctx = EvalContext(event, "listing", event.occurred_at.timestamp())
    assert fns[0](ctx) == ()
    assert "title" in ctx.clean
    keys = set(ctx.memo)
    assert fns[2](ctx) == 0 and fns[3](ctx) == 0 and fns[4](ctx) == ()
    assert set(ctx.memo) == keys  # answered from ctx.clean: no new memo entry
    assert ctx.matches == []


def test_dirty_field_is_not_marked_clean() -> None:
    event = listing("国家级最佳产品")
    fns = compile_all(PREFILTER)
    ctx = EvalContext(event, "listing", event.occurred_at.timestamp())
    assert fns[0](ctx) == ["国家级", "最佳"]
    assert "title" not in ctx.clean
    ctx.begin_rule()
    assert fns[4](ctx) == ()  # claims: prefilter said "some term", the list itself finds none
    assert ctx.matches == []


def test_missing_text_is_clean_for_prefiltered_functions_only() -> None:
    event = listing("")  # empty text: no normalised text at all
    fns = compile_all(PREFILTER)
    ctx = EvalContext(event, "listing", event.occurred_at.timestamp())
    assert fns[0](ctx) == () and "title" in ctx.clean
    assert fns[6](ctx) == ()  # not prefiltered: still answered by its own compute


def test_contexts_do_not_share_clean_sets() -> None:
    fns = compile_all(PREFILTER)
    a, b = listing("普通的保温杯"), listing("国家级")
    ca = EvalContext(a, "listing", a.occurred_at.timestamp())
    cb = EvalContext(b, "listing", b.occurred_at.timestamp())
    assert fns[0](ca) == ()
    assert cb.clean == frozenset()
    assert fns[0](cb) == ["国家级"]


# --- matches(): required literals -------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("最后[0-9一二两三四五六七八九十几]+(单|件|份|组|套)", ("最后",)),
        ("跑路|不发货|联系不上|关店|卷款", ("联系不上", "不发货", "关店", "卷款", "跑路")),
        ("奶粉|配方粉|婴儿配方", ("婴儿配方", "配方粉", "奶粉")),
        ("(治愈率|有效率|总有效率|好转率)(高达|达到|达)?[0-9]+%", ("好转率", "有效率", "治愈率")),
        ("[0-9三十]+倍", ("倍",)),
        ("ab*", ("a",)),  # b may be absent
        ("ab{0,12}c", ("a",)),
        ("(ab)+c?", ("ab",)),
        ("(a|b)(c|d)", ("ac", "ad", "bc", "bd")),
        ("天(内|之内)?瘦", ("天之内瘦", "天内瘦", "天瘦")),
    ],
)
def test_required_literals_of_known_patterns(pattern, expected) -> None:
    assert required_literals(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "[0-9]+",  # only a class
        "[abc]",
        "a|[0-9]",  # one branch has no literal
        "a|",  # empty branch
        "(内|之内)?",  # optional group
        "a*",
        "a{0,12}",
        "a?b?",
        ".*",
        r"\d+元",  # backslash
        r"最\u540e",
        "(?i)abc",  # flags
        "(?:ab)c",
        "(?P<x>ab)",
        "[[:digit:]]元",
        "a{,3}",  # RE2 reads it literally: left alone
        "^$",
        "",
    ],
)
def test_no_literals_when_none_can_be_proven(pattern) -> None:
    assert required_literals(pattern) is None


ATTACK_PATTERNS = [
    "最后[0-9一二两三四五六七八九十几]+(单|件|份|组|套)",
    "跑路|不发货|联系不上|关店|卷款",
    "曾(为|是|作为)[^,，。;；!！?？]{0,12}(特供|专供)",
    "[0-9一二三四五六七八九十两]+(天|日|周|个月)(内|之内)?(瘦|见效|白|美白|长高|祛斑|祛痘|减重|掉秤|减掉|消除)",
    "(治愈率|有效率|总有效率|好转率)(高达|达到|达)?[0-9]+%",
    "(a|b(c|d)?)+e",
    "(ab|cd)*ef",
    "a(b|)c",
    "(a|bc){2}d",
    "x{1,3}y",
    "a.b",
    "[ab]c|d",
    "^ab$",
    "ab+?c",
    "[]a]b",
    "[^a]b",
    "(a(b(c|d)e)|f)g",
]
ALPHABET = "abcdefgxy最后一二三件单天内之瘦曾为是特供治愈率达高到0123%,。跑路关店"


def _matches_fn(pattern):
    comp = Compiler("listing", ("listing",), LISTS, {})
    return comp.compile(parse_condition(f"matches(title, {pattern!r})", Location(file="t.yaml", line=1, col=1)))


@pytest.mark.parametrize("pattern", ATTACK_PATTERNS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=ALPHABET, max_size=24))
def test_matches_with_literal_prefilter_equals_re2(pattern, text) -> None:
    fn = _matches_fn(pattern)
    event = listing(text)
    ctx = EvalContext(event, "listing", event.occurred_at.timestamp())
    value = fn(ctx)
    norm = normalize(text) if text else None
    m = re2.compile(pattern, _RE2_OPTIONS).search(norm.text) if norm is not None else None
    assert value == (m.group(0) if m else None)
    assert bool(ctx.matches) == (m is not None)


def test_matches_evidence_unchanged_when_prefilter_passes() -> None:
    fn = _matches_fn("最后[0-9一二两三四五六七八九十几]+(单|件|份|组|套)")
    event = listing("家人们最后3单了，最后几件")
    ctx = EvalContext(event, "listing", event.occurred_at.timestamp())
    assert fn(ctx) == "最后3单"
    assert ctx.matches == [{"field": "title", "term": "最后3单", "original": "最后3单"}]
    event = listing("还有很多库存")
    ctx = EvalContext(event, "listing", event.occurred_at.timestamp())
    assert fn(ctx) is None and ctx.matches == []


# Random patterns over the restricted syntax: whenever RE2 finds a match, the text
# holds one of the required literals (soundness of the literal extraction itself).

_atoms = st.sampled_from(list("abc最后") + ["[ab]", "[^a]", ".", "^", "$", "[]a]"])


def _regex(depth: int) -> st.SearchStrategy[str]:
    atom = _atoms if depth == 0 else st.one_of(_atoms, _regex(depth - 1).map(lambda r: f"({r})"))
    quant = st.sampled_from(["", "", "", "*", "+", "?", "{0,2}", "{1,3}", "{2}", "{1,}", "*?", "+?", "??"])
    piece = st.tuples(atom, quant).map("".join)
    seq = st.lists(piece, min_size=0, max_size=4).map("".join)
    return st.lists(seq, min_size=1, max_size=3).map("|".join)


@settings(max_examples=1500, deadline=None)
@given(pattern=_regex(2), texts=st.lists(st.text(alphabet="abcd最后x", max_size=12), min_size=1, max_size=8))
def test_required_literals_are_sound_for_random_patterns(pattern, texts) -> None:
    try:
        rx = re2.compile(pattern, _RE2_OPTIONS)
    except Exception:
        return
    lits = required_literals(pattern)
    if lits is None:
        return
    assert lits and all(lits)
    for text in texts:
        if rx.search(text) is not None:
            assert any(lit in text for lit in lits), (pattern, text, lits)


def test_count_any_of_a_field_the_event_type_lacks_is_zero() -> None:
    comp = Compiler("order", ("order", "listing"), LISTS, {}, prefilter=PREFILTER)
    fn = comp.compile(parse_condition('count_any(title, "ad_ban") == 0', Location(file="t.yaml", line=1, col=1)))
    event = _decoder.decode(msgspec.json.encode(default_event("order")))
    assert fn(EvalContext(event, "order", event.occurred_at.timestamp())) is True
