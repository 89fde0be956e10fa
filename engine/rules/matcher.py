"""Compiled multi-pattern matching for named keyword lists.

A list of terms (untrusted, from a rule pack) is compiled into ONE Python
``re`` pattern shaped as a trie of the terms: every branch starts with a
literal character, so the regex engine skips ahead with its first-character
set and a text with no candidate costs one C-level scan. A trie also gives
leftmost-longest matches for free (最高级 wins over 最高 at the same start).

Variants a term matches, besides its normalised self (see ``text.py``):

* ``numerals=True`` (default): a digit or Chinese numeral matches all of its
  forms — 一/壹/1/"one", 二/两/贰/2/"two", … 〇/零/0/"zero" — so 第一 ~ 第1 ~
  第壹 and "top1" ~ "top一" ~ "top one" (spaces are already gone).
* ``homophones=True``: each Chinese character also matches the common
  characters (GB2312 level 1) read with the same toneless pinyin, and the
  pinyin spelled in Latin letters: 最佳 ~ 醉佳 ~ zui佳 ~ 最jia ~ zuijia.
  This is done by folding the *text* (each common character → one
  representative of its reading; same length, so offsets are unchanged) and
  matching literal variants on the folded text. A homophone match is kept only
  if at least one character of it is a character of the term itself (or a
  numeral form of one) or a Latin letter/digit: a span made only of
  substituted characters is ordinary Chinese far more often than an evasion
  (打底衣 would otherwise be 第一, 醉驾 would be 最佳).

Terms are canonicalised with :func:`engine.rules.text.normalize_term`, escaped
with ``re.escape`` and bounded (:data:`MAX_TERMS`, :data:`MAX_TERM_CHARS`,
:data:`MAX_VARIANTS`), so a pack cannot make the pattern explode.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from itertools import product
from typing import Any, Iterator, Sequence

from engine.rules.text import BOUNDARY_CHARS, BOUNDARY_CLASS, NormText, normalize_term

__all__ = ["KeywordMatcher", "Match", "TermError", "MAX_TERMS", "MAX_TERM_CHARS", "MAX_VARIANTS"]

MAX_TERMS = 10_000
"""Most terms one list may hold."""
MAX_TERM_CHARS = 64
"""Longest term, in characters, both as written and after normalisation."""
MAX_VARIANTS = 64
"""Most literal variants one term expands to; beyond this its later positions become
character alternations identified by a capture group (slower, still correct)."""

_NUMERAL_FORMS: dict[str, tuple[str, ...]] = {
    "0": ("0", "零", "〇", "zero"),
    "1": ("1", "一", "壹", "one"),
    "2": ("2", "二", "两", "贰", "two"),
    "3": ("3", "三", "叁", "three"),
    "4": ("4", "四", "肆", "four"),
    "5": ("5", "五", "伍", "five"),
    "6": ("6", "六", "陆", "six"),
    "7": ("7", "七", "柒", "seven"),
    "8": ("8", "八", "捌", "eight"),
    "9": ("9", "九", "玖", "nine"),
}
_NUMERAL_OF: dict[str, str] = {f: d for d, forms in _NUMERAL_FORMS.items() for f in forms if len(f) == 1}


class TermError(ValueError):
    """A keyword-list term is unusable; ``term`` and ``index`` say which one."""

    def __init__(self, message: str, term: Any = None, index: int | None = None) -> None:
        super().__init__(message)
        self.term = term
        self.index = index


@dataclass(frozen=True, slots=True)
class Match:
    """One occurrence of a list term in a text.

    ``term`` is the list entry as written; ``start``/``end`` index the
    normalised text; ``original`` is the exact original substring behind the
    match (what the merchant wrote, e.g. "醉 佳"), at ``original_start:original_end``.
    """

    term: str
    start: int
    end: int
    original: str
    original_start: int
    original_end: int


# --- homophone tables (built on first use: importing pypinyin costs ~0.25 s) ----------------


@dataclass(frozen=True, slots=True)
class _Homophones:
    canon: dict[str, str]  # toneless reading -> representative common character
    fold_table: tuple[int, ...]  # str.translate table: common character -> its representative
    readings: Any  # pypinyin.lazy_pinyin
    style: Any  # pypinyin.Style.NORMAL
    pinyin_dict: dict[int, str]


def _toneless(marked: str) -> str:
    """'lǜ' -> 'lv', 'zuì' -> 'zui' (pypinyin's NORMAL style spelling)."""
    s = unicodedata.normalize("NFKD", marked).replace("u\u0308", "v")
    return "".join(c for c in s if not unicodedata.combining(c))


def _gb2312_level1() -> list[str]:
    """The 3,755 common characters of GB2312 level 1 (rows 16-55), in pinyin order."""
    out = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                out.append(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


@functools.cache
def _homophones() -> _Homophones:
    import pypinyin
    from pypinyin.constants import PINYIN_DICT

    canon: dict[str, str] = {}
    table = list(range(0xA000))
    for ch in _gb2312_level1():
        raw = PINYIN_DICT.get(ord(ch))
        if not raw:
            continue
        rep = canon.setdefault(_toneless(raw.split(",")[0]), ch)
        table[ord(ch)] = ord(rep)
    return _Homophones(canon, tuple(table), pypinyin.lazy_pinyin, pypinyin.Style.NORMAL, PINYIN_DICT)


def _fold_text(text: str) -> str:
    return text.translate(_homophones().fold_table)


_FOLD_VIEW = "engine.rules.matcher:homophone-fold"


# --- compiling -------------------------------------------------------------------------------

# A token is one alternative for one term position: (regex fragment, literal text or None).
_Token = tuple[str, "str | None"]


def _lit(s: str) -> _Token:
    return (re.escape(s), s)


_BOUNDARY_TOKEN: _Token = (BOUNDARY_CLASS, None)


def _term_readings(term: str, h: _Homophones) -> list[set[str]]:
    """Toneless readings per character: in context (银行 -> hang) plus the character's primary one."""
    out: list[set[str]] = [set() for _ in term]
    i = 0
    while i < len(term):
        if ord(term[i]) not in h.pinyin_dict:
            i += 1
            continue
        j = i
        while j < len(term) and ord(term[j]) in h.pinyin_dict:
            j += 1
        run = term[i:j]
        ctx = h.readings(run, style=h.style)
        for k, ch in enumerate(run):
            if len(ctx) == len(run):
                out[i + k].add(ctx[k])
            out[i + k].add(_toneless(h.pinyin_dict[ord(ch)].split(",")[0]))
        i = j
    return out


def _units(norm: str, numerals: bool, h: _Homophones | None) -> tuple[list[list[_Token]], frozenset[str]]:
    """Alternatives for each position of a normalised term, and the term's literal characters."""
    readings = _term_readings(norm, h) if h is not None else None
    units: list[list[_Token]] = []
    literal_chars: set[str] = set(norm)
    for i, ch in enumerate(norm):
        if ch in BOUNDARY_CHARS:
            units.append([_BOUNDARY_TOKEN])
            continue
        forms: list[str] = [ch]
        if numerals and ch in _NUMERAL_OF:
            forms = list(_NUMERAL_FORMS[_NUMERAL_OF[ch]])
            literal_chars.update(f for f in forms if len(f) == 1)
        if h is not None:
            fold = h.fold_table
            forms = [chr(fold[ord(f)]) if len(f) == 1 and ord(f) < len(fold) else f for f in forms]
            assert readings is not None
            for r in sorted(readings[i]):
                rep = h.canon.get(r)
                if rep is not None:
                    forms.append(rep)
                if r.isascii() and r.isalpha():
                    forms.append(r)
                    if "v" in r:
                        forms.append(r.replace("v", "u"))
        units.append([_lit(f) for f in dict.fromkeys(forms)])
    return units, frozenset(literal_chars)


def _paths(units: list[list[_Token]]) -> tuple[list[tuple[_Token, ...]], bool]:
    """Token sequences for one term, and whether they need a capture group to be identified.

    Fully expanded when small; otherwise the first position stays expanded (so
    every top-level branch still starts with a literal) and the rest collapses
    into one alternation per position.
    """
    size = 1
    for u in units:
        size *= len(u)
    if size <= MAX_VARIANTS:
        paths = [tuple(p) for p in product(*units)]
        return paths, any(t[1] is None for p in paths for t in p)
    rest = tuple(u[0] if len(u) == 1 else ("(?:" + "|".join(t[0] for t in u) + ")", None) for u in units[1:])
    return [(t, *rest) for t in units[0]], True


class _Node:
    __slots__ = ("kids", "terms", "group", "depth")

    def __init__(self) -> None:
        self.kids: dict[str, tuple[_Token, _Node]] = {}
        self.terms: list[int] = []
        self.group = False
        self.depth = 0


def _emit(node: _Node, groups: list[list[int]]) -> str:
    """Regex for a trie node: longer continuations first, then (if terminal) the end marker."""
    kids = sorted(node.kids.values(), key=lambda kv: (-len(kv[0][1] or "x"), -kv[1].depth, kv[0][0]))
    alts = [tok[0] + _emit(child, groups) for tok, child in kids]
    if node.terms:
        if node.group:
            groups.append(node.terms)
            alts.append("()")
        else:
            alts.append("")
    if len(alts) == 1:
        return alts[0]
    return "(?:" + "|".join(alts) + ")"


def _build_pattern(entries: list[tuple[int, list[tuple[_Token, ...]], bool]]) -> tuple[str, list[list[int]], dict[str, list[int]]]:
    root = _Node()
    literal_keys: dict[str, list[int]] = {}
    for idx, paths, needs_group in entries:
        for path in paths:
            node = root
            for tok in path:
                hit = node.kids.get(tok[0])
                if hit is None:
                    hit = node.kids[tok[0]] = (tok, _Node())
                node = hit[1]
            if idx not in node.terms:
                node.terms.append(idx)
            if needs_group and any(t[1] is None for t in path):
                node.group = True
            else:
                key = "".join(t[1] or "" for t in path)
                bucket = literal_keys.setdefault(key, [])
                if idx not in bucket:
                    bucket.append(idx)
    _set_depth(root)
    groups: list[list[int]] = [[]]  # group numbers start at 1
    if not root.kids:
        return "(?!)", groups, literal_keys
    alts = [tok[0] + _emit(child, groups) for tok, child in sorted(root.kids.values(), key=lambda kv: kv[0][0])]
    return "|".join(alts), groups, literal_keys


def _set_depth(root: _Node) -> None:
    stack: list[tuple[_Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            node.depth = 1 + max((c.depth for _, c in node.kids.values()), default=0)
        else:
            stack.append((node, True))
            stack.extend((c, False) for _, c in node.kids.values())


def _validate(terms: Sequence[str]) -> list[tuple[str, str]]:
    """(term as written, normalised term) for each term; raises TermError naming the bad one."""
    if isinstance(terms, (str, bytes)):
        raise TermError("terms must be a list of strings, not a single string", terms)
    if len(terms) > MAX_TERMS:
        raise TermError(f"too many terms: {len(terms)} (at most {MAX_TERMS} per list)")
    out = []
    for i, term in enumerate(terms):
        if not isinstance(term, str):
            raise TermError(f"term #{i + 1} {term!r} is a {type(term).__name__}, not a string", term, i)
        if not term.strip():
            raise TermError(f"term #{i + 1} is empty", term, i)
        if len(term) > MAX_TERM_CHARS:
            raise TermError(f"term {term[:20]!r}… is {len(term)} characters long (at most {MAX_TERM_CHARS})", term, i)
        norm = normalize_term(term)
        if not norm:
            raise TermError(f"term {term!r} normalises to nothing (only spaces, symbols or decoration)", term, i)
        if len(norm) > MAX_TERM_CHARS:
            raise TermError(f"term {term!r} normalises to {len(norm)} characters (at most {MAX_TERM_CHARS})", term, i)
        if all(ch in BOUNDARY_CHARS for ch in norm):
            raise TermError(f"term {term!r} is only punctuation and would match every sentence break", term, i)
        out.append((term, norm))
    return out


# --- the matcher -----------------------------------------------------------------------------


class KeywordMatcher:
    """One compiled keyword list. Immutable and safe to share between threads."""

    __slots__ = ("_terms", "_norms", "_literals", "_rx", "_search", "_groups", "_keys", "homophones", "numerals")

    def __init__(self) -> None:  # use KeywordMatcher.compile
        self._terms: tuple[str, ...] = ()
        self._norms: tuple[str, ...] = ()
        self._literals: tuple[frozenset[str], ...] = ()
        self._rx: re.Pattern[str] = re.compile("(?!)")
        self._search = self._rx.search
        self._groups: list[list[int]] = [[]]
        self._keys: dict[str, list[int]] = {}
        self.homophones = False
        self.numerals = True

    @classmethod
    def compile(cls, terms: Sequence[str], *, homophones: bool = False, numerals: bool = True) -> "KeywordMatcher":
        """Compile a whole list into one matcher.

        Raises :class:`TermError` (a ValueError) for an empty term, a term
        that normalises to nothing or only punctuation, a term longer than
        :data:`MAX_TERM_CHARS`, a non-string, or more than :data:`MAX_TERMS`
        terms. Terms equal after normalisation are kept once (the first).
        """
        checked = _validate(terms)
        h = _homophones() if homophones else None
        seen: dict[str, int] = {}
        kept_terms: list[str] = []
        kept_norms: list[str] = []
        literals: list[frozenset[str]] = []
        entries: list[tuple[int, list[tuple[_Token, ...]], bool]] = []
        for term, norm in checked:
            if norm in seen:
                continue
            idx = seen[norm] = len(kept_terms)
            kept_terms.append(term)
            kept_norms.append(norm)
            units, lits = _units(norm, numerals, h)
            literals.append(lits)
            paths, needs_group = _paths(units)
            entries.append((idx, paths, needs_group))
        pattern, groups, keys = _build_pattern(entries)
        self = cls()
        self._terms = tuple(kept_terms)
        self._norms = tuple(kept_norms)
        self._literals = tuple(literals)
        self._rx = re.compile(pattern)
        self._search = self._rx.search
        self._groups = groups
        self._keys = keys
        self.homophones = homophones
        self.numerals = numerals
        return self

    @property
    def terms(self) -> tuple[str, ...]:
        """The list's terms as written (duplicates after normalisation removed)."""
        return self._terms

    @property
    def pattern(self) -> str:
        """The compiled regular expression (for debugging and lint output)."""
        return self._rx.pattern

    def __len__(self) -> int:
        return len(self._terms)

    def __repr__(self) -> str:
        return f"KeywordMatcher({len(self._terms)} terms, homophones={self.homophones}, numerals={self.numerals})"

    def search(self, norm: NormText) -> bool:
        """True if any term occurs in the text (allow lists not applied). The cheap pre-check."""
        if not self.homophones:
            return self._search(norm.text) is not None
        for _ in self._scan(norm):
            return True
        return False

    def find(self, norm: NormText, allow: "KeywordMatcher | None" = None) -> list[Match]:
        """Non-overlapping leftmost-longest matches, minus those overlapping a match of ``allow``.

        ``allow`` lists exempt contexts: with 最佳食用期 in it, the 最佳 inside
        "最佳食用期" is dropped; a 最佳 elsewhere in the same text is kept.
        """
        if not self.homophones and self._search(norm.text) is None:
            return []
        found = list(self._scan(norm))
        if found and allow is not None:
            spans = [(s, e) for s, e, _ in allow._scan(norm)]
            if spans:
                found = [f for f in found if not any(s < f[1] and f[0] < e for s, e in spans)]
        out = []
        for s, e, idx in found:
            a, b = norm.original_span(s, e)
            out.append(Match(self._terms[idx], s, e, norm.original[a:b], a, b))
        return out

    def _scan(self, norm: NormText) -> Iterator[tuple[int, int, int]]:
        """(start, end, term index) of each match, left to right, non-overlapping."""
        text = norm.view(_FOLD_VIEW, _fold_text) if self.homophones else norm.text
        rx = self._rx
        pos = 0
        n = len(text)
        while pos < n:
            m = rx.search(text, pos)
            if m is None:
                return
            start = m.start()
            while m is not None:
                end = m.end()
                idx = self._identify(m, norm.text[start:end])
                if idx is not None:
                    yield start, end, idx
                    pos = end
                    break
                # Rejected homophone-only span: try a shorter match at the same start.
                m = rx.match(text, start, end - 1) if end - 1 > start else None
            else:
                pos = start + 1

    def _identify(self, m: re.Match[str], segment: str) -> int | None:
        """Which term produced the match (first listed wins), or None if it is implausible."""
        g = m.lastindex
        candidates = self._groups[g] if g else self._keys.get(m.group(), ())
        if not self.homophones:
            return candidates[0] if candidates else None
        best = None
        for idx in candidates:
            if self._norms[idx] == segment:
                return idx
            if best is None and self._plausible(segment, self._literals[idx]):
                best = idx
        return best

    @staticmethod
    def _plausible(segment: str, literals: frozenset[str]) -> bool:
        for ch in segment:
            if ch in literals or (ch.isascii() and ch.isalnum()):
                return True
        return False
