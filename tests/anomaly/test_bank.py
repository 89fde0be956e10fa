"""Models inside the engine: verified loading, score.MODEL in rules, batch scoring, model alerts with reasons."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pytest

from engine.anomaly.bank import ModelBank, compile_with_models, load_model, load_models
from engine.errors import Location, ModelError
from engine.pipeline import Pipeline, iter_batches
from engine.rules.evaluator import compile_pack
from engine.rules.loader import load_pack

ROOT = Path(__file__).parents[2]
MODELS = ROOT / "models"

PACK_HEADER = """\
pack: scored
version: "1"
description: a rule that reads a model score together with a window
"""
RULES = """\
windows:
  sku_listings_1d:
    events: [listing]
    key: sku_id
    duration: 1d
    aggregates: [count]
rules:
  - id: SC-01
    title: 高风险价格异常且频繁改价
    events: [listing]
    when: score.listing_price >= 0.0 and window.sku_listings_1d.count >= 1 and display_price >= 10
    severity: low
    family: price
    minor: true
    basis:
      - {law: 明码标价和禁止价格欺诈规定, version: "2022-04-14", article: 第十六条, verified: false, note: test pack}
    dedup: {window: 1h, subject: sku_id}
    message: "价格模型风险分 {score.listing_price}"
    examples:
      fire:
        - event: {display_price: 59.0}
        - event: {display_price: 10.0}
      quiet:
        - event: {display_price: 5.0}
        - event: {display_price: 9.9}
