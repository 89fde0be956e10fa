"""Functions a rule condition may call, by name, from an explicit registry.

Each function checks its own arguments at compile time (how many, which must
be field paths, which must name a keyword list, which regex) and returns a
closure. Text functions run on the *normalised* text of a field (see
``engine.rules.text``), cache their result per event, and record what they
matched, with the original span, as alert evidence.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import re2

from engine.rules.compiler import ANY, BOOL, LIST, NUM, STR, Compiled, Compiler, Fn
from engine.rules.context import EvalContext
from engine.rules.expr import dotted_path
from engine.rules.fields import FieldType

MAX_REGEX_CHARS = 500
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 8 << 20  # bounds the compiled program; RE2 never backtracks
_RE2_OPTIONS.log_errors = False  # errors are reported with the rule's location, not on stderr


@dataclass(frozen=True)
class FunctionSpec:
    """A registered function: its signature for docs and its compile hook."""

    name: str
    signature: str
    doc: str
    build: Callable[[Compiler, ast.Call], Compiled]
    keywords: frozenset[str] = field(default_factory=frozenset)

    def compile(self, compiler: Compiler, node: ast.Call) -> Compiled:
        for kw in node.keywords:
            if kw.arg not in self.keywords:
                raise compiler.error(node, f"{self.name}() has no argument {kw.arg!r}")
        return self.build(compiler, node)


FUNCTIONS: dict[str, FunctionSpec] = {}


def register(name: str, signature: str, doc: str, keywords: tuple[str, ...] = ()) -> Callable:
    def deco(build: Callable[[Compiler, ast.Call], Compiled]) -> Callable:
        FUNCTIONS[name] = FunctionSpec(name, signature, doc, build, frozenset(keywords))
        return build

    return deco


def _nargs(c: Compiler, node: ast.Call, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    n = len(node.args)
    if not low <= n <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise c.error(node, f"{node.func.id}() takes {want} argument(s), got {n}")  # type: ignore[attr-defined]


def _kw(node: ast.Call, name: str) -> ast.expr | None:
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _text_field(c: Compiler, arg: ast.expr) -> tuple[str, Fn] | None:
    """(field name, getter) for a text-function argument; None if absent for this type."""
    path = dotted_path(arg)
    if path is None or path[0] in ("window", "score"):
        raise c.error(arg, "the first argument must be a text field, e.g. title, asr_text or text")
    compiled = c.field(path, arg)
    if compiled.const:
        return None
    if compiled.type.kind not in ("str", "any"):
        raise c.error(arg, f"{'.'.join(path)} is a {compiled.type.kind}, not text")
    return ".".join(path), compiled.fn


def _list_name(c: Compiler, arg: ast.expr | None, what: str = "keyword list") -> Any:
    if arg is None:
        return None
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        raise c.error(arg, f"name the {what} as a quoted string, e.g. \"ad_ban_terms\"")
    matcher = c.lists.get(arg.value)
    if matcher is None:
        import difflib

        hint = difflib.get_close_matches(arg.value, c.lists, n=1)
        raise c.error(arg, f"unknown keyword list {arg.value!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    return matcher


def _prefilter_for(c: Compiler, list_arg: ast.expr) -> Any:
    """The pack prefilter if it covers this list, else None (the list is searched every time)."""
    if c.prefilter is None:
        return None
    matcher, covered = c.prefilter
    return matcher if isinstance(list_arg, ast.Constant) and list_arg.value in covered else None


def _int_kw(c: Compiler, node: ast.Call, name: str, default: int, low: int, high: int) -> int:
    arg = _kw(node, name)
    if arg is None:
        return default
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, int) and not isinstance(arg.value, bool)):
        raise c.error(arg, f"{name}= must be a whole number")
    if not low <= arg.value <= high:
        raise c.error(arg, f"{name}= must be between {low} and {high}")
    return arg.value


def _evidence(fieldname: str, matches: list) -> list[dict[str, Any]]:
    out = []
    for m in matches:
        out.append({"field": fieldname, "term": m.term, "original": m.original})
    return out


_NOTHING: tuple[Any, list] = ((), [])  # a text function's answer when nothing matched (shared, never mutated)
_NO_MATCH: tuple[Any, list] = (None, [])  # matches()'s answer when the pattern cannot match (shared, never mutated)


def _memoised(key: tuple, compute: Callable[[EvalContext], tuple[Any, list]], clean_field: str | None = None) -> Fn:
    """A text function's closure: compute (value, evidence) once per event, replay the evidence per rule.

    Several rules of one event often ask the same question (the same list over
    the same field); the answer is kept in the event's memo and only its
    evidence is added again to each rule that asks.

    ``clean_field`` is given for text functions guarded by the pack prefilter
    (compute starts with ``ctx.norm_pre(clean_field, …)`` and answers
    ``_NOTHING`` when it returns None). Once the prefilter has found no term in
    that field for this event (``ctx.clean``), the closure answers at once with
    the value of ``_NOTHING``, which carries no evidence — exactly what compute
    and the memo would have given, in one check instead of several calls.
    """

    def run(ctx: EvalContext) -> Any:
        hit = ctx.memo.get(key)
        if hit is None:
            hit = ctx.memo[key] = compute(ctx)
        value, evidence = hit
        if evidence:
            seen = ctx.matches
            seen.extend(e for e in evidence if not any(e is x for x in seen))
        return value

    if clean_field is None:
        return run
    nothing = _NOTHING[0]
    return lambda ctx: nothing if clean_field in ctx.clean else run(ctx)


@register(
    "contains_any",
    'contains_any(FIELD, "LIST", allow="LIST")',
    "Terms of a keyword list found in the normalised text of FIELD (a list, empty = false). "
    "Matches inside a match of the allow list are ignored.",
    ("allow",),
)
def _contains_any(c: Compiler, node: ast.Call) -> Compiled:
    _nargs(c, node, 2)
    tf = _text_field(c, node.args[0])
    matcher = _list_name(c, node.args[1])
    allow = _list_name(c, _kw(node, "allow"))
    if tf is None:
        return Compiled(lambda ctx: [], LIST, const=True, value=[])
    fname, getter = tf
    key = ("contains_any", fname, id(matcher), id(allow))
    pre = _prefilter_for(c, node.args[1])

    def compute(ctx: EvalContext) -> tuple[Any, list]:
        norm = ctx.norm_pre(fname, getter, pre)
        if norm is None:
            return _NOTHING
        found = matcher.find(norm, allow=allow)
        if not found:
            return _NOTHING
        return list(dict.fromkeys(m.term for m in found)), _evidence(fname, found)

    return Compiled(_memoised(key, compute, fname if pre is not None else None), FieldType("list", item=FieldType("str")))


@register(
    "count_any",
    'count_any(FIELD, "LIST", allow="LIST")',
    "How many distinct terms of the list occur in FIELD.",
    ("allow",),
)
def _count_any(c: Compiler, node: ast.Call) -> Compiled:
    f = _contains_any(c, node).fn  # on a clean field it answers () at once, so this is 0 at once
    return Compiled(lambda ctx: len(f(ctx)), FieldType("int"))


@register(
    "near",
    'near(FIELD, "LIST_A", "LIST_B", within=10, allow="LIST")',
    "Terms of LIST_A that have a term of LIST_B within `within` characters (normalised text).",
    ("within", "allow"),
)
def _near(c: Compiler, node: ast.Call) -> Compiled:
    _nargs(c, node, 3)
    tf = _text_field(c, node.args[0])
    first, second = _list_name(c, node.args[1]), _list_name(c, node.args[2])
    allow = _list_name(c, _kw(node, "allow"))
    within = _int_kw(c, node, "within", 10, 0, 200)
    if tf is None:
        return Compiled(lambda ctx: [], LIST, const=True, value=[])
    fname, getter = tf
    key = ("near", fname, id(first), id(second), id(allow), within)
    pre = _prefilter_for(c, node.args[1])

    def close(m: Any, n: Any) -> bool:
        return n.start - within <= m.end and m.start <= n.end + within

    def compute(ctx: EvalContext) -> tuple[Any, list]:
        norm = ctx.norm_pre(fname, getter, pre)
        if norm is None:
            return _NOTHING
        a = first.find(norm, allow=allow)
        if not a:
            return _NOTHING
        b = second.find(norm)
        hits = [m for m in a if any(close(m, n) for n in b)]
        if not hits:
            return _NOTHING
        used = hits + [n for n in b if any(close(m, n) for m in hits)]
        return list(dict.fromkeys(m.term for m in hits)), _evidence(fname, used)

    return Compiled(_memoised(key, compute, fname if pre is not None else None), FieldType("list", item=FieldType("str")))


class _NotPlain(Exception):
    """The pattern uses syntax the literal extraction does not handle: no prefilter for it."""


_LITERAL_CAP = 32  # most strings a literal set may hold (cross products and alternations beyond it are dropped)
_META = frozenset("()[]{}|*+?.^$\\")
_Node = tuple  # (exact, req): every string the node can match (or None), strings one of which every match contains (or None)


def _best(cands: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective of several sufficient literal sets: longest shortest member, then fewest members."""
    return max(cands, key=lambda s: (min(map(len, s)), -len(s)), default=None)


