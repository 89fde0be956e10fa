"""Ground truth: what was injected where, for scoring the engine (it never sees this).

One :class:`Incident` per injected violation, decoy or anomaly, and one per malformed
line. Generators call :meth:`Incident.add` for every event that constitutes
the incident, so ``event_ids``, ``start`` and ``end`` describe exactly what
is in the stream. Records are dumped with sorted keys for byte-identical
output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import orjson

LABELS = ("violation", "decoy", "anomaly", "malformed")


@dataclass(slots=True)
class Incident:
    """One labelled incident and the events that make it up."""

    incident_id: str
    label: str
    family: str
    kind: str
    merchant_id: str | None
    subject: str | None
    note: str
    event_ids: list[str] = field(default_factory=list)
    first: int | None = None
    last: int | None = None
    line: int | None = None
    reason: str | None = None

    def add(self, event_id: str, ts: int) -> None:
        """Record that event ``event_id`` (occurred at epoch ``ts``) belongs to this incident."""
        self.event_ids.append(event_id)
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts

    def record(self, fmt: Callable[[int], str]) -> dict:
        """The truth record (RFC 3339 times via ``fmt``)."""
        rec = {
            "incident_id": self.incident_id,
            "label": self.label,
            "family": self.family,
            "kind": self.kind,
            "merchant_id": self.merchant_id,
            "subject": self.subject,
            "event_ids": list(self.event_ids),
            "start": fmt(self.first) if self.first is not None else None,
            "end": fmt(self.last) if self.last is not None else None,
            "note": self.note,
        }
        if self.label == "malformed":
            rec["line"] = self.line
            rec["reason"] = self.reason
        return rec


def dump(record: dict) -> bytes:
    """One JSONL line for a truth record (sorted keys, trailing newline)."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n"
