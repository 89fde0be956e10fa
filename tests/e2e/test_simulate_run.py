"""End to end: `hongdun simulate | hongdun run` as a user would pipe them.

Checks the three promises of the embedded runner on a realistic stream:
alert ids are identical across runs, every malformed line lands in the
dead-letter file with a reason, and the alerts agree with the simulator's
truth labels (which the engine never sees).
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).parents[2]
HONGDUN = [sys.executable, "-m", "engine.cli"]
SIM = ["--merchants", "300", "--hours", "24", "--seed", "4242", "--bad-rate", "0.002"]

# Incident kinds the starter pack is written to catch, and the family its rules report.
STARTER_KINDS = {
    "ad_absolute": "advertising",
    "ad_medical": "medical",
    "price_fake_original": "price",
    "live_fake_viewers": "livestream",
    "complaint_surge": "complaints",
    "complaint_group": "complaints",
}


def _pipe(tmp: Path, tag: str) -> tuple[list[dict], list[dict], str]:
    alerts, dead = tmp / f"alerts-{tag}.jsonl", tmp / f"dead-{tag}.jsonl"
    env = {**os.environ, "PYTHONHASHSEED": tag}
    sim = subprocess.Popen(HONGDUN + ["simulate", *SIM, "--out", "-", "--truth", str(tmp / f"truth-{tag}.jsonl")],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    run = subprocess.run(
        HONGDUN + ["run", "--pack", "rules/starter", "--input", "-", "--alerts", str(alerts), "--dead-letter", str(dead), "--no-progress"],
        stdin=sim.stdout, capture_output=True, cwd=ROOT, env=env, timeout=600,
    )
    sim.stdout.close()
    assert sim.wait(timeout=60) == 0
    assert run.returncode == 0, run.stderr.decode()
    load = lambda p: [orjson.loads(l) for l in p.read_bytes().splitlines() if l.strip()]
    return load(alerts), load(dead), run.stdout.decode()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("e2e")
    first = _pipe(tmp, "1")
    second = _pipe(tmp, "2")
    truth = [orjson.loads(l) for l in (tmp / "truth-1.jsonl").read_bytes().splitlines() if l.strip()]
    assert (tmp / "truth-1.jsonl").read_bytes() == (tmp / "truth-2.jsonl").read_bytes()
    return first, second, truth


@pytest.mark.slow
def test_alert_ids_are_identical_across_runs(two_runs) -> None:
    (a1, _, _), (a2, _, _), _ = two_runs
    assert a1, "the simulated day should raise alerts"
    assert [(a["alert_id"], a["hits"]) for a in a1] == [(a["alert_id"], a["hits"]) for a in a2]
    assert len({(a["alert_id"], a["hits"]) for a in a1}) == len(a1), "one record per alert version"


@pytest.mark.slow
def test_every_malformed_line_is_dead_lettered_with_a_reason(two_runs) -> None:
    (_, dead, out), _, truth = two_runs
    malformed = {t["line"] for t in truth if t["label"] == "malformed"}
    assert malformed, "the simulator should have damaged some lines"
    dead_lines = {d["source"]["line"] for d in dead}
    assert malformed == dead_lines
    assert all(d["reason"] and d["message"] and d["raw"] is not None for d in dead)
    assert "reject reason" in out


@pytest.mark.slow
def test_alerts_agree_with_truth(two_runs) -> None:
    (alerts, _, _), _, truth = two_runs
    by_event: dict[str, list[dict]] = defaultdict(list)
    for t in truth:
        if t["label"] in ("violation", "decoy"):
            for eid in t["event_ids"]:
                by_event[eid].append(t)
    caught: set[str] = set()
    false_alarms = []
    for a in alerts:
        hits = [t for eid in a["source_event_ids"] for t in by_event.get(eid, [])]
        violations = [t for t in hits if t["label"] == "violation"]
        if violations:
            caught.update(t["incident_id"] for t in violations)
        else:
            false_alarms.append(a)
    precision = 1 - len(false_alarms) / len(alerts)
    assert precision >= 0.9, [(a["rule_id"], a["message"]) for a in false_alarms[:10]]
    for kind in STARTER_KINDS:
        incidents = [t for t in truth if t["label"] == "violation" and t["kind"] == kind]
        if not incidents:
            continue
        recall = sum(t["incident_id"] in caught for t in incidents) / len(incidents)
        assert recall >= 0.8, (kind, recall, len(incidents))
