"""Embedded pipeline throughput, stage by stage, against a bare orjson.loads baseline.

Generates a simulated stream (default ≥ 500k events), then times, in one
process and one run, over the same bytes:

1. ``orjson.loads`` of every line (the baseline: parsing only, no validation);
2. decode + validate (msgspec, one pass) into typed events;
3. decode + windows (the pack's windows fed, no rules);
4. the full pipeline: decode, windows, rules, alerts (dedup, ids, evidence).

Each variant runs ``--repeats`` times; medians are reported because the
machine is shared and noisy. Results go to benchmarks/results/ as JSON and
the table is printed as Markdown (paste into benchmarks/README.md).

    python benchmarks/bench_pipeline.py --packs rules/starter --merchants 4000 --hours 24
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import io
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.errors import Location  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.rules.evaluator import compile_pack  # noqa: E402
from engine.rules.loader import load_pack  # noqa: E402
from engine.simulate import run_simulation  # noqa: E402

BATCH = 1000


def generate(merchants: int, hours: float, seed: int) -> list[bytes]:
    buf = io.BytesIO()
    run_simulation(merchants=merchants, hours=hours, seed=seed, out=buf, truth_out=None)
    return [line for line in buf.getvalue().splitlines() if line.strip()]


def utc_stamp() -> str:
    """The time a result is named after, e.g. 2026-11-26T150125Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")


def save_result(out_dir: str | Path, kind: str, stamp: str, payload: dict) -> Path:
    """Write ``payload`` as ``<out_dir>/<kind>-<stamp>.json`` (the folder made if missing) and return the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{kind}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path


def time_it(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        gc.collect()  # the previous run's garbage is not this run's cost (collected outside the clock)
        t0 = time.perf_counter()
        kept = fn()
        out.append(time.perf_counter() - t0)
        del kept  # tearing down the run's window state is not throughput either
    return out


def batches(lines: list[bytes]) -> list[list[tuple[bytes, Location]]]:
    loc = Location(file="bench")
    return [[(l, loc) for l in lines[i : i + BATCH]] for i in range(0, len(lines), BATCH)]


def run_variant(lines_b, compiled, mode: str, bank=None) -> Pipeline:
    """Run one variant over every batch; the pipeline is returned so that freeing it happens off the clock."""
    pipeline = Pipeline(compiled, clock=lambda: 0.0, models=bank)
    if mode == "decode":
        dec = pipeline.decoder
        for b in lines_b:
            dec.decode_batch(b)
        return pipeline
    for b in lines_b:
        pipeline.process_raw(b)
    return pipeline


def strip_rules(compiled):
    return dataclasses.replace(compiled, rules={t: () for t in compiled.rules})


def main() -> None:
    from engine.runtime.embedded import tune_gc

    tune_gc()  # as the embedded runner does
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packs", nargs="+", default=["rules/starter"])
    ap.add_argument("--merchants", type=int, default=4000)
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default=None, help="also run the last pack with every model in this folder")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    lines = generate(args.merchants, args.hours, args.seed)
    gen_s = time.perf_counter() - t0
    n = len(lines)
    nbytes = sum(len(l) for l in lines)
    print(f"generated {n:,} events ({nbytes / n:.0f} bytes avg) in {gen_s:.1f} s", file=sys.stderr)
    lines_b = batches(lines)

    def bare() -> None:
        loads = orjson.loads
        for l in lines:
            loads(l)

    results = {"bare_orjson_loads": time_it(bare, args.repeats)}
    first = compile_pack(load_pack(args.packs[0]))
    results["decode_validate"] = time_it(lambda: run_variant(lines_b, first, "decode"), args.repeats)
    for pack in args.packs:
        compiled = compile_pack(load_pack(pack))
        name = Path(pack).name
        results[f"{name}:decode+windows"] = time_it(lambda: run_variant(lines_b, strip_rules(compiled), "full"), args.repeats)
        results[f"{name}:full"] = time_it(lambda: run_variant(lines_b, compiled, "full"), args.repeats)
        print(f"{name}: {len(compiled.pack.rules)} rules, {len(compiled.windows)} windows", file=sys.stderr)
    if args.models:
        from engine.anomaly.bank import ModelBank, compile_with_models, load_models

        models = load_models(args.models)
        with_models = compile_with_models(load_pack(args.packs[-1]), models)
        bank = ModelBank(models)
        label = f"{Path(args.packs[-1]).name}+{len(models)} models:full"
        results[label] = time_it(lambda: run_variant(lines_b, with_models, "full", bank), args.repeats)
        print(f"{label}: {', '.join(m.name for m in models)}; {len(with_models.windows)} windows", file=sys.stderr)

    base = statistics.median(results["bare_orjson_loads"])
    rows = []
    for key, runs in results.items():
        med = statistics.median(runs)
        rows.append(
            {
                "variant": key,
                "median_s": med,
                "runs_s": runs,
                "events_per_s": n / med,
                "us_per_event": med / n * 1e6,
                "x_bare_decode": med / base,
            }
        )
    stamp = utc_stamp()
    meta = {
        "when": stamp,
        "events": n,
        "avg_bytes": nbytes / n,
        "merchants": args.merchants,
        "hours": args.hours,
        "seed": args.seed,
        "repeats": args.repeats,
        "batch": BATCH,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "packs": args.packs,
        "models": args.models,
    }
    out_file = save_result(args.out, "pipeline", stamp, {"meta": meta, "rows": rows})
    print("| variant | median s | events/s | µs/event | × bare orjson.loads |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['variant']} | {r['median_s']:.2f} | {r['events_per_s']:,.0f} | {r['us_per_event']:.2f} | {r['x_bare_decode']:.1f} |")
    print(f"\n{n:,} events, median of {args.repeats} runs, one process; results: {out_file}")


if __name__ == "__main__":
    main()
