"""Text normalisation applied once per event text field, before keyword matching.

Merchants evade keyword lists with full-width letters (ＮＯ．１), spaces,
dots, emoji or zero-width characters inside a word (顶 级, 顶·级, 最\\u200b佳),
capitals (Top1) and traditional characters (國家級). :func:`normalize` undoes
all of that in one pass so a list term matches every such spelling, and keeps
the original string so evidence can quote exactly what the merchant wrote.

What happens to each character
------------------------------
The normalisation is a *per-character* function ``char_norm(c)`` followed by
traditional → simplified conversion of the whole text:

1. Compatibility decomposition and case folding: ``NFKD`` → ``casefold`` →
   ``NFKD`` (full-width → half-width, ligatures, circled digits ① → 1,
   compatibility ideographs, capitals → lower case), then every character that
   step produced is kept, deleted or kept as a boundary (below), and the rest
   is recomposed (``NFC``). Because combining marks are deleted, accents and
   pinyin tone marks disappear: "zuì" → "zui", "é" → "e".
2. **Deleted** (they carry no meaning inside a word and are used to split one):
   whitespace (Unicode ``Zs``, tab), control and format characters (``Cc``
   other than line breaks, ``Cf``: U+200B..U+200F, U+2060..U+2064, U+FEFF,
   U+00AD, bidi controls, tag characters), combining and enclosing marks
   (``Mn``/``Me``: variation selectors, keycap), surrogates, private-use and
   unassigned code points, all symbols (``So``/``Sk``/``Sm``: emoji, ★, ♥,
   ©, °, +, =, <, >, |, ~, ^, `), dashes and connectors (``Pd``/``Pc``:
   - _ — ～), typographic quotes (``Pi``/``Pf``: “ ” ‘ ’), and every other
   punctuation (``Po``) that is not a boundary: . · • ・ ' " * / \\ # @ & ※.
   Currency signs (``Sc``) and ``% ‰ ‱`` are kept.
3. **Kept verbatim as clause boundaries** (so a term never glues across
   sentences, e.g. "最近。佳节" never contains 最佳): line breaks
   (``\\n \\r \\v \\f`` U+001C..U+001E U+0085 U+2028 U+2029), the clause
   punctuation ``, ! ? ; :`` and ``，。！？；：、｡､`` with their small and
   vertical forms, ellipses ``… ‥ ⋯ ︙ ︰``, ``¡ ¿ ‼ ⁇ ⁈ ⁉`` and every
   opening/closing bracket (``Ps``/``Pe``: ( ) [ ] { } 【 】 「 」 《 》 …).
   Boundaries are *not* rewritten to one character (that would cost a
   replacement per comma on the hot path); :data:`BOUNDARY_CLASS` is a regex
   class matching all of them and the keyword matcher treats them as one.
4. Traditional → simplified with OpenCC ``t2s`` (phrase-aware), run only when
   the text contains a character that ``t2s`` changes on its own. That set is
   found once at import by converting every BMP CJK ideograph; characters
   that OpenCC changes only inside a phrase (沈 in 深沈, 覆 in 回覆) do not
   trigger conversion of an otherwise simplified text. Any astral-plane
   character left after step 1 also triggers conversion (rare, and
   TSCharactersExt maps some of them).

Why per character and not whole-string NFKC: it makes a term normalised on its
own identical to the same term normalised inside a text, keeps the common path
to a few C-level regex scans, and makes the offset map exact (every normalised
character comes from exactly one original character). The only difference from
whole-string NFKC is that combining sequences are not composed (their marks are
deleted instead) and Hangul jamo sequences stay decomposed.

Note for rule authors: "." between digits is deleted too ("9.9元" → "99元"),
so prices and numbers must be read from the original text, not this one.
"""
from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any, Callable

__all__ = ["NormText", "normalize", "normalize_term", "char_norm", "is_boundary", "BOUNDARY_CHARS", "BOUNDARY_CLASS"]

