"""The condition language: parse a rule condition into a whitelisted tree.

Conditions look like Python expressions because rules engineers can read
them at a glance::

    category_std not in ["药品", "医疗器械"] and contains_any(text, "medical_terms")
    window.sku_paid_7d.min != null and ref_price > window.sku_paid_7d.min * 1.01

Only the *parser* of Python is used (``ast.parse`` in ``eval`` mode; nothing is
ever executed). Every node of the resulting tree must be in the whitelist
below, otherwise the condition is refused with the file:line:col of the
offending part. That rules out, by construction: attribute access on values
(dotted names are field paths, resolved against the event schema), calls of
anything but registered functions, imports, dunder names, lambdas,
comprehensions, f-strings, walrus, subscripts, star-args and unbounded
exponentiation. Size limits bound the work of parsing and evaluation.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from engine.errors import ConditionError, Location

MAX_CONDITION_CHARS = 4000
MAX_NODES = 400
MAX_DEPTH = 40
MAX_BRACKET_DEPTH = 20
MAX_STRING_CHARS = 2000
MAX_LIST_ITEMS = 500
MAX_ABS_NUMBER = 1e15
MAX_POWER = 8

_ALLOWED_NODES: tuple[type, ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Name,
    ast.Attribute,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Load,
)

_FRIENDLY = {
    ast.Lambda: "lambda expressions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Subscript: "subscripts (x[...])",
    ast.Starred: "star arguments",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Dict: "dict literals",
    ast.Set: "set literals",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
    ast.Is: "'is' (use == null)",
    ast.IsNot: "'is not' (use != null)",
    ast.BitAnd: "bitwise operators",
    ast.BitOr: "bitwise operators",
    ast.BitXor: "bitwise operators",
    ast.LShift: "bitwise operators",
    ast.RShift: "bitwise operators",
    ast.Invert: "bitwise operators",
    ast.MatMult: "the @ operator",
}

CONSTANT_NAMES = {"null": None, "None": None, "true": True, "True": True, "false": False, "False": False}


@dataclass(frozen=True)
class Condition:
    """A parsed, whitelisted condition and where its text starts in its file."""

    source: str
    tree: ast.Expression
    origin: Location

    def loc(self, node: ast.AST) -> Location:
        """File location of a node of this condition's tree."""
        return node_location(self.source, self.origin, node)


def node_location(source: str, origin: Location, node: ast.AST) -> Location:
    """Map a node's (line, byte column) inside ``source`` to a file location."""
    lineno = getattr(node, "lineno", 1) or 1
    byte_col = getattr(node, "col_offset", 0) or 0
    lines = source.splitlines() or [""]
    line_text = lines[min(lineno, len(lines)) - 1]
    char_col = len(line_text.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))
    base_col = origin.col or 1
    line = (origin.line or 1) + lineno - 1 if origin.line is not None else None
    return Location(file=origin.file, line=line, col=base_col + char_col, rule_id=origin.rule_id)


def _bracket_depth(text: str) -> int:
    depth = best = 0
    for ch in text:
        if ch in "([":
            depth += 1
            best = max(best, depth)
        elif ch in ")]":
            depth -= 1
    return best


def parse_condition(text: str, origin: Location | None = None) -> Condition:
    """Parse and whitelist-check a condition; raise ConditionError with a location."""
    origin = origin or Location()
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("condition is empty", origin)
    if len(text) > MAX_CONDITION_CHARS:
        raise ConditionError(f"condition longer than {MAX_CONDITION_CHARS} characters", origin)
    if _bracket_depth(text) > MAX_BRACKET_DEPTH:
        raise ConditionError(f"brackets nested deeper than {MAX_BRACKET_DEPTH}", origin)
    stripped = text.strip()
    # A condition over several lines (YAML block scalar) is parsed inside
    # brackets so line breaks need no backslashes; columns on line 1 shift by one.
    offset_fix = 1 if "\n" in stripped else 0
    source = "(" + stripped + "\n)" if offset_fix else stripped
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = max((exc.offset or 1) - (offset_fix if line == 1 else 0), 1)
        loc = Location(
            file=origin.file,
            line=(origin.line or 1) + line - 1 if origin.line is not None else None,
            col=(origin.col or 1) + col - 1,
            rule_id=origin.rule_id,
        )
        raise ConditionError(f"syntax error: {exc.msg}", loc) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ConditionError(f"condition too complex to parse ({type(exc).__name__})", origin) from None
    if offset_fix:
        for node in ast.walk(tree):
            if hasattr(node, "col_offset") and getattr(node, "lineno", 1) == 1:
                node.col_offset = max(node.col_offset - 1, 0)  # type: ignore[attr-defined]
    cond = Condition(stripped, tree, origin)
    _check(cond)
    return cond


def _check(cond: Condition) -> None:
    count = 0

    def visit(node: ast.AST, depth: int) -> None:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise ConditionError(f"condition has more than {MAX_NODES} parts", cond.origin)
        if depth > MAX_DEPTH:
            raise ConditionError(f"condition nested deeper than {MAX_DEPTH}", cond.loc(node))
        if not isinstance(node, _ALLOWED_NODES):
            what = _FRIENDLY.get(type(node), type(node).__name__)
            raise ConditionError(f"{what} not allowed in conditions", cond.loc(node))
        _check_node(cond, node)
        for child in ast.iter_child_nodes(node):
            visit(child, depth + 1)

    visit(cond.tree, 0)


def _check_node(cond: Condition, node: ast.AST) -> None:
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ConditionError(f"name {node.id!r}: names starting with '_' are not allowed", cond.loc(node))
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            raise ConditionError(f"'.{node.attr}': names starting with '_' are not allowed", cond.loc(node))
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            raise ConditionError("'.' may only follow a field name (field paths such as merchant.op_region_code)", cond.loc(node))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ConditionError("only registered functions may be called, by plain name", cond.loc(node))
        for kw in node.keywords:
            if kw.arg is None:
                raise ConditionError("'**' arguments are not allowed", cond.loc(node))
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            if value != value or abs(value) > MAX_ABS_NUMBER:
                raise ConditionError(f"number {value!r} outside ±{MAX_ABS_NUMBER:g}", cond.loc(node))
        elif isinstance(value, str):
            if len(value) > MAX_STRING_CHARS:
                raise ConditionError(f"string literal longer than {MAX_STRING_CHARS} characters", cond.loc(node))
        else:
            raise ConditionError(f"literal of type {type(value).__name__} not allowed", cond.loc(node))
    if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) > MAX_LIST_ITEMS:
        raise ConditionError(f"list literal with more than {MAX_LIST_ITEMS} items", cond.loc(node))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node.left)):
            raise ConditionError("'**' may not be nested (the result would grow without bound)", cond.loc(node))
        exp = node.right
        if isinstance(exp, ast.UnaryOp) and isinstance(exp.op, ast.USub):
            exp = exp.operand
        if not (isinstance(exp, ast.Constant) and isinstance(exp.value, (int, float)) and not isinstance(exp.value, bool)
                and abs(exp.value) <= MAX_POWER):
            raise ConditionError(f"'**' needs a constant exponent of at most {MAX_POWER}", cond.loc(node))


def dotted_path(node: ast.AST) -> tuple[str, ...] | None:
    """('merchant', 'op_region_code') for ``merchant.op_region_code``; None if not a plain path."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))
