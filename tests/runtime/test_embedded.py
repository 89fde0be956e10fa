"""The embedded runner: state carried across files gives the same alerts as one run."""
from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from engine.cli import main

ROOT = Path(__file__).parents[2]


def _alert_ids(path: Path) -> list[str]:
    return [orjson.loads(l)["alert_id"] for l in path.read_bytes().splitlines() if l.strip()]


def test_state_folder_continues_windows_and_dedup(tmp_path: Path, small_stream) -> None:
    data = small_stream[0]
    lines = data.splitlines(keepends=True)
    half = len(lines) // 2
    (tmp_path / "all.jsonl").write_bytes(data)
    (tmp_path / "a.jsonl").write_bytes(b"".join(lines[:half]))
    (tmp_path / "b.jsonl").write_bytes(b"".join(lines[half:]))
    runner = CliRunner()
    pack = str(ROOT / "rules" / "starter")

    def run(name: str, alerts: str, state: str | None) -> None:
        args = ["run", "--pack", pack, "--input", str(tmp_path / name), "--alerts", str(tmp_path / alerts), "--no-progress"]
        if state:
            args += ["--state", str(tmp_path / state)]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output

    run("all.jsonl", "one.jsonl", None)
    run("a.jsonl", "first.jsonl", "st")
    run("b.jsonl", "second.jsonl", "st")
    whole = _alert_ids(tmp_path / "one.jsonl")
    split = _alert_ids(tmp_path / "first.jsonl") + _alert_ids(tmp_path / "second.jsonl")
    assert whole and split == whole


def test_tampered_state_is_refused(tmp_path: Path, small_stream) -> None:
    (tmp_path / "in.jsonl").write_bytes(small_stream[0])
    runner = CliRunner()
    args = ["run", "--pack", str(ROOT / "rules" / "starter"), "--input", str(tmp_path / "in.jsonl"),
            "--state", str(tmp_path / "st"), "--no-progress", "--show", "0"]
    assert runner.invoke(main, args).exit_code == 0
    snap = next((tmp_path / "st").glob("*.snapshot"))
    raw = bytearray(snap.read_bytes())
    raw[-5] = ord("7") if raw[-5] != ord("7") else ord("8")
    snap.write_bytes(bytes(raw))
    result = runner.invoke(main, args)
    assert result.exit_code != 0
    assert "snapshot" in result.output.lower() or "sha256" in result.output.lower() or "checksum" in result.output.lower()


def test_schema_command_prints_every_event_type() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    doc = orjson.loads(result.output)
    text = result.output
    for t in ("listing", "order", "live_metrics", "live_utterance", "complaint"):
        assert f'"{t}"' in text
    assert "$defs" in doc


def test_explain_shows_matches_and_windows(tmp_path: Path) -> None:
    from engine.events.examples import deep_merge, default_event

    ev = deep_merge(default_event("listing"), {"title": "國家級 好茶", "detail_text": "", "subtitle": "", "ocr_text": ""})
    result = CliRunner().invoke(main, ["rules", "explain", str(ROOT / "rules" / "starter"), "--event", orjson.dumps(ev).decode()])
    assert result.exit_code == 0, result.output
    assert "ST-AD-01" in result.output and "FIRES" in result.output
    assert "'國家級'" in result.output


def test_run_writes_alerts_to_the_store_idempotently(tmp_path: Path, small_stream) -> None:
    from engine.alerts.store import open_store

    (tmp_path / "in.jsonl").write_bytes(small_stream[0])
    db = str(tmp_path / "alerts.db")
    args = ["run", "--pack", str(ROOT / "rules" / "cn-platform"), "--input", str(tmp_path / "in.jsonl"),
            "--db", db, "--no-progress", "--show", "0", "--regions", "330100"]
    runner = CliRunner()
    assert runner.invoke(main, args).exit_code == 0
    first = open_store(db).dump()
    assert runner.invoke(main, args).exit_code == 0, "a replay must be accepted"
    assert open_store(db).dump() == first, "replaying the same stream must not change the store"
    assert runner.invoke(main, ["alerts", "verify", "--db", db]).exit_code == 0


def test_live_pipe_alerts_arrive_before_the_input_ends(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from engine.events.examples import deep_merge, default_event

    alerts = tmp_path / "alerts.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", "--pack", str(ROOT / "rules" / "starter"), "--input", "-",
         "--alerts", str(alerts), "--no-progress", "--show", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    try:
        ev = deep_merge(default_event("listing"), {"title": "全网第一品牌 羽绒服", "detail_text": "", "subtitle": "", "ocr_text": ""})
        proc.stdin.write(orjson.dumps(ev) + b"\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (alerts.exists() and alerts.read_bytes().strip()):
            time.sleep(0.1)
        assert alerts.exists() and b"ST-AD-01" in alerts.read_bytes(), "one event on an open pipe must be scored without waiting for more"
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_alert_schema_describes_emitted_alerts(tmp_path: Path, small_stream) -> None:
    import msgspec

    from engine.alerts.alert import Alert

    result = CliRunner().invoke(main, ["schema", "--alerts"])
    assert result.exit_code == 0
    doc = orjson.loads(result.output)
    props = doc["$defs"]["Alert"]["properties"]
    for field in ("alert_id", "rule_id", "severity", "legal_basis", "merchant", "source_event_ids", "hits", "disposition"):
        assert field in props
    (tmp_path / "in.jsonl").write_bytes(small_stream[0])
    out = tmp_path / "alerts.jsonl"
    assert CliRunner().invoke(main, ["run", "--pack", str(ROOT / "rules" / "starter"), "--input", str(tmp_path / "in.jsonl"),
                                     "--alerts", str(out), "--no-progress", "--show", "0"]).exit_code == 0
    for line in out.read_bytes().splitlines():
        msgspec.json.decode(line, type=Alert)  # every emitted record decodes against the published schema's type
