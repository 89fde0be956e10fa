"""Instructions per event of the embedded pipeline, counted by callgrind: a load-independent measure.

Wall-clock figures on a shared machine move with its load (the same code
measured 37k and 18k events/s with models on one day); the number of machine
instructions the interpreter executes for the same input does not. This
script generates the simulated day once, cuts a slice out of it, and runs
each variant under ``valgrind --tool=callgrind`` twice: over the slice and
over nothing (start-up, imports, pack compilation). The difference divided
by the slice length is the cost per event.

    python benchmarks/count_instructions.py --pack rules/cn-platform --models models --start 200000 --events 40000

Needs valgrind. Takes about a minute per run (both variants run in parallel).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from bench_pipeline import generate, save_result, utc_stamp  # noqa: E402  (same folder)
sys.path.insert(0, str(ROOT))

CHILD = """
import pickle, sys
sys.path.insert(0, {root!r})
from engine.errors import Location
from engine.pipeline import Pipeline
from engine.rules.evaluator import compile_pack
from engine.rules.loader import load_pack
from engine.runtime.embedded import tune_gc
lines = pickle.load(open({slice!r}, "rb"))[: int(sys.argv[2])]
pack = load_pack({pack!r})
if sys.argv[1] == "plain":
    pipeline = Pipeline(compile_pack(pack), clock=lambda: 0.0)
else:
    from engine.anomaly.bank import ModelBank, compile_with_models, load_models
    models = load_models({models!r})
    pipeline = Pipeline(compile_with_models(pack, models), clock=lambda: 0.0, models=ModelBank(models))
tune_gc()  # as the embedded runner and bench_pipeline.py do: the collector's work is then the runtime's, not the default's
loc = Location(file="bench")
for i in range(0, len(lines), 1000):
    pipeline.process_raw([(l, loc) for l in lines[i : i + 1000]])
"""


def count(script: Path, variant: str, n: int) -> int:
    """Instructions callgrind collected for one run of the child script."""
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, str(script), variant, str(n)], capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if not found:
        raise RuntimeError(f"no instruction count in valgrind output:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pack", default="rules/cn-platform")
    ap.add_argument("--models", default="models")
    ap.add_argument("--merchants", type=int, default=2000)
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--start", type=int, default=200_000, help="first event of the slice (state is cold at its start)")
    ap.add_argument("--events", type=int, default=40_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()

    lines = generate(args.merchants, args.hours, args.seed)[args.start : args.start + args.events]
    with tempfile.TemporaryDirectory() as tmp:
        slice_path = Path(tmp) / "slice.pkl"
        slice_path.write_bytes(pickle.dumps(lines))
        script = Path(tmp) / "child.py"
        script.write_text(CHILD.format(root=str(ROOT), slice=str(slice_path), pack=str(ROOT / args.pack),
                                       models=str(ROOT / args.models)))
        jobs = {(v, n): (v, n) for v in ("plain", "models") for n in (0, len(lines))}
        with cf.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {key: pool.submit(count, script, *key) for key in jobs}
            got = {key: f.result() for key, f in futures.items()}
    per_event = {v: (got[(v, len(lines))] - got[(v, 0)]) / len(lines) for v in ("plain", "models")}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result = {
        "when": utc_stamp(),
        "commit": commit or None,
        "pack": args.pack, "models": args.models, "seed": args.seed, "merchants": args.merchants,
        "hours": args.hours, "slice": [args.start, args.start + len(lines)],
        "instructions_per_event": per_event,
        "models_overhead": per_event["models"] / per_event["plain"] - 1,
        "raw": {f"{v}:{n}": c for (v, n), c in got.items()},
    }
    print(json.dumps(result, indent=2))  # before writing: a failed write must not lose a long count
    out = save_result(args.out, "instructions", result["when"], result)
    print(f"| variant | instructions/event |\n|---|---:|\n| {Path(args.pack).name} | {per_event['plain']:,.0f} |\n"
          f"| {Path(args.pack).name} + models | {per_event['models']:,.0f} |\n\nmodels add "
          f"{result['models_overhead']:.1%}; results: {out}")


if __name__ == "__main__":
    main()
