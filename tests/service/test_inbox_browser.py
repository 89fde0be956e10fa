"""The web inbox end to end in headless Chromium (Debian's chromium, driven by Playwright):
log in with a bureau token, see the chart, filter, open an alert (legal basis, highlighted evidence),
acknowledge it and see the status change, in the page and in the audited store.

The browser is required in CI (``CI`` set): missing, the test fails; elsewhere it is skipped with the reason.
``HONGDUN_SCREENSHOT_DIR=docs`` also writes the screenshot docs/inbox.png.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.alerts.store import open_store
from tests.service.conftest import HANGZHOU, ci

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _browser_or_fail() -> Any:
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is missing (pip install -e '.[test]')"
    if problem:
        if ci():
            pytest.fail(f"browser test cannot run: {problem} (CI is set, so this is a failure, not a skip)", pytrace=False)
        pytest.skip(problem)
    return sync_playwright


def test_log_in_filter_open_and_acknowledge(served_day: Any, tmp_path: Path) -> None:
    sync_playwright = _browser_or_fail()
    token = served_day.tokens[HANGZHOU]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{served_day.url}/")  # redirects to the inbox
            assert page.title() == "红盾 · 网络交易风险预警工作台"
            page.fill("#token", "wrong-token")
            page.click("#login")
            page.wait_for_selector("#login-error:has-text('令牌无效')")
            page.fill("#token", token)
            page.click("#login")
            page.wait_for_selector("#alerts tbody tr")
            assert HANGZHOU in page.inner_text("#bureau")
            page.wait_for_selector("#chart svg rect")
            # filter: new advertising alerts
            page.select_option("#f-family", "advertising")
            page.select_option("#f-status", "new")
            page.click("#apply")
            # the table says which query it shows; the list loaded at login must not count as the filtered one
            page.wait_for_selector("#alerts[aria-busy='false'][data-query*='status=new'][data-query*='family=advertising']")
            rows = page.query_selector_all("#alerts tbody tr")
            assert rows and all(r.get_attribute("data-status") == "new" for r in rows)
            assert all("sev-" in (r.query_selector("td.sev").get_attribute("class") or "") for r in rows)
            # open alerts until one shows highlighted evidence
            chosen = None
            for row in rows[:10]:
                aid = row.get_attribute("data-id")
                row.click()
                page.wait_for_function(f"() => document.getElementById('d-id').textContent === '{aid}'")
                if page.query_selector_all("#d-evidence mark"):
                    chosen = aid
                    break
            assert chosen is not None, "no advertising alert shows a highlighted term"
            assert page.inner_text("#d-status") == "新预警"
            assert "《" in page.inner_text("#d-basis")  # legal basis
            marks = [m.inner_text() for m in page.query_selector_all("#d-evidence mark")]
            _, detail = served_day.json("GET", f"/v1/alerts/{chosen}", token)
            assert set(marks) <= {m["original"] for m in detail["alert"]["matched"]}
            assert page.is_enabled("#act-ack") and not page.is_enabled("#act-close")
            # acknowledge from the page
            page.fill("#by", "张三")
            page.fill("#note", "浏览器测试签收")
            page.click("#act-ack")
            page.wait_for_selector("#d-status:has-text('已签收')")
            assert page.inner_text(f"#alerts tr[data-id='{chosen}'] .status-cell") == "已签收"
            page.wait_for_selector("#d-history li.change")
            assert "张三" in page.inner_text("#d-history")
            assert page.is_enabled("#act-advised") and not page.is_enabled("#act-ack")
            page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)
            target = os.environ.get("HONGDUN_SCREENSHOT_DIR")
            if target:
                shutil.copy(tmp_path / "inbox.png", Path(target) / "inbox.png")
            assert errors == []
        finally:
            browser.close()
    with open_store(str(served_day.db)) as store:
        changes = store.status_changes(chosen)
    assert [(c.from_status, c.to_status, c.actor, c.note) for c in changes] == [
        ("new", "acknowledged", f"张三（{HANGZHOU}）", "浏览器测试签收")]


def test_a_late_list_response_never_overwrites_a_newer_query(served_day: Any) -> None:
    """The unfiltered list requested at login is held back until the filtered list has been shown; when it
    finally arrives it must be dropped, not rendered over the query the user asked for last."""
    sync_playwright = _browser_or_fail()
    token = served_day.tokens[HANGZHOU]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(locale="zh-CN")
            held: list[Any] = []

            def hold_unfiltered(route: Any) -> None:
                if "family=" in route.request.url:
                    route.continue_()
                else:
                    held.append(route)

            page.route("**/v1/alerts?*", hold_unfiltered)
            page.goto(f"{served_day.url}/")
            page.fill("#token", token)
            page.click("#login")
            page.wait_for_function("() => document.getElementById('main') && "
                                   "!document.getElementById('main').classList.contains('hidden')")
            page.select_option("#f-family", "advertising")
            page.click("#apply")
            page.wait_for_selector("#alerts[aria-busy='false'][data-query*='family=advertising']")
            filtered = [r.get_attribute("data-id") for r in page.query_selector_all("#alerts tbody tr")]
            assert filtered and len(held) == 1
            held[0].continue_()
            # the held response completes; give the page a turn to (wrongly) render it
            page.wait_for_function("() => performance.getEntriesByType('resource')"
                                   ".filter(e => e.name.includes('/v1/alerts?') && !e.name.includes('family=')).length > 0")
            page.wait_for_timeout(200)
            assert "family=advertising" in (page.get_attribute("#alerts", "data-query") or "")
            assert [r.get_attribute("data-id") for r in page.query_selector_all("#alerts tbody tr")] == filtered
        finally:
            browser.close()
