"""Lint a rule pack: every problem, with file:line:col and rule id.

Lint is load + compile with errors collected at each stage, plus checks that
need the whole pack (unused lists and windows). It never stops at the first
problem: a rules engineer fixes a file in one pass.
"""
from __future__ import annotations

import re

from engine.errors import PackError, PackErrors
from engine.rules.evaluator import compile_pack
from engine.rules.loader import load_pack


def _sort_key(e: PackError) -> tuple:
    loc = e.location
    return (loc.file or "", loc.line or 0, loc.col or 0, e.message)


def lint_pack(folder: str, model_names: frozenset[str] = frozenset()) -> tuple[list[PackError], list[str]]:
    """Return (errors sorted by position, warnings) for a pack folder.

    ``model_names`` are the models the pack will run with: its rules may read score.NAME for those.
    """
    errors: list[PackError] = []
    try:
        pack = load_pack(folder, collect=errors)
    except PackErrors as exc:  # pack.yaml itself unreadable: nothing more to check
        return sorted(exc.errors, key=_sort_key), []
    try:
        compile_pack(pack, models=model_names)
    except PackErrors as exc:
        errors.extend(exc.errors)
    if errors:
        return sorted(errors, key=_sort_key), []
    warnings: list[str] = []
    used_text = " ".join(
        [r.condition.source for r in pack.rules]
        + [e.condition.source for r in pack.rules for e in r.escalations]
        + [w.where.source for w in pack.windows.values() if w.where]
    )
    for name, kl in pack.lists.items():
        if not re.search(rf"[\"']{re.escape(name)}[\"']", used_text):
            warnings.append(f"{kl.loc}: list {name!r} is not used by any rule")
    for name, w in pack.windows.items():
        if f"window.{name}." not in used_text and not any(f"window.{name}." in r.message for r in pack.rules):
            warnings.append(f"{w.loc}: window {name!r} is not read by any rule")
    return [], warnings
