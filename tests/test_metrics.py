"""Prometheus metrics agree with the pipeline's own counters, labels stay bounded."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from prometheus_client import CollectorRegistry

from engine.cli import main
from engine.errors import Location
from engine.metrics import Metrics
from engine.pipeline import Pipeline, iter_batches

ROOT = Path(__file__).parents[1]


def test_metrics_follow_the_pipeline_counters(starter, small_stream) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    p = Pipeline(starter, clock=lambda: 0.0)
    items = [(l, Location(file="s", line=i)) for i, l in enumerate(small_stream[0].splitlines()) if l.strip()]
    for batch in iter_batches(items, 700):
        p.process_raw(batch)
        metrics.observe(p.stats, len(batch), 0.01)
    for etype, n in p.stats.events.items():
        assert registry.get_sample_value("hongdun_events_total", {"type": etype}) == n
    for reason, n in p.stats.rejects.items():
        assert registry.get_sample_value("hongdun_rejects_total", {"reason": reason}) == n
    for (rule, sev), n in p.stats.alerts.items():
        assert registry.get_sample_value("hongdun_alerts_total", {"rule": rule, "severity": sev}) == n
    assert registry.get_sample_value("hongdun_batch_size_count") == len(list(iter_batches(items, 700)))
    names = {s.name for m in registry.collect() for s in m.samples}
    assert not any("merchant" in n for n in names)


def test_run_writes_a_metrics_file(tmp_path: Path, small_stream) -> None:
    (tmp_path / "in.jsonl").write_bytes(small_stream[0])
    out = tmp_path / "hongdun.prom"
    result = CliRunner().invoke(main, ["run", "--pack", str(ROOT / "rules" / "starter"), "--input", str(tmp_path / "in.jsonl"),
                                       "--metrics-file", str(out), "--no-progress", "--show", "0"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert 'hongdun_pack_info{pack="starter",version="1.0.0"} 1.0' in text
    assert "hongdun_events_total" in text and "hongdun_batch_seconds_bucket" in text
