"""Deterministic simulator of one platform district's live feed (hongdun event schema v1).

Background traffic (listings, orders, livestream metrics and speech,
complaints) for a district of invented merchants, with labelled injected
violations, lawful decoys and optional malformed lines, plus a truth file for
scoring the engine. Same arguments → byte-identical output.

    from engine.simulate import Simulation, run_simulation, simulate

    for line in simulate(merchants=300, hours=24, seed=7):
        ...
    sim = Simulation(merchants=300, hours=24, seed=7, bad_rate=0.001)
    lines = list(sim.lines()); truth = sim.truth(); summary = sim.summary()

Warm-up (``warmup_days``): only complaints are emitted before ``start``, at
each merchant's baseline rate (no boosts, no incidents), so a 28-day
complaint baseline exists; orders, listings and livestreams start at
``start`` (listings with a full initial sync in the first 30 minutes).

Modules: catalog/lexicon/phrases (Chinese text), merchants (the district),
streams/live (background traffic), inject (incidents), damage (malformed
lines), plan/sink/build/clock/ids (plumbing), truth (labels), core (the loop).
"""
from engine.simulate.core import DEFAULT_PLATFORM, DEFAULT_START, Simulation, run_simulation, simulate
from engine.simulate.inject import RATE_PER_1000, planned_count
from engine.simulate.sink import MAX_JITTER_S

__all__ = [
    "DEFAULT_PLATFORM",
    "DEFAULT_START",
    "MAX_JITTER_S",
    "RATE_PER_1000",
    "Simulation",
    "planned_count",
    "run_simulation",
    "simulate",
]
