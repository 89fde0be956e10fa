"""A feature set compiled to numpy over a micro-batch: per event only the inputs are read.

The rule compiler turns a feature expression into a tree of closures that runs
per event: ``engagement_regularity`` alone is some eighty Python calls. A
model scores a few dozen events of a micro-batch together anyway, so the
arithmetic can run once per batch on columns instead:

* per event, :meth:`BatchProgram.inputs` reads the *inputs* of every feature —
  event fields, window aggregates, and any sub-expression this module does not
  vectorise (text functions, ``in`` lists, string equality…), each through the
  rule compiler's own closure, so null-safety and window reads are exactly the
  per-event ones, taken at the event's own moment;
* per batch, :meth:`BatchProgram.matrix` evaluates the arithmetic on the
  columns with numpy, each distinct sub-expression once (the steadiness
  features and ``engagement_regularity`` share their dispersions).

Null is NaN on the columns, and every operation keeps the rule language's
null semantics: arithmetic with null is null, division by zero is null,
ordering comparisons with null are false, ``max``/``min`` skip nulls,
``x if c else y`` picks per row. IEEE arithmetic (``+ - * /``, ``sqrt``) is
correctly rounded in Python and numpy alike, so a vector equals the per-event
extractor's bit for bit (tested on every shipped model over a simulated day).
Limits: integer inputs are taken as float64, exact below 2**53; an event whose
input read raised is handed back as ``None`` for the caller to extract per
event (the per-event extractor turns the failing feature into NaN, which a
column cannot reproduce without knowing which feature failed).
"""
from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable, Sequence

import numpy as np

from engine.rules.compiler import Compiler
from engine.rules.context import EvalContext
from engine.rules.expr import Condition, dotted_path

__all__ = ["BatchExtractor", "BatchProgram", "Vector"]

Column = Any  # np.ndarray (n,) of float64 or bool, or a numpy scalar (a constant) that numpy broadcasts
Step = Callable[[list, np.ndarray], Column]  # (earlier slots, input matrix) -> column
_NUMERIC = ("int", "float", "bool")
_NAN = math.nan
_FAILURES = (TypeError, ValueError, ZeroDivisionError, OverflowError)