_BOUNDARY_EXPLICIT = frozenset(
    "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # line and paragraph breaks
    ",!?;:"  # ASCII clause punctuation
    "，。！？；：、｡､"  # CJK, full-width and half-width forms
    "﹐﹑﹔﹕﹖﹗︐︑︒︓︔︕︖"  # small and vertical forms
    "…‥⋯︙︰"  # ellipses
    "¡¿‼⁇⁈⁉"
)
_BOUNDARY_CATEGORIES = frozenset(("Ps", "Pe", "Zl", "Zp"))
_KEEP_PUNCT = frozenset("%‰‱")
_DELETE_CATEGORIES = frozenset(
    ("Zs", "Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "So", "Sk", "Sm", "Pd", "Pc", "Pi", "Pf", "Po")
)
_category = unicodedata.category
_unorm = unicodedata.normalize


def is_boundary(ch: str) -> bool:
    """True if the single character ``ch`` is kept as a clause boundary."""
    return ch in _BOUNDARY_EXPLICIT or _category(ch) in _BOUNDARY_CATEGORIES


def _keep(ch: str) -> bool:
    if ch in _BOUNDARY_EXPLICIT or ch in _KEEP_PUNCT:
        return True
    cat = _category(ch)
    return cat in _BOUNDARY_CATEGORIES or cat not in _DELETE_CATEGORIES


def char_norm(ch: str) -> str:
    """Normalised form of one character: '' if deleted, itself if kept, else its folding.

    This is the definition every fast path below must agree with (tests check
    that they do for every code point). The result is a fixpoint: every
    character of ``char_norm(c)`` normalises to itself.
    """
    if is_boundary(ch):
        return ch
    s = ch
    for _ in range(4):  # iterate to a fixpoint; one or two rounds in practice
        d = _unorm("NFKD", _unorm("NFKD", s).casefold())
        t = _unorm("NFC", "".join([c for c in d if _keep(c)]))
        if t == s:
            break
        s = t
    return s


# --- tables built once at import (~90 ms incl. OpenCC; see benchmarks/bench_text.py) ----------

# Blocks known to be identity under char_norm; skipped by the scan for speed (tests re-check).
_IDENTITY_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3))


def _scan_bmp() -> tuple[list[str], dict[str, str], list[str]]:
    """Split the BMP into deleted chars, changed chars (with their form) and boundaries."""
    deleted: list[str] = []
    changed: dict[str, str] = {}
    boundaries: list[str] = []
    skip = iter(_IDENTITY_BLOCKS)
    lo, hi = next(skip)
    cp = 0
    while cp < 0x10000:
        if cp == lo:
            cp = hi + 1
            lo, hi = next(skip, (-1, -1))
            continue
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or 0xE000 <= cp <= 0xF8FF:  # surrogates, private use
            deleted.append(ch)
        elif is_boundary(ch):
            boundaries.append(ch)
        else:
            r = char_norm(ch)
            if r == "":
                deleted.append(ch)
            elif r != ch:
                changed[ch] = r
        cp += 1
    return deleted, changed, boundaries


def _char_class(chars: list[str] | set[str], extra: str = "") -> str:
    """A regex character class for ``chars`` written as ranges (plus raw ``extra`` ranges)."""
    cps = sorted({ord(c) for c in chars})
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        a, b = chr(cps[i]), chr(cps[j])
        parts.append(re.escape(a) if i == j else f"{re.escape(a)}-{re.escape(b)}")
        i = j + 1
    return "[" + "".join(parts) + extra + "]"


def _astral_deleted_ranges() -> str:
    """Astral emoji/tag blocks that char_norm deletes entirely, as raw class ranges.

    Emoji are common in titles; deleting them with the C-level regex instead of
    the per-run callback keeps titles with emoji inside the time budget.
    """
    out = []
    for lo, hi in ((0x1F300, 0x1FAFF), (0xE0000, 0xE007F), (0xE0100, 0xE01EF)):
        if all(char_norm(chr(cp)) == "" for cp in range(lo, hi + 1)):
            out.append(f"{chr(lo)}-{chr(hi)}")
    return "".join(out)


