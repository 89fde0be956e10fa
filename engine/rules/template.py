"""Alert message templates: text with ``{field.path}`` placeholders.

Placeholders are compiled like condition field paths (so unknown fields are
lint errors with a location), never passed to ``str.format`` (which would let
a template reach attributes such as ``{0.__class__}``). ``{matched}`` is the
list of matched terms; ``{window.NAME.AGG}`` and ``{score.MODEL}`` work as in
conditions.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from engine.errors import ConditionError, Location
from engine.rules.compiler import Compiler
from engine.rules.context import EvalContext
from engine.rules.expr import dotted_path, parse_condition

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
Renderer = Callable[[EvalContext], str]


def format_value(value: Any) -> str:
    """Human text for a value inside a message (numbers trimmed, lists joined with 、)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1e12 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "、".join(format_value(v) for v in value)
    return str(value)


def compile_template(text: str, origin: Location, compiler: Compiler) -> Renderer:
    """Compile a message template for one event type; raise ConditionError on a bad placeholder."""
    pieces: list[str | Callable[[EvalContext], Any]] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        pieces.append(text[pos : m.start()])
        inner = m.group(1).strip()
        # Placeholder positions are approximate for multi-line templates (same line assumed).
        loc = Location(file=origin.file, line=origin.line, col=(origin.col or 1) + m.start(1), rule_id=origin.rule_id)
        if inner == "matched":
            pieces.append(lambda c: list(dict.fromkeys(x["term"] for x in c.matches)))
        else:
            cond = parse_condition(inner, loc)
            if dotted_path(cond.tree.body) is None:
                raise ConditionError(f"placeholder {{{inner}}} must be a field path", loc)
            pieces.append(compiler.compile(cond))
        pos = m.end()
    pieces.append(text[pos:])
    if any(isinstance(p, str) and ("{" in p or "}" in p) for p in pieces):
        raise ConditionError("unbalanced { or } in message", origin)

    def render(c: EvalContext) -> str:
        return "".join(p if isinstance(p, str) else format_value(p(c)) for p in pieces)

    return render
