"""Save and restore a pipeline's state in a folder (``hongdun run --state DIR``).

Windows and their clocks go through :mod:`engine.state.snapshot` (checksummed,
atomic); the open-alert dedup records go next to them in ``dedup.json`` with
their own sha256, so a second run on the next file continues both.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson

from engine.alerts.dedup import NAMESPACE
from engine.errors import Location, StateError
from engine.pipeline import Pipeline
from engine.state.snapshot import load_snapshot, save_snapshot

DEDUP_FILE = "dedup.json"


def save_state(pipeline: Pipeline, directory: Path) -> None:
    """Snapshot windows, clocks and dedup records of ``pipeline`` into ``directory``."""
    specs = list(pipeline.compiled.windows.values())
    save_snapshot(directory, pipeline.store, specs, pipeline.clocks)
    records = sorted(([list(k), v] for k, v in pipeline.dedup.store.items(NAMESPACE)), key=lambda r: r[0])
    payload = orjson.dumps(records)
    doc = orjson.dumps({"sha256": hashlib.sha256(payload).hexdigest(), "records": orjson.Fragment(payload)})
    tmp = directory / (DEDUP_FILE + ".tmp")
    tmp.write_bytes(doc)
    os.replace(tmp, directory / DEDUP_FILE)


def restore_state(pipeline: Pipeline, directory: Path) -> list[str]:
    """Load a snapshot into ``pipeline`` (windows, clocks, dedup); return warnings."""
    specs = list(pipeline.compiled.windows.values())
    restored = load_snapshot(directory, specs)
    pipeline.store = restored.store
    for name, clock in restored.clocks.items():
        pipeline.clocks[name] = clock
    path = directory / DEDUP_FILE
    if path.exists():
        where = Location(file=str(path))
        try:
            doc = orjson.loads(path.read_bytes())
            payload = orjson.dumps(doc["records"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise StateError(f"unreadable dedup state: {exc}", where) from None
        if hashlib.sha256(payload).hexdigest() != doc.get("sha256"):
            raise StateError("dedup state checksum mismatch (file edited or corrupted)", where)
        for key, value in doc["records"]:
            pipeline.dedup.store.put(NAMESPACE, tuple(key), value)
    return list(restored.warnings)
