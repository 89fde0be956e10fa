"""Dead-letter records: what hongdun keeps for an event it could not accept.

A bad event never kills a worker and is never silently dropped (DESIGN.md,
principle 8). The decoder turns it into a :class:`Reject` that says *why*
(a reason code from :data:`REASONS`, stable and low-cardinality so it can be a
metric label), *where* (JSON path of the bad field and the stream/file
position), and keeps the raw bytes so the event can be fixed and replayed.

The record holds no wall-clock time on purpose: decoding the same bytes at the
same position always yields the same record, so tests and replays are
deterministic. Sinks may add their own timestamp around it.
"""
from __future__ import annotations

import base64
import dataclasses
from typing import Any, Literal

import msgspec

from engine.errors import EventError, Location

__all__ = [
    "TOO_LARGE", "NOT_UTF8", "BAD_JSON", "NOT_OBJECT", "UNKNOWN_EVENT_TYPE",
    "UNSUPPORTED_SCHEMA_VERSION", "MISSING_FIELD", "BAD_FIELD", "BAD_USCC",
    "INTERNAL_ERROR", "WINDOW_ERROR", "RULE_ERROR", "REASONS", "PATH_REASONS", "Reject", "make_reject", "location_dict",
]

TOO_LARGE = "too_large"
NOT_UTF8 = "not_utf8"
BAD_JSON = "bad_json"
NOT_OBJECT = "not_object"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
MISSING_FIELD = "missing_field"
BAD_FIELD = "bad_field"
BAD_USCC = "bad_uscc"
INTERNAL_ERROR = "internal_error"
WINDOW_ERROR = "window_error"
RULE_ERROR = "rule_error"

#: Every reason code with its one-line meaning (rendered into docs/events.md).
REASONS: dict[str, str] = {
    TOO_LARGE: "The raw event is longer than the decoder's `max_bytes` (default 1 MiB).",
    NOT_UTF8: "The bytes are not valid UTF-8 (JSON must be UTF-8; a leading BOM is tolerated).",
    BAD_JSON: "The bytes are not one well-formed JSON value (syntax error, truncation, trailing data, empty input).",
    NOT_OBJECT: "The JSON value is not an object (e.g. an array, string or number).",
    UNKNOWN_EVENT_TYPE: "`event_type` is not one of the types of schema v1.",
    UNSUPPORTED_SCHEMA_VERSION: "`schema_ver` has a major version other than 1 (e.g. `2.0`).",
    MISSING_FIELD: "A required field is absent; `path` names the missing field.",
    BAD_FIELD: "A field has the wrong JSON type or breaks a constraint (range, length, pattern, enum, time offset).",
    BAD_USCC: "`merchant.uscc` is malformed or its GB 32100-2015 check character is wrong.",
    INTERNAL_ERROR: "hongdun itself failed while decoding; a bug to report, the event is kept for replay.",
    WINDOW_ERROR: "The event decoded but a window filter, key or value failed on it; the message names the error.",
    RULE_ERROR: "The event decoded but a rule's evaluation failed on it; the message starts with the rule id.",
}

#: Reasons that always come with a JSON path to the offending field.
PATH_REASONS = frozenset({UNKNOWN_EVENT_TYPE, UNSUPPORTED_SCHEMA_VERSION, MISSING_FIELD, BAD_FIELD, BAD_USCC})

_LOCATION_FIELDS = tuple(f.name for f in dataclasses.fields(Location))


class Reject(msgspec.Struct, frozen=True, kw_only=True):
    """One rejected event, as written to the dead-letter sink."""

    reason: str
    """Reason code, one of :data:`REASONS`."""
    message: str
    """Human-readable explanation."""
    path: str | None = None
    """JSON path of the offending field, e.g. ``$.merchant.uscc``."""
    source: dict[str, Any] = {}
    """Where the bytes came from: file/line or topic/partition/offset (no nulls)."""
    event_id: str | None = None
    """The event's ``event_id`` if it could be read."""
    event_type: str | None = None
    """The event's ``event_type`` if it could be read."""
    raw: str = ""
    """The original bytes: UTF-8 text, or base64 if they are not valid UTF-8."""
    raw_encoding: Literal["utf-8", "base64"] = "utf-8"

    def to_json(self) -> bytes:
        """One compact JSON object (no trailing newline), fields in declaration order."""
        return _encoder.encode(self)

    def raw_bytes(self) -> bytes:
        """The original bytes, for replay after a fix."""
        if self.raw_encoding == "base64":
            return base64.b64decode(self.raw)
        return self.raw.encode("utf-8")

    def location(self) -> Location:
        """The source position plus the field path, as an :class:`~engine.errors.Location`."""
        fields = {k: v for k, v in self.source.items() if k in _LOCATION_FIELDS}
        if self.path is not None:
            fields["path"] = self.path
        return Location(**fields)

    def as_error(self) -> EventError:
        """The same rejection as an :class:`~engine.errors.EventError` (for logs and CLI output)."""
        return EventError(f"[{self.reason}] {self.message}", self.location())


_encoder = msgspec.json.Encoder()


def location_dict(location: Location | None) -> dict[str, Any]:
    """``location`` as a dict without the unset (None) fields."""
    if location is None:
        return {}
    return {name: value for name in _LOCATION_FIELDS if (value := getattr(location, name)) is not None}


def make_reject(
    reason: str,
    message: str,
    raw: bytes | bytearray | memoryview | str,
    source: Location | None,
    *,
    path: str | None = None,
    event_id: str | None = None,
    event_type: str | None = None,
) -> Reject:
    """Build a :class:`Reject`, choosing the text or base64 form of ``raw``."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(data).decode("ascii"), "base64"
    return Reject(
        reason=reason,
        message=message,
        path=path,
        source=location_dict(source),
        event_id=event_id,
        event_type=event_type,
        raw=text,
        raw_encoding=encoding,  # type: ignore[arg-type]
    )
