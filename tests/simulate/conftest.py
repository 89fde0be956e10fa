"""Fixtures for the simulator tests: one mid-size run, generated once per session."""
from __future__ import annotations

import os
from dataclasses import dataclass

import orjson
import pytest

from engine.simulate import Simulation


@dataclass
class Run:
    """A finished simulation: raw lines, parsed good events (by line number), truth."""

    sim: Simulation
    lines: list[bytes]
    truth: list[dict]
    docs: dict[int, dict]  # 1-based line number -> parsed event (non-malformed lines only)
    by_id: dict[str, dict]  # event id -> parsed event


def make_run(**kw: object) -> Run:
    """Run a simulation fully and parse every line that is not recorded as malformed."""
    sim = Simulation(**kw)  # type: ignore[arg-type]
    lines = list(sim.lines())
    truth = sim.truth()
    bad = {t["line"] for t in truth if t["label"] == "malformed"}
    docs = {i: orjson.loads(line) for i, line in enumerate(lines, 1) if i not in bad}
    return Run(sim, lines, truth, docs, {d["event_id"]: d for d in docs.values()})


@pytest.fixture(scope="session")
def day_run() -> Run:
    """300 merchants × 24 h with one warm-up day and a few malformed lines (≈ 105k events).

    ``SIM_TEST_SEED`` / ``SIM_TEST_MERCHANTS`` in the environment run the same checks on another district.
    """
    seed = int(os.environ.get("SIM_TEST_SEED", "20261111"))
    merchants = int(os.environ.get("SIM_TEST_MERCHANTS", "300"))
    return make_run(merchants=merchants, hours=24, seed=seed, bad_rate=0.002, warmup_days=1)
