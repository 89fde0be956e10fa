"""Referral packages: self-contained, every hash recomputes, tampering is found."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import orjson
import yaml

from engine.alerts.referral import build_referral, read_referral, rule_text_from_pack, verify_referral, write_referral
from engine.alerts.routing import Deployment, route
from engine.alerts.store import canonical

from .conftest import T0

ROOT = Path(__file__).parents[2]
EVENT = {"event_id": "ev-1", "event_type": "listing", "platform": "demo-mall", "title": "最佳 羽绒服",
         "merchant": {"merchant_id": "m-1", "reg_region_code": "310115", "op_region_code": "310115"}}
RAW = orjson.dumps(EVENT) + b"\n"


def _package(make_alert, **kw):
    alert = make_alert(T0, op_region="310115", first_event="ev-1", source_event_ids=["ev-1", "ev-2"])
    r = route(alert, Deployment(region_codes={"330100"}, name="杭州市市场监督管理局"))
    assert r.kind == "referral"
    text = rule_text_from_pack(ROOT / "rules" / "starter", "ST-AD-01")
    return alert, build_referral(alert, [RAW], text, "starter", "1.0.0", "iforest-2026.1", route=r,
                                 sender="杭州市市场监督管理局", **kw)


def test_out_of_region_alert_gives_a_package_whose_hashes_verify(make_alert):
    alert, pkg = _package(make_alert)
    assert verify_referral(pkg) == []
    assert pkg["referral_id"] == alert.alert_id
    assert pkg["parts"]["alert"]["alert_id"] == alert.alert_id
    assert pkg["parts"]["source_events"] == [EVENT]
    assert pkg["parts"]["rule"]["pack"] == "starter" and pkg["parts"]["rule"]["pack_version"] == "1.0.0"
    assert pkg["parts"]["model"] == {"version": "iforest-2026.1"}
    assert pkg["missing_source_event_ids"] == ["ev-2"]
    # every hash is plain sha256 of canonical JSON (or of the exact bytes), checkable without hongdun
    sha = pkg["sha256"]
    assert sha["alert"] == hashlib.sha256(orjson.dumps(pkg["parts"]["alert"], option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert sha["source_event_raw"] == [hashlib.sha256(RAW.rstrip()).hexdigest()]
    assert sha["rule_text"] == hashlib.sha256(pkg["parts"]["rule"]["text"].encode()).hexdigest()
    whole = {k: v for k, v in pkg.items() if k != "package_sha256"}
    assert pkg["package_sha256"] == hashlib.sha256(canonical(whole)).hexdigest()
    letter = pkg["letter"]
    assert letter["to_region_code"] == "310115" and "移送" in letter["request"] and "2026-03-01 10:00:00" in letter["summary"]


def test_the_same_input_gives_the_same_package(make_alert):
    assert _package(make_alert)[1] == _package(make_alert)[1]


def test_tampering_is_reported_part_by_part(make_alert):
    _, pkg = _package(make_alert)
    pkg["parts"]["alert"]["severity"] = "low"
    problems = verify_referral(pkg)
    assert any(p.startswith("sha256.alert:") for p in problems)
    assert any(p.startswith("package_sha256:") for p in problems)
    _, pkg = _package(make_alert)
    pkg["parts"]["rule"]["text"] += "# edited\n"
    assert {p.split(":")[0] for p in verify_referral(pkg)} == {"sha256.rule", "sha256.rule_text", "package_sha256"}
    assert verify_referral({"format": "x"})[0].startswith("not a referral package")


def test_json_file_round_trip(make_alert, tmp_path):
    _, pkg = _package(make_alert)
    path = write_referral(pkg, tmp_path / "out" / "r.json")
    assert read_referral(path) == pkg
    assert verify_referral(read_referral(path)) == []


def test_zip_holds_each_part_with_sha256sums(make_alert, tmp_path):
    _, pkg = _package(make_alert)
    path = write_referral(pkg, tmp_path / "r.zip")
    assert path.read_bytes() == write_referral(pkg, tmp_path / "again.zip").read_bytes()  # reproducible
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    for line in files["SHA256SUMS"].decode().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(files[name]).hexdigest() == digest
    assert hashlib.sha256(files["alert.json"]).hexdigest() == pkg["sha256"]["alert"]
    assert hashlib.sha256(files["rule.yaml"]).hexdigest() == pkg["sha256"]["rule_text"]
    assert verify_referral(read_referral(path)) == []


def test_rule_text_is_the_rules_yaml_block():
    text = rule_text_from_pack(ROOT / "rules" / "starter", "ST-AD-01")  # the first of two rules in its file
    [doc] = yaml.safe_load(text)
    assert doc["id"] == "ST-AD-01" and doc["minor"] is True and doc["examples"]["quiet"]
    assert "ST-MED-01" not in text