class BatchProgram:
    """The features of one model for one event type: input readers per event, numpy steps per batch."""

    def __init__(self, comp: Compiler, exprs: Sequence[Condition]) -> None:
        self._comp = comp
        # inputs, by how they are read: event fields (one attrgetter), window aggregates (one read per
        # window), anything else (its own closure); _order maps the read order back to the columns
        self._fields: list[str] = []
        self._field_cols: list[int] = []
        self._windows: dict[str, tuple[list[str], list[int]]] = {}
        self._others: list[tuple[Callable[[EvalContext], Any], int]] = []
        self._n_inputs = 0
        self._steps: list[Step] = []  # step i fills slot i; a step reads only earlier slots
        self._slot_of: dict[str, int] = {}  # ast.dump -> slot: each distinct sub-expression computed once
        self._bools: set[int] = set()  # slots that hold true/false columns (never null)
        self.outputs: list[int] = []
        for cond in exprs:
            comp.node_of(cond)  # validates, and sets the compiler's current condition for its errors
            self.outputs.append(self._slot(cond.tree.body))
        self._build_reader()

    @property
    def n_inputs(self) -> int:
        """Values read per event."""
        return self._n_inputs

    def _build_reader(self) -> None:
        read_order = list(self._field_cols)
        self._read_fields = _tuple_getter(self._fields)
        groups = []
        for stored, (aggs, cols) in self._windows.items():
            groups.append((stored, _tuple_getter(aggs), (None,) * len(aggs)))
            read_order += cols
        self._window_groups = tuple(groups)
        self._other_fns = tuple(f for f, _ in self._others)
        read_order += [col for _, col in self._others]
        # data[:, order] puts the values, read grouped, back in column order
        order = [0] * len(read_order)
        for pos, col in enumerate(read_order):
            order[col] = pos
        self._order = None if order == list(range(len(order))) else np.asarray(order, dtype=np.intp)

    # -- per event ----------------------------------------------------
    def inputs(self, ctx: EvalContext) -> list[Any] | None:
        """The inputs of one event (numbers, true/false or null), or None if reading one raised."""
        try:
            row = list(self._read_fields(ctx))
            window = ctx.window
            for stored, read, nulls in self._window_groups:
                wv = window(stored)
                row += nulls if wv is None else read(wv)
            for f in self._other_fns:
                row.append(f(ctx))
            return row
        except _FAILURES:
            return None

    # -- per batch ----------------------------------------------------
    def matrix(self, rows: Sequence[Sequence[Any]]) -> np.ndarray:
        """Feature vectors (``len(rows)`` × features, float64, NaN for null) from the inputs of each row."""
        n = len(rows)
        data = np.array(rows, dtype=np.float64).reshape(n, self._n_inputs)  # null -> NaN, true/false -> 1/0
        if self._order is not None:
            data = data[:, self._order]
        slots: list[Column] = []
        with np.errstate(all="ignore"):
            for step in self._steps:
                slots.append(step(slots, data))
            out = np.empty((n, len(self.outputs)), dtype=np.float64)
            for j, slot in enumerate(self.outputs):
                col = slots[slot]
                out[:, j] = np.where(np.isfinite(col), col, _NAN)  # inf and NaN are null features
        return out

    # -- compilation --------------------------------------------------
    def _slot(self, node: ast.AST) -> int:
        key = ast.dump(node)
        slot = self._slot_of.get(key)
        if slot is None:
            step = self._compile(node)
            slot = self._slot_of[key] = len(self._steps)
            self._steps.append(step)
            if getattr(step, "boolean", False):
                self._bools.add(slot)
        return slot

    def _input(self, node: ast.AST) -> Step:
        """A column read per event: the rule compiler's own reader for ``node``, grouped where it can be.

        Called once per distinct sub-expression (``_slot`` keeps them apart), so each input is read once.
        """
        compiled = self._comp.node(node)
        if compiled.const:
            return _constant(compiled.value)
        k = self._n_inputs
        self._n_inputs += 1
        self._place(node, compiled, k)
        return lambda slots, data: data[:, k]

    def _place(self, node: ast.AST, compiled: Any, col: int) -> None:
        """File column ``col`` under the cheapest way to read it per event."""
        fn = compiled.fn
        path = dotted_path(node)
        numeric = compiled.type.kind in _NUMERIC
        if numeric and isinstance(fn, operator.attrgetter):  # a plain field path: joins the one attrgetter
            self._fields.append(fn.__reduce__()[1][0])
            self._field_cols.append(col)
            return
        ref = self._comp.windows.get(path[1]) if path and len(path) == 3 and path[0] == "window" else None
        if ref is not None and numeric:  # window.NAME.AGG: one read of the window for all its aggregates
            aggs, cols = self._windows.setdefault(ref.name, ([], []))
            aggs.append(path[2])
            cols.append(col)
            return
        if not numeric:  # may hold text or a list at run time: not a number, so null
            inner = fn

            def fn(c: EvalContext) -> Any:
                v = inner(c)
                return v if isinstance(v, (int, float)) else None

        self._others.append((fn, col))

    def _kind(self, node: ast.AST) -> str:
        return self._comp.node(node).type.kind

    def _numeric(self, node: ast.AST) -> bool:
        return self._kind(node) in ("int", "float", "any")

    def _compile(self, node: ast.AST) -> Step:
        """The numpy step for ``node``, or an input column when numpy would not mean the same."""
        if isinstance(node, ast.Constant):
            return _constant(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            a, b = self._slot(node.left), self._slot(node.right)
            return _ARITH[type(node.op)](a, b)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub) and self._numeric(node.operand):
                a = self._slot(node.operand)
                return lambda slots, data: -slots[a]
            if isinstance(node.op, ast.Not) and (t := self._truth(node.operand)) is not None:
                return _boolean(lambda slots, data: ~t(slots))
        if isinstance(node, ast.Compare) and (parts := self._compare(node)) is not None:
            if len(parts) == 1:
                return _boolean(parts[0])

            def chain(slots: list, data: Any) -> Column:
                out = parts[0](slots, data)
                for p in parts[1:]:
                    out = out & p(slots, data)
                return out

            return _boolean(chain)
        if isinstance(node, ast.BoolOp):
            truths = [self._truth(v) for v in node.values]
            if all(t is not None for t in truths):
                both = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

                def boolop(slots: list, data: Any) -> Column:
                    out = truths[0](slots)
                    for t in truths[1:]:
                        out = both(out, t(slots))
                    return out

                return _boolean(boolop)
        if isinstance(node, ast.IfExp) and (test := self._truth(node.test)) is not None:
            yes, no = self._slot(node.body), self._slot(node.orelse)
            return lambda slots, data: np.where(test(slots), slots[yes], slots[no])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            step = self._call(node.func.id, node.args)
            if step is not None:
                return step
        return self._input(node)

    def _truth(self, node: ast.AST) -> Callable[[list], Column] | None:
        """Python truthiness of ``node`` per row (null and 0 are false), or None if it may be text."""
        if self._kind(node) not in _NUMERIC:  # text, lists, or "any" (which may be text at run time)
            return None
        s = self._slot(node)
        if s in self._bools:
            return lambda slots: slots[s]
        return lambda slots: (slots[s] != 0) & ~np.isnan(slots[s])

    def _compare(self, node: ast.Compare) -> list[Step] | None:
        operands = [node.left, *node.comparators]
        parts: list[Step] = []
        for op, left, right in zip(node.ops, operands, operands[1:]):
            if type(op) in _ORDER:
                kinds = {self._kind(left), self._kind(right)}
                if not kinds <= {"int", "float", "bool", "any"} or kinds == {"any"}:
                    return None  # text against text orders in Python; as columns it would be null
                a, b = self._slot(left), self._slot(right)
                parts.append(_ORDER[type(op)](a, b))
            elif isinstance(op, (ast.Eq, ast.NotEq)) and _number_constant(right) and self._kind(left) in _NUMERIC:
                # null == k is false and null != k true, as NaN compares; null == null is not asked here
                a, k = self._slot(left), float(right.value)  # type: ignore[attr-defined]
                parts.append((lambda slots, data: slots[a] == k) if isinstance(op, ast.Eq)
                             else (lambda slots, data: slots[a] != k))
            else:
                return None
        return parts

    def _call(self, name: str, args: list[ast.expr]) -> Step | None:
        kinds = [self._kind(a) for a in args]
        if name == "ratio" and len(args) == 2:
            a, b = self._slot(args[0]), self._slot(args[1])
            return lambda slots, data: np.where(slots[b] == 0, _NAN, slots[a] / slots[b])
        if name == "sqrt" and len(args) == 1:
            a = self._slot(args[0])
            return lambda slots, data: np.sqrt(slots[a])  # of a negative number: NaN, i.e. null, as the rule function
        if name == "abs" and len(args) == 1:
            a = self._slot(args[0])
            return lambda slots, data: np.abs(slots[a])
        if name in ("max", "min") and args and all(k in ("int", "float", "any") for k in kinds) and not (
            len(args) == 1
        ):
            ids = [self._slot(a) for a in args]
            pick = np.fmax if name == "max" else np.fmin  # skip NaN (null) like the rule function; all null -> NaN

            def extreme(slots: list, data: Any) -> Column:
                out = slots[ids[0]]
                for i in ids[1:]:
                    out = pick(out, slots[i])
                return out

            return extreme
        if name == "coalesce" and args and all(k in ("int", "float") for k in kinds):
            ids = [self._slot(a) for a in args]

            def first(slots: list, data: Any) -> Column:
                out = slots[ids[-1]]
                for i in reversed(ids[:-1]):
                    out = np.where(np.isnan(slots[i]), out, slots[i])
                return out

            return first
        return None


