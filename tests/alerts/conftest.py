"""Fixtures for the alert tests: an alert factory and alert stores on SQLite and PostgreSQL.

PostgreSQL: ``HONGDUN_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
must accept connections. Each test gets its own schema, dropped afterwards.
If the server cannot be reached, PostgreSQL tests FAIL when ``CI`` is set
(CI must prove both backends) and are skipped with the reason otherwise.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from engine.alerts.alert import Alert, AlertBasis, AlertMerchant, alert_id

PG_URL = os.environ.get("HONGDUN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc).timestamp()  # 10:00 China time
DAY = 86_400.0


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _make_alert(ts: float = T0, *, rule_id: str = "ST-AD-01", family: str = "advertising", minor: bool = True,
                merchant_id: str = "m-1", subject: str | None = "sku-1", op_region: str = "330106",
                severity: str = "medium", first_event: str | None = None, **fields: Any) -> Alert:
    first_event = first_event or f"ev-{rule_id}-{merchant_id}-{subject}-{ts:.0f}"
    defaults: dict[str, Any] = dict(
        alert_id=alert_id("starter", rule_id, merchant_id, subject, first_event),
        pack="starter", pack_version="1.0.0", rule_id=rule_id, rule_title="绝对化用语", family=family,
        severity=severity, base_severity=severity, minor=minor, platform="demo-mall",
        merchant=AlertMerchant(merchant_id=merchant_id, name="杭州某某贸易有限公司", uscc=None,
                               reg_region_code=op_region, op_region_code=op_region),
        subject=subject,
        legal_basis=[AlertBasis(law="中华人民共和国广告法", version="2021-04-29", article="第九条第（三）项")],
        message="杭州某某贸易有限公司 使用绝对化用语「最佳」，涉嫌违反《广告法》第九条第（三）项。",
        matched=[{"term": "最佳", "original": "最佳", "field": "title"}], values={"title": "最佳 羽绒服"},
        source_event_ids=[first_event], event_time=iso(ts), processed_at="2026-03-01T02:00:05Z",
    )
    defaults.update(fields)
    return Alert(**defaults)


@pytest.fixture
def make_alert() -> Callable[..., Alert]:
    """``make_alert(ts, rule_id=…, family=…, minor=…, merchant_id=…, subject=…, op_region=…, **alert_fields)``."""
    return _make_alert


def _pg_unreachable(reason: str) -> None:
    message = (f"PostgreSQL at {PG_URL} cannot be reached ({reason}). The alert store's PostgreSQL backend "
               f"is UNTESTED. Start PostgreSQL or set HONGDUN_TEST_PG.")
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(message + " (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def pg_url() -> Any:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    try:
        import psycopg
    except ImportError:
        _pg_unreachable("psycopg is not installed")
    schema = f"hd_test_{uuid.uuid4().hex[:12]}"
    admin, error = None, ""
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if admin is None:
        _pg_unreachable(error)
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in PG_URL else "?"
        try:
            yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The URL of an empty alert store, once per backend."""
    if request.param == "sqlite":
        return str(tmp_path / "alerts.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str) -> Any:
    from engine.alerts.store import open_store

    s = open_store(store_url)
    yield s
    s.close()
