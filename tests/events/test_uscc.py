"""USCC (统一社会信用代码) check character, GB 32100-2015."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events.uscc import CHARSET, WEIGHTS, is_valid_uscc, make_uscc

_ALNUM = st.sampled_from(CHARSET)
_DIGIT = st.sampled_from("0123456789")
prefixes = st.tuples(
    st.text(_ALNUM, min_size=2, max_size=2),  # registration authority, organisation category
    st.text(_DIGIT, min_size=6, max_size=6),  # region code
    st.text(_ALNUM, min_size=9, max_size=9),  # organisation code
).map("".join)


def test_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))
    assert len(CHARSET) == 31 and not set("IOSVZ") & set(CHARSET)


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the worked example of GB 32100-2015
        "91330106MA2H3K7PX5",  # examples.py
        "91440305MA5G7T3N8L",
        "92330106MA2J0B1C5U",
    ],
)
def test_valid_codes(code: str) -> None:
    assert is_valid_uscc(code)


def test_check_value_31_becomes_0_and_30_is_Y() -> None:
    assert make_uscc("0" * 17) == "0" * 18  # sum 0 -> 31 - 0 = 31 -> '0'
    assert make_uscc("1" + "0" * 16) == "1" + "0" * 16 + "Y"  # sum 1 -> 30 -> 'Y'


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # 17 chars
        "91350100M000100Y433",  # 19 chars
        "91350100m000100y43",  # lower case
        "91350100M000100I43",  # I is not in the charset
        "913501A0M000100Y43",  # region part must be digits
        "91350100M000100Y43\n",
        "",
        "９1350100M000100Y43",  # full-width digit
    ],
)
def test_invalid_codes(code: str) -> None:
    assert not is_valid_uscc(code)


def test_non_string_is_invalid() -> None:
    assert not is_valid_uscc(None)  # type: ignore[arg-type]
    assert not is_valid_uscc(913501)  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["", "9135010", "91350100M000100Y43", "91350A00M000100Y4", "91350100M00010OY4"])
def test_make_uscc_rejects_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError):
        make_uscc(prefix)


@settings(max_examples=300, deadline=None)
@given(prefixes, st.integers(0, 17), _ALNUM)
def test_made_codes_are_valid_and_any_single_change_is_caught(prefix: str, pos: int, char: str) -> None:
    code = make_uscc(prefix)
    assert len(code) == 18 and code.startswith(prefix) and is_valid_uscc(code)
    changed = code[:pos] + char + code[pos + 1 :]
    if changed != code:
        # 31 is prime and no weight is 0 mod 31, so every single substitution changes the check.
        assert not is_valid_uscc(changed)
