"""统一社会信用代码 (USCC, GB 32100-2015): format and check-digit validation.

A USCC is 18 characters: registration authority (1), organisation category (1),
administrative region code (6 digits), organisation code (9) and a check
character (1). The check character makes typos and made-up codes detectable, so
the decoder rejects events whose ``merchant.uscc`` fails it (reason
``bad_uscc``) and the simulator uses :func:`make_uscc` to produce valid ones.
"""
from __future__ import annotations

__all__ = ["CHARSET", "WEIGHTS", "check_char", "is_valid_uscc", "make_uscc"]

#: The 31 characters a USCC may use (no I, O, S, V, Z), in value order 0..30.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weight of positions 1..17 (3**i mod 31).
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_VALUE = {c: i for i, c in enumerate(CHARSET)}
_DIGITS = frozenset("0123456789")


def _well_formed(body: str) -> bool:
    """True if ``body`` uses the USCC charset and positions 3-8 are digits."""
    return all(c in _VALUE for c in body) and all(c in _DIGITS for c in body[2:8])


def check_char(prefix17: str) -> str:
    """The check character for the first 17 characters (no format check)."""
    total = sum(_VALUE[c] * w for c, w in zip(prefix17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is a well-formed 18-character USCC with a correct check character.

    Upper case only, like the schema's pattern: platforms send codes as printed
    on the business licence (营业执照).
    """
    if not isinstance(code, str) or len(code) != 18 or not _well_formed(code):
        return False
    return check_char(code[:17]) == code[17]


def make_uscc(prefix17: str) -> str:
    """Return ``prefix17`` followed by its check character.

    Raises ``ValueError`` if the prefix is not 17 USCC characters with digits
    in positions 3-8 (the region code), so the result always passes
    :func:`is_valid_uscc`.
    """
    if not isinstance(prefix17, str) or len(prefix17) != 17 or not _well_formed(prefix17):
        raise ValueError(f"not a 17-character USCC prefix: {prefix17!r}")
    return prefix17 + check_char(prefix17)
