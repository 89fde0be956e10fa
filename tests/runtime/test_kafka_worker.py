"""Distributed mode end to end: hongdun workers (subprocesses) on the Tansu test broker.

Every test uses its own topic prefix and consumer group. Inputs are produced
and outputs consumed with plain aiokafka (an independent client), and compared
with the embedded pipeline on the same input. No timed assertions: waits are
bounded polls with generous limits.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta

import orjson
import pytest

from . import kafka_streams as ks
from .conftest import (ROOT, committed_offsets, consume_all, embedded_alerts, partition_ends, produce_lines,
                       wait_for, wait_ready)

pytestmark = pytest.mark.kafka

STARTER = ROOT / "rules" / "starter"
CN = ROOT / "rules" / "cn-platform"


def _lines(stream: bytes) -> list[bytes]:
    return [l for l in stream.splitlines() if l.strip()]


def _index(alerts: list[dict]) -> dict[tuple[str, int], list[dict]]:
    by: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for a in alerts:
        by[(a["alert_id"], a["hits"])].append(a)
    return by


def _canon(a: dict) -> bytes:
    return orjson.dumps({k: v for k, v in a.items() if k != "processed_at"}, option=orjson.OPT_SORT_KEYS)


def _assert_exact_replays(got: list[dict], expected: list[dict]) -> None:
    """Every record is one embedded emitted (an alert, or a later version: more hits or raised severity)."""
    want = {_canon(a) for a in expected}
    odd = [a for a in got if _canon(a) not in want]
    assert not odd, f"{len(odd)} alert records differ from every embedded record, e.g. {odd[0]}"


def _processed(workers) -> float:
    return sum(w.metric("hongdun_events_total") + w.metric("hongdun_rejects_total") for w in workers)


def _wait_processed(workers, n: int, timeout: float = 120.0) -> None:
    wait_for(lambda: _processed(workers) >= n, timeout, f"{n} inputs processed",
             on_fail=lambda: f"processed {_processed(workers)}\n" + "\n".join(w.log()[-3000:] for w in workers))


def _alerts(broker: str, prefix: str, expect: int) -> list[dict]:
    return [orjson.loads(v) for v in consume_all(broker, f"{prefix}-alerts", expect_at_least=expect)]


# -- 1 ----------------------------------------------------------------------------------------------

def test_alert_ids_equal_hongdun_run(kafka_broker, workers, prefix, small_stream, tmp_path):
    """An independent producer sends a simulated stream; the alerts topic holds exactly `hongdun run`'s alerts."""
    lines = _lines(small_stream[0])
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "alerts.jsonl"
    subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "run", "--pack", str(CN), "--input",
                    str(src), "--alerts", str(out), "--show", "0"], cwd=ROOT, check=True, capture_output=True)
    expected = [orjson.loads(l) for l in out.read_bytes().splitlines()]
    assert expected, "the simulated stream should raise alerts"

    (w,) = workers(CN, prefix)
    wait_ready([w])
    # as a platform sends it: live, about an hour of events at a time. (Sent all at once, merchant
    # partitions are consumed in uneven chunks, and a cross-merchant key can see one partition's events
    # more than the allowed lateness behind another's: see docs/distributed.md.)
    for i in range(0, len(lines), 1000):
        produce_lines(kafka_broker, f"{prefix}-events", lines[i:i + 1000])
        _wait_processed([w], min(i + 1000, len(lines)))
    got = _alerts(kafka_broker, prefix, len(expected))
    assert set(_index(got)) == set(_index(expected))
    _assert_exact_replays(got, expected)
    assert {a["pack_version"] for a in got} == {"1.0.0"}
    # the dead letter holds the damaged lines with their Kafka position
    dead = [orjson.loads(v) for v in consume_all(kafka_broker, f"{prefix}-dead-letter", idle_s=1.0)]
    assert dead and all({"topic", "partition", "offset"} <= set(d["source"]) for d in dead)
    assert w.metric("hongdun_processing_latency_seconds_count") >= len(lines)
    assert w.ready()["startup_to_first_event_s"] is not None