def _traditional_chars() -> list[str]:
    """BMP ideographs that OpenCC t2s changes on their own (probed once, ~10 ms)."""
    chars = [chr(c) for r in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF)) for c in range(r[0], r[1] + 1)]
    converted = _T2S.convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never seen; fall back to one call per char
        converted = [_T2S.convert(c) for c in chars]
    return [a for a, b in zip(chars, converted) if a != b]


def _make_t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


_T2S = _make_t2s()
_ASTRAL = "\U00010000-\U0010ffff"
_DEL_LIST, _CHANGED, _BOUNDARY_LIST = _scan_bmp()
_DEL_SET = frozenset(_DEL_LIST)
_TRAD_LIST = _traditional_chars()

BOUNDARY_CHARS: frozenset[str] = frozenset(_BOUNDARY_LIST)
"""Every BMP character kept as a clause boundary (there are none outside the BMP)."""
BOUNDARY_CLASS: str = _char_class(_BOUNDARY_LIST)
"""A regex character class matching any boundary character."""

_del_class = _char_class(_DEL_LIST, _astral_deleted_ranges())
_xf_class = _char_class(list(_CHANGED), _ASTRAL)
# Pattern "[X][X]*" (not "[X]+") so the regex engine can skip ahead with its
# first-character set instead of trying a repeat at every position.
_DEL_SUB = re.compile(_del_class + _del_class + "*").sub
_XF_RE = re.compile(_xf_class + _xf_class + "*")
_XF_SEARCH = _XF_RE.search
_XF_SUB = _XF_RE.sub
_TRAD_SEARCH = re.compile(_char_class(_TRAD_LIST, _ASTRAL)).search
_SPECIAL_SEARCH = re.compile(_char_class(_DEL_LIST + list(_CHANGED) + _TRAD_LIST, _ASTRAL)).search
_NOT_IDENTITY_FINDITER = re.compile(_char_class(_DEL_LIST + list(_CHANGED), _ASTRAL)).finditer
_t2s = _T2S.convert


class _XfTable(dict):  # type: ignore[type-arg]
    """str.translate table: BMP folds precomputed, astral code points computed on demand."""

    def __missing__(self, cp: int) -> str:
        r = char_norm(chr(cp))
        if len(self) < 200_000:  # bound memory against adversarial input
            self[cp] = r
        return r


_XF_TABLE = _XfTable({ord(k): v for k, v in _CHANGED.items()})
_XF_TABLE.update({ord(c): "" for c in _DEL_LIST})


def _xf_repl(m: re.Match[str]) -> str:
    return m[0].translate(_XF_TABLE)


def _char_out(ch: str) -> str:
    """char_norm(ch) through the precomputed tables (used when building the offset map)."""
    if ch < "\U00010000":
        r = _CHANGED.get(ch)
        if r is not None:
            return r
        return "" if ch in _DEL_SET else ch
    return _XF_TABLE[ord(ch)]


# --- the public API ------------------------------------------------------------------------


