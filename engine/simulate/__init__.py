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
streams/live (background traffic), inject + inject_ad / inject_market /
inject_live / inject_complaints / inject_anomaly (incidents), damage (malformed lines),
plan/sink/build/clock/ids (plumbing), truth (labels), core (the loop).

Truth records: ``incident_id, label (violation|decoy|anomaly|malformed), family,
kind, merchant_id, subject, event_ids, start, end, note``. ``event_ids`` are
exactly the events that carry the signal (violation) or the look-alike
(decoy); ``start``/``end`` are the times of the first/last of them.
``merchant_id`` is null only for ``complaint_professional`` (one claimant,
many merchants; ``subject`` = its complainant hash). ``summary()`` counts
events by type and incidents by label, family and kind.

Incident kinds and their counts at 2,000 merchants × 24 h, seed 1
(``RATE_PER_1000`` per 1,000 merchant-hours; at least one of each in a
300 × 24 h run). V = violation, D = decoy::

  advertising  V ad_absolute 48            D benign_terms 48
               V ad_caution 38             D ad_caution_lookalike 29
               V ad_state_endorsement 34   D ad_state_history 26
               V ad_unsourced_claim 34     D ad_sourced_claim 26
               V ad_invented_effect 34     D ad_service_period 26
  medical      V ad_medical 43             D drug_indication 24
               V drug_guarantee 29         (decoy: drug_indication)
               V health_food_claim 29      D health_food_approved 26
               V health_food_no_warning 29
               V infant_formula_claim 29   D infant_formula_plain 26
  price        V price_fake_original 43    D price_genuine_cut 38
               V price_raise_then_cut 38
               V price_baseless_ref 34     D price_new_msrp 26
               V price_false_discount 34   D price_true_discount 26
               V price_feed_below_detail 34 D price_feed_coupon 26
               V price_lowest_claim_false 34 D price_lower_than_usual 26
  livestream   V live_fake_viewers 38      D live_paid_surge 29
               V live_price_mismatch 38    D live_price_conditional 24
               V live_repeated_violation 34
               V live_fake_scarcity 29     D live_genuine_sellout 26
               V live_order_brushing 29    D live_apparel_returns 26
               V live_ai_unlabelled 29     D live_ai_labelled 26
               V live_offplatform 34       D live_onplatform_contact 26
               V food_no_licence 29        D food_licence_exempt 26
               V prohibited_goods 29       D prohibited_lookalike 26
  merchant     V merchant_licence_hidden 29   D merchant_natural_person_exempt 26
               V merchant_sales_inflation 29  D merchant_sales_popular 26
               V merchant_review_cashback 29  D merchant_review_invite 26
  complaints   V complaint_surge 34        D complaint_busy_merchant 19
               V complaint_group 34        D complaint_professional 26
               V complaint_confirms_warning 34  D complaint_professional_group 2

  anomaly      A live_engagement_too_regular 29   A live_engagement_mismatch 29
               A price_small_steps 29             A price_far_from_category 29
               A complaint_mix_shift 29

A = anomaly (label and family "anomaly"): statistically odd events that no
rule of rules/cn-platform names, for anomaly models to find; planned after
every other kind with private ids and draws, so the other incidents' truth is
unchanged by them (see :mod:`engine.simulate.inject_anomaly`).

That run: 745k events (550k orders, 137k utterances, 34k metrics, 21.5k
listings, 2.2k complaints), 1,042 violations, 707 decoys and 145 anomalies, ≈ 110k events/s.
Each kind's docstring (``Injector.<kind>``) says what its events carry.

Background lawfulness: outside labelled incidents the copy contains none of
the violating wording of any kind (tests/simulate/test_background.py holds the
term lists), every 保健食品 listing says 本品不能代替药物, every 食品 listing
shows a 食品经营许可证 or 仅销售预包装食品备案 (食用农产品 shows none, lawfully),
``feed_price`` equals ``display_price``, no promotion claims a discount, no
listing is ``new``, ``licence_info_displayed`` is true (null for ~12 % of
registered shops and for natural persons, never false), AI-avatar rooms show
their label, live orders are never cancelled, and no complaint contains 「」.
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
