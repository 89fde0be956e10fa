"""One root error for everything a user of hongdun can see.

Every error that reaches a user says *where*: a file position
(``file:line:col``), a rule id, a field path inside an event, or a
topic/partition/offset. :class:`Location` carries whichever of those apply
and renders them in that order, so lint output, dead-letter reasons and log
lines all look the same.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(slots=True, unsafe_hash=True)
class Location:
    """Where something is: any combination of file position, rule, field path, stream offset.

    Treat it as immutable (use ``shifted``/``dataclasses.replace`` for a changed copy).
    It is not declared frozen only because a frozen dataclass's constructor is three
    times slower, and the embedded runner makes one per input line.
    """

    file: str | None = None
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    rule_id: str | None = None
    path: str | None = None  # field path such as ``$.merchant.uscc``
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    def shifted(self, lines: int = 0, col: int | None = None) -> "Location":
        """Return the location moved down ``lines`` lines (and to ``col`` if given)."""
        return replace(self, line=(self.line or 1) + lines, col=col if col is not None else self.col)

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            pos = self.file
            if self.line is not None:
                pos += f":{self.line}"
                if self.col is not None:
                    pos += f":{self.col}"
            parts.append(pos)
        if self.topic is not None:
            parts.append(f"{self.topic}/{self.partition}/{self.offset}")
        if self.rule_id is not None:
            parts.append(self.rule_id)
        if self.path is not None:
            parts.append(self.path)
        return ": ".join(parts) if parts else "<unknown>"


class HongdunError(Exception):
    """Root of every error hongdun raises on purpose; always carries a location."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location or Location()

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class PackError(HongdunError):
    """A rule pack is wrong: bad YAML, unknown key, bad condition, failed compile."""


class ConditionError(PackError):
    """A rule condition is not allowed or cannot be compiled."""


class EventError(HongdunError):
    """An event could not be decoded or validated."""


class StateError(HongdunError):
    """Window state could not be restored or is inconsistent."""


class ModelError(HongdunError):
    """A model artifact is missing, tampered with, or does not fit the running features."""


class PackErrors(PackError):
    """Several pack errors at once: lint reports all of them, not just the first."""

    def __init__(self, errors: list[PackError]) -> None:
        self.errors = errors
        first = errors[0] if errors else PackError("no errors")
        super().__init__(f"{len(errors)} error(s); first: {first.message}", first.location)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
