"""Fixtures for the service tests: auth files, a running `hongdun serve` on loopback, HTTP helpers.

``running_service`` starts the real command (``hongdun serve``) as a
subprocess on a free loopback port, with its own data folder, alert store and
auth file, and stops it with SIGTERM (graceful shutdown) afterwards. Nothing
is mocked: the tests talk HTTP to the process a platform or a regulator would.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
HONGDUN = str(Path(sys.executable).parent / "hongdun")
HANGZHOU, SHANGHAI = "杭州市市场监督管理局", "上海市市场监督管理局"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    """A running service: its URL, secrets and files."""

    url: str
    platform_key: str
    tokens: dict[str, str]  # bureau name -> token
    data: Path
    db: Path
    proc: subprocess.Popen
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def request(self, method: str, path: str, secret: str | None = None, body: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, dict[str, str], bytes]:
        """One HTTP call; returns (status, headers, body) for any status."""
        headers = {"Content-Type": content_type} if body is not None else {}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, method: str, path: str, secret: str | None = None, body: Any = None) -> tuple[int, Any]:
        status, _, data = self.request(method, path, secret, None if body is None else json.dumps(body).encode())
        return status, json.loads(data)

    def wait_processed(self, timeout_s: float = 120.0) -> dict[str, int]:
        """Wait until the queue is empty; return /v1/status."""
        deadline = time.monotonic() + timeout_s
        while True:
            status, st = self.json("GET", "/v1/status", self.platform_key)
            assert status == 200, st
            if st["queue_depth"] == 0 and st["processed"] == st["accepted"]:
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"queue not drained in {timeout_s} s: {st}; log:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)


def make_auth_file(path: Path) -> dict[str, Any]:
    """Write an auth file (demo-mall; Hangzhou 330100; Shanghai 310000) with `hongdun tokens`; return the secrets."""
    out = subprocess.run([HONGDUN, "tokens", "--out", str(path), "--platform", "demo-mall",
                          "--bureau", f"{HANGZHOU}=330100", "--bureau", f"{SHANGHAI}=310000"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def start_service(tmp: Path, pack: str = "rules/cn-platform", *args: str) -> Running:
    """Start `hongdun serve` in ``tmp`` and wait until it answers /healthz."""
    secrets = make_auth_file(tmp / "auth.json")
    port = free_port()
    log = tmp / "serve.log"
    db = tmp / "alerts.db"
    cmd = [HONGDUN, "serve", "--pack", str(ROOT / pack), "--db", str(db), "--data", str(tmp),
           "--auth", str(tmp / "auth.json"), "--port", str(port), "--regions", "330100", "--bureau", HANGZHOU, *args]
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    running = Running(f"http://127.0.0.1:{port}", secrets["platforms"]["demo-mall"],
                      {name: b["token"] for name, b in secrets["bureaus"].items()}, tmp, db, proc, log)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"hongdun serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if running.request("GET", "/healthz")[0] == 200:
                return running
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"hongdun serve did not answer in 60 s:\n{log.read_text()}")
        time.sleep(0.1)


def stop_service(running: Running) -> None:
    """SIGTERM (graceful: the consumer finishes its batch, state is snapshotted) and wait."""
    if running.proc.poll() is None:
        running.proc.send_signal(signal.SIGTERM)
        try:
            running.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            raise


def post_ndjson(running: Running, data: bytes, lines_per_request: int = 5000) -> list[dict[str, Any]]:
    """Post a JSONL stream in NDJSON requests; return each answer."""
    lines = data.splitlines(keepends=True)
    answers = []
    for i in range(0, len(lines), lines_per_request):
        status, _, body = running.request("POST", "/v1/events", running.platform_key,
                                          b"".join(lines[i:i + lines_per_request]), "application/x-ndjson")
        assert status == 202, body
        answers.append(json.loads(body))
    return answers


@pytest.fixture(scope="session")
def served_day(tmp_path_factory: pytest.TempPathFactory, small_stream: tuple[bytes, bytes]) -> Any:
    """A service with the small simulated stream (120 merchants, 12 h) posted and processed; shared, read mostly.

    Tests that change alert statuses pick alerts no other test touches.
    """
    running = start_service(tmp_path_factory.mktemp("served"))
    try:
        answers = post_ndjson(running, small_stream[0])
        running.extra["answers"] = answers
        running.extra["status"] = running.wait_processed()
        yield running
    finally:
        stop_service(running)


def ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
