"""Events/s of this checkout against another one, runs interleaved: a wall-clock ratio that load drift cannot fake.

On a shared machine the speed of the same code moves by 1.5-2x within a day,
so a figure measured in the morning cannot be compared with one measured in
the afternoon. This script generates the simulated day once, then runs each
variant in a fresh process, round-robin (A, B, C, A, B, C, …), so every
variant sees the same mix of quiet and busy moments; it reports medians and
each variant's ratio to the first one.

    python benchmarks/bench_compare.py --against /tmp/old-checkout --repeats 5

A variant is ``CHECKOUT:VARIANT`` with checkout ``new`` (this one) or ``old``
(``--against``) and variant ``pack`` (cn-platform) or ``models`` (cn-platform
plus every model in models/). Make the old checkout with
``git worktree add /tmp/old-checkout COMMIT``.
"""
from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_pipeline import generate, save_result, utc_stamp  # noqa: E402  (same folder)

CHILD = """
import gc, pickle, sys, time
sys.path.insert(0, sys.argv[1])
from engine.errors import Location
from engine.pipeline import Pipeline
from engine.rules.evaluator import compile_pack
from engine.rules.loader import load_pack
from engine.runtime.embedded import tune_gc
tune_gc()
lines = pickle.load(open(sys.argv[2], "rb"))
root = sys.argv[1]
pack = load_pack(root + "/rules/cn-platform")
if sys.argv[3] == "pack":
    pipeline = Pipeline(compile_pack(pack), clock=lambda: 0.0)
else:
    from engine.anomaly.bank import ModelBank, compile_with_models, load_models
    models = load_models(root + "/models")
    pipeline = Pipeline(compile_with_models(pack, models), clock=lambda: 0.0, models=ModelBank(models))
loc = Location(file="bench")
batches = [[(l, loc) for l in lines[i : i + 1000]] for i in range(0, len(lines), 1000)]
gc.collect()
t0 = time.perf_counter()
for b in batches:
    pipeline.process_raw(b)
print(time.perf_counter() - t0)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--against", required=True, help="the other checkout (e.g. a git worktree of an older commit)")
    ap.add_argument("--variants", nargs="+", default=["old:pack", "old:models", "new:pack", "new:models"])
    ap.add_argument("--merchants", type=int, default=2000)
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()

    lines = generate(args.merchants, args.hours, args.seed)
    roots = {"new": str(ROOT), "old": str(Path(args.against).resolve())}
    commits = {k: subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=r, capture_output=True, text=True).stdout.strip()
               for k, r in roots.items()}
    times: dict[str, list[float]] = {v: [] for v in args.variants}
    with tempfile.TemporaryDirectory() as tmp:
        day = Path(tmp) / "day.pkl"
        day.write_bytes(pickle.dumps(lines))
        child = Path(tmp) / "child.py"
        child.write_text(CHILD)
        total = args.repeats * len(args.variants)
        for r in range(args.repeats):
            for v in args.variants:
                which, kind = v.split(":")
                out = subprocess.run([sys.executable, str(child), roots[which], str(day), kind],
                                     capture_output=True, text=True, check=True)
                times[v].append(float(out.stdout.strip().splitlines()[-1]))
                done = r * len(args.variants) + args.variants.index(v) + 1
                print(f"[{done}/{total}] {v}: {len(lines) / times[v][-1]:,.0f} events/s", file=sys.stderr)
    first = statistics.median(times[args.variants[0]])
    rows = [{"variant": v, "commit": commits[v.split(':')[0]], "runs_s": t, "median_s": statistics.median(t),
             "events_per_s": len(lines) / statistics.median(t), "ratio_to_first": statistics.median(t) / first}
            for v, t in times.items()]
    stamp = utc_stamp()
    meta = {"when": stamp, "events": len(lines), "merchants": args.merchants, "hours": args.hours, "seed": args.seed,
            "repeats": args.repeats, "python": platform.python_version(), "cpus": os.cpu_count(), "commits": commits}
    out_file = save_result(args.out, "compare", stamp, {"meta": meta, "rows": rows})
    print(f"| variant | commit | median s | events/s | time × {args.variants[0]} |\n|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['variant']} | {r['commit']} | {r['median_s']:.2f} | {r['events_per_s']:,.0f} | {r['ratio_to_first']:.2f} |")
    print(f"\n{len(lines):,} events, median of {args.repeats} interleaved runs, each in a fresh process; results: {out_file}")


if __name__ == "__main__":
    main()
