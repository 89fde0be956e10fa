"""POST /v1/events: formats, per-event rejects with index and reason, auth, size limits, durability, back-pressure."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from tests.service.helpers import in_process

NDJSON = "application/x-ndjson"


def _events(small_stream: tuple[bytes, bytes], n: int) -> list[bytes]:
    """The first ``n`` valid lines of the small simulated stream."""
    out = []
    for line in small_stream[0].splitlines():
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict) and doc.get("platform") == "demo-mall" and doc.get("event_type") == "listing":
            out.append(line)
        if len(out) == n:
            return out
    raise AssertionError("not enough events")


def _queued(tmp: Path) -> int:
    with sqlite3.connect(tmp / "ingest.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM ingest_queue").fetchone()[0]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_ndjson_json_array_and_single_object(tmp_path: Path, starter: Any, small_stream: tuple[bytes, bytes]) -> None:
    events = _events(small_stream, 6)

    async def go() -> None:
        async with in_process(tmp_path, starter, start_consumer=False) as (url, _svc, http, secrets):
            auth = {"Authorization": f"Bearer {secrets['platforms']['demo-mall']}"}
            body = b"\n".join(events[:3]) + b"\n\n"  # a trailing blank line is not an event
            async with http.post(f"{url}/v1/events", data=body, headers={**auth, "Content-Type": NDJSON}) as r:
                assert r.status == 202
                assert await r.json() == {"accepted": 3, "rejected": 0, "rejects": [], "queue_depth": 3}
            body = b"[" + b",".join(events[3:5]) + b"]"
            async with http.post(f"{url}/v1/events", data=body, headers={**auth, "Content-Type": "application/json"}) as r:
                assert r.status == 202 and (await r.json())["accepted"] == 2
            async with http.post(f"{url}/v1/events", data=events[5], headers={**auth, "Content-Type": "application/json"}) as r:
                assert r.status == 202 and (await r.json())["queue_depth"] == 6
        # the exact posted bytes are queued (array elements sliced, not re-encoded)
        with sqlite3.connect(tmp_path / "ingest.db") as conn:
            raws = [bytes(r[0]) for r in conn.execute("SELECT raw FROM ingest_queue ORDER BY seq")]
        assert raws == events

    run(go())


def test_rejects_name_index_line_and_reason(tmp_path: Path, starter: Any, small_stream: tuple[bytes, bytes]) -> None:
    good = _events(small_stream, 3)
    doc = orjson.loads(good[1])
    doc["platform"] = "other-mall"
    bad_uscc = orjson.loads(good[2])
    bad_uscc["merchant"]["uscc"] = "91330106MA2XXXXXX0"
    lines = [good[0], b"{not json", orjson.dumps(doc), b"", orjson.dumps(bad_uscc), b'{"event_type": "nope"}']

    async def go() -> dict[str, Any]:
        async with in_process(tmp_path, starter, start_consumer=False) as (url, _svc, http, secrets):
            async with http.post(f"{url}/v1/events", data=b"\n".join(lines),
                                 headers={"Authorization": f"Bearer {secrets['platforms']['demo-mall']}",
                                          "Content-Type": NDJSON}) as r:
                assert r.status == 202
                return await r.json()

    answer = run(go())
    assert answer["accepted"] == 1 and answer["rejected"] == 4
    got = [(x["index"], x["line"], x["reason"], x["path"]) for x in answer["rejects"]]
    assert got == [(1, 2, "bad_json", None), (2, 3, "platform_mismatch", "$.platform"),
                   (3, 5, "bad_uscc", "$.merchant.uscc"), (4, 6, "unknown_event_type", "$.event_type")]
    assert "other-mall" in answer["rejects"][1]["message"]
    assert _queued(tmp_path) == 1
    with sqlite3.connect(tmp_path / "ingest.db") as conn:  # rejects are kept (dead letter) and counted
        reasons = sorted(r[0] for r in conn.execute("SELECT reason FROM dead_letter WHERE stage = 'ingest'"))
        counts = dict(conn.execute("SELECT outcome, n FROM ingest_counts WHERE platform = 'demo-mall'").fetchall())
    assert reasons == ["bad_json", "bad_uscc", "platform_mismatch", "unknown_event_type"]
    assert counts["accepted"] == 1 and counts["rejected:bad_json"] == 1


def test_auth_type_and_size_errors(tmp_path: Path, starter: Any, small_stream: tuple[bytes, bytes]) -> None:
    events = _events(small_stream, 3)

    async def go() -> None:
        async with in_process(tmp_path, starter, start_consumer=False, max_body_bytes=4096,
                              max_events_per_request=2) as (url, _svc, http, secrets):
            key = {"Authorization": f"Bearer {secrets['platforms']['demo-mall']}", "Content-Type": NDJSON}
            bureau = {"Authorization": f"Bearer {secrets['bureaus']['杭州市市场监督管理局']['token']}", "Content-Type": NDJSON}
            cases = [
                ({"Content-Type": NDJSON}, events[0], 401),  # no key
                (bureau, events[0], 401),  # a bureau token is not a platform key
                ({**key, "Content-Type": "text/plain"}, events[0], 415),
                ({**key, "Content-Type": "application/json"}, b"[1, 2", 400),
                ({**key, "Content-Type": "application/json"}, b'"just a string"', 400),
                (key, b"\n\n", 400),
                (key, b"\n".join(events[:3]), 413),  # 3 events, limit 2
                (key, b"x" * 5000, 413),  # bytes over the limit
            ]
            for headers, body, status in cases:
                async with http.post(f"{url}/v1/events", data=body, headers=headers) as r:
                    assert r.status == status, (headers, body[:40], await r.text())
                    assert "error" in await r.json()
                    if status == 401:
                        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert _queued(tmp_path) == 0

    run(go())


def test_accepted_events_survive_a_restart(tmp_path: Path, starter: Any, small_stream: tuple[bytes, bytes]) -> None:
    """Queued before the 2xx: a service stopped before processing finds them again and processes them."""
    lines = [l for l in small_stream[0].splitlines() if l.strip()][:3000]

    async def first() -> int:
        async with in_process(tmp_path, starter, start_consumer=False) as (url, _svc, http, secrets):
            async with http.post(f"{url}/v1/events", data=b"\n".join(lines),
                                 headers={"Authorization": f"Bearer {secrets['platforms']['demo-mall']}",
                                          "Content-Type": NDJSON}) as r:
                assert r.status == 202
                return (await r.json())["accepted"]

    accepted = run(first())
    assert accepted > 2900 and _queued(tmp_path) == accepted  # on disk, nothing processed yet

    async def second() -> dict[str, Any]:
        async with in_process(tmp_path, starter) as (url, svc, http, secrets):
            auth = {"Authorization": f"Bearer {secrets['platforms']['demo-mall']}"}
            for _ in range(600):
                async with http.get(f"{url}/v1/status", headers=auth) as r:
                    st = await r.json()
                if st["queue_depth"] == 0:
                    return st
                await asyncio.sleep(0.05)
            raise AssertionError(st)

    st = run(second())
    assert st["processed"] == st["accepted"] == accepted
    assert _queued(tmp_path) == 0
    from engine.alerts.store import AlertFilter, open_store

    with open_store(str(tmp_path / "alerts.db")) as store:
        assert store.select(AlertFilter(limit=None))  # the starter pack found something in them
        assert store.verify() is None
    assert (tmp_path / "state" / "alert-state.json").exists()  # snapshot at shutdown


def test_back_pressure_answers_429_and_queues_nothing(tmp_path: Path, starter: Any,
                                                      small_stream: tuple[bytes, bytes]) -> None:
    events = _events(small_stream, 12)

    async def go() -> None:
        async with in_process(tmp_path, starter, start_consumer=False, queue_max_events=10,
                              max_events_per_request=10) as (url, svc, http, secrets):
            headers = {"Authorization": f"Bearer {secrets['platforms']['demo-mall']}", "Content-Type": NDJSON}
            async with http.post(f"{url}/v1/events", data=b"\n".join(events[:8]), headers=headers) as r:
                assert r.status == 202
            async with http.post(f"{url}/v1/events", data=b"\n".join(events[8:12]), headers=headers) as r:
                assert r.status == 429  # 8 + 4 > 10: refused whole, nothing of it queued
                assert 1 <= int(r.headers["Retry-After"]) <= 60
            assert _queued(tmp_path) == 8
            svc.begin_consuming()  # the pipeline catches up …
            for _ in range(600):
                if svc.depth.value == 0:
                    break
                await asyncio.sleep(0.05)
            async with http.post(f"{url}/v1/events", data=b"\n".join(events[8:12]), headers=headers) as r:
                assert r.status == 202  # … and the retry is accepted
            async with http.get(f"{url}/metrics") as r:
                text = await r.text()
            assert "hongdun_ingest_throttled_total 1.0" in text
            assert 'hongdun_ingest_accepted_total{platform="demo-mall"} 12.0' in text

    run(go())
