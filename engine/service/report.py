"""The daily early-warning report (每日预警报告): HTML with charts and a CSV, from the alert store and ingest counts.

For one China-time day (alerts by event time) and optionally one region:

* alerts by family, by severity, by suggested disposition and by status;
* the merchants with the most alerts;
* the rules whose volume changed most against their mean over the 7 days before;
* per platform: events accepted, rejected and the reject rate (from the
  service's ingest counts), with a warning for a platform whose feed is
  broken (reject rate ≥ 5 %) or silent (events in the previous 7 days, none
  today): a broken feed is a blind spot, and the report says so.

Pure functions over plain data (:func:`collect` reads, :func:`render_html` and
:func:`render_csv` format), so the numbers are tested without a browser.
"""
from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from engine.alerts.store import AlertFilter, AlertStore
from engine.alerts.store.status import STATUS_NAMES_CN
from engine.rules.model import SEVERITIES
from engine.service.charts import family_label, hbars
from engine.service.ingest import CHINA
from engine.service.queue import ACCEPTED, REJECTED, IngestQueue

BROKEN_RATE = 0.05  # a platform rejecting this share of its events is a broken feed
BASELINE_DAYS = 7
SEVERITY_CN = {"info": "提示", "low": "低", "medium": "中", "high": "高", "critical": "严重"}
DISPOSITION_CN = {"advisory": "提醒告诫（首违免罚）", "case": "立案核查", "review": "人工核查（模型线索）", None: "未判定"}
_SEV_COLOUR = {"critical": "#641e16", "high": "#c0392b", "medium": "#e67e22", "low": "#d4ac0d", "info": "#7f8c8d"}


@dataclass
class PlatformFeed:
    """One platform's ingest on the day."""

    platform: str
    accepted: int
    rejected: int
    reasons: dict[str, int]
    baseline: float  # mean daily events (accepted + rejected) over the previous days

    @property
    def total(self) -> int:
        return self.accepted + self.rejected

    @property
    def reject_rate(self) -> float:
        return self.rejected / self.total if self.total else 0.0

    @property
    def warning(self) -> str:
        if self.total == 0 and self.baseline > 0:
            return f"数据中断：前{BASELINE_DAYS}日日均 {self.baseline:,.0f} 条，本日 0 条（监测盲区）"
        if self.reject_rate >= BROKEN_RATE:
            return f"数据异常：拒收率 {self.reject_rate:.1%}，被拒事件未进入监测（监测盲区）"
        return ""


@dataclass
class DailyReport:
    """Everything the report shows for one day."""

    day: date
    region: str | None
    total: int = 0
    by_family: Counter = field(default_factory=Counter)
    by_severity: Counter = field(default_factory=Counter)
    by_disposition: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    referrals: int = 0
    top_merchants: list[tuple[str, str, int, str]] = field(default_factory=list)  # id, name, alerts, worst severity
    rule_changes: list[tuple[str, str, int, float]] = field(default_factory=list)  # rule, title, today, baseline mean
    feeds: list[PlatformFeed] = field(default_factory=list)
    generated_at: str = ""


def _day_bounds(day: date) -> tuple[float, float]:
    start = datetime.combine(day, datetime.min.time(), CHINA)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def collect(store: AlertStore, queue: IngestQueue | None, day: date, region: str | None = None,
            top: int = 10) -> DailyReport:
    """Read the day's numbers from the store (and the ingest counts, if the service's queue file is given)."""
    rep = DailyReport(day=day, region=region, generated_at=datetime.now(CHINA).strftime("%Y-%m-%d %H:%M"))
    since, until = _day_bounds(day)
    base_since, _ = _day_bounds(day - timedelta(days=BASELINE_DAYS))
    found = store.select(AlertFilter(region=region, since=base_since, until=until, limit=None))
    rule_days: dict[str, Counter] = defaultdict(Counter)
    titles: dict[str, str] = {}
    merchants: dict[str, list[Any]] = {}
    for s in found:
        a = s.alert
        ts = datetime.fromisoformat(a.event_time).timestamp()
        offset = (day - datetime.fromtimestamp(ts, CHINA).date()).days  # 0 today, 1..7 the days before
        rule_days[a.rule_id][offset] += 1
        titles[a.rule_id] = a.rule_title
        if offset != 0:
            continue
        rep.total += 1
        rep.by_family[a.family] += 1
        rep.by_severity[a.severity] += 1
        rep.by_disposition[a.disposition.kind if a.disposition else None] += 1
        rep.by_status[s.status] += 1
        rep.referrals += bool(a.route and a.route.kind == "referral")
        m = merchants.setdefault(a.merchant.merchant_id, [a.merchant.name, 0, "info"])
        m[1] += 1
        if SEVERITIES.index(a.severity) > SEVERITIES.index(m[2]):
            m[2] = a.severity
    rep.top_merchants = sorted(((k, v[0], v[1], v[2]) for k, v in merchants.items()),
                               key=lambda r: (-r[2], -SEVERITIES.index(r[3]), r[0]))[:top]
    changes = []
    for rule, days in rule_days.items():
        base = sum(days[i] for i in range(1, BASELINE_DAYS + 1)) / BASELINE_DAYS
        changes.append((rule, titles[rule], days[0], base))
    rep.rule_changes = sorted(changes, key=lambda r: (-abs(r[2] - r[3]), r[0]))[:top]
    if queue is not None:
        rep.feeds = _feeds(queue, day)
    return rep


