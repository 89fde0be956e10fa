"""The objects a rule pack is made of, after loading and before compiling.

Plain frozen dataclasses: no YAML, no closures. The loader builds them from
YAML (remembering locations for error messages); the compiler turns them
into closures; docs and lint read them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import Location
from engine.rules.expr import Condition
from engine.state.windows import WindowSpec

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
STATUSES: tuple[str, ...] = ("active", "shadow", "disabled")


def raise_severity(severity: str, steps: int = 1) -> str:
    """Severity ``steps`` levels higher (or lower for negative steps), clamped to the scale."""
    i = SEVERITIES.index(severity) + steps
    return SEVERITIES[max(0, min(i, len(SEVERITIES) - 1))]


@dataclass(frozen=True)
class LegalBasis:
    """The legal ground of a rule: law (with the version date it was written against) and article."""

    law: str
    version: str
    article: str
    note: str = ""
    verified: bool = True  # False when the article comes only from a secondary source


@dataclass(frozen=True)
class Escalation:
    """Raise the severity when a condition also holds."""

    condition: Condition
    to: str | None = None
    by: int = 1


@dataclass(frozen=True)
class Example:
    """An inline test case: an event (merged onto a default event) that must or must not fire."""

    event: dict[str, Any]
    fire: bool
    given: tuple[dict[str, Any], ...] = ()
    note: str = ""
    loc: Location = Location()


@dataclass(frozen=True)
class KeywordList:
    """A named keyword list compiled to one multi-pattern matcher."""

    name: str
    terms: tuple[str, ...]
    source: str
    homophones: bool = False
    numerals: bool = True
    loc: Location = Location()


@dataclass(frozen=True)
class WindowDef:
    """A declared, keyed, event-time aggregate that rules read as window.NAME.AGG."""

    name: str
    events: tuple[str, ...]
    key: tuple[tuple[str, ...], ...]
    spec: WindowSpec
    where: Condition | None = None
    key_conditions: tuple[Condition, ...] = ()
    value_condition: Condition | None = None
    distinct_condition: Condition | None = None
    loc: Location = Location()


@dataclass(frozen=True)
class Rule:
    """One early-warning rule as written in a pack."""

    id: str
    title: str
    events: tuple[str, ...]
    condition: Condition
    severity: str
    family: str
    basis: tuple[LegalBasis, ...]
    message: str
    message_loc: Location
    status: str = "active"
    minor: bool = False
    tags: tuple[str, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    dedup_s: int = 86_400
    subject: Condition | None = None
    evidence: tuple[Condition, ...] = ()
    examples: tuple[Example, ...] = ()
    description: str = ""
    loc: Location = Location()


@dataclass(frozen=True)
class Pack:
    """A loaded rule pack: metadata, keyword lists, windows and rules."""

    name: str
    version: str
    description: str
    lists: dict[str, KeywordList]
    windows: dict[str, WindowDef]
    rules: tuple[Rule, ...]
    root: str
    digest: str
    case_files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