def _constant(value: Any) -> Step:
    # a numpy scalar: broadcast by every step, without an array per batch
    x = np.float64(float(value) if isinstance(value, (int, float)) else _NAN)  # true/false are 1/0; null, text: NaN
    return lambda slots, data: x


def _boolean(step: Step) -> Step:
    """Mark ``step`` as giving a true/false column (its truthiness is itself)."""
    step.boolean = True  # type: ignore[attr-defined]
    return step


def _tuple_getter(names: list[str]) -> Callable[[Any], tuple]:
    """One C call reading every attribute in ``names`` as a tuple (``attrgetter`` returns a bare value for one name)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        get = operator.attrgetter(names[0])
        return lambda obj: (get(obj),)
    return operator.attrgetter(*names)


def _number_constant(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def _binop(fn: Callable[[Column, Column], Column]) -> Callable[[int, int], Step]:
    return lambda a, b: (lambda slots, data: fn(slots[a], slots[b]))


def _divide(a: int, b: int) -> Step:
    return lambda slots, data: np.where(slots[b] == 0, _NAN, slots[a] / slots[b])  # x / 0 is null


_ARITH: dict[type, Callable[[int, int], Step]] = {
    ast.Add: _binop(np.add),
    ast.Sub: _binop(np.subtract),
    ast.Mult: _binop(np.multiply),
    ast.Div: _divide,
}
_ORDER: dict[type, Callable[[int, int], Step]] = {
    ast.Lt: _binop(np.less),
    ast.LtE: _binop(np.less_equal),
    ast.Gt: _binop(np.greater),
    ast.GtE: _binop(np.greater_equal),
}


class Vector(list):
    """A feature vector made per event, travelling among a batch's input rows (see :meth:`BatchExtractor.take`)."""

    __slots__ = ()