def test_models_alert_ids_equal_hongdun_run_models(kafka_broker, workers, prefix, small_stream, tmp_path):
    """`hongdun worker --models models` raises exactly the alerts of `hongdun run --models models`, MODEL-* included.

    The listing-price model's ``category_price_7d`` window is keyed by ``category_std`` across merchants:
    the worker re-keys it through PREFIX-rekey like a pack window; its other windows (room, SKU, merchant)
    stay on the merchant partition. Sent in chunks as a platform would (see the first test). The same
    pack is published mid-stream: the worker compiles it with its models and swaps it in unnoticed.
    """
    lines = _lines(small_stream[0])
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "alerts.jsonl"
    models = ROOT / "models"
    subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "run", "--pack", str(STARTER),
                    "--models", str(models), "--input", str(src), "--alerts", str(out), "--show", "0"],
                   cwd=ROOT, check=True, capture_output=True)
    expected = [orjson.loads(l) for l in out.read_bytes().splitlines()]
    model_rules = {a["rule_id"] for a in expected if a["rule_id"].startswith("MODEL-")}
    assert "MODEL-LISTING-PRICE" in model_rules, f"the stream should raise listing-price model alerts ({model_rules})"

    (w,) = workers(STARTER, prefix, extra=["--models", str(models)])
    wait_ready([w])
    assert {m["model"] for m in w.ready()["models"]} >= {"listing_price", "live_traffic"}
    for i in range(0, len(lines), 1000):
        if i == 6000:  # the same pack published mid-stream: compiled with the worker's models, swapped in
            r = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "rules", "publish",
                                str(STARTER), "--models", str(models), "--broker", kafka_broker, "--topic-prefix", prefix],
                               cwd=ROOT, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            wait_for(lambda: w.log().count("pack starter 1.0.0 is live") >= 1, 60, "published pack live",
                     on_fail=lambda: w.log()[-3000:])
        produce_lines(kafka_broker, f"{prefix}-events", lines[i:i + 1000])
        _wait_processed([w], min(i + 1000, len(lines)))
    assert w.metric("hongdun_pack_rejects_total") == 0
    got = _alerts(kafka_broker, prefix, len(expected))
    missing = set(_index(expected)) - set(_index(got))
    extra = set(_index(got)) - set(_index(expected))
    name = {a["alert_id"]: a["rule_id"] for a in expected + got}
    assert not missing, f"alerts missing: {sorted((name[i], h) for i, h in missing)[:10]}"
    assert not extra, f"alerts embedded never raised: {sorted((name[i], h) for i, h in extra)[:10]}"
    _assert_exact_replays(got, expected)
    assert model_rules <= {a["rule_id"] for a in got}
    # the starter pack alone keeps every window per merchant: the re-keyed topic carries the model's listings
    assert consume_all(kafka_broker, f"{prefix}-rekey", idle_s=1.0), "listings were re-keyed for category_price_7d"


# -- 2 ----------------------------------------------------------------------------------------------

def test_two_workers_four_partitions_account_for_every_event(kafka_broker, workers, prefix, small_stream):
    """Worker 2 joins mid-stream (state moves through the changelog); nothing is missing, duplicates are replays."""
    _two_workers(kafka_broker, workers, prefix, small_stream, [])


def test_broker_listoffsets_bug_and_the_seal(kafka_broker, prefix):
    """Pin down the test broker's fault and why the engine's seal makes changelog recovery exact anyway.

    Tansu 0.6.0 answers ListOffsets(latest) with the first offset of a partition's last record batch + 1,
    not the end offset (Kafka and Redpanda answer the end). Faust reads a table's changelog up to that
    offset, so recovery could stop inside the last batch. Measured here: Faust's recovery still applied
    the whole last batch in every run (it arrives in one fetch and is applied before the end check), so
    no recovery test failed for it; a worker with ``--no-seal`` also passed the handover test. The engine
    does not rely on that: each batch's changelog writes end with a one-record batch (the seal), after
    which the reported end is exact, as asserted below. If the broker's answer ever becomes right, the
    first assertion fails and says so.
    """
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    topic = f"{prefix}-probe"

    async def go() -> tuple[int, int]:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_broker, linger_ms=50)
        await producer.start()
        try:
            batch = producer.create_batch()
            for i in range(5):
                batch.append(key=None, value=b"%d" % i, timestamp=None)
            await (await producer.send_batch(batch, topic, partition=0))
            consumer = AIOKafkaConsumer(bootstrap_servers=kafka_broker, group_id=None)
            await consumer.start()
            try:
                tp = TopicPartition(topic, 0)
                after_batch = (await consumer.end_offsets([tp]))[tp]
                await producer.send_and_wait(topic, b"seal", partition=0)  # a one-record batch
                after_seal = (await consumer.end_offsets([tp]))[tp]
            finally:
                await consumer.stop()
            return after_batch, after_seal
        finally:
            await producer.stop()

    after_batch, after_seal = asyncio.run(go())
    assert after_batch == 1, f"broker reported end {after_batch} for 5 records in one batch (the fault is gone if 5)"
    assert after_seal == 6, "after a one-record batch the reported end is exact"


