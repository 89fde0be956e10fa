"""Jurisdiction: region coverage and routes for platform merchants."""
from __future__ import annotations

import pytest

from engine.alerts.routing import Deployment, region_prefix, route

from .conftest import T0


def test_region_prefix_by_level():
    assert region_prefix("330000") == "33"  # province
    assert region_prefix("330100") == "3301"  # city
    assert region_prefix("330106") == "330106"  # district
    for bad in ("33010", "0301060", "03010a", "０３０１０６", 330106):
        with pytest.raises(ValueError):
            region_prefix(bad)


def test_deployment_covers_province_city_and_district():
    assert Deployment(region_codes={"330000"}).covers("330782")
    city = Deployment(region_codes={"330100"})
    assert city.covers("330106") and not city.covers("330203")
    district = Deployment(region_codes=["330106", "310115"])
    assert district.covers("310115") and not district.covers("330108")
    with pytest.raises(ValueError):
        Deployment(region_codes=set())
    with pytest.raises(ValueError):
        Deployment(region_codes={"330100"}, platform_homes={"demo-mall": "3301"})


def test_in_region_merchant_is_local(make_alert):
    r = route(make_alert(T0, op_region="330106"), Deployment(region_codes={"330100"}, name="杭州市市场监督管理局"))
    assert (r.kind, r.region_code, r.merchant_region_code) == ("local", "330106", "330106")
    assert "第十条" in r.basis and "杭州市市场监督管理局" in r.basis


def test_out_of_region_merchant_is_referred_to_its_operating_region(make_alert):
    r = route(make_alert(T0, op_region="310115"), Deployment(region_codes={"330100"}))
    assert (r.kind, r.region_code) == ("referral", "310115")
    assert "实际经营地" in r.basis and "移送310115" in r.basis and "第十二条、第二十七条" in r.basis


def test_operating_region_wins_over_registration(make_alert):
    a = make_alert(T0, op_region="310115")
    a.merchant = type(a.merchant)(merchant_id="m-1", reg_region_code="330106", op_region_code="310115")
    assert route(a, Deployment(region_codes={"330100"})).kind == "referral"


def test_platform_home_bureau_may_keep_the_lead(make_alert):
    a = make_alert(T0, op_region="310115")
    home = {"demo-mall": "330108"}
    keep = route(a, Deployment(region_codes={"330108"}, platform_homes=home, keep_platform_leads=True))
    assert (keep.kind, keep.region_code, keep.platform_home_region_code) == ("platform_home", "330108", "330108")
    assert "也可以进行管辖" in keep.basis
    refer = route(a, Deployment(region_codes={"330108"}, platform_homes=home))
    assert refer.kind == "referral" and "平台经营者住所地" in refer.basis
    elsewhere = route(a, Deployment(region_codes={"440300"}, platform_homes=home, keep_platform_leads=True))
    assert elsewhere.kind == "referral"