"""


@pytest.fixture(scope="module")
def models():
    return load_models(MODELS)


@pytest.fixture(scope="module")
def scored_pack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scored")
    (folder / "pack.yaml").write_text(PACK_HEADER, encoding="utf-8")
    (folder / "scored.yaml").write_text(RULES, encoding="utf-8")
    return load_pack(folder)


def _items(data: bytes) -> list[tuple[bytes, Location]]:
    return [(l, Location(file="s", line=i + 1)) for i, l in enumerate(data.splitlines()) if l.strip()]


def _run(compiled, bank, items, batch: int):
    p = Pipeline(compiled, clock=lambda: 0.0, models=bank)
    out = []
    for b in iter_batches(items, batch):
        out += p.process_raw(b).emitted
    return p, out


def test_the_shipped_models_load_verified(models) -> None:
    assert {m.folder for m in models} == {"live-traffic", "listing-price", "merchant-complaints"}
    for m in models:
        assert 0.0 < m.threshold < 1.0
        assert set(m.features.names) <= set(m.distributions)  # every feature has its training range
        assert len(m.digest) == 64


def test_a_changed_training_file_is_refused_naming_it(tmp_path) -> None:
    folder = tmp_path / "listing-price"
    shutil.copytree(MODELS / "listing-price", folder)
    path = folder / "training.json"
    path.write_text(path.read_text().replace('"threshold": 0.', '"threshold": 0.0', 1))
    with pytest.raises(ModelError) as err:
        load_model(folder)
    assert "training.json" in str(err.value)


def test_a_pipeline_refuses_a_pack_compiled_without_its_models(models, scored_pack) -> None:
    plain = compile_pack(load_pack(ROOT / "rules" / "starter"))
    with pytest.raises(ValueError, match="compile_with_models"):
        Pipeline(plain, models=ModelBank(models))


def test_scores_and_model_alerts_do_not_depend_on_batch_size(models, scored_pack, small_stream) -> None:
    compiled = compile_with_models(scored_pack, models)
    bank = ModelBank(models)
    items = _items(small_stream[0])
    p1, one = _run(compiled, bank, items, 1)
    p2, many = _run(compiled, bank, items, 1000)
    _, some = _run(compiled, bank, items, 37)
    assert [msgspec.json.encode(a) for a in one] == [msgspec.json.encode(a) for a in many]
    assert [msgspec.json.encode(a) for a in some] == [msgspec.json.encode(a) for a in many]
    # listing_price is read by SC-01 (scored before its batch's rules), the others after their batch
    assert compiled.scores_read == {"listing_price"}
    lazy_alerts = [a for a in many if a.rule_id == "MODEL-LIVE-TRAFFIC"]
    assert lazy_alerts and any(a.rule_id != "MODEL-LIVE-TRAFFIC" for a in many[many.index(lazy_alerts[0]) + 1:])
    assert p1.stats.scored == p2.stats.scored and p1.stats.scored["listing_price"] > 0
    fired = [a for a in many if a.rule_id == "SC-01"]
    assert fired, "a rule reading score.listing_price >= 0 fires on every listing"
    # the window value on the alert is the one as of that event, not of the end of its batch
    assert all(a.windows["sku_listings_1d"]["count"] >= 1 for a in fired)
    assert all(a.message.startswith("价格模型风险分 0.") for a in fired)


def test_a_score_in_a_rule_equals_the_compiled_forest_on_the_same_vector(models, scored_pack) -> None:
    from engine.anomaly.features import compile_features
    from engine.events.examples import default_event

    listing = next(m for m in models if m.name == "listing_price")
    compiled = compile_with_models(scored_pack, models)
    p = Pipeline(compiled, clock=lambda: 0.0, models=ModelBank(models))
    event = msgspec.json.encode(default_event("listing"))
    alerts = p.process_raw([(event, Location(file="t"))]).alerts
    rule_alert = next(a for a in alerts if a.rule_id == "SC-01")
    ctx = Pipeline(compiled, clock=lambda: 0.0, models=ModelBank(models)).observe(
        msgspec.json.decode(event, type=type(p.decoder.decode(event, Location())))
    )
    vector = compile_features(listing.features, "listing", listing.window_prefix)(ctx)
    want = float(listing.forest.risk(np.asarray([vector]))[0])
    assert rule_alert.message == f"价格模型风险分 {want:.2f}"  # messages show numbers to two decimals


def test_model_alerts_explain_themselves_with_training_ranges(models, small_stream) -> None:
    compiled = compile_with_models(load_pack(ROOT / "rules" / "starter"), models)
    _, emitted = _run(compiled, ModelBank(models), _items(small_stream[0]), 500)
    model_alerts = [a for a in emitted if a.model is not None]
    assert model_alerts, "the simulated stream holds injected anomalies"
    for a in model_alerts:
        assert a.rule_id.startswith("MODEL-") and a.family == "anomaly" and a.legal_basis == []
        assert a.disposition is not None and a.disposition.kind == "review"
        assert a.model.risk >= a.model.threshold
        assert len(a.model.top_features) == 3
        contributions = [f.contribution for f in a.model.top_features]
        assert contributions == sorted(contributions, reverse=True)
        assert a.model.top_features[0].feature in a.message


def test_only_leads_opening_an_alert_are_explained(models, small_stream, monkeypatch) -> None:
    """A lead repeating an open alert (same model, merchant, subject) only counts a hit: it is not explained."""
    import engine.anomaly.bank as bank_module

    explained: list[int] = []
    real = bank_module.explain_rows

    def counting(model, X, top=3):
        explained.append(len(X))
        return real(model, X, top)

    monkeypatch.setattr(bank_module, "explain_rows", counting)
    compiled = compile_with_models(load_pack(ROOT / "rules" / "starter"), models)
    _, emitted = _run(compiled, ModelBank(models), _items(small_stream[0]), 500)
    model_alerts = [a for a in emitted if a.model is not None]
    opened = sum(1 for a in model_alerts if a.hits == 1)
    assert opened and len(model_alerts) > opened, "the stream repeats some leads"
    assert explained == [1] * opened


class _Recording(Pipeline):
    """A pipeline that keeps every score it computed, by event id (to compare with offline scoring)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.seen: dict[str, dict[str, float]] = {}

    def _score_rows(self, mi, extractor, idx, rows, ctxs):
        leads = super()._score_rows(mi, extractor, idx, rows, ctxs)
        for i in idx:
            self.seen.setdefault(ctxs[i].event.event_id, {}).update(ctxs[i].scores)
        return leads