_HANDOVER_WORDS = ("assign", "revok", "ecover", "replay", "ebalanc", "seek", "WARNING", "ERROR")


def _handover_log(workers) -> str:
    """The lines of each worker's log about partitions changing hands (assignment, recovery, replays, errors).

    This test once failed (an open alert's later hits became a new alert after worker 2 joined: a sweep
    of expired state ran over every partition at one partition's time, since fixed, see
    test_distributed_units); its message carries these lines so a failure says what each worker held.
    """
    out = []
    for i, w in enumerate(workers):
        lines = [l for l in w.log().splitlines()
                 if any(word in l for word in _HANDOVER_WORDS) and "dead-letter" not in l]
        out.append(f"--- worker {i + 1}: {len(lines)} hand-over lines, the last 60:\n" + "\n".join(lines[-60:]))
    return "\n".join(out)


def _two_workers(kafka_broker, workers, prefix, small_stream, extra: list[str]) -> None:
    lines = _lines(small_stream[0])
    exp_alerts, _shadow, exp_rejects = embedded_alerts(STARTER, lines)
    half = len(lines) // 2
    (w1,) = workers(STARTER, prefix, extra=extra)
    wait_ready([w1])
    produce_lines(kafka_broker, f"{prefix}-events", lines[:half])
    _wait_processed([w1], half)
    (w2,) = workers(STARTER, prefix, extra=extra)
    wait_ready([w1, w2])
    assert w1.ready()["partitions"] and w2.ready()["partitions"], "both workers hold partitions"
    produce_lines(kafka_broker, f"{prefix}-events", lines[half:])
    _wait_processed([w1, w2], len(lines))  # w1 counted the first half; both count the second
    got = _alerts(kafka_broker, prefix, len(exp_alerts))
    missing = set(_index(exp_alerts)) - set(_index(got))
    extra = set(_index(got)) - set(_index(exp_alerts))
    assert not missing, (f"alerts missing: {sorted(missing)[:5]}; embedded never raised: {sorted(extra)[:5]}\n"
                         + _handover_log((w1, w2)))
    assert not extra, f"alerts embedded never raised: {sorted(extra)[:5]}\n" + _handover_log((w1, w2))
    _assert_exact_replays(got, exp_alerts)
    dead = [orjson.loads(v) for v in consume_all(kafka_broker, f"{prefix}-dead-letter", idle_s=1.0)]
    assert {(d["reason"], d["raw"]) for d in dead} == {(r["reason"], r["raw"]) for r in exp_rejects}
    # every input: an event the pipeline accepted, or a dead-letter record
    accepted = sum(w.metric("hongdun_events_total") for w in (w1, w2))
    assert accepted + len({(d["source"]["partition"], d["source"]["offset"]) for d in dead}) >= len(lines)


