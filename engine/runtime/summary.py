"""Plain-text tables for the end-of-run summary and the alert listing."""
from __future__ import annotations

import unicodedata
from typing import Iterable, Sequence

from engine.alerts.alert import Alert
from engine.pipeline import Stats
from engine.rules.model import SEVERITIES
from engine.runtime.embedded import RunSummary


def _width(text: str) -> int:
    """Display width: CJK characters take two columns on a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[bool] | None = None) -> str:
    """A simple aligned text table."""
    rows = [[str(c) for c in r] for r in rows]
    numeric = numeric or [False] * len(headers)
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = "  ".join(_pad(h, w, n) for h, w, n in zip(headers, widths, numeric))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_pad(c, w, n) for c, w, n in zip(r, widths, numeric)) for r in rows]
    return "\n".join(out)


def format_alert(alert: Alert) -> str:
    """One alert as a short, readable block for a terminal."""
    basis = "；".join(f"《{b.law}》({b.version}) {b.article}" for b in alert.legal_basis)
    region = alert.merchant.op_region_code
    extra = ""
    if alert.disposition is not None:
        extra += f"  处置: {_DISPOSITION.get(alert.disposition.kind, alert.disposition.kind)}"
    if alert.route is not None and alert.route.kind == "referral":
        extra += f"  移送: {alert.route.region_code}"
    return (f"[{alert.severity.upper():8}] {alert.rule_id} {alert.rule_title}\n           {alert.message}\n"
            f"           依据: {basis}  地区: {region}{extra}  id: {alert.alert_id}")


_DISPOSITION = {"advisory": "提醒告诫", "case": "立案核查"}


def format_summary(summary: RunSummary, stats: Stats, pack: str) -> str:
    """The end-of-run summary: events by type, rejects by reason, alerts by rule and severity."""
    parts = []
    rate = summary.events_per_second
    parts.append(
        f"processed {summary.lines:,} lines in {summary.seconds:.2f} s ({rate:,.0f} lines/s) with pack {pack}"
    )
    parts.append(table(["event type", "events"], sorted(stats.events.items()), [False, True]))
    rejects = sorted(stats.rejects.items()) or [("(none)", 0)]
    parts.append(table(["reject reason", "lines"], rejects, [False, True]))
    by_rule: dict[str, dict[str, int]] = {}
    for (rule, sev), n in stats.alerts.items():
        by_rule.setdefault(rule, {})[sev] = n
    rows = []
    for rule in sorted(by_rule):
        counts = by_rule[rule]
        rows.append([rule] + [counts.get(s, 0) or "" for s in SEVERITIES] + [sum(counts.values()), stats.deduplicated.get(rule, 0), stats.updates.get(rule, 0)])
    total = sum(stats.alerts.values())
    rows.append(["total"] + [sum(by_rule[r].get(s, 0) for r in by_rule) or "" for s in SEVERITIES]
                + [total, sum(stats.deduplicated.values()), sum(stats.updates.values())])
    parts.append(table(["rule"] + list(SEVERITIES) + ["alerts", "merged hits", "updates sent"], rows, [False] + [True] * (len(SEVERITIES) + 3)))
    if stats.shadow:
        parts.append(table(["shadow rule", "would alert"], sorted(stats.shadow.items()), [False, True]))
    if stats.late:
        parts.append(table(["window", "late events (not counted)"], sorted(stats.late.items()), [False, True]))
    if stats.rule_errors:
        parts.append(table(["rule", "evaluation errors"], sorted(stats.rule_errors.items()), [False, True]))
    return "\n\n".join(parts)
