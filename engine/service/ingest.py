"""An ingest request body -> the events to queue and the rejects to report, by index and reason.

Platforms post JSON (one event object, or an array of them) or NDJSON (one
event per line; blank lines are skipped). Every event is decoded and
validated here, before anything is queued, with the same
:class:`~engine.events.decode.EventDecoder` the pipeline uses, so the HTTP
answer can name each rejected event (its 0-based ``index`` among the
request's events, for NDJSON also its ``line``) with the dead-letter reason,
message and field path. Accepted events are queued as the exact bytes that
were posted (array elements are sliced out with ``msgspec.Raw``), so
referral packages hash what the platform sent.

A platform key may only post its own platform's events: any other
``platform`` value is rejected as ``platform_mismatch``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from engine.errors import Location
from engine.events.deadletter import Reject, make_reject
from engine.events.decode import EventDecoder
from engine.events.schema import event_type_of
from engine.service.queue import DeadLetter

PLATFORM_MISMATCH = "platform_mismatch"
JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"})
CHINA = timezone(timedelta(hours=8))
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])


class BodyError(Exception):
    """The request body as a whole cannot be read as a batch of events (HTTP ``status``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class IngestResult:
    """What one request yields: raw events to queue, rejects for the answer and the dead letter, the batch's day."""

    accepted: list[bytes] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)  # for the HTTP answer
    dead: list[DeadLetter] = field(default_factory=list)  # for the dead-letter table
    day: str = ""


def china_day(ts: float) -> str:
    """The China-time date (YYYY-MM-DD) of epoch seconds ``ts``."""
    return datetime.fromtimestamp(ts, tz=CHINA).date().isoformat()


def split_body(body: bytes, content_type: str, max_events: int) -> list[tuple[bytes, int | None]]:
    """The request's events as ``(raw bytes, NDJSON line or None)``; raises :class:`BodyError`."""
    if content_type in NDJSON_TYPES:
        items = [(line.rstrip(b"\r"), n) for n, line in enumerate(body.split(b"\n"), 1) if line.strip()]
    elif content_type in JSON_TYPES:
        text = body.lstrip()
        if text.startswith(b"["):
            try:
                items = [(bytes(r), None) for r in _raw_list.decode(body)]
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise BodyError(400, f"the body is not a JSON array of events: {exc}") from None
        elif text.startswith(b"{"):
            items = [(body.strip(), None)]
        else:
            raise BodyError(400, "a JSON body is one event object or an array of event objects")
    else:
        raise BodyError(415, f"unsupported Content-Type {content_type or '(none)'!r}; use application/json "
                             "(an event or an array of events) or application/x-ndjson (one event per line)")
    if not items:
        raise BodyError(400, "the body holds no events")
    if len(items) > max_events:
        raise BodyError(413, f"{len(items)} events in one request; the limit is {max_events}: split the batch")
    return items


def validate(items: list[tuple[bytes, int | None]], platform: str, decoder: EventDecoder, source: str,
             received_ts: float) -> IngestResult:
    """Decode every event; keep the valid ones of ``platform`` and describe the others.

    The batch's day (for the per-day counts) is the most common China date of
    its accepted events' ``occurred_at``, else the day it was received, so a
    replayed day is counted on that day and a feed's rejects land on the day
    of the events they came with.
    """
    out = IngestResult()
    days: Counter[str] = Counter()
    pending: list[Reject | None] = []
    for index, (raw, line) in enumerate(items):
        loc = Location(file=source, line=line if line is not None else index + 1)
        ev = decoder.decode(raw, loc)
        if isinstance(ev, Reject):
            pending.append(ev)
            continue
        if ev.platform != platform:
            pending.append(make_reject(PLATFORM_MISMATCH,
                                       f"event of platform {ev.platform!r} posted with the API key of {platform!r}",
                                       raw, loc, path="$.platform", event_id=ev.event_id,
                                       event_type=event_type_of(ev)))
            continue
        pending.append(None)
        out.accepted.append(raw)
        days[china_day(ev.occurred_at.timestamp())] += 1
    out.day = days.most_common(1)[0][0] if days else china_day(received_ts)
    for index, (rej, (_, line)) in enumerate(zip(pending, items)):
        if rej is None:
            continue
        item: dict[str, Any] = {"index": index, "reason": rej.reason, "message": rej.message, "path": rej.path,
                                "event_id": rej.event_id}
        if line is not None:
            item["line"] = line
        out.rejects.append(item)
        out.dead.append(DeadLetter(out.day, platform, "ingest", rej.reason, rej.to_json()))
    return out