@pytest.mark.parametrize("name,pack", [("live_traffic", "starter"), ("listing_price", "starter"),
                                       ("merchant_complaints", "starter"), ("listing_price", "scored")])
def test_live_scores_equal_offline_scores_from_the_training_feature_stream(models, name, pack, scored_pack,
                                                                           small_stream) -> None:
    """The engine feeds a model's windows from every event type they count (orders for complaint rates).

    With the starter pack no rule reads a score, so every model is scored after its
    batch (lazy); the scored pack's rule reads score.listing_price, so that model is
    scored before its batch's rules run (eager). Both must equal offline scoring.
    """
    from engine.anomaly.features import FeatureStream
    from engine.events.decode import EventDecoder

    model = next(m for m in models if m.name == name)
    compiled = compile_with_models(load_pack(ROOT / "rules" / "starter") if pack == "starter" else scored_pack, [model])
    assert (model.name in compiled.scores_read) == (pack == "scored")
    p = _Recording(compiled, clock=lambda: 0.0, models=ModelBank([model]))
    items = _items(small_stream[0])
    for b in iter_batches(items, 700):
        p.process_raw(b)
    decoded = EventDecoder().decode_batch(items)
    offline = FeatureStream(model.features).process([e for e, _ in decoded.events])
    assert offline and len(offline) == len(p.seen)
    want = model.forest.risk(np.asarray([v for _, v in offline]))
    got = np.asarray([p.seen[eid][name] for eid, _ in offline])
    assert np.allclose(got, want, rtol=0, atol=1e-12)


def test_pack_examples_that_read_scores_run_with_models(models, scored_pack) -> None:
    from engine.rules.lint import lint_pack
    from engine.rules.testing import run_pack_tests

    folder = scored_pack.root
    problems, _ = lint_pack(folder)
    assert any("unknown model 'listing_price'" in str(p) for p in problems)
    assert lint_pack(folder, frozenset(m.name for m in models))[0] == []
    results, errors = run_pack_tests(compile_with_models(scored_pack, models), ModelBank(models))
    assert not errors and len(results) == 4 and all(r.passed for r in results), [r.detail for r in results]


def test_the_pipeline_tracks_feature_drift_and_exports_it(models, small_stream) -> None:
    from prometheus_client import generate_latest

    from engine.metrics import Metrics

    compiled = compile_with_models(load_pack(ROOT / "rules" / "starter"), models)
    p, _ = _run(compiled, ModelBank(models), _items(small_stream[0]), 1000)
    assert set(p.drift) == {m.name for m in models}
    for m in models:
        assert p.drift[m.name].rows == p.stats.scored[m.name] > 0
    metrics = Metrics()
    metrics.observe_drift(p.drift)
    text = generate_latest(metrics.registry).decode()
    listing = next(m for m in models if m.name == "listing_price")
    for feature in listing.features.names:
        assert f'hongdun_model_feature_psi{{feature="{feature}",model="listing_price"}}' in text


def test_a_model_with_a_warmup_holds_its_own_alerts_until_its_windows_have_history(models, small_stream) -> None:
    """Cold start: 12 hours of complaints cannot say what a merchant's last 27 days looked like."""
    from engine.pipeline import MODELS

    complaints = next(m for m in models if m.name == "merchant_complaints")
    assert complaints.features.warmup_s == 28 * 86400
    compiled = compile_with_models(load_pack(ROOT / "rules" / "starter"), [complaints])
    items = _items(small_stream[0])
    cold, cold_out = _run(compiled, ModelBank([complaints]), items, 1000)
    assert cold.stats.model_warming["merchant_complaints"] > 0
    assert not [a for a in cold_out if a.model is not None]

    warm = Pipeline(compiled, clock=lambda: 0.0, models=ModelBank([complaints]))
    warm.alert_state.put(MODELS, ("merchant_complaints",), {"first": 0.0})  # history since 1970: long warm
    warm_out = [a for b in iter_batches(items, 1000) for a in warm.process_raw(b).emitted]
    held = cold.stats.model_warming["merchant_complaints"]
    assert warm.stats.model_warming["merchant_complaints"] == 0
    assert 0 < len({a.alert_id for a in warm_out if a.model is not None}) <= held


