"""Compile a whitelisted condition tree into a fast Python closure.

The compiler works per (condition, event type): field paths are resolved
against that type's schema once, so the closure reads attributes directly
with no lookups by name at evaluation time. Semantics are null-safe:

* reading a field that is absent or null yields ``null``;
* ordering comparisons (<, <=, >, >=) with a null side are false; ``==`` and
  ``!=`` treat null as a value (``ref_price == null`` is how to ask);
* arithmetic with a null operand, or division by zero, yields null;
* ``x in list`` is false and ``x not in list`` true when either side is null;
* comparisons between incompatible types are false rather than errors.

It imports no YAML, Kafka or Faust (design principle 1).
"""
from __future__ import annotations

import ast
import difflib
import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from engine.errors import ConditionError
from engine.events.schema import EVENT_CLASSES
from engine.rules.context import EvalContext
from engine.rules.expr import CONSTANT_NAMES, Condition, dotted_path
from engine.rules.fields import FieldType, all_field_names, event_fields, resolve, text_fields

Fn = Callable[[EvalContext], Any]

_ORDER_OPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_ARITH_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


@dataclass(frozen=True)
class WindowRef:
    """What the compiler needs to know about a declared window."""

    name: str
    aggregates: frozenset[str]
    key_paths: tuple[tuple[str, ...], ...]


@dataclass
class Compiled:
    """A compiled sub-expression: its closure, static type and constant value if any."""

    fn: Fn
    type: FieldType
    const: bool = False
    value: Any = None


ANY = FieldType("any", nullable=True)
BOOL = FieldType("bool")
NUM = FieldType("float", nullable=True)
STR = FieldType("str", nullable=True)
LIST = FieldType("list", nullable=True)


