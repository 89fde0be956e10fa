"""Microbenchmark of the window math: microseconds per add and per read, and bytes per key.

Windows, as rules use them:

* ``count_7d``: count over 7 days, 1 h buckets (168 buckets);
* ``min_7d``: lowest price over 7 days, 1 h buckets;
* ``bstd_28d``: std of the per-day counts over 28 days, 1 d buckets, excluding the last day.

Workloads, both on ``--keys`` keys (default 100k) picked at random per event,
event times rising evenly:

* ``same-bucket``: all events inside one hour, so consecutive events of a key
  mostly share a bucket: the hot path of a busy key;
* ``sliding``: the events spread over the window length + 2 days, so a key's
  next event is hours or days later and nearly every add opens a new bucket
  and slides the window: the worst case per event.

The first half of the events warms the states up untimed (creates the keys);
the second half is timed. ``add`` times ``states[k] = add(states.get(k), ...)``
minus ``loop``, the same loop with no call (dict get/put, tuple unpacking,
reported so it can be judged); ``read`` is the extra cost of
``read(state, spec, ts).<aggregate>`` right after each add, as a rule reads a
window on each event. Times are CPU time (``time.process_time``) so that other
processes on the machine do not add their time; each figure is the median of
``--runs`` runs. ``B/key`` is traced memory of the states (tracemalloc) after
the timed pass, divided by the number of keys.

    .venv/bin/python benchmarks/bench_windows.py [--keys 100000 --events 1000000 --runs 5]
"""
from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.state.windows import WindowSpec, add, read  # noqa: E402

DAY = 86400
T0 = 1_700_006_400.0

# (spec, aggregate read, add target µs, read target µs)
SPECS = [
    (WindowSpec("count_7d", 7 * DAY, 3600, {"count"}), "count", 1.5, 1.0),
    (WindowSpec("min_7d", 7 * DAY, 3600, {"min"}), "min", 1.5, 5.0),
    (WindowSpec("bstd_28d", 28 * DAY, DAY, {"bucket_std"}, exclude_recent_s=DAY), "bucket_std", 1.5, None),
]


def make_events(n: int, keys: int, span_s: float, seed: int) -> list[tuple[tuple[str, ...], float, float]]:
    """``n`` events (key, ts, price) on ``keys`` random keys, times rising evenly over ``span_s``."""
    rng = random.Random(seed)
    names = [(f"m{i:06d}",) for i in range(keys)]
    dt = span_s / n
    return [(names[rng.randrange(keys)], T0 + i * dt, round(rng.uniform(1, 500), 2)) for i in range(n)]


def one_pass(events, spec: WindowSpec, attr: str, mode: str) -> float:
    """Warm up on the first half; return the CPU seconds of the second half."""
    states: dict = {}
    get = states.get
    half = len(events) // 2
    for k, ts, v in events[:half]:
        states[k] = add(get(k), spec, ts, v)
    timed = events[half:]
    gc.collect()
    gc.disable()
    try:
        t = time.process_time()
        if mode == "loop":
            for k, ts, v in timed:
                states[k] = get(k)
        elif mode == "add":
            for k, ts, v in timed:
                states[k] = add(get(k), spec, ts, v)
        else:
            for k, ts, v in timed:
                st = states[k] = add(get(k), spec, ts, v)
                getattr(read(st, spec, ts), attr)
        return time.process_time() - t
    finally:
        gc.enable()


def bytes_per_key(events, spec: WindowSpec, attr: str) -> float:
    """Memory held by the states after an add+read pass, per key (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    states: dict = {}
    get = states.get
    for k, ts, v in events:
        st = states[k] = add(get(k), spec, ts, v)
        getattr(read(st, spec, ts), attr)
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return held / len(states)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    timed = args.events - args.events // 2
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}) on {platform.machine()}; "
        f"{args.keys} keys, {args.events} events ({timed} timed), CPU time, median of {args.runs} runs"
    )
    head = (
        f"{'window':9} {'workload':11} {'loop µs':>7} {'add µs':>7} {'read µs':>8} {'read of':>10} "
        f"{'B/key':>7} {'target add/read':>16}"
    )
    print(head)
    print("-" * len(head))
    for spec, attr, add_target, read_target in SPECS:
        for workload, span in (("same-bucket", 3000.0), ("sliding", spec.duration_s + 2 * DAY)):
            events = make_events(args.events, args.keys, span, args.seed)
            med: dict[str, float] = {}
            for mode in ("loop", "add", "add+read"):
                secs = [one_pass(events, spec, attr, mode) for _ in range(args.runs)]
                med[mode] = statistics.median(secs) / timed * 1e6
            mem = bytes_per_key(events, spec, attr)
            target = f"{add_target:.1f} / " + (f"{read_target:.1f}" if read_target else "-")
            print(
                f"{spec.name:9} {workload:11} {med['loop']:7.2f} {med['add'] - med['loop']:7.2f} "
                f"{med['add+read'] - med['add']:8.2f} {attr:>10} {mem:7.0f} {target:>16}"
            )


if __name__ == "__main__":
    main()