def test_state_with_model_windows_snapshots_and_restores(models, small_stream, tmp_path) -> None:
    """A run with models continues from a snapshot exactly as one run over the whole stream."""
    from engine.runtime.state_dir import restore_state, save_state

    compiled = compile_with_models(load_pack(ROOT / "rules" / "starter"), models)
    items = _items(small_stream[0])
    half = len(items) // 2
    _, whole = _run(compiled, ModelBank(models), items, 1000)
    first, out = _run(compiled, ModelBank(models), items[:half], 1000)
    save_state(first, tmp_path)
    second = Pipeline(compiled, clock=lambda: 0.0, models=ModelBank(models))
    restore_state(second, tmp_path)
    for b in iter_batches(items[half:], 1000):
        out += second.process_raw(b).emitted
    assert [a.alert_id for a in out] == [a.alert_id for a in whole]
    assert [a.model.risk for a in out if a.model] == [a.model.risk for a in whole if a.model]


def test_a_model_window_defined_like_a_pack_window_is_kept_once_with_the_same_results(models, small_stream) -> None:
    """merchant_complaints counts paid orders exactly like cn-platform's merchant_orders_24h: fed once, read by both."""
    pack = load_pack(ROOT / "rules" / "cn-platform")
    shared = compile_with_models(pack, models)
    apart = compile_with_models(pack, models, share=False)
    assert shared.model_windows["merchant_complaints"]["m_paid_orders_24h"] == "merchant_orders_24h"
    assert "merchant_complaints/m_paid_orders_24h" not in shared.windows
    assert "merchant_complaints/m_paid_orders_24h" in apart.windows
    assert shared.model_windows["merchant_complaints"]["m_refunds_24h"] == "merchant_complaints/m_refunds_24h"
    items = _items(small_stream[0])
    p1, out_shared = _run(shared, ModelBank(models), items, 500)
    p2, out_apart = _run(apart, ModelBank(models), items, 500)
    assert [msgspec.json.encode(a) for a in out_shared] == [msgspec.json.encode(a) for a in out_apart]
    assert p1.stats.scored == p2.stats.scored and p1.stats.scored["merchant_complaints"] > 0


def test_only_identical_windows_of_unread_models_are_shared(models, scored_pack) -> None:
    from engine.anomaly.bank import shared_windows

    complaints = next(m for m in models if m.name == "merchant_complaints")
    listing = next(m for m in models if m.name == "listing_price")
    pack = load_pack(ROOT / "rules" / "cn-platform")
    paid = pack.windows["merchant_orders_24h"]
    for changed in (dataclasses.replace(paid, events=("order", "complaint")),
                    dataclasses.replace(paid, spec=dataclasses.replace(paid.spec, duration_s=2 * 86400)),
                    dataclasses.replace(paid, where=complaints.features.windows["m_refunds_24h"].where),
                    dataclasses.replace(paid, spec=dataclasses.replace(paid.spec, aggregates=frozenset({"bucket_mean"})))):
        other = dataclasses.replace(pack, windows={**pack.windows, "merchant_orders_24h": changed})
        assert "m_paid_orders_24h" not in shared_windows(other, complaints)
    # a pack window identical to a model window of a model its rules read: that model keeps its own
    twin = dataclasses.replace(listing.features.windows["sku_display_7d"], name="twin")
    reading = dataclasses.replace(scored_pack, windows={**scored_pack.windows, "twin": twin})
    assert shared_windows(reading, listing) == {"sku_display_7d": "twin"}
    compiled = compile_with_models(reading, models)
    assert compiled.model_windows["listing_price"]["sku_display_7d"] == "listing_price/sku_display_7d"
