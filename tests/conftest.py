"""Shared fixtures: compiled packs and a small simulated stream, built once per session."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="session")
def starter():
    from engine.rules.evaluator import compile_pack
    from engine.rules.loader import load_pack

    return compile_pack(load_pack(ROOT / "rules" / "starter"))


@pytest.fixture(scope="session")
def small_stream() -> tuple[bytes, bytes]:
    """(events JSONL, truth JSONL) for 120 merchants over 12 hours with a few damaged lines."""
    from engine.simulate import run_simulation

    out, truth = io.BytesIO(), io.BytesIO()
    run_simulation(merchants=120, hours=12, seed=99, out=out, truth_out=truth, bad_rate=0.002)
    return out.getvalue(), truth.getvalue()
