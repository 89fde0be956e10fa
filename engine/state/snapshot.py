"""Save and restore window state (a MemoryStore plus window clocks) in a directory.

The embedded runner's ``--state DIR`` uses this so that a second run on the
next file continues the windows of the first. One file, ``DIR/windows.snapshot``:

* line 1: a JSON header ``{"format", "version", "sha256", "bytes"}``;
* the rest: the payload, JSON (orjson) of every window's spec fingerprint,
  clock and keys, its SHA-256 and length as in the header.

The file is written to a temporary file in the same directory, fsynced and
moved into place with ``os.replace``, so a crash leaves either the old or the
new snapshot, never half of one. A snapshot whose checksum, length, format or
structure is wrong is refused with :class:`~engine.errors.StateError` naming
the file: silently starting from empty windows would hide missed alerts.

State of a window whose spec fingerprint (name, duration, bucket, aggregates)
changed, or that is no longer configured, is dropped with a warning returned to
the caller; its clock (event-time progress of the stream) is kept.
"""
from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine.errors import Location, StateError
from engine.state.store import MemoryStore
from engine.state.windows import WindowClock, WindowSpec, from_json, to_json

__all__ = ["FORMAT", "FORMAT_VERSION", "SNAPSHOT_FILE", "Restored", "load_snapshot", "save_snapshot"]

FORMAT = "hongdun-window-state"
FORMAT_VERSION = 1
SNAPSHOT_FILE = "windows.snapshot"


@dataclass
class Restored:
    """What :func:`load_snapshot` gives back: the store, one clock per configured window, warnings."""

    store: MemoryStore
    clocks: dict[str, WindowClock]
    warnings: list[str] = field(default_factory=list)


def _spec_map(specs: Iterable[WindowSpec]) -> dict[str, WindowSpec]:
    out: dict[str, WindowSpec] = {}
    for spec in specs:
        if spec.name in out and out[spec.name] != spec:
            raise ValueError(f"two different window specs are named {spec.name!r}")
        out[spec.name] = spec
    return out


def save_snapshot(
    directory: str | os.PathLike[str],
    store: MemoryStore,
    specs: Iterable[WindowSpec],
    clocks: Mapping[str, WindowClock],
) -> Path:
    """Write the store and clocks of every window in ``specs`` to ``directory``; return the file path.

    Raises ``ValueError`` if the store holds a window with no spec and
    ``TypeError`` for a key that is not a tuple of strings.
    """
    by_name = _spec_map(specs)
    unknown = sorted(set(store.windows()) - set(by_name))
    if unknown:
        raise ValueError(f"the store holds window(s) with no spec: {', '.join(unknown)}")
    windows: list[dict[str, Any]] = []
    for name in sorted(by_name):
        keys: list[list[Any]] = []
        for key, state in store.items(name):
            if type(key) is not tuple or not all(type(part) is str for part in key):
                raise TypeError(f"window {name!r}: key {key!r} is not a tuple of strings")
            keys.append([list(key), to_json(state)])
        clock = clocks.get(name)
        max_ts = None if clock is None or clock.max_ts == -math.inf else clock.max_ts
        windows.append({"spec": by_name[name].fingerprint(), "clock": max_ts, "keys": keys})
    payload = orjson.dumps({"windows": windows})
    header = orjson.dumps(
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "bytes": len(payload),
        }
    )
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    path = target / SNAPSHOT_FILE
    _write_atomically(path, header + b"\n" + payload)
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not possible on every platform
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def load_snapshot(directory: str | os.PathLike[str], specs: Iterable[WindowSpec]) -> Restored:
    """Read ``directory``'s snapshot for the windows in ``specs``.

    No snapshot file means a first run: an empty store and fresh clocks. A
    corrupted, truncated, edited or unknown-version snapshot raises
    ``StateError`` with the file as location.
    """
    by_name = _spec_map(specs)
    path = Path(directory) / SNAPSHOT_FILE
    where = Location(file=str(path))
    store = MemoryStore()
    clocks = {name: WindowClock.for_spec(spec) for name, spec in by_name.items()}
    restored = Restored(store, clocks)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return restored
    except OSError as exc:
        raise StateError(f"cannot read window snapshot: {exc.strerror or exc}", where) from exc

    head, sep, payload = data.partition(b"\n")
    try:
        header = orjson.loads(head) if sep else None
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StateError("not a hongdun window snapshot (bad or missing header)", where)
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise StateError(
            f"window snapshot format version {version!r} is not supported (this hongdun reads {FORMAT_VERSION})",
            where,
        )
    if header.get("bytes") != len(payload):
        raise StateError(
            f"window snapshot is truncated or padded: header says {header.get('bytes')!r} payload bytes, "
            f"file has {len(payload)}",
            where,
        )
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise StateError("window snapshot checksum mismatch: the file was corrupted or edited; refusing it", where)
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise StateError(f"window snapshot payload is not JSON: {exc}", where) from exc
    windows = body.get("windows") if isinstance(body, dict) else None
    if not isinstance(windows, list):
        raise StateError("window snapshot payload has no 'windows' list", where)

    for entry in windows:
        _restore_window(entry, by_name, restored, where)
    return restored


def _restore_window(entry: Any, by_name: dict[str, WindowSpec], restored: Restored, where: Location) -> None:
    """Restore one window entry of the payload into ``restored`` (or drop it with a warning)."""
    if not (isinstance(entry, dict) and isinstance(entry.get("spec"), dict) and isinstance(entry.get("keys"), list)):
        raise StateError("window snapshot has a malformed window entry", where)
    saved_fp = entry["spec"]
    name = saved_fp.get("name")
    spec = by_name.get(name) if isinstance(name, str) else None
    if spec is None:
        restored.warnings.append(f"window {name!r} is no longer configured; its saved state was dropped")
        return
    max_ts = entry.get("clock")
    if max_ts is not None:
        if not isinstance(max_ts, (int, float)) or isinstance(max_ts, bool) or not math.isfinite(max_ts):
            raise StateError(f"window {name!r}: malformed clock {max_ts!r}", where)
        restored.clocks[name].max_ts = max_ts
    current_fp = spec.fingerprint()
    if saved_fp != current_fp:
        changed = sorted(k for k in set(saved_fp) | set(current_fp) if saved_fp.get(k) != current_fp.get(k))
        restored.warnings.append(
            f"window {name!r} changed ({', '.join(changed)}); "
            f"its saved state of {len(entry['keys'])} key(s) was dropped"
        )
        return
    store = restored.store
    for item in entry["keys"]:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], list)
            or not all(isinstance(part, str) for part in item[0])
        ):
            raise StateError(f"window {name!r}: malformed key entry in snapshot", where)
        try:
            state = from_json(item[1])
        except StateError as exc:
            raise StateError(f"window {name!r}, key {item[0]!r}: {exc.message}", where) from exc
        store.put(name, tuple(item[0]), state)