class BatchExtractor:
    """A model's features for one event type, taken per event or per batch with the same result.

    Calling it gives one event's vector (explanations, training streams).
    :meth:`take` gives what to keep for the batch: the event's inputs when the
    caller expects enough events to make numpy worth it (``wide``), else the
    vector itself; :meth:`matrix` turns a batch of either into the feature matrix.
    Below about a dozen rows numpy's per-call overhead costs more than the
    per-event closures save, so the caller chooses per batch (see ``MIN_ROWS``).
    """

    MIN_ROWS = 12

    __slots__ = ("extract", "program", "width")

    def __init__(self, extract: Callable[[EvalContext], list[float]], program: BatchProgram) -> None:
        self.extract = extract
        self.program = program
        self.width = len(program.outputs)

    def __call__(self, ctx: EvalContext) -> list[float]:
        return self.extract(ctx)

    def take(self, ctx: EvalContext, wide: bool) -> list[Any]:
        """What to keep of one event, read at its own moment: its inputs (``wide``) or its vector."""
        if wide:
            got = self.program.inputs(ctx)
            if got is not None:
                return got
        return Vector(self.extract(ctx))

    def matrix(self, rows: Sequence[list[Any]]) -> np.ndarray:
        """The feature matrix of a batch of :meth:`take` results, in row order."""
        vectors = [j for j, r in enumerate(rows) if r.__class__ is Vector]
        if len(vectors) == len(rows):
            return np.asarray(rows, dtype=np.float64).reshape(len(rows), self.width)
        if not vectors:
            return self.program.matrix(rows)
        X = np.empty((len(rows), self.width), dtype=np.float64)
        inputs = [j for j, r in enumerate(rows) if r.__class__ is not Vector]
        X[inputs] = self.program.matrix([rows[j] for j in inputs])
        X[vectors] = np.asarray([rows[j] for j in vectors], dtype=np.float64)
        return X
