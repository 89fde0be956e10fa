"""Features computed with numpy over a batch equal the per-event extractor's, bit for bit, nulls included."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.anomaly.features import FeatureStream, compile_extractor, load_feature_set
from engine.anomaly.vectorize import Vector
from engine.errors import Location
from engine.events.decode import EventDecoder

ROOT = Path(__file__).parents[2]
MODELS = sorted(p.parent for p in (ROOT / "models").glob("*/features.yaml"))


def _events(data: bytes) -> list:
    decoder = EventDecoder()
    decoded = (decoder.decode(l, Location()) for l in data.splitlines() if l.strip())
    return [e for e in decoded if not hasattr(e, "reason")]


def _both(fs, events) -> tuple[np.ndarray, np.ndarray, object]:
    """Per-event vectors and the batch matrix of the same events, read at the same moments."""
    stream = FeatureStream(fs)
    programs = {t: compile_extractor(fs, t).program for t in fs.events}
    vectors, inputs = [], []
    for ev in events:
        ctx = stream.pipeline.observe(ev)
        if ctx.etype in programs:
            vectors.append(stream.extractors[ctx.etype](ctx))
            inputs.append(programs[ctx.etype].inputs(ctx))
    (program,) = programs.values()
    return np.asarray(vectors), program.matrix(inputs), program


@pytest.mark.parametrize("folder", MODELS, ids=lambda p: p.name)
def test_shipped_feature_sets_give_the_same_bits_per_batch_as_per_event(folder: Path, small_stream) -> None:
    fs = load_feature_set(folder / "features.yaml")
    per_event, per_batch, program = _both(fs, _events(small_stream[0]))
    assert per_event.shape == per_batch.shape and per_event.shape[0] > 50
    assert np.array_equal(per_event, per_batch, equal_nan=True)
    assert np.isnan(per_event).any(), "the stream should exercise null features too"
    assert program.n_inputs < 3 * len(fs.features)  # inputs are read once, however often the features use them


EDGE = """
model: edges
events: [listing]
windows:
  sku_prices:
    events: [listing]
    key: [merchant.merchant_id, sku_id]
    value: display_price
    duration: 1d
    bucket: 1h
    aggregates: [min, max, mean, std, count]
features:
  by_zero:        {expr: "ratio(display_price, window.sku_prices.count - window.sku_prices.count)", unit: x, description: d}
  div_by_zero:    {expr: "display_price / (window.sku_prices.count - window.sku_prices.count)", unit: x, description: d}
  zero_in_max:    {expr: "max(display_price / (window.sku_prices.count - window.sku_prices.count), ratio(1, window.sku_prices.count - window.sku_prices.count), 2)", unit: x, description: d}
  null_branch:    {expr: "window.sku_prices.std if window.sku_prices.count >= 2 else null", unit: x, description: d}
  max_skips_null: {expr: "max(ref_price, window.sku_prices.std, 1)", unit: x, description: d}
  min_all_null:   {expr: "min(ref_price, null)", unit: x, description: d}
  coalesced:      {expr: "coalesce(ref_price, window.sku_prices.min, 0) + 0.5", unit: x, description: d}
  null_compare:   {expr: "ref_price > 10", unit: x, description: d}
  not_null:       {expr: "not ref_price", unit: x, description: d}
  and_or:         {expr: "(display_price > 5 and ref_price < 1000) or window.sku_prices.count == 1", unit: x, description: d}
  neq_const:      {expr: "ref_price != 99", unit: x, description: d}
  chained:        {expr: "1 < display_price <= window.sku_prices.max", unit: x, description: d}
  sqrt_negative:  {expr: "sqrt(display_price - window.sku_prices.mean - 1)", unit: x, description: d}
  negated:        {expr: "-abs(display_price - window.sku_prices.mean)", unit: x, description: d}
  text_equal:     {expr: "1 if category_std == '食品' else 0", unit: x, description: d}
  in_list:        {expr: "category_std in ['食品', '保健食品']", unit: x, description: d}
  text_length:    {expr: "len(title) * 2", unit: x, description: d}
  power:          {expr: "(display_price % 7) ** 2", unit: x, description: d}
  bool_field:     {expr: "ratio(merchant.is_natural_person, 2)", unit: x, description: d}
"""


def test_null_semantics_and_fallbacks_match_the_per_event_closures(tmp_path: Path, small_stream) -> None:
    path = tmp_path / "features.yaml"
    path.write_text(EDGE, encoding="utf-8")
    fs = load_feature_set(path)
    per_event, per_batch, _ = _both(fs, _events(small_stream[0]))
    assert np.array_equal(per_event, per_batch, equal_nan=True)
    col = {name: j for j, name in enumerate(fs.names)}
    assert np.isnan(per_batch[:, col["by_zero"]]).all() and np.isnan(per_batch[:, col["div_by_zero"]]).all()
    assert np.isnan(per_batch[:, col["min_all_null"]]).any()
    assert (per_batch[:, col["zero_in_max"]] == 2).all()  # x / 0 is null inside an expression, not infinity
    assert set(np.unique(per_batch[:, col["in_list"]])) == {0.0, 1.0}
    assert not np.isnan(per_batch[:, col["max_skips_null"]]).any()


def test_a_batch_may_mix_inputs_and_vectors(small_stream) -> None:
    fs = load_feature_set(ROOT / "models" / "live-traffic" / "features.yaml")
    stream = FeatureStream(fs)
    extractor = compile_extractor(fs, "live_metrics")
    rows, expected = [], []
    for k, ev in enumerate(e for e in _events(small_stream[0])):
        ctx = stream.pipeline.observe(ev)
        if ctx.etype == "live_metrics":
            expected.append(extractor(ctx))
            rows.append(extractor.take(ctx, wide=k % 3 != 0))
    assert any(type(r) is Vector for r in rows) and any(type(r) is not Vector for r in rows)
    assert np.array_equal(extractor.matrix(rows), np.asarray(expected), equal_nan=True)
    assert np.array_equal(extractor.matrix([r for r in rows if type(r) is Vector]),
                          np.asarray([e for e, r in zip(expected, rows) if type(r) is Vector]), equal_nan=True)
