"""The condition language refuses every construct outside its whitelist, with a location."""
import pytest

from engine.errors import ConditionError, Location
from engine.rules.expr import parse_condition

ORIGIN = Location(file="pack/rules.yaml", line=10, col=11, rule_id="T-01")

FORBIDDEN = [
    ("__import__('os').system('id')", "only registered functions"),
    ("__import__('os')", "names starting with '_'"),
    ("title.__class__", "names starting with '_'"),
    ("(1).real", "'.' may only follow a field name"),
    ("'abc'.upper()", "only registered functions"),
    ("lambda: 1", "lambda"),
    ("[x for x in title]", "comprehensions"),
    ("{x for x in title}", "comprehensions"),
    ("title[0]", "subscripts"),
    ("(y := 1)", "assignment expressions"),
    ("f'{title}'", "f-strings"),
    ("{'a': 1}", "dict literals"),
    ("title is None", "'is'"),
    ("2 ** display_price", "constant exponent"),
    ("2 ** 100", "constant exponent"),
    ("len(*title)", "star arguments"),
    ("len(**title)", "'**' arguments"),
    ("1 << 64", "bitwise"),
    ("b'raw'", "literal of type bytes"),
    ("1e300", "outside"),
    ("99999999999999999999", "outside"),
]


@pytest.mark.parametrize("text,expected", FORBIDDEN)
def test_forbidden_constructs_are_refused_with_location(text: str, expected: str) -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition(text, ORIGIN)
    assert expected in info.value.message
    loc = info.value.location
    assert loc.file == "pack/rules.yaml" and loc.line == 10 and loc.col is not None and loc.col >= 11
    assert loc.rule_id == "T-01"


def test_column_points_at_the_offending_part() -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition("display_price > 1 and title.__class__", ORIGIN)
    assert info.value.location.col == 11 + len("display_price > 1 and ")


def test_column_counts_characters_not_utf8_bytes() -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition("category_std == '食品' and x[0]", ORIGIN)
    assert info.value.location.col == 11 + len("category_std == '食品' and ")


def test_syntax_error_has_location() -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition("display_price >", ORIGIN)
    assert "syntax error" in info.value.message
    assert info.value.location.line == 10


def test_multiline_condition_reports_the_right_line() -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition("display_price > 1\nand title[0]", ORIGIN)
    assert info.value.location.line == 11


@pytest.mark.parametrize(
    "text",
    [
        "(" * 200 + "1" + ")" * 200,
        "not " * 2000 + "x",
        " + ".join(["1"] * 1500),
        "x" * 5000,
        "'" + "a" * 3000 + "'",
        "[" + ",".join(["1"] * 900) + "]",
    ],
)
def test_huge_or_deep_conditions_are_refused(text: str) -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition(text, ORIGIN)
    assert info.value.location.file == "pack/rules.yaml"


def test_ordinary_conditions_parse() -> None:
    cond = parse_condition(
        "category_std not in ['药品'] and contains_any(text, 'ad_ban', allow='ad_allow') and -display_price < 0 "
        "and (ref_price or 0) ** 2 >= 0 and window.sku_paid_7d.min != null",
        ORIGIN,
    )
    assert cond.source.startswith("category_std")
