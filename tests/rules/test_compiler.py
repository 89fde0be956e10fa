"""Compiled conditions: null-safe semantics, type checks, unknown names refused."""
from __future__ import annotations


import msgspec
import pytest

from engine.errors import ConditionError, Location
from engine.events.examples import default_event, deep_merge
from engine.events.schema import Event
from engine.rules.compiler import Compiler, WindowRef
from engine.rules.context import EvalContext
from engine.rules.expr import parse_condition
from engine.rules.matcher import KeywordMatcher

_decoder = msgspec.json.Decoder(Event)
LISTS = {
    "ad_ban": KeywordMatcher.compile(["最佳", "国家级", "第一品牌"], homophones=True),
    "ad_allow": KeywordMatcher.compile(["最佳食用期"]),
}
WINDOWS = {"sku_paid_7d": WindowRef("sku_paid_7d", frozenset({"min", "count"}), (("merchant", "merchant_id"), ("sku_id",)))}


class FakeWindow:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def listing(**patch):
    return _decoder.decode(msgspec.json.encode(deep_merge(default_event("listing"), patch)))


def evaluate(text: str, event=None, etype="listing", windows=None, types=None):
    event = event if event is not None else listing()
    comp = Compiler(etype, types or (etype,), LISTS, WINDOWS)
    fn = comp.compile(parse_condition(text, Location(file="t.yaml", line=1, col=1)))
    reader = (lambda c, name: (windows or {}).get(name))
    ctx = EvalContext(event, etype, event.occurred_at.timestamp(), reader)
    return fn(ctx), ctx


def test_null_fields_make_ordering_false_but_equality_works() -> None:
    ev = listing(ref_price=None)
    assert evaluate("ref_price > 1", ev)[0] is False
    assert evaluate("ref_price < 1", ev)[0] is False
    assert evaluate("ref_price == null", ev)[0] is True
    assert evaluate("ref_price != null", ev)[0] is False


def test_arithmetic_with_null_or_zero_division_is_null() -> None:
    ev = listing(ref_price=None)
    assert evaluate("ref_price * 2 == null", ev)[0] is True
    assert evaluate("display_price / (display_price - display_price) == null", ev)[0] is True
    with pytest.raises(ConditionError):
        evaluate("display_price / 0 > 1", ev)


def test_nested_optional_fields_are_null_safe() -> None:
    assert evaluate("promo.claimed_discount == null", listing(promo=None))[0] is True
    assert evaluate("merchant.op_region_code == '330106'", listing(merchant={"op_region_code": "330106"}))[0] is True


def test_membership_and_enumerated_values_are_checked() -> None:
    assert evaluate("category_std in ['食品', '保健食品']", listing(category_std="食品"))[0] is True
    with pytest.raises(ConditionError, match="not a possible value"):
        evaluate("category_std == '食物'")
    with pytest.raises(ConditionError, match="not a possible value"):
        evaluate("category_std in ['食物']")


def test_type_mismatch_is_a_compile_error() -> None:
    with pytest.raises(ConditionError, match="never true"):
        evaluate("display_price == '12'")
    with pytest.raises(ConditionError, match="arithmetic"):
        evaluate("title * 2 > 1")


def test_unknown_field_function_window_and_model_are_errors_with_hints() -> None:
    with pytest.raises(ConditionError, match="did you mean 'display_price'"):
        evaluate("display_prise > 1")
    with pytest.raises(ConditionError, match="unknown function 'contains_al'"):
        evaluate("contains_al(text, 'ad_ban')")
    with pytest.raises(ConditionError, match="unknown window"):
        evaluate("window.nope.count > 1")
    with pytest.raises(ConditionError, match="does not compute 'max'"):
        evaluate("window.sku_paid_7d.max > 1")
    with pytest.raises(ConditionError, match="unknown model"):
        evaluate("score.live_traffic > 0.5")
    with pytest.raises(ConditionError, match="unknown keyword list"):
        evaluate("contains_any(text, 'nope')")


def test_field_of_another_event_type_is_null_for_this_type() -> None:
    value, _ = evaluate("asr_text == null", types=("listing", "live_utterance"))
    assert value is True


def test_text_functions_return_terms_and_record_evidence() -> None:
    ev = listing(title="醉佳 品质 国 家 级", detail_text="最佳食用期三天", subtitle="", ocr_text="")
    value, ctx = evaluate("contains_any(text, 'ad_ban', allow='ad_allow')", ev)
    assert value == ["最佳", "国家级"]
    originals = {m["original"] for m in ctx.matches}
    assert "醉佳" in originals and "国 家 级" in originals


def test_regex_is_re2_and_linear() -> None:
    ev = listing(title="", detail_text="a" * 15000 + "b", subtitle="", ocr_text="")
    value, _ = evaluate("matches(detail_text, '(a+)+$')", ev)
    assert value is None
    with pytest.raises(ConditionError, match="bad regular expression"):
        evaluate("matches(title, '(?<=a)b')")


def test_window_reads_use_the_reader() -> None:
    value, ctx = evaluate("window.sku_paid_7d.min < display_price", listing(display_price=100.0),
                          windows={"sku_paid_7d": FakeWindow(min=59.0, count=3)})
    assert value is True
    assert "sku_paid_7d" in ctx.windows_seen


def test_functions() -> None:
    ev = listing(display_price=10.0, ref_price=20.0, licences=[{"type": "食品经营许可证", "no": "JY1"}])
    assert evaluate("ratio(ref_price, display_price) == null", listing(ref_price=None))[0] is True
    assert evaluate("ratio(ref_price, display_price) == 2", ev)[0] is True
    assert evaluate("has_any(pluck(licences, 'type'), ['食品经营许可证'])", ev)[0] is True
    assert evaluate("min(display_price, ref_price) == 10", ev)[0] is True
    assert evaluate("coalesce(feed_price, display_price) == 10", ev)[0] is True
    with pytest.raises(ConditionError, match="no member"):
        evaluate("pluck(licences, 'nope')", ev)
    with pytest.raises(ConditionError, match="takes 2 argument"):
        evaluate("ratio(display_price)", ev)