class Compiler:
    """Compiles conditions of one rule for one event type."""

    def __init__(
        self,
        event_type: str,
        rule_event_types: tuple[str, ...],
        lists: Mapping[str, Any],
        windows: Mapping[str, WindowRef],
        models: frozenset[str] = frozenset(),
        not_yet: frozenset[str] = frozenset(),
        prefilter: Any = None,
    ) -> None:
        self.event_type = event_type
        self.rule_event_types = rule_event_types
        self.lists = lists
        self.windows = windows
        self.models = models
        self.not_yet = not_yet  # windows that exist but may not be read here (declared later)
        self.prefilter = prefilter  # one matcher over every list's terms: skips texts that hold none
        self.score_reads: set[str] = set()  # models whose score this compiler's expressions read
        self.cond: Condition | None = None

    # -- entry points -------------------------------------------------
    def compile(self, cond: Condition) -> Fn:
        """Compile a condition to a closure ``f(ctx) -> value``."""
        self.cond = cond
        return self.node(cond.tree.body).fn

    def node_of(self, cond: Condition) -> Compiled:
        """Compile a condition and keep its static type (for window values and distinct keys)."""
        self.cond = cond
        return self.node(cond.tree.body)

    def compile_path(self, cond: Condition) -> Compiled:
        """Compile a condition that must be a plain field path (window keys, values)."""
        self.cond = cond
        body = cond.tree.body
        if dotted_path(body) is None:
            raise self.error(body, "expected a field path such as merchant.merchant_id")
        return self.node(body)

    def error(self, node: ast.AST, message: str) -> ConditionError:
        """A ConditionError located at ``node``."""
        assert self.cond is not None
        return ConditionError(message, self.cond.loc(node))

    # -- nodes --------------------------------------------------------
    def node(self, node: ast.AST) -> Compiled:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:  # the whitelist in expr.py makes this unreachable
            raise self.error(node, f"{type(node).__name__} not supported")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Compiled:
        value = node.value
        kind = "bool" if isinstance(value, bool) else "str" if isinstance(value, str) else "float" if value is not None else "any"
        return _const(value, FieldType(kind, nullable=value is None))

    def _List(self, node: ast.List | ast.Tuple) -> Compiled:
        items = [self.node(e) for e in node.elts]
        if all(i.const for i in items):
            values = tuple(i.value for i in items)
            return _const(values, FieldType("list", item=items[0].type if items else ANY))
        fns = [i.fn for i in items]
        return Compiled(lambda c: [f(c) for f in fns], FieldType("list"))

    _Tuple = _List

    def _Name(self, node: ast.Name) -> Compiled:
        if node.id in CONSTANT_NAMES:
            value = CONSTANT_NAMES[node.id]
            return _const(value, FieldType("bool") if isinstance(value, bool) else ANY)
        if node.id in ("window", "score"):
            raise self.error(node, f"'{node.id}' needs a name: {node.id}.NAME" + (".AGGREGATE" if node.id == "window" else ""))
        return self.field((node.id,), node)

    def _Attribute(self, node: ast.Attribute) -> Compiled:
        path = dotted_path(node)
        assert path is not None  # enforced by expr._check_node
        if path[0] == "window":
            return self.window_read(path, node)
        if path[0] == "score":
            return self.score_read(path, node)
        return self.field(path, node)

    def _UnaryOp(self, node: ast.UnaryOp) -> Compiled:
        operand = self.node(node.operand)
        f = operand.fn
        if isinstance(node.op, ast.Not):
            return Compiled(lambda c: not f(c), BOOL)
        if operand.type.kind not in ("int", "float", "any"):
            raise self.error(node, f"cannot negate a {operand.type.kind}")
        if isinstance(node.op, ast.USub):
            if operand.const:
                return _const(-operand.value if operand.value is not None else None, NUM)
            return Compiled(lambda c: None if (v := f(c)) is None else -v, NUM)
        return operand

    def _BoolOp(self, node: ast.BoolOp) -> Compiled:
        fns = [self.node(v).fn for v in node.values]
        if isinstance(node.op, ast.And):
            if len(fns) == 2:
                a, b = fns
                return Compiled(lambda c: bool(a(c)) and bool(b(c)), BOOL)

            def all_true(c: EvalContext) -> bool:
                for f in fns:
                    if not f(c):
                        return False
                return True

            return Compiled(all_true, BOOL)
        if len(fns) == 2:
            a, b = fns
            return Compiled(lambda c: bool(a(c)) or bool(b(c)), BOOL)

        def any_true(c: EvalContext) -> bool:
            for f in fns:
                if f(c):
                    return True
            return False

        return Compiled(any_true, BOOL)

    def _IfExp(self, node: ast.IfExp) -> Compiled:
        test, yes, no = self.node(node.test).fn, self.node(node.body), self.node(node.orelse)
        y, n = yes.fn, no.fn
        return Compiled(lambda c: y(c) if test(c) else n(c), yes.type if yes.type == no.type else ANY)

    def _BinOp(self, node: ast.BinOp) -> Compiled:
        left, right = self.node(node.left), self.node(node.right)
        for side in (left, right):
            if side.type.kind not in ("int", "float", "any") and not (
                isinstance(node.op, ast.Add) and side.type.kind == "str"
            ):
                raise self.error(node, f"arithmetic on a {side.type.kind} value")
        op = _ARITH_OPS[type(node.op)]
        lf, rf = left.fn, right.fn
        if right.const and right.value is not None:
            k = right.value
            if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and k == 0:
                raise self.error(node, "division by zero")

            def arith_const(c: EvalContext) -> Any:
                a = lf(c)
                if a is None:
                    return None
                try:
                    return op(a, k)
                except (TypeError, ZeroDivisionError, OverflowError, ValueError):
                    return None

            return Compiled(arith_const, NUM)

        def arith(c: EvalContext) -> Any:
            a = lf(c)
            if a is None:
                return None
            b = rf(c)
            if b is None:
                return None
            try:
                return op(a, b)
            except (TypeError, ZeroDivisionError, OverflowError, ValueError):
                return None

        return Compiled(arith, NUM)

    def _Compare(self, node: ast.Compare) -> Compiled:
        operands = [self.node(node.left)] + [self.node(c) for c in node.comparators]
        parts: list[Fn] = []
        for i, op in enumerate(node.ops):
            parts.append(self.compare(op, operands[i], operands[i + 1], node))
        if len(parts) == 1:
            return Compiled(parts[0], BOOL)

        def chain(c: EvalContext) -> bool:
            for p in parts:
                if not p(c):
                    return False
            return True

        return Compiled(chain, BOOL)

    def _Call(self, node: ast.Call) -> Compiled:
        from engine.rules.functions import FUNCTIONS

        assert isinstance(node.func, ast.Name)
        name = node.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            hint = difflib.get_close_matches(name, FUNCTIONS, n=1)
            raise self.error(node, f"unknown function {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        return spec.compile(self, node)

    # -- helpers ------------------------------------------------------
    def compare(self, op: ast.cmpop, left: Compiled, right: Compiled, node: ast.AST) -> Fn:
        self.check_comparable(op, left, right, node)
        lf, rf = left.fn, right.fn
        if isinstance(op, (ast.In, ast.NotIn)):
            negate = isinstance(op, ast.NotIn)
            if right.const and isinstance(right.value, tuple):
                try:
                    container: Any = frozenset(right.value)
                except TypeError:
                    container = right.value

                def in_const(c: EvalContext) -> bool:
                    v = lf(c)
                    if v is None:
                        return negate
                    try:
                        return (v in container) != negate
                    except TypeError:
                        return False

                return in_const

            def in_dyn(c: EvalContext) -> bool:
                v = lf(c)
                if v is None:
                    return negate
                seq = rf(c)
                if seq is None:
                    return negate
                try:
                    return (v in seq) != negate
                except TypeError:
                    return False

            return in_dyn
        if isinstance(op, ast.Eq):
            if right.const:
                k = right.value
                return lambda c: lf(c) == k
            return lambda c: lf(c) == rf(c)
        if isinstance(op, ast.NotEq):
            if right.const:
                k = right.value
                return lambda c: lf(c) != k
            return lambda c: lf(c) != rf(c)
        fn = _ORDER_OPS[type(op)]
        if right.const:
            k = right.value
            if k is None:
                raise self.error(node, "ordering comparison with null is always false; use == null")

            def order_const(c: EvalContext) -> bool:
                a = lf(c)
                if a is None:
                    return False
                try:
                    return fn(a, k)
                except TypeError:
                    return False

            return order_const

        def order(c: EvalContext) -> bool:
            a = lf(c)
            if a is None:
                return False
            b = rf(c)
            if b is None:
                return False
            try:
                return fn(a, b)
            except TypeError:
                return False

        return order

    def check_comparable(self, op: ast.cmpop, left: Compiled, right: Compiled, node: ast.AST) -> None:
        """Refuse comparisons that can never be true because of types or enumerated values."""
        lt, rt = left.type, right.type
        if isinstance(op, (ast.In, ast.NotIn)):
            if right.const and isinstance(right.value, tuple) and lt.values:
                bad = [v for v in right.value if isinstance(v, str) and v not in lt.values]
                if bad:
                    raise self.error(node, f"{bad[0]!r} is not a possible value (one of: {', '.join(lt.values)})")
            return
        for a, b in ((left, right), (right, left)):
            if b.const and isinstance(b.value, str) and a.type.values and b.value not in a.type.values:
                raise self.error(node, f"{b.value!r} is not a possible value (one of: {', '.join(a.type.values)})")
        if lt.kind != "any" and rt.kind != "any" and not (left.const and left.value is None) and not (
            right.const and right.value is None
        ):
            numeric = {"int", "float"}
            same = lt.kind == rt.kind or (lt.kind in numeric and rt.kind in numeric)
            if not same:
                raise self.error(node, f"comparing a {lt.kind} with a {rt.kind} is never true")

    def field(self, path: tuple[str, ...], node: ast.AST) -> Compiled:
        """Compile a field read for this compiler's event type."""
        ftype = resolve(self.event_type, path)
        if ftype is None:
            if any(resolve(t, path) is not None for t in self.rule_event_types):
                other = resolve(next(t for t in self.rule_event_types if resolve(t, path) is not None), path)
                return _const(None, FieldType(other.kind if other else "any", nullable=True, values=other.values if other else ()))
            dotted = ".".join(path)
            types = ", ".join(self.rule_event_types)
            owners = [t for t in EVENT_CLASSES if resolve(t, path) is not None]
            if owners:
                raise self.error(node, f"{dotted!r} is not a field of {types} events (it is a field of {', '.join(owners)})")
            hint = difflib.get_close_matches(path[-1], set(event_fields(self.event_type)) | all_field_names(), n=1)
            raise self.error(node, f"unknown field {dotted!r} for {types}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        return Compiled(self.getter(path), ftype)

    def getter(self, path: tuple[str, ...]) -> Fn:
        """A null-safe attribute reader for a resolved path of this event type."""
        et = self.event_type
        if path == ("ts",):
            return operator.attrgetter("ts")
        if path == ("event_type",):
            return lambda c: et
        if path == ("text",):
            fields = text_fields(et)

            def joined(c: EvalContext) -> str:
                ev = c.event
                return "\n".join(v for f in fields if (v := getattr(ev, f)))

            return joined
        # attrgetter on the context ("event.status") is one C call per read: field reads are the
        # most frequent operation of every condition, key and value
        if len(path) == 1:
            return operator.attrgetter("event." + path[0])
        nullable_parents = [resolve(et, path[: i + 1]).nullable for i in range(len(path) - 1)]  # type: ignore[union-attr]
        if not any(nullable_parents):
            return operator.attrgetter("event." + ".".join(path))
        names = path

        def nested(c: EvalContext) -> Any:
            v = c.event
            for n in names:
                v = getattr(v, n, None)
                if v is None:
                    return None
            return v

        return nested

    def window_read(self, path: tuple[str, ...], node: ast.AST) -> Compiled:
        if len(path) != 3:
            raise self.error(node, "write window.NAME.AGGREGATE, e.g. window.complaints_24h.count")
        _, name, agg = path
        ref = self.windows.get(name)
        if ref is None and name in self.not_yet:
            raise self.error(node, f"window {name!r} is declared after this window (or is this window); "
                                   "a window may read only windows declared before it")
        if ref is None:
            hint = difflib.get_close_matches(name, self.windows, n=1)
            raise self.error(node, f"unknown window {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        if agg not in ref.aggregates:
            raise self.error(node, f"window {name!r} does not compute {agg!r} (it has: {', '.join(sorted(ref.aggregates))})")
        for key in ref.key_paths:
            if resolve(self.event_type, key) is None:
                if len(self.rule_event_types) > 1:
                    return _const(None, NUM)
                raise self.error(node, f"window {name!r} is keyed by {'.'.join(key)}, which {self.event_type} events do not have")
        get = operator.attrgetter(agg)
        stored = ref.name  # the name the window's state lives under (a model's windows carry a prefix)

        def read(c: EvalContext) -> Any:
            wv = c.window(stored)
            return None if wv is None else get(wv)

        return Compiled(read, FieldType("float" if agg not in ("count", "distinct") else "int", nullable=True))

    def score_read(self, path: tuple[str, ...], node: ast.AST) -> Compiled:
        if len(path) != 2:
            raise self.error(node, "write score.MODEL, e.g. score.live_traffic")
        name = path[1]
        if name not in self.models:
            raise self.error(node, f"unknown model {name!r}" + (f" (loaded: {', '.join(sorted(self.models))})" if self.models else " (no models loaded)"))
        self.score_reads.add(name)
        return Compiled(lambda c: c.scores.get(name), NUM)


def _const(value: Any, ftype: FieldType) -> Compiled:
    return Compiled(lambda c: value, ftype, const=True, value=value)


__all__ = ["Compiler", "Compiled", "WindowRef", "Fn"]
