"""The simulation loop: build the district, plan incidents, stream hour by hour.

Order of work for each simulated hour: orders, listings, livestreams and
complaints of that hour, then the injected actions due in it; then the hour's
bucket of the sink is complete, gets its malformed lines, and is written.
Every random draw comes from a named sub-stream of the seed (never the clock,
never ``hash()``), so the same arguments give byte-identical output in any
process.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Callable, Iterator

import numpy as np

from engine.simulate.build import LICENCE_UNKNOWN_SHARE, Emitter
from engine.simulate.clock import TimeFormatter, epoch
from engine.simulate.damage import Damager
from engine.simulate.ids import IdSource, sub_seed
from engine.simulate.inject import Injector
from engine.simulate.live import LiveStream, plan_sessions
from engine.simulate.merchants import build_world
from engine.simulate.plan import Plan
from engine.simulate.sink import MAX_JITTER_S, Sink
from engine.simulate.streams import ComplaintStream, ListingStream, OrderStream
from engine.simulate.truth import Incident, dump

DEFAULT_START = datetime(2026, 11, 11, 0, 0, 0, tzinfo=timezone(timedelta(hours=8)))
DEFAULT_PLATFORM = "demo-mall"


def _rnd(seed: int, name: str) -> random.Random:
    return random.Random(sub_seed(seed, name))


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(sub_seed(seed, name))


class Simulation:
    """One deterministic run: ``chunks()``/``lines()`` stream it, ``truth()`` labels it.

    The stream is regenerated on every call to ``chunks()``/``lines()``;
    ``truth()`` and ``summary()`` describe the last complete pass (running
    one first if needed).
    """

    def __init__(
        self,
        *,
        merchants: int,
        hours: float,
        seed: int,
        start: datetime = DEFAULT_START,
        bad_rate: float = 0.0,
        warmup_days: int = 0,
        platform: str = DEFAULT_PLATFORM,
    ) -> None:
        if merchants < 1:
            raise ValueError("merchants must be at least 1")
        if not hours > 0:
            raise ValueError("hours must be positive")
        if not 0.0 <= bad_rate < 1.0:
            raise ValueError("bad_rate must be in [0, 1)")
        if warmup_days < 0:
            raise ValueError("warmup_days must be >= 0")
        self.merchants = merchants
        self.hours = hours
        self.seed = seed
        self.start = start
        self.bad_rate = bad_rate
        self.warmup_days = warmup_days
        self.platform = platform
        self.t0 = epoch(start)
        self.t1 = self.t0 + int(round(hours * 3600))
        offset = start.utcoffset()
        self.fmt = TimeFormatter(int(offset.total_seconds()) if offset is not None else 8 * 3600)
        self._truth: list[dict] | None = None
        self._summary: dict | None = None

    # -- public ---------------------------------------------------------------------

    def lines(self) -> Iterator[bytes]:
        """Every JSONL line (bytes ending in ``\\n``) in arrival order."""
        for chunk in self.chunks():
            yield from chunk

    def chunks(self) -> Iterator[list[bytes]]:
        """The stream as one list of lines per simulated hour (cheaper to write)."""
        return self._run()

    def truth(self) -> list[dict]:
        """Truth records sorted by ``incident_id`` (runs the simulation if not done yet)."""
        if self._truth is None:
            for _ in self._run():
                pass
        assert self._truth is not None
        return self._truth

    def truth_lines(self) -> Iterator[bytes]:
        """Truth records as JSONL with sorted keys."""
        for rec in self.truth():
            yield dump(rec)

    def summary(self) -> dict:
        """Counts of the last pass: events by type, incidents by family/kind, malformed lines."""
        if self._summary is None:
            self.truth()
        assert self._summary is not None
        return self._summary

    # -- the loop ------------------------------------------------------------------------

    def _run(self) -> Iterator[list[bytes]]:
        seed, t0, t1, fmt = self.seed, self.t0, self.t1, self.fmt
        warm_hours = self.warmup_days * 24
        t_begin = t0 - warm_hours * 3600
        world = build_world(self.merchants, _rnd(seed, "world"), _rng(seed, "world"))
        plan = Plan(len(world.merchants), len(world.skus))
        sink = Sink(t_begin, _rng(seed, "sink"))
        em = Emitter(world=world, fmt=fmt, ids=IdSource(seed), sink=sink, platform=self.platform)
        unknown = _rng(seed, "licence_display").random(len(world.merchants)).tolist()
        em.licence_shown = [  # 亮照亮证: shown by registered shops, unknown for some and for natural persons
            None if m.natural or u < LICENCE_UNKNOWN_SHARE else True for m, u in zip(world.merchants, unknown)
        ]
        orders = OrderStream(em, plan, _rng(seed, "orders"), seed, t1)
        listings = ListingStream(em, plan, _rng(seed, "listings"), t0)
        complaints = ComplaintStream(em, plan, _rng(seed, "complaints"), _rnd(seed, "complaints"))
        inj = Injector(em, plan, listings, orders, complaints, _rnd(seed, "inject"), seed, t0, t1)
        inj.plan_before_sessions(self.merchants, self.hours)
        sessions = plan_sessions(em, plan, _rnd(seed, "sessions"), seed, t0, t1)
        inj.plan_after_sessions(self.merchants, self.hours, sessions)
        live = LiveStream(em, orders, sessions, t0, t1)

        damager = Damager(_rnd(seed, "damage")) if self.bad_rate > 0 else None
        dmg_rng = _rng(seed, "damage")
        malformed: list[Incident] = []
        by_type: Counter[str] = Counter()
        line_no = 0
        n_hours = math.ceil((t1 - t0) / 3600)

        def finish(entries: list[tuple]) -> list[bytes]:
            nonlocal line_no
            out = [e[3] for e in entries]
            hit = set()
            if damager is not None and entries:
                for i in np.nonzero(dmg_rng.random(len(entries)) < self.bad_rate)[0].tolist():
                    recv, _, etype, line, protected = entries[i]
                    if protected:
                        continue
                    new, kind, reason, doc = damager.apply(line, damager.kind())
                    out[i] = new
                    hit.add(i)
                    inc = Incident(
                        incident_id=f"mal-{len(malformed) + 1:07d}", label="malformed", family="input", kind=kind,
                        merchant_id=doc["merchant"]["merchant_id"], subject=None,
                        note=f"{etype} event {doc['event_id']} replaced by a {kind.replace('_', ' ')} line",
                        line=line_no + i + 1, reason=reason,
                    )
                    ts = epoch(datetime.fromisoformat(doc["occurred_at"]))
                    inc.first = inc.last = ts
                    malformed.append(inc)
            by_type.update(e[2] for e in entries)
            for i in hit:
                by_type[entries[i][2]] -= 1
            line_no += len(out)
            return out

        for h in range(-warm_hours, n_hours):
            t_a = t0 + h * 3600
            t_b = min(t_a + 3600, t1)
            if h < 0:
                complaints.hour(t_a, t_b, warmup=True)
            else:
                orders.hour(t_a, t_b)
                listings.hour(t_a, t_b)
                live.hour(t_a, t_b)
                complaints.hour(t_a, t_b)
                for action in plan.due(t_b):
                    action.run()
            yield finish(sink.pop_hour(h + warm_hours))
        # lines received just after the end (occurred before it, delayed ≤ MAX_JITTER_S)
        tail = finish(sink.pop_hour(n_hours + warm_hours))
        if tail:
            yield tail

        incidents = [i for i in inj.incidents if i.event_ids]
        records = [i.record(fmt) for i in incidents + malformed]
        records.sort(key=lambda r: r["incident_id"])
        self._truth = records
        inc_counts: Counter[str] = Counter(f"{i.family}/{i.kind}" for i in incidents)
        self._summary = {
            "merchants": self.merchants,
            "hours": self.hours,
            "seed": seed,
            "start": fmt(t0),
            "end": fmt(t1),
            "warmup_days": self.warmup_days,
            "bad_rate": self.bad_rate,
            "lines": line_no,
            "events": sum(by_type.values()),
            "events_by_type": dict(sorted(by_type.items())),
            "incidents": len(incidents),
            "incidents_by_label": dict(sorted(Counter(i.label for i in incidents).items())),
            "incidents_by_family": dict(sorted(Counter(i.family for i in incidents).items())),
            "incidents_by_kind": dict(sorted(inc_counts.items())),
            "malformed_lines": len(malformed),
            "malformed_by_kind": dict(sorted(Counter(i.kind for i in malformed).items())),
            "live_sessions": len(sessions),
            "max_jitter_s": MAX_JITTER_S,
        }


def simulate(
    *,
    merchants: int,
    hours: float,
    seed: int,
    start: datetime = DEFAULT_START,
    bad_rate: float = 0.0,
    warmup_days: int = 0,
) -> Iterator[bytes]:
    """JSONL lines of one simulated district feed, in arrival order (see :class:`Simulation`)."""
    return Simulation(
        merchants=merchants, hours=hours, seed=seed, start=start, bad_rate=bad_rate, warmup_days=warmup_days
    ).lines()


def run_simulation(
    merchants: int,
    hours: float,
    seed: int,
    out: BinaryIO,
    truth_out: BinaryIO | None = None,
    bad_rate: float = 0.0,
    warmup_days: int = 0,
    progress: Callable[[int], None] | None = None,
    *,
    start: datetime = DEFAULT_START,
) -> dict:
    """Write the stream to ``out`` (and truth to ``truth_out``); return the summary.

    ``progress`` is called after each simulated hour with the number of lines
    written so far.
    """
    sim = Simulation(
        merchants=merchants, hours=hours, seed=seed, start=start, bad_rate=bad_rate, warmup_days=warmup_days
    )
    written = 0
    for chunk in sim.chunks():
        out.write(b"".join(chunk))
        written += len(chunk)
        if progress is not None:
            progress(written)
    if truth_out is not None:
        for line in sim.truth_lines():
            truth_out.write(line)
    return sim.summary()
