"""Learning curves as inline SVG line charts: crisp at any zoom, and no image to embed."""
from __future__ import annotations

import math
from html import escape
from typing import List, Optional, Sequence, Tuple

WIDTH, HEIGHT = 520, 300
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 56, 16, 30, 44
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")

Series = Tuple[str, Sequence[Tuple[float, float]]]   # (legend label, [(x, y), ...])


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> List[float]:
    """Round tick values (1, 2, 5 × 10^k steps) from at or below lo to at or above hi."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, round(step))     # epochs: no tick at 1.5
    k = math.floor(lo / step + 1e-9)
    ticks = [round(k * step, 12)]
    while ticks[-1] < hi - step * 1e-9:
        k += 1
        ticks.append(round(k * step, 12))
    return ticks


def line_chart(title: str, series: Sequence[Series], x_label: str = "epoch", y_label: str = "",
               y_min: Optional[float] = None) -> str:
    points = [p for _, pts in series for p in pts if p[1] is not None and math.isfinite(p[1])]
    if not points:
        return f'<p class="note">{escape(title)}: no values recorded.</p>'
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_ticks = nice_ticks(min(xs), max(xs), integer=True) if max(xs) > min(xs) else [min(xs)]
    x_lo, x_hi = (x_ticks[0], x_ticks[-1]) if len(x_ticks) > 1 else (min(xs) - 1, min(xs) + 1)
    lo = min(ys) if y_min is None else min(y_min, min(ys))
    y_ticks = nice_ticks(lo, max(ys))
    y_lo, y_hi = y_ticks[0], y_ticks[-1]
    pw, ph = WIDTH - MARGIN_L - MARGIN_R, HEIGHT - MARGIN_T - MARGIN_B

    def sx(x: float) -> float:
        return MARGIN_L + (x - x_lo) / (x_hi - x_lo) * pw

    def sy(y: float) -> float:
        return MARGIN_T + ph - (y - y_lo) / ((y_hi - y_lo) or 1.0) * ph

    out = [f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}">',
           f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-weight="bold">{escape(title)}</text>']
    for t in y_ticks:
        y = sy(t)
        out.append(f'<line x1="{MARGIN_L}" x2="{MARGIN_L + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                   f'<text x="{MARGIN_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{t:g}</text>')
    for t in x_ticks:
        if x_lo <= t <= x_hi:
            x = sx(t)
            out.append(f'<text x="{x:.1f}" y="{MARGIN_T + ph + 16}" text-anchor="middle" font-size="11">{t:g}</text>')
    out.append(f'<rect x="{MARGIN_L}" y="{MARGIN_T}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    out.append(f'<text x="{MARGIN_L + pw / 2}" y="{HEIGHT - 8}" text-anchor="middle" font-size="12">'
               f'{escape(x_label)}</text>')
    if y_label:
        out.append(f'<text x="14" y="{MARGIN_T + ph / 2}" text-anchor="middle" font-size="12" '
                   f'transform="rotate(-90 14 {MARGIN_T + ph / 2})">{escape(y_label)}</text>')
    for k, (label, pts) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        good = [(sx(x), sy(y)) for x, y in pts if y is not None and math.isfinite(y)]
        if not good:
            continue
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in good)
        out.append(f'<polyline class="series" points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in good)
        ly = MARGIN_T + 14 + 16 * k
        out.append(f'<line x1="{MARGIN_L + pw - 150}" x2="{MARGIN_L + pw - 132}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"/><text x="{MARGIN_L + pw - 126}" y="{ly}" font-size="11">'
                   f'{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)