def _node(exact: frozenset[str] | None, req: frozenset[str] | None) -> _Node:
    if req is None and exact is not None and "" not in exact:
        req = exact
    return exact, req


class _LiteralParser:
    """Recursive descent over a restricted regex syntax, computing required literals.

    Handled: plain characters, ``.``, ``^``, ``$``, classes ``[...]`` (opaque),
    groups ``(...)``, alternation ``|`` and the quantifiers ``* + ?`` and
    ``{n}``, ``{n,}``, ``{n,m}`` (greedy or lazy). Anything else raises
    :class:`_NotPlain`.
    """

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def peek(self) -> str | None:
        return self.p[self.i] if self.i < len(self.p) else None

    def parse(self) -> _Node:
        node = self.alt()
        if self.i != len(self.p):
            raise _NotPlain("unbalanced )")
        return node

    def alt(self) -> _Node:
        branches = [self.seq()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.seq())
        if len(branches) == 1:
            return branches[0]
        exact: frozenset[str] | None = None
        if all(b[0] is not None for b in branches):
            exact = frozenset().union(*(b[0] for b in branches))  # type: ignore[misc]
            if len(exact) > _LITERAL_CAP:
                exact = None
        req: frozenset[str] | None = None
        if all(b[1] is not None for b in branches):  # every match is a match of one branch
            req = frozenset().union(*(b[1] for b in branches))  # type: ignore[misc]
            if len(req) > _LITERAL_CAP:
                req = None
        return _node(exact, req)

    def seq(self) -> _Node:
        cands: list[frozenset[str]] = []
        run: frozenset[str] | None = frozenset({""})  # product of the exact sets of the current run of items
        whole: frozenset[str] | None = frozenset({""})  # exact set of the whole sequence so far
        while True:
            ch = self.peek()
            if ch is None or ch in "|)":
                break
            exact, req = self.quantified()
            if req is not None:
                cands.append(req)
            if exact is not None and run is not None and len(run) * len(exact) <= _LITERAL_CAP:
                run = frozenset(a + b for a in run for b in exact)
            else:
                if run is not None and "" not in run:
                    cands.append(run)
                run = exact
            if exact is not None and whole is not None and len(whole) * len(exact) <= _LITERAL_CAP:
                whole = frozenset(a + b for a in whole for b in exact)
            else:
                whole = None
        if run is not None and "" not in run:
            cands.append(run)
        return _node(whole, _best(cands))

    def quantified(self) -> _Node:
        exact, req = self.atom()
        ch = self.peek()
        if ch is None or ch not in "*+?{":
            return _node(exact, req)
        self.i += 1
        if ch == "{":
            low, high = self.repeat()
        else:
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        if self.peek() == "?":  # lazy: the same strings can match
            self.i += 1
        if self.peek() is not None and self.peek() in "*+?{":
            raise _NotPlain("repeated quantifier")
        if low == 0:
            if high == 1 and exact is not None:
                return _node(exact | {""}, None)
            return None, None
        if low == 1 and high == 1:
            return _node(exact, req)
        return None, req  # one or more copies: each contains a required literal of one copy

    def repeat(self) -> tuple[int, int | None]:
        end = self.p.find("}", self.i)
        if end < 0:
            raise _NotPlain("{ without }")
        spec = self.p[self.i : end]
        self.i = end + 1
        low_s, comma, high_s = spec.partition(",")
        if not (low_s.isascii() and low_s.isdigit()) or (high_s and not (high_s.isascii() and high_s.isdigit())):
            raise _NotPlain("not a repeat count")
        low = int(low_s)
        high = int(high_s) if high_s else (None if comma else low)
        if high is not None and high < low:
            raise _NotPlain("bad repeat count")
        return low, high

    def atom(self) -> _Node:
        ch = self.peek()
        assert ch is not None
        if ch == "(":
            self.i += 1
            if self.peek() == "?":
                raise _NotPlain("group flags")
            node = self.alt()
            if self.peek() != ")":
                raise _NotPlain("missing )")
            self.i += 1
            return node
        if ch == "[":
            j = self.i + 1
            if j < len(self.p) and self.p[j] == "^":
                j += 1
            if j < len(self.p) and self.p[j] == "]":  # a leading ] is a member
                j += 1
            end = self.p.find("]", j)
            if end < 0:
                raise _NotPlain("[ without ]")
            self.i = end + 1
            return None, None  # some character of a class: no literal
        if ch in "^$":  # zero-width: matches the empty string (where it matches at all)
            self.i += 1
            return frozenset({""}), None
        if ch == ".":
            self.i += 1
            return None, None
        if ch in _META:  # a quantifier without an atom, ], }, \: leave such patterns alone
            raise _NotPlain(f"unexpected {ch!r}")
        self.i += 1
        return _node(frozenset({ch}), None)