class NormText:
    """A normalised text with its original, able to map normalised spans back.

    ``text`` is what matchers run on; ``original`` is the field as received.
    The offset map is built only on the first :meth:`original_span` call,
    because matches are rare and the common path must stay cheap.
    """

    __slots__ = ("text", "original", "_starts", "_ends", "_views")

    def __init__(self, text: str, original: str) -> None:
        self.text = text
        self.original = original
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None
        self._views: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"NormText({self.text!r}, original={self.original!r})"

    def __len__(self) -> int:
        return len(self.text)

    def view(self, key: str, fn: Callable[[str], str]) -> str:
        """``fn(self.text)``, computed once per text and key.

        For length-preserving derived texts (e.g. the homophone folding of the
        keyword matcher) shared by several matchers run on the same field.
        """
        views = self._views
        if views is None:
            views = self._views = {}
        out = views.get(key)
        if out is None:
            out = views[key] = fn(self.text)
        return out

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``text[start:end]`` to ``(ostart, oend)`` so ``original[ostart:oend]`` is what was written.

        The original span runs from the first to the last original character
        that produced the normalised span, so deleted characters *inside* it
        are quoted ("顶 级") but those around it are not. Both ends are
        monotonic in their argument. An empty span maps to an empty span.
        """
        n = len(self.text)
        if not (0 <= start <= end <= n):
            raise ValueError(f"span ({start}, {end}) is outside the normalised text of length {n}")
        if self._starts is None:
            self._build_map()
        starts, ends = self._starts, self._ends
        assert starts is not None and ends is not None
        if start < end:
            return starts[start], ends[end - 1]
        pos = starts[start] if start < n else (ends[n - 1] if n else 0)
        return pos, pos

    def original_text(self, start: int, end: int) -> str:
        """The original substring behind ``text[start:end]`` (see :meth:`original_span`)."""
        a, b = self.original_span(start, end)
        return self.original[a:b]

    def _build_map(self) -> None:
        # Characters that normalise to themselves map one to one, so only the
        # others (found with one regex scan) need a per-character step.
        original = self.original
        starts: list[int] = []
        ends: list[int] = []
        pieces: list[str] = []
        last = 0
        for m in _NOT_IDENTITY_FINDITER(original):
            i = m.start()
            if i > last:
                pieces.append(original[last:i])
                starts.extend(range(last, i))
                ends.extend(range(last + 1, i + 1))
            r = _char_out(original[i])
            if r:
                pieces.append(r)
                starts.extend([i] * len(r))
                ends.extend([i + 1] * len(r))
            last = i + 1
        n = len(original)
        if n > last:
            pieces.append(original[last:])
            starts.extend(range(last, n))
            ends.extend(range(last + 1, n + 1))
        pre = "".join(pieces)
        if len(pre) != len(self.text):
            # t2s changed the length (no current OpenCC dictionary does): align by diff.
            starts, ends = _align(pre, self.text, starts, ends, len(self.original))
        self._starts, self._ends = starts, ends


def _align(pre: str, post: str, starts: list[int], ends: list[int], olen: int) -> tuple[list[int], list[int]]:
    """Carry a per-character offset map of ``pre`` over to ``post`` (a rewrite of it).

    Equal runs keep their offsets; each rewritten character gets the span of
    the whole run it came from; inserted characters borrow their neighbour's.
    The result stays monotonic and inside ``[0, olen]``.
    """
    new_s: list[int] = []
    new_e: list[int] = []
    ops = SequenceMatcher(None, pre, post, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            new_s.extend(starts[i1:i2])
            new_e.extend(ends[i1:i2])
        elif j2 > j1:
            if i2 > i1:
                a, b = starts[i1], ends[i2 - 1]
            elif i1 > 0:
                a, b = starts[i1 - 1], ends[i1 - 1]
            elif pre:
                a, b = starts[0], ends[0]
            else:
                a, b = 0, olen
            new_s.extend([a] * (j2 - j1))
            new_e.extend([b] * (j2 - j1))
    # Keep both ends monotonic even where a rewrite widened a span.
    for k in range(1, len(new_s)):
        if new_s[k] < new_s[k - 1]:
            new_s[k] = new_s[k - 1]
        if new_e[k] < new_e[k - 1]:
            new_e[k] = new_e[k - 1]
    return new_s, new_e


def normalize(text: str) -> NormText:
    """Normalise one event text field for matching (see the module docstring for the rules).

    The common path is a handful of C-level regex scans: a text with nothing
    to delete, fold or convert costs one scan. Raises TypeError for non-str.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize() needs a str, got {type(text).__name__}")
    s = text
    if _SPECIAL_SEARCH(s) is not None:
        if " " in s:
            s = s.replace(" ", "")
        if _XF_SEARCH(s) is not None:
            # str.lower is C-level and handles the usual capitals; the checked
            # invariant is that char_norm of lower(c) equals char_norm(c).
            s = s.lower()
        s = _DEL_SUB("", s)
        if _XF_SEARCH(s) is not None:
            s = _XF_SUB(_xf_repl, s)
        if _TRAD_SEARCH(s) is not None:
            s = _t2s(s)
    return NormText(s, text)


def normalize_term(term: str) -> str:
    """The normalised text of a keyword-list term (same rules as event text)."""
    return normalize(term).text

