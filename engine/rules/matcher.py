"""Compiled multi-pattern matching for named keyword lists.

A list of terms (untrusted, from a rule pack) is compiled into ONE Python
``re`` pattern shaped as a trie of the terms. Every top-level branch starts
with a literal character, so the regex engine skips ahead with its
first-character set: a text with no candidate costs one C-level scan. The trie
tries longer continuations before ending, so the match at a position is the
longest term (最高级 wins over 最高). After a match, the term is found by a dict
lookup (a term spelled exactly like the text wins) or by checking the few
terms that can start with the matched first character (a variant such as 第1
or 醉jia; the first listed term that produces it wins).

Variants a term matches, besides its normalised self (see ``text.py``):

* ``numerals=True`` (default): a digit or Chinese numeral matches all of its
  forms — 一/壹/1/"one", 二/两/贰/2/"two", … 〇/零/0/"zero" — so 第一 ~ 第1 ~
  第壹 and "top1" ~ "top一" ~ "top one" (spaces are already gone).
* ``homophones=True``: each Chinese character also matches the common
  characters (GB2312 level 1) whose main reading is the same toneless pinyin,
  and that pinyin in Latin letters: 最佳 ~ 醉佳 ~ zui佳 ~ 最jia ~ zuijia.
  The *text* is folded (each common character → one representative of its
  reading; same length, so offsets are unchanged) and the pattern is written
  in folded characters. A homophone match is kept only if at least one of its
  characters is a character of the term (or a numeral form of one) or a Latin
  letter/digit: a span made only of substituted characters is ordinary Chinese
  far more often than an evasion (打底衣 would otherwise be 第一, 醉驾 最佳).

Terms are normalised with :func:`engine.rules.text.normalize_term`, escaped
with ``re.escape`` and bounded (:data:`MAX_TERMS`, :data:`MAX_TERM_CHARS`).
Only the first position of a term is spelled out per variant; later positions
are one alternation each, so the pattern grows linearly with the list.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from engine.rules.text import BOUNDARY_CHARS, BOUNDARY_CLASS, NormText, normalize_term

__all__ = ["KeywordMatcher", "Match", "TermError", "MAX_TERMS", "MAX_TERM_CHARS", "MAX_PATTERN_CHARS"]

MAX_TERMS = 10_000
"""Most terms one list may hold."""
MAX_TERM_CHARS = 64
"""Longest term, in characters, both as written and after normalisation."""
MAX_PATTERN_CHARS = 1_000_000
"""Largest compiled pattern. Numerals and homophones write each position as an
alternation; Python's regex parser takes roughly 1 s per 200,000 characters,
so this bounds what one list can cost at pack load."""

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
def _homophone_tables() -> _Homophones:
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
    return text.translate(_homophone_tables().fold_table)


_FOLD_VIEW = "engine.rules.matcher:homophone-fold"


# --- compiling -------------------------------------------------------------------------------

# A token is one alternative for one term position: (regex fragment, its literal text or None).
_Token = tuple[str, "str | None"]
_BOUNDARY_TOKEN: _Token = (BOUNDARY_CLASS, None)


@functools.lru_cache(maxsize=1 << 16)
def _lit(s: str) -> _Token:
    return (re.escape(s), s)


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
    """Alternatives for each position of a normalised term (in the matched text's alphabet),
    and the term's literal characters (for the homophone plausibility check)."""
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
        # Longest alternative first, so "one" is tried before a shorter form.
        units.append([_lit(f) for f in sorted(dict.fromkeys(forms), key=lambda f: -len(f))])
    return units, frozenset(literal_chars)


def _unit_regex(unit: list[_Token]) -> str:
    return unit[0][0] if len(unit) == 1 else "(?:" + "|".join(t[0] for t in unit) + ")"


def _paths(units: list[list[_Token]]) -> list[tuple[_Token, ...]]:
    """Token sequences for the trie: one per alternative of the first position, which is
    spelled out character by character (so every top-level branch starts with a literal and
    the regex engine can skip ahead); later positions are one alternation each, which keeps
    the pattern linear in the list size whatever numerals and homophones add."""
    rest: list[_Token] = []
    for unit in units[1:]:
        if len(unit) == 1 and unit[0][1] is not None:
            rest.extend(_lit(c) for c in unit[0][1])
        else:
            rest.append((_unit_regex(unit), None))
    out = []
    for tok in units[0]:
        head = [_lit(c) for c in tok[1]] if tok[1] is not None else [tok]
        out.append((*head, *rest))
    return out


class _Node:
    __slots__ = ("kids", "end", "depth")

    def __init__(self) -> None:
        self.kids: dict[str, _Node] = {}
        self.end = False
        self.depth = 0


def _set_depth(node: _Node) -> int:
    """Longest path below each node (recursion is bounded by the term length)."""
    node.depth = 1 + max((_set_depth(child) for child in node.kids.values()), default=0)
    return node.depth


def _emit(node: _Node) -> str:
    """Regex for a trie node: deeper continuations first, then (if a term ends here) nothing.

    Trying continuations before ending makes the match at a position the longest
    term (exact for plain terms; a heuristic where alternations of different
    lengths overlap)."""
    kids = sorted(node.kids.items(), key=lambda kv: (-kv[1].depth, kv[0]))
    alts = [frag + _emit(child) for frag, child in kids]
    if node.end:
        alts.append("")
    if len(alts) == 1:
        return alts[0]
    return "(?:" + "|".join(alts) + ")"


def _trie_pattern(all_paths: list[tuple[_Token, ...]]) -> str:
    root = _Node()
    for path in all_paths:
        node = root
        for frag, _ in path:
            nxt = node.kids.get(frag)
            if nxt is None:
                nxt = node.kids[frag] = _Node()
            node = nxt
        node.end = True
    if not root.kids:
        return "(?!)"
    _set_depth(root)
    return "|".join(frag + _emit(child) for frag, child in sorted(root.kids.items()))


class _Term:
    """One compiled term: what identifies it after the list-wide pattern matched."""

    __slots__ = ("text", "norm", "literals", "units", "_rx")

    def __init__(self, text: str, norm: str, units: list[list[_Token]], literals: frozenset[str]) -> None:
        self.text = text
        self.norm = norm
        self.literals = literals
        self.units = units
        self._rx: re.Pattern[str] | None = None

    def fullmatch(self, segment: str) -> bool:
        """Does this term (with its variants) produce exactly ``segment``? Compiled on first use."""
        rx = self._rx
        if rx is None:
            rx = self._rx = re.compile("".join(_unit_regex(u) for u in self.units))
        return rx.fullmatch(segment) is not None


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

    __slots__ = ("_terms", "_rx", "_search", "_exact", "_by_first", "_any_first", "_homophones", "_numerals")

    def __init__(self) -> None:  # use KeywordMatcher.compile
        self._terms: tuple[_Term, ...] = ()
        self._rx: re.Pattern[str] = re.compile("(?!)")
        self._search = self._rx.search
        self._exact: dict[str, list[int]] = {}
        self._by_first: dict[str, list[int]] = {}
        self._any_first: list[int] = []
        self._homophones = False
        self._numerals = True

    @classmethod
    def compile(cls, terms: Sequence[str], *, homophones: bool = False, numerals: bool = True) -> "KeywordMatcher":
        """Compile a whole list into one matcher.

        Raises :class:`TermError` (a ValueError) for an empty term, a term
        that normalises to nothing or only punctuation, a term longer than
        :data:`MAX_TERM_CHARS`, a non-string, or more than :data:`MAX_TERMS`
        terms. Terms equal after normalisation are kept once (the first).
        """
        checked = _validate(terms)
        h = _homophone_tables() if homophones else None
        self = cls()
        seen: set[str] = set()
        kept: list[_Term] = []
        all_paths: list[tuple[_Token, ...]] = []
        for text, norm in checked:
            if norm in seen:
                continue
            seen.add(norm)
            idx = len(kept)
            units, literals = _units(norm, numerals, h)
            kept.append(_Term(text, norm, units, literals))
            all_paths.extend(_paths(units))
            exact_key = _fold_text(norm) if h is not None else norm
            self._exact.setdefault(exact_key, []).append(idx)
            for tok in units[0]:
                if tok[1] is None:
                    self._any_first.append(idx)
                else:
                    bucket = self._by_first.setdefault(tok[1][0], [])
                    if not bucket or bucket[-1] != idx:
                        bucket.append(idx)
        self._terms = tuple(kept)
        pattern = _trie_pattern(all_paths)
        if len(pattern) > MAX_PATTERN_CHARS:
            raise TermError(
                f"list too large once variants are spelled out: {len(pattern):,} pattern characters "
                f"(at most {MAX_PATTERN_CHARS:,}); split it, or turn off numerals/homophones for it"
            )
        self._rx = re.compile(pattern)
        self._search = self._rx.search
        self._homophones = homophones
        self._numerals = numerals
        return self

    @property
    def terms(self) -> tuple[str, ...]:
        """The list's terms as written (duplicates after normalisation removed)."""
        return tuple(t.text for t in self._terms)

    @property
    def homophones(self) -> bool:
        """Whether homophone and pinyin spellings match."""
        return self._homophones

    @property
    def numerals(self) -> bool:
        """Whether digit and Chinese-numeral spellings match each other."""
        return self._numerals

    @property
    def pattern(self) -> str:
        """The compiled regular expression (for debugging and lint output)."""
        return self._rx.pattern

    def __len__(self) -> int:
        return len(self._terms)

    def __repr__(self) -> str:
        return f"KeywordMatcher({len(self._terms)} terms, homophones={self._homophones}, numerals={self._numerals})"

    def search(self, norm: NormText) -> bool:
        """True if any term occurs in the text (allow lists not applied). The cheap pre-check."""
        if not self._homophones:
            return self._search(norm.text) is not None
        for _ in self._scan(norm):
            return True
        return False

    def find(self, norm: NormText, allow: "KeywordMatcher | None" = None) -> list[Match]:
        """Non-overlapping leftmost-longest matches, minus those overlapping a match of ``allow``.

        ``allow`` lists exempt contexts: with 最佳食用期 in it, the 最佳 inside
        "最佳食用期" is dropped; a 最佳 elsewhere in the same text is kept.
        """
        if not self._homophones and self._search(norm.text) is None:
            return []
        found = list(self._scan(norm))
        if found and allow is not None:
            spans = [(s, e) for s, e, _ in allow._scan(norm)]
            if spans:
                found = [f for f in found if not any(s < f[1] and f[0] < e for s, e in spans)]
        out = []
        for s, e, idx in found:
            a, b = norm.original_span(s, e)
            out.append(Match(self._terms[idx].text, s, e, norm.original[a:b], a, b))
        return out

    def _scan(self, norm: NormText) -> Iterator[tuple[int, int, int]]:
        """(start, end, term index) of each match, left to right, non-overlapping."""
        text = norm.view(_FOLD_VIEW, _fold_text) if self._homophones else norm.text
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
                idx = self._identify(m.group(), norm.text[start:end])
                if idx is not None:
                    yield start, end, idx
                    pos = end
                    break
                # Rejected (implausible homophone-only span): try a shorter match at the same start.
                m = rx.match(text, start, end - 1) if end - 1 > start else None
            else:
                pos = start + 1

    def _identify(self, matched: str, segment: str) -> int | None:
        """Which term produced ``matched``, or None if none plausibly did.

        ``matched`` is the text the pattern saw (homophone-folded in that mode),
        ``segment`` the same span of the normalised text. A term written as is
        is found by one dict lookup; a variant (第1, 醉jia) by checking the
        terms that can start with its first character.
        """
        exact = self._exact.get(matched)
        if exact is not None:
            if not self._homophones:
                return exact[0]
            for idx in exact:
                if self._terms[idx].norm == segment:
                    return idx
            for idx in exact:
                if self._plausible(segment, self._terms[idx].literals):
                    return idx
        candidates = self._by_first.get(matched[0], ())
        if self._any_first:
            candidates = sorted({*candidates, *self._any_first})
        for idx in candidates:
            term = self._terms[idx]
            if len(term.units) <= len(matched) and term.fullmatch(matched) and (not self._homophones or self._plausible(segment, term.literals)):
                return idx
        return None

    @staticmethod
    def _plausible(segment: str, literals: frozenset[str]) -> bool:
        """At least one character is the term's own (or a numeral form of it) or a Latin letter/digit."""
        for ch in segment:
            if ch in literals or (ch.isascii() and ch.isalnum()):
                return True
        return False