def _re2_plain_options() -> bool:
    """True if _RE2_OPTIONS make a pattern character match exactly itself (so a literal check is sound)."""
    o = _RE2_OPTIONS
    return (o.case_sensitive and not o.literal and not o.posix_syntax and not o.longest_match
            and o.encoding == re2.Options.Encoding.UTF8)


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Strings one of which every match of ``pattern`` contains, or None when none can be proven.

    Used to skip the RE2 call on texts containing none of them (the answer is
    then no match). Conservative: only patterns without backslashes, ``(?``
    groups or flags and ``[:`` classes are analysed, and only under plain RE2
    options (case-sensitive, UTF-8); anything unexpected gives None.
    """
    if "\\" in pattern or "(?" in pattern or "[:" in pattern or not _re2_plain_options():
        return None
    try:
        _, req = _LiteralParser(pattern).parse()
    except (_NotPlain, RecursionError):
        return None
    if not req or "" in req:
        return None
    # a text containing a longer literal contains any shorter one inside it: keep the shorter
    kept = [s for s in req if not any(t != s and t in s for t in req)]
    return tuple(sorted(kept, key=lambda s: (-len(s), s)))


@register(
    "matches",
    'matches(FIELD, "REGEX")',
    "The first match of an RE2 regular expression in the normalised text of FIELD, or null. "
    "RE2 runs in linear time, so no pattern can hang the engine.",
)
def _matches(c: Compiler, node: ast.Call) -> Compiled:
    _nargs(c, node, 2)
    tf = _text_field(c, node.args[0])
    arg = node.args[1]
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        raise c.error(arg, "the pattern must be a quoted string")
    if len(arg.value) > MAX_REGEX_CHARS:
        raise c.error(arg, f"pattern longer than {MAX_REGEX_CHARS} characters")
    try:
        pattern = re2.compile(arg.value, _RE2_OPTIONS)
    except Exception as exc:  # re2.error, or plain errors for unsupported syntax
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise c.error(arg, f"bad regular expression: {detail}") from None
    if tf is None:
        return Compiled(lambda ctx: None, STR, const=True, value=None)
    fname, getter = tf
    key = ("matches", fname, arg.value)
    literals = required_literals(arg.value)  # every match contains one of them: skip RE2 when the text has none

    def compute(ctx: EvalContext) -> tuple[Any, list]:
        norm = ctx.norm(fname, getter)
        if norm is None:
            return None, []
        if literals is not None:
            text = norm.text
            for lit in literals:
                if lit in text:
                    break
            else:
                return _NO_MATCH
        m = pattern.search(norm.text)
        if m is None:
            return None, []
        s, e = norm.original_span(m.start(), m.end())
        return m.group(0), [{"field": fname, "term": m.group(0), "original": norm.original[s:e]}]

    run = _memoised(key, compute)

    return Compiled(run, STR)


def _simple(name: str, signature: str, doc: str, n_low: int, n_high: int | None, impl: Callable[..., Any], rtype: FieldType) -> None:
    def build(c: Compiler, node: ast.Call) -> Compiled:
        _nargs(c, node, n_low, n_high)
        fns = [c.node(a).fn for a in node.args]
        if len(fns) == 1:
            (f,) = fns
            return Compiled(lambda ctx: impl(f(ctx)), rtype)
        if len(fns) == 2:  # ratio(a, b), min(a, b), …: the common case, without building a list per call
            f1, f2 = fns
            return Compiled(lambda ctx: impl(f1(ctx), f2(ctx)), rtype)
        return Compiled(lambda ctx: impl(*[f(ctx) for f in fns]), rtype)

    register(name, signature, doc)(build)


def _len(v: Any) -> int | None:
    try:
        return None if v is None else len(v)
    except TypeError:
        return None


def _abs(v: Any) -> Any:
    return None if not isinstance(v, (int, float)) else abs(v)


def _round(v: Any, nd: Any = 0) -> Any:
    if not isinstance(v, (int, float)) or not isinstance(nd, int) or not -6 <= nd <= 6:
        return None
    return round(v, nd)


def _numbers(vs: tuple[Any, ...]) -> list[float]:
    """Numbers among the arguments; a single list argument is taken item by item."""
    if len(vs) == 1 and isinstance(vs[0], (list, tuple)):
        vs = tuple(vs[0])
    return [v for v in vs if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _min(*vs: Any) -> Any:
    vals = _numbers(vs)
    return min(vals) if vals else None


def _max(*vs: Any) -> Any:
    vals = _numbers(vs)
    return max(vals) if vals else None


def _coalesce(*vs: Any) -> Any:
    for v in vs:
        if v is not None:
            return v
    return None


def _ratio(a: Any, b: Any) -> Any:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or b == 0:
        return None
    return a / b


def _sqrt(v: Any) -> Any:
    return math.sqrt(v) if isinstance(v, (int, float)) and v >= 0 else None


def _has_any(seq: Any, values: Any) -> bool:
    if not seq or not values:
        return False
    try:
        wanted = set(values)
        return any(v in wanted for v in seq)
    except TypeError:
        return False


_simple("len", "len(X)", "Length of a text or list; null for null.", 1, 1, _len, FieldType("int", nullable=True))
_simple("abs", "abs(X)", "Absolute value; null for null.", 1, 1, _abs, NUM)
_simple("round", "round(X, DIGITS=0)", "X rounded to DIGITS decimals.", 1, 2, _round, NUM)
_simple("min", "min(A, B, ...) or min(LIST)", "Smallest non-null number, or null.", 1, 8, _min, NUM)
_simple("max", "max(A, B, ...) or max(LIST)", "Largest non-null number, or null.", 1, 8, _max, NUM)
_simple("coalesce", "coalesce(A, B, ...)", "The first argument that is not null.", 1, 8, _coalesce, ANY)
_simple("ratio", "ratio(A, B)", "A / B, or null when B is 0 or either is null.", 2, 2, _ratio, NUM)
_simple("sqrt", "sqrt(X)", "Square root; null for negatives and null.", 1, 1, _sqrt, NUM)
_simple("has_any", "has_any(LIST, [VALUES])", "True when any item of LIST is one of VALUES.", 2, 2, _has_any, BOOL)


@register("pluck", 'pluck(LIST_FIELD, "member")', "The member of each item of a list of objects, e.g. pluck(licences, \"type\").")
def _pluck(c: Compiler, node: ast.Call) -> Compiled:
    _nargs(c, node, 2)
    path = dotted_path(node.args[0])
    if path is None:
        raise c.error(node.args[0], "the first argument must be a list field such as licences")
    lst = c.field(path, node.args[0])
    member = node.args[1]
    if not (isinstance(member, ast.Constant) and isinstance(member.value, str)):
        raise c.error(member, "name the member as a quoted string")
    name = member.value
    item = lst.type.item
    if lst.type.kind != "list" or item is None or item.kind != "struct":
        if lst.const:
            return Compiled(lambda ctx: [], LIST, const=True, value=[])
        raise c.error(node.args[0], f"{'.'.join(path)} is not a list of objects")
    if name not in item.fields:
        raise c.error(member, f"items of {'.'.join(path)} have no member {name!r} (they have: {', '.join(item.fields)})")
    f = lst.fn
    return Compiled(lambda ctx: [getattr(x, name) for x in (f(ctx) or ())], FieldType("list", item=item.fields[name]))


@register("hours_since", "hours_since(TIME_FIELD)", "Hours from a time field to the event time (negative if it is later).")
def _hours_since(c: Compiler, node: ast.Call) -> Compiled:
    _nargs(c, node, 1)
    arg = c.node(node.args[0])
    if arg.type.kind not in ("datetime", "any"):
        raise c.error(node.args[0], f"hours_since() needs a time field, got a {arg.type.kind}")
    f = arg.fn

    def run(ctx: EvalContext) -> float | None:
        v = f(ctx)
        return None if v is None else (ctx.ts - v.timestamp()) / 3600.0

    return Compiled(run, NUM)


__all__ = ["FUNCTIONS", "FunctionSpec"]


@register(
    "recent_alert",
    'recent_alert(["FAMILY", ...], within="30d")',
    "Rule id of this merchant's latest alert of one of the families within the period before the event, or null. "
    "Lets a complaint confirm an open warning.",
    ("within",),
)
def _recent_alert(c: Compiler, node: ast.Call) -> Compiled:
    from engine.rules.loader import parse_duration

    _nargs(c, node, 1)
    fam = node.args[0]
    if not (isinstance(fam, (ast.List, ast.Tuple)) and fam.elts and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in fam.elts)):
        raise c.error(fam, "name the families as a list of quoted strings, e.g. [\"advertising\", \"price\"]")
    families = frozenset(e.value for e in fam.elts)  # type: ignore[union-attr]
    arg = _kw(node, "within")
    within_s = 30 * 86400
    if arg is not None:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise c.error(arg, 'within= takes a duration such as "30d"')
        try:
            within_s = parse_duration(arg.value, c.cond.loc(arg) if c.cond else None, "within")  # type: ignore[arg-type]
        except Exception as exc:
            raise c.error(arg, str(getattr(exc, "message", exc))) from None

    def run(ctx: EvalContext) -> str | None:
        if ctx.recent_alerts is None:
            return None
        memory = ctx.recent_alerts(ctx)
        if not memory:
            return None
        best = None
        for family, (ts, rule_id, alert_id) in memory.items():
            if family in families and ctx.ts - within_s <= ts <= ctx.ts and (best is None or ts > best[0]):
                best = (ts, rule_id, alert_id)
        if best is None:
            return None
        ctx.matches.append({"field": "recent_alert", "term": best[1], "original": best[2]})
        return best[1]

    return Compiled(run, STR)
