"""Snapshots: round trip, atomic write, tamper detection, spec changes."""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import orjson
import pytest

from engine.errors import StateError
from engine.state.snapshot import FORMAT_VERSION, SNAPSHOT_FILE, load_snapshot, save_snapshot
from engine.state.store import MemoryStore
from engine.state.windows import AGGREGATES, WindowClock, WindowSpec, add, read, to_json

T0 = 1_700_006_400.0
COUNTS = WindowSpec("complaints_24h", 86400)
PRICES = WindowSpec("price_7d", 7 * 86400, 3600, AGGREGATES, allowed_lateness_s=600)


def filled() -> tuple[MemoryStore, dict[str, WindowClock]]:
    store = MemoryStore()
    clocks = {s.name: WindowClock.for_spec(s) for s in (COUNTS, PRICES)}
    for i in range(300):
        ts = T0 + i * 397.0
        m = (f"m{i % 7}",)
        sku = (f"m{i % 7}", f"sku{i % 11}")
        store.put(COUNTS.name, m, add(store.get(COUNTS.name, m), COUNTS, ts, clock=clocks[COUNTS.name]))
        store.put(
            PRICES.name,
            sku,
            add(
                store.get(PRICES.name, sku),
                PRICES,
                ts,
                10 + i % 13 * 0.5,
                distinct=f"u{i % 5}",
                clock=clocks[PRICES.name],
            ),
        )
    return store, clocks


def test_round_trip_continues_the_windows(tmp_path: Path) -> None:
    store, clocks = filled()
    path = save_snapshot(tmp_path / "state", store, [COUNTS, PRICES], clocks)
    assert path == tmp_path / "state" / SNAPSHOT_FILE
    assert [p.name for p in path.parent.iterdir()] == [SNAPSHOT_FILE]  # no temp file left behind
    got = load_snapshot(tmp_path / "state", [COUNTS, PRICES])
    assert got.warnings == []
    assert {n: c.max_ts for n, c in got.clocks.items()} == {n: c.max_ts for n, c in clocks.items()}
    for spec in (COUNTS, PRICES):
        keys = sorted(k for k, _ in store.items(spec.name))
        assert sorted(k for k, _ in got.store.items(spec.name)) == keys
        for key in keys:
            a, b = store.get(spec.name, key), got.store.get(spec.name, key)
            assert to_json(a) == to_json(b)
            for t in (T0 + 300 * 397.0, T0 + 400 * 397.0):
                assert read(a, spec, t).as_dict() == read(b, spec, t).as_dict()
    # the second run keeps adding where the first stopped
    key = ("m0",)
    st = got.store.get(COUNTS.name, key)
    n = read(st, COUNTS, T0 + 300 * 397.0).count
    st = add(st, COUNTS, T0 + 300 * 397.0, clock=got.clocks[COUNTS.name])
    assert read(st, COUNTS, T0 + 300 * 397.0).count == n + 1


def test_missing_snapshot_is_a_first_run(tmp_path: Path) -> None:
    got = load_snapshot(tmp_path / "nothing-here", [COUNTS])
    assert got.store.windows() == [] and got.warnings == []
    assert got.clocks[COUNTS.name].max_ts == -math.inf


def test_saving_twice_replaces_the_snapshot(tmp_path: Path) -> None:
    store, clocks = filled()
    save_snapshot(tmp_path, store, [COUNTS, PRICES], clocks)
    store.drop_window(PRICES.name)
    save_snapshot(tmp_path, store, [COUNTS, PRICES], clocks)
    got = load_snapshot(tmp_path, [COUNTS, PRICES])
    assert got.store.size(PRICES.name) == 0 and got.store.size(COUNTS.name) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == [SNAPSHOT_FILE]


