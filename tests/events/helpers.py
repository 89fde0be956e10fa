"""Shared helpers for the event tests."""
from __future__ import annotations

import json
from typing import Any

from engine.errors import Location
from engine.events.examples import default_event, deep_merge

LOC = Location(file="events.jsonl", line=7)
KAFKA = Location(topic="demo-mall.events", partition=2, offset=40917)


def encode(event: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as a platform would send it."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def variant(event_type: str, patch: dict[str, Any] | None = None, *, drop: tuple[str, ...] = ()) -> bytes:
    """The example of ``event_type`` with ``patch`` merged in and dotted ``drop`` paths removed."""
    event = deep_merge(default_event(event_type), patch or {})
    for dotted in drop:
        *parents, last = dotted.split(".")
        node: Any = event
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]
    return encode(event)