def _feeds(queue: IngestQueue, day: date) -> list[PlatformFeed]:
    today: dict[str, Counter] = defaultdict(Counter)
    before: Counter = Counter()
    first = (day - timedelta(days=BASELINE_DAYS)).isoformat()
    for d, platform, outcome, n in queue.counts():
        if d == day.isoformat():
            today[platform][outcome] += n
        elif first <= d < day.isoformat() and (outcome == ACCEPTED or outcome.startswith(REJECTED)):
            before[platform] += n
    feeds = []
    for platform in sorted(set(today) | set(before)):
        c = today[platform]
        reasons = {k[len(REJECTED):]: n for k, n in c.items() if k.startswith(REJECTED)}
        feeds.append(PlatformFeed(platform, c[ACCEPTED], sum(reasons.values()), reasons, before[platform] / BASELINE_DAYS))
    return feeds


def render_csv(rep: DailyReport) -> str:
    """The report as CSV rows ``section,key,label,value`` (one table, easy to load in a spreadsheet)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["section", "key", "label", "value"])
    w.writerow(["summary", "date", "日期", rep.day.isoformat()])
    w.writerow(["summary", "region", "地区", rep.region or "全部"])
    w.writerow(["summary", "alerts", "预警总数", rep.total])
    w.writerow(["summary", "referrals", "跨区域移送", rep.referrals])
    for k, n in sorted(rep.by_family.items()):
        w.writerow(["family", k, family_label(k), n])
    for k in reversed(SEVERITIES):
        w.writerow(["severity", k, SEVERITY_CN[k], rep.by_severity.get(k, 0)])
    for k, n in sorted(rep.by_disposition.items(), key=lambda kv: str(kv[0])):
        w.writerow(["disposition", k or "", DISPOSITION_CN.get(k, k), n])
    for k, n in sorted(rep.by_status.items()):
        w.writerow(["status", k, STATUS_NAMES_CN[k], n])
    for mid, name, n, sev in rep.top_merchants:
        w.writerow(["top_merchant", mid, f"{name}（最高等级 {SEVERITY_CN[sev]}）", n])
    for rule, title, n, base in rep.rule_changes:
        w.writerow(["rule_change", rule, f"{title}：本日 {n}，前{BASELINE_DAYS}日日均 {base:.1f}", f"{n - base:+.1f}"])
    for f in rep.feeds:
        w.writerow(["platform_accepted", f.platform, "接收", f.accepted])
        w.writerow(["platform_rejected", f.platform, "拒收", f.rejected])
        w.writerow(["platform_reject_rate", f.platform, f.warning or "正常", f"{f.reject_rate:.4f}"])
        for reason, n in sorted(f.reasons.items()):
            w.writerow(["platform_reject_reason", f.platform, reason, n])
    return out.getvalue()


def _table(headers: list[str], rows: list[list[Any]], row_class: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{escape(row_class[i]) if row_class else ""}">' + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>"
        for i, r in enumerate(rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(rep: DailyReport) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no scripts, no external files)."""
    area = f"（地区 {rep.region}）" if rep.region else ""
    fam = hbars([(family_label(k), n) for k, n in rep.by_family.most_common()], "按违法类型", colour="#9b1c1c")
    levels = list(reversed(SEVERITIES))
    sev = hbars([(SEVERITY_CN[k], rep.by_severity.get(k, 0)) for k in levels], "按风险等级",
                colours=[_SEV_COLOUR[k] for k in levels])
    disp = hbars([(DISPOSITION_CN.get(k, str(k)), n) for k, n in rep.by_disposition.most_common()], "按处置建议", colour="#1f618d")
    rates = hbars([(f.platform, 100 * f.reject_rate) for f in rep.feeds], "各平台拒收率", unit=" %", fmt="{:.2f}",
                  colour="#b03a2e")
    warnings = [f for f in rep.feeds if f.warning]
    blind = "".join(f'<p class="blind">⚠ 平台 {escape(f.platform)}：{escape(f.warning)}</p>' for f in warnings)
    if not rep.feeds:
        blind = '<p class="blind">⚠ 无接入统计（未提供服务数据目录 --data）：无法判断数据源是否完整。</p>'
    feed_rows = [[f.platform, f"{f.accepted:,}", f"{f.rejected:,}", f"{f.reject_rate:.2%}",
                  "，".join(f"{k} {v}" for k, v in sorted(f.reasons.items())) or "—", f.warning or "正常"] for f in rep.feeds]
    sections = [
        f"<h1>网络交易风险每日预警报告 {escape(rep.day.isoformat())}{escape(area)}</h1>",
        f'<p class="meta">生成时间 {escape(rep.generated_at)}（北京时间）。预警按违法事件发生时间计入当日；接入统计按事件所属日期计。</p>',
        f'<div class="cards"><div><b>{rep.total}</b>预警总数</div><div><b>{rep.by_severity.get("critical", 0) + rep.by_severity.get("high", 0)}</b>高风险及以上</div>'
        f'<div><b>{rep.by_disposition.get("case", 0)}</b>建议立案核查</div><div><b>{rep.referrals}</b>跨区域移送</div>'
        f'<div><b>{len(warnings)}</b>数据源异常</div></div>',
        "<h2>一、数据接入与监测盲区</h2>", blind, rates,
        _table(["平台", "接收", "拒收", "拒收率", "拒收原因", "判断"], feed_rows, ["warn" if f.warning else "" for f in rep.feeds]),
        "<h2>二、预警分布</h2>", f'<div class="charts">{fam}{sev}{disp}</div>',
        _table(["状态", "数量"], [[STATUS_NAMES_CN[k], n] for k, n in sorted(rep.by_status.items())]),
        "<h2>三、重点经营者（预警最多）</h2>",
        _table(["经营者编号", "名称", "预警数", "最高等级"], [[m, n, c, SEVERITY_CN[s]] for m, n, c, s in rep.top_merchants]),
        f"<h2>四、预警量变化最大的规则（对比前{BASELINE_DAYS}日日均）</h2>",
        _table(["规则", "名称", "本日", f"前{BASELINE_DAYS}日日均", "变化"],
               [[r, t, n, f"{b:.1f}", f"{n - b:+.1f}"] for r, t, n, b in rep.rule_changes]),
    ]
    style = ("body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px;color:#222;max-width:980px}"
             "h1{color:#9b1c1c;font-size:22px}h2{border-left:4px solid #9b1c1c;padding-left:8px;font-size:17px;margin-top:28px}"
             "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}"
             "tr.warn td{background:#fdedec;color:#922b21;font-weight:bold}.blind{color:#922b21;font-weight:bold}"
             ".meta{color:#666}.cards{display:flex;gap:12px}.cards div{border:1px solid #ddd;border-radius:4px;padding:8px 14px;"
             "text-align:center;color:#555}.cards b{display:block;font-size:22px;color:#9b1c1c}")
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>每日预警报告 {escape(rep.day.isoformat())}</title>'
            f"<style>{style}</style></head><body>{''.join(sections)}</body></html>")


def write_report(rep: DailyReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.csv`` (UTF-8 with BOM, so spreadsheet programs read the Chinese) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html, csv_path = out_dir / "report.html", out_dir / "report.csv"
    html.write_text(render_html(rep), encoding="utf-8")
    csv_path.write_text(render_csv(rep), encoding="utf-8-sig")
    return html, csv_path