def _corrupt(path: Path, fn) -> None:
    path.write_bytes(fn(path.read_bytes()))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "checksum mismatch"),
        (lambda b: b.replace(b'"newest":', b'"newesT":', 1), "checksum mismatch"),
        (lambda b: b[:-10], "truncated"),
        (lambda b: b + b" ", "truncated"),
        (lambda b: b"garbage", "not a hongdun window snapshot"),
        (lambda b: b"", "not a hongdun window snapshot"),
        (lambda b: b.replace(b'"version":1', b'"version":99', 1), "version 99 is not supported"),
    ],
)
def test_tampered_or_corrupted_snapshots_are_refused(tmp_path: Path, mutate, message: str) -> None:
    store, clocks = filled()
    path = save_snapshot(tmp_path, store, [COUNTS, PRICES], clocks)
    _corrupt(path, mutate)
    with pytest.raises(StateError, match=message) as info:
        load_snapshot(tmp_path, [COUNTS, PRICES])
    assert info.value.location.file == str(path)
    assert str(info.value).startswith(str(path))


def _rewrite_payload(path: Path, payload: bytes) -> None:
    """Write a payload with a correct header: what a careful tamperer (or a bug) would produce."""
    header = orjson.dumps(
        {
            "format": "hongdun-window-state",
            "version": FORMAT_VERSION,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "bytes": len(payload),
        }
    )
    path.write_bytes(header + b"\n" + payload)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"[", "not JSON"),
        (b"{}", "no 'windows' list"),
        (b'{"windows":[1]}', "malformed window entry"),
        (b'{"windows":[{"spec":{"name":"complaints_24h","duration_s":86400,"bucket_s":3600,'
         b'"aggregates":["count"]},"clock":null,"keys":[[["m1"],{"newest":1}]]}]}', "key \\['m1'\\]: malformed"),
        (b'{"windows":[{"spec":{"name":"complaints_24h","duration_s":86400,"bucket_s":3600,'
         b'"aggregates":["count"]},"clock":null,"keys":[[[1],{"newest":1}]]}]}', "malformed key entry"),
        (b'{"windows":[{"spec":{"name":"complaints_24h","duration_s":86400,"bucket_s":3600,'
         b'"aggregates":["count"]},"clock":"soon","keys":[]}]}', "malformed clock"),
    ],
)
def test_structurally_bad_payloads_are_refused(tmp_path: Path, payload: bytes, message: str) -> None:
    _rewrite_payload(tmp_path / SNAPSHOT_FILE, payload)
    with pytest.raises(StateError, match=message):
        load_snapshot(tmp_path, [COUNTS])


def test_changed_or_removed_windows_are_dropped_with_a_warning(tmp_path: Path) -> None:
    store, clocks = filled()
    save_snapshot(tmp_path, store, [COUNTS, PRICES], clocks)
    longer = WindowSpec("complaints_24h", 2 * 86400)
    got = load_snapshot(tmp_path, [longer])
    assert got.store.windows() == []
    assert len(got.warnings) == 2
    assert "'complaints_24h' changed (duration_s)" in got.warnings[0]
    assert "'price_7d' is no longer configured" in got.warnings[1]
    assert got.clocks["complaints_24h"].max_ts == clocks["complaints_24h"].max_ts  # stream progress kept
    # changing only what reads depend on (exclude_recent, lateness) keeps the state
    relaxed = WindowSpec("complaints_24h", 86400, allowed_lateness_s=60)
    got = load_snapshot(tmp_path, [relaxed, PRICES])
    assert got.warnings == [] and got.store.size("complaints_24h") == 7
    assert got.clocks["complaints_24h"].allowed_lateness_s == 60


def test_save_refuses_windows_without_spec_and_bad_keys(tmp_path: Path) -> None:
    store, clocks = filled()
    with pytest.raises(ValueError, match="price_7d"):
        save_snapshot(tmp_path, store, [COUNTS], clocks)
    bad = MemoryStore()
    bad.put(COUNTS.name, "m1", add(None, COUNTS, T0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tuple of strings"):
        save_snapshot(tmp_path, bad, [COUNTS], {})
    assert not (tmp_path / SNAPSHOT_FILE).exists()
