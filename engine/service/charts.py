"""Small SVG charts drawn on the server (the inbox and the report work without any CDN or script library).

Colours are fixed per family so the same family looks the same in the inbox
and in every day's report.
"""
from __future__ import annotations

from html import escape

FAMILY_NAMES_CN: dict[str, str] = {
    "advertising": "广告", "medical": "医药健康", "price": "价格", "livestream": "直播",
    "merchant": "经营者", "complaints": "投诉", "anomaly": "异常（模型）",
}
_PALETTE = ("#c0392b", "#2e86c1", "#d68910", "#7d3c98", "#138d75", "#566573", "#a04000", "#1f618d", "#b7950b")


def family_colour(family: str, families: list[str]) -> str:
    """A stable colour for ``family`` (known families first, then by position)."""
    known = list(FAMILY_NAMES_CN)
    i = known.index(family) if family in known else len(known) + sorted(families).index(family)
    return _PALETTE[i % len(_PALETTE)]


def family_label(family: str) -> str:
    """The Chinese name of a family (the code itself if unknown)."""
    return FAMILY_NAMES_CN.get(family, family)


def stacked_bars(days: list[str], series: dict[str, list[int]], title: str, width: int = 720, height: int = 260) -> str:
    """A stacked bar chart: one bar per day, one segment per family, with a legend. Returns SVG text."""
    left, right, top, bottom = 44, 150, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(series[f][i] for f in series) for i in range(len(days))]
    peak = max(totals, default=0) or 1
    step = _nice_step(peak)
    ymax = step * -(-peak // step)
    bar_w = plot_w / max(len(days), 1)
    families = sorted(series)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for k in range(0, ymax + 1, step):
        y = top + plot_h - plot_h * k / ymax
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{k}</text>')
    for i, day in enumerate(days):
        x = left + i * bar_w + bar_w * 0.15
        y = top + plot_h
        for f in families:
            v = series[f][i]
            if not v:
                continue
            h = plot_h * v / ymax
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.7:.1f}" height="{h:.1f}" '
                       f'fill="{family_colour(f, families)}"><title>{escape(day)} {escape(family_label(f))}: {v}</title></rect>')
        if len(days) <= 16 or i % max(1, len(days) // 12) == 0:
            out.append(f'<text x="{x + bar_w * 0.35:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(day[5:])}</text>')
    for j, f in enumerate(families):
        y = top + j * 18
        out.append(f'<rect x="{width - right + 14}" y="{y}" width="12" height="12" fill="{family_colour(f, families)}"/>'
                   f'<text x="{width - right + 32}" y="{y + 10}">{escape(family_label(f))} ({sum(series[f])})</text>')
    if not any(totals):
        out.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#888">无预警</text>')
    out.append("</svg>")
    return "".join(out)


def hbars(rows: list[tuple[str, float]], title: str, unit: str = "", width: int = 720, colour: str = "#2e86c1",
          fmt: str = "{:,.0f}", colours: list[str] | None = None) -> str:
    """Horizontal bars, one per ``(label, value)`` row (``colours`` per row, else ``colour``). Returns SVG text."""
    left, right, row_h = 220, 80, 22
    height = 34 + row_h * max(len(rows), 1)
    peak = max((v for _, v in rows), default=0) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
           f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (label, v) in enumerate(rows):
        y = 28 + i * row_h
        w = (width - left - right) * v / peak
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
                   f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{colours[i] if colours else colour}"/>'
                   f'<text x="{left + w + 4:.1f}" y="{y + 13}">{escape(fmt.format(v))}{escape(unit)}</text>')
    if not rows:
        out.append('<text x="8" y="44" fill="#888">无数据</text>')
    out.append("</svg>")
    return "".join(out)


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if peak / step <= 5:
            return step
    return 100000
