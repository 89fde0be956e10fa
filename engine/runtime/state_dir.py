"""Save and restore a pipeline's state in a folder (``hongdun run --state DIR``).

Windows and their clocks go through :mod:`engine.state.snapshot` (checksummed,
atomic); the alert state (open-alert dedup records, each merchant's recent
alerts) goes next to them in ``alert-state.json`` with its own sha256, so a
second run on the next file continues all of it.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson

from engine.errors import Location, StateError
from engine.pipeline import Pipeline
from engine.state.snapshot import load_snapshot, save_snapshot

ALERT_STATE_FILE = "alert-state.json"


def save_state(pipeline: Pipeline, directory: Path) -> None:
    """Snapshot windows, clocks and dedup records of ``pipeline`` into ``directory``."""
    specs = list(pipeline.compiled.windows.values())
    save_snapshot(directory, pipeline.store, specs, pipeline.clocks)
    store = pipeline.alert_state
    records = sorted(([ns, list(k), v] for ns in sorted(store.windows()) for k, v in store.items(ns)), key=lambda r: (r[0], r[1]))
    payload = orjson.dumps(records)
    doc = orjson.dumps({"sha256": hashlib.sha256(payload).hexdigest(), "records": orjson.Fragment(payload)})
    tmp = directory / (ALERT_STATE_FILE + ".tmp")
    tmp.write_bytes(doc)
    os.replace(tmp, directory / ALERT_STATE_FILE)


def restore_state(pipeline: Pipeline, directory: Path) -> list[str]:
    """Load a snapshot into ``pipeline`` (windows, clocks, dedup); return warnings."""
    specs = list(pipeline.compiled.windows.values())
    restored = load_snapshot(directory, specs)
    pipeline.store = restored.store
    for name, clock in restored.clocks.items():
        pipeline.clocks[name] = clock
    path = directory / ALERT_STATE_FILE
    if path.exists():
        where = Location(file=str(path))
        try:
            doc = orjson.loads(path.read_bytes())
            payload = orjson.dumps(doc["records"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise StateError(f"unreadable alert state: {exc}", where) from None
        if hashlib.sha256(payload).hexdigest() != doc.get("sha256"):
            raise StateError("alert state checksum mismatch (file edited or corrupted)", where)
        for namespace, key, value in doc["records"]:
            pipeline.alert_state.put(namespace, tuple(key), value)
    return list(restored.warnings)