# -- 3 ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("store", ["memory", "rocksdb"])
def test_sigkill_mid_stream_windows_continue(kafka_broker, workers, prefix, small_stream, tmp_path, store):
    """SIGKILL a worker mid-stream, restart it: a complaint surge spanning the crash is still detected, nothing lost.

    State comes back from the changelog (memory store: all of it at every start; RocksDB: the local
    files plus the changelog). Recovery is exact on this broker: Tansu's ListOffsets reports the *first*
    offset of a partition's last record batch + 1 as its end, and Faust stops table recovery there;
    every batch's changelog writes end with a one-record seal, so the last batch is that record (see
    test_broker_listoffsets_bug_and_the_seal). Events processed after the last commit come again and are
    replayed against the table with a guard (they never count twice).

    Nothing was committed before the kill (``--commit-interval 60``), so the restarted worker must read
    every partition from its first offset. This once failed now and then (an alert or a few of events
    after the crash missing; xfail "open defect"): Faust 0.15.3 clears the agents' queues at the end of
    table recovery after the stream partitions were resumed and fetched, and does not seek a partition
    without a committed offset back, so the cleared records were never delivered (a fault of the Faust
    runtime, not of the broker: the broker served them; worked around in seek_uncommitted_to_start).
    The committed offsets below show that every input was processed.
    """
    lines = _lines(small_stream[0])
    tpl = ks.template(lines, "complaint")
    start = datetime.fromisoformat(orjson.loads(lines[0])["occurred_at"]) + timedelta(hours=2)
    lines = ks.merge_by_time(lines, ks.surge(tpl, "m-surge-0001", start, n=14, every=timedelta(minutes=15)))
    exp_alerts, _s, _r = embedded_alerts(STARTER, lines)
    surge_ids = {a["alert_id"] for a in exp_alerts if a["merchant"]["merchant_id"] == "m-surge-0001" and a["rule_id"] == "ST-CP-01"}
    assert surge_ids, "the injected surge fires embedded"
    data = tmp_path / "rocks"
    # no offset commit before the kill: everything processed is delivered again after the restart
    (w,) = workers(STARTER, prefix, store=store, data_dir=data, extra=["--commit-interval", "60"])
    wait_ready([w])
    surge_pos = [i for i, l in enumerate(lines) if b"m-surge-0001" in l]
    cut = surge_pos[len(surge_pos) // 2]  # half the surge before the crash, half after
    produce_lines(kafka_broker, f"{prefix}-events", lines[:cut])
    _wait_processed([w], cut)
    w.kill()  # SIGKILL: no shutdown, no final commit
    produce_lines(kafka_broker, f"{prefix}-events", lines[cut:])
    (w2,) = workers(STARTER, prefix, store=store, data_dir=data)
    wait_ready([w2])
    # nothing was committed before the kill: the restarted worker reads every partition from its first
    # offset, and Faust commits an offset only when every record before it was acked (after its batch
    # was processed and its outputs and state were in Kafka): the commits reach the end of every
    # partition only if no input was skipped
    ends = partition_ends(kafka_broker, f"{prefix}-events")
    wait_for(lambda: committed_offsets(kafka_broker, prefix, f"{prefix}-events") == ends, 60,
             "the restarted worker to commit every input offset",
             on_fail=lambda: f"ends {ends}, committed {committed_offsets(kafka_broker, prefix, f'{prefix}-events')}\n"
                             + w2.log()[-3000:])

    def missing() -> list:
        have = set(_index(_alerts(kafka_broker, prefix, 0)))
        return [(a["rule_id"], a["merchant"]["merchant_id"], a["hits"], a["event_time"], a["source_event_ids"][-1])
                for a in exp_alerts if (a["alert_id"], a["hits"]) not in have]

    def extra() -> list:
        want = set(_index(exp_alerts))
        return [(a["rule_id"], a["merchant"]["merchant_id"], a["hits"], a["event_time"], a["source_event_ids"][-1])
                for a in _alerts(kafka_broker, prefix, 0) if (a["alert_id"], a["hits"]) not in want]

    wait_for(lambda: not missing(), 40, "every embedded alert after the restart",
             on_fail=lambda: f"missing: {missing()}\nextra: {extra()}\n" + w2.log()[-3000:])
    got = _alerts(kafka_broker, prefix, len(exp_alerts))
    assert "replaying offsets" in w2.log(), "the restarted worker replays what was processed but not committed"
    assert surge_ids <= {a["alert_id"] for a in got}, "the surge spanning the crash is detected"
    assert set(_index(got)) == set(_index(exp_alerts)), "nothing lost and no alert the windows would not give"
    _assert_exact_replays(got, exp_alerts)


# -- 4 ----------------------------------------------------------------------------------------------

def test_cross_merchant_window_two_workers_equal_embedded(kafka_broker, workers, prefix, small_stream):
    """claimant_spread_30d is keyed by complainant across merchants: re-keyed, it gives the embedded alerts.

    Professional claimants spread over many shops on day 1; on day 2 they complain about M0 (their
    complaints weigh 0.2 and are left out of the 6-hour count, so M0 has no surge) while M1 gets a real
    surge. A partition-local count of the spread would see at most a few shops per complainant and fire
    CP-01 on M0. Day 2 is produced after day 1 is processed (both are in time order, as embedded sees them).
    """
    tpl = ks.template(_lines(small_stream[0]), "complaint")
    day1 = datetime(2026, 11, 10, 9, 0, tzinfo=ks.CST)
    day2 = day1 + timedelta(days=1)
    phase1: list[tuple[datetime, bytes]] = []
    pros = [f"pro-{i}" for i in range(5)]
    rounds: list[list[bytes]] = []
    for j in range(24):  # two complaints of each professional against each of 12 shops, one round per 30 min
        rounds.append([])
        for i, pro in enumerate(pros):
            t = day1 + timedelta(minutes=30 * j + i)
            line = ks.complaint(tpl, merchant=f"m-shop-{(i * 5 + j % 12) % 40:03d}", complainant=pro, at=t, n=j)
            phase1.append((t, line))
            rounds[-1].append(line)
    phase2: list[tuple[datetime, bytes]] = []
    for k in range(8):
        t = day2 + timedelta(minutes=10 * k)
        phase2.append((t, ks.complaint(tpl, merchant="m-zero", complainant=f"norm0-{k}", at=t, n=k)))
    for i, pro in enumerate(pros):
        t = day2 + timedelta(minutes=5 + 10 * i)
        phase2.append((t, ks.complaint(tpl, merchant="m-zero", complainant=pro, at=t, n=100 + i)))
    for k in range(12):
        t = day2 + timedelta(minutes=3 + 9 * k)
        phase2.append((t, ks.complaint(tpl, merchant="m-one", complainant=f"norm1-{k}", at=t, n=k)))
    p1 = [b for _, b in sorted(phase1, key=lambda x: x[0])]
    p2 = [b for _, b in sorted(phase2, key=lambda x: x[0])]
    exp_alerts, exp_shadow, _ = embedded_alerts(CN, p1 + p2)
    assert any(a["rule_id"] == "CP-04" for a in exp_shadow), "professional claimants are recognised embedded"
    assert any(a["merchant"]["merchant_id"] == "m-one" and a["rule_id"] == "CP-01" for a in exp_alerts)
    assert not any(a["merchant"]["merchant_id"] == "m-zero" and a["rule_id"] == "CP-01" for a in exp_alerts)

    w1, w2 = workers(CN, prefix, n=2)
    wait_ready([w1, w2])
    # one round at a time: a complainant's complaints reach its cross-merchant window in time order, as
    # embedded sees them (complaints of one round are by different complainants, so their order is free)
    sent = 0
    for chunk in rounds:
        produce_lines(kafka_broker, f"{prefix}-events", chunk)
        sent += len(chunk)
        _wait_processed([w1, w2], sent)
    assert sent == len(p1)
    produce_lines(kafka_broker, f"{prefix}-events", p2)
    _wait_processed([w1, w2], len(p1) + len(p2))
    got = _alerts(kafka_broker, prefix, len(exp_alerts))
    shadow = [orjson.loads(v) for v in consume_all(kafka_broker, f"{prefix}-shadow-alerts", expect_at_least=len(exp_shadow))]
    assert set(_index(got)) == set(_index(exp_alerts))
    assert set(_index(shadow)) == set(_index(exp_shadow))
    _assert_exact_replays(got, exp_alerts)


def test_cross_merchant_keys_expire_on_the_rekey_side(kafka_broker, workers, prefix, small_stream):
    """A complainant not heard of for longer than claimant_spread_30d's 30 days leaves the re-key side's table.

    Sweeping is invisible to reads (that is its contract), so the test reads what the worker wrote to its
    ``xstate`` changelog: tombstones for the old complainants' window keys and source-offset records,
    none for the recent ones'. One shop sends everything, so each re-key partition has one source; the
    40 recent complainants reach every re-key partition (a miss has odds of about 4 in 100,000).
    """
    tpl = ks.template(_lines(small_stream[0]), "complaint")
    day1 = datetime(2026, 9, 1, 9, 0, tzinfo=ks.CST)
    old = [ks.complaint(tpl, merchant="m-shop", complainant=f"old-{i}", at=day1 + timedelta(minutes=i), n=i)
           for i in range(8)]
    day41 = day1 + timedelta(days=40)
    new = [ks.complaint(tpl, merchant="m-shop", complainant=f"new-{i}", at=day41 + timedelta(minutes=i), n=100 + i)
           for i in range(40)]
    (w,) = workers(CN, prefix)
    wait_ready([w])
    produce_lines(kafka_broker, f"{prefix}-events", old)
    _wait_processed([w], len(old))
    produce_lines(kafka_broker, f"{prefix}-events", new)
    _wait_processed([w], len(old) + len(new))
    last: dict[bytes, bytes | None] = {}
    for key, value in consume_all(kafka_broker, f"{prefix}-xstate-changelog", keys=True, idle_s=1.0):
        last[key] = value

    def window_key(who: str) -> bytes:
        return b"wclaimant_spread_30d\x1f" + orjson.dumps([who])

    def seen_key(who: str) -> bytes:
        return b"a_xseen\x1f" + orjson.dumps(["0", who])

    for who in (f"old-{i}" for i in range(8)):
        assert window_key(who) in last and last[window_key(who)] is None, f"{who}'s window key was not dropped"
        assert seen_key(who) in last and last[seen_key(who)] is None, f"{who}'s source offsets were not dropped"
    for who in (f"new-{i}" for i in range(40)):
        assert last.get(window_key(who)) is not None, f"{who}'s window key should be kept"
        assert last.get(seen_key(who)) is not None, f"{who}'s source offsets should be kept"


# -- 5 ----------------------------------------------------------------------------------------------

def test_malformed_messages_go_to_dead_letter_and_processing_continues(kafka_broker, workers, prefix, small_stream):
    lines = _lines(small_stream[0])
    exp, _s, _r = embedded_alerts(STARTER, lines)
    firing = {a["source_event_ids"][0] for a in exp if a["hits"] == 1}
    by_id = {}
    for l in lines:
        try:
            by_id[orjson.loads(l)["event_id"]] = l
        except Exception:
            pass
    good = [by_id[e] for e in sorted(firing) if e in by_id][:3]
    assert good
    wrong_type = orjson.loads(good[0])
    wrong_type["event_id"] = "ev-wrong-type"
    wrong_type["occurred_at"] = 12345  # a number where a time string belongs
    bad = [b"\xff\xfe\x00garbage\x80", good[0][: len(good[0]) // 2], b'{"event_type": "listing", "x": "' + b"a" * (10 * 1024 * 1024) + b'"}',
           orjson.dumps(wrong_type)]
    reasons = ["not_utf8", "bad_json", "too_large", "bad_field"]
    merchant = orjson.loads(good[0])["merchant"]["merchant_id"].encode()
    after = [ks.relabel(g, merchant=orjson.loads(good[0])["merchant"]["merchant_id"], suffix=f"after{i}") for i, g in enumerate(good)]
    # all on the partition of the first firing event's merchant, bad records first
    (w,) = workers(STARTER, prefix)
    wait_ready([w])
    produce_lines(kafka_broker, f"{prefix}-events", bad + after, key_fn=lambda _l: merchant)
    _wait_processed([w], len(bad) + len(after))
    dead = [orjson.loads(v) for v in consume_all(kafka_broker, f"{prefix}-dead-letter", expect_at_least=4, idle_s=1.0)]
    assert sorted(d["reason"] for d in dead) == sorted(reasons)
    for d in dead:
        assert d["source"]["topic"] == f"{prefix}-events" and "partition" in d["source"] and "offset" in d["source"]
    offsets = sorted(d["source"]["offset"] for d in dead)
    assert offsets == sorted(set(offsets)) and len(offsets) == 4
    got = _alerts(kafka_broker, prefix, 1)
    assert any(a["source_event_ids"][0].endswith("after0") for a in got), "events after the bad ones are processed"
    log = w.log()
    assert f"{prefix}-events/" in log and "@" in log  # faults are logged with topic/partition@offset


# -- 6 ----------------------------------------------------------------------------------------------

def test_hot_reload_broken_pack_rejected_good_pack_live_from_next_batch(kafka_broker, workers, prefix, small_stream, tmp_path):
    lines = _lines(small_stream[0])
    exp, _s, _r = embedded_alerts(STARTER, lines)
    first = next(a for a in exp if a["rule_id"] in ("ST-AD-01", "ST-MED-01") and a["hits"] == 1)
    src = next(l for l in lines if first["source_event_ids"][0].encode() in l)
    key = first["merchant"]["merchant_id"]

    def batch(tag: str) -> list[bytes]:
        return [ks.relabel(src, merchant=f"{key}-{tag}", suffix=tag)]

    (w,) = workers(STARTER, prefix)
    wait_ready([w])
    produce_lines(kafka_broker, f"{prefix}-events", batch("a"))
    wait_for(lambda: len(_alerts(kafka_broker, prefix, 1)) >= 1, 60, "first alert")

    # a broken pack (sent by a careless publisher that skipped lint): rejected, old pack stays live
    broken = tmp_path / "broken"
    shutil.copytree(STARTER, broken)
    (broken / "pack.yaml").write_text((broken / "pack.yaml").read_text().replace("version: 1.0.0", "version: 9.9.9")
                                      + "\nwindows: [this is not a mapping\n")
    from engine.runtime.faust_app import bundle_pack
    from engine.runtime.kafka_io import publish_bundle
    import asyncio
    asyncio.run(publish_bundle(kafka_broker, f"{prefix}-control", bundle_pack(broken)))
    wait_for(lambda: w.metric("hongdun_pack_rejects_total") >= 1, 60, "broken pack rejected", on_fail=lambda: w.log()[-3000:])
    assert "rejected" in w.log()
    produce_lines(kafka_broker, f"{prefix}-events", batch("b"))
    wait_for(lambda: len(_alerts(kafka_broker, prefix, 2)) >= 2, 60, "second alert")

    # a good pack through the CLI (lint + publish): alerts from the next batch carry its version
    good = tmp_path / "good"
    shutil.copytree(STARTER, good)
    (good / "pack.yaml").write_text((good / "pack.yaml").read_text().replace("version: 1.0.0", "version: 1.1.0"))
    r = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "rules", "publish", str(good),
                        "--broker", kafka_broker, "--topic-prefix", prefix], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: w.metric("hongdun_pack_info", version="1.1.0") == 1, 60, "new pack live", on_fail=lambda: w.log()[-3000:])
    produce_lines(kafka_broker, f"{prefix}-events", batch("c"))
    wait_for(lambda: len(_alerts(kafka_broker, prefix, 3)) >= 3, 60, "third alert")
    got = {a["merchant"]["merchant_id"].rsplit("-", 1)[1]: a["pack_version"] for a in _alerts(kafka_broker, prefix, 3)}
    assert got == {"a": "1.0.0", "b": "1.0.0", "c": "1.1.0"}
    # a broken pack on the CLI never reaches the topic
    r = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "rules", "publish", str(broken),
                        "--broker", kafka_broker, "--topic-prefix", prefix], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1


# -- operations -----------------------------------------------------------------------------------------

def test_metrics_health_and_produce_cli(kafka_broker, workers, prefix, small_stream, tmp_path):
    lines = _lines(small_stream[0])[:300]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    (w,) = workers(STARTER, prefix)
    wait_ready([w])
    assert w.get("/healthz")[0] == 200
    r = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "produce", "--broker", kafka_broker,
                        "--topic-prefix", prefix, "--input", str(src)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    _wait_processed([w], len(lines))
    body = w.get("/metrics")[1].decode()
    for name in ("hongdun_events_total", "hongdun_batch_size", "hongdun_processing_latency_seconds_bucket",
                 "hongdun_consumer_lag", "hongdun_pack_info"):
        assert name in body, name
    r = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "alerts", "tail", "--broker", kafka_broker,
                        "--topic-prefix", prefix, "--topic", f"{prefix}-events", "--max", "5"], cwd=ROOT,
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 5
