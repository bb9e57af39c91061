"""The accrual figure: cumulative randomizations over time, one step line per site (SVG drawn
here, since no service draws it; every other figure is the services' own)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from html import escape

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 20, 44
# Distinguishable without colour too: each site also gets its own dash pattern.
COLOURS = ("#1b4f9c", "#b3471d", "#2e7d32", "#6a1b9a", "#8d6e00", "#00695c", "#ad1457")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")


def _ticks(top: int) -> list[int]:
    step = max(1, -(-top // 5))
    return list(range(0, top + step, step))


def accrual_svg(randomized: Iterable[tuple[date, str]]) -> str:
    """`randomized`: (randomization date, site) of every allocation."""
    events = sorted(randomized)
    title = "Accrual: cumulative randomizations by site"
    if not events:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
                f'height="60" aria-label="{title}: none yet"><text x="10" y="30">'
                "No randomization yet.</text></svg>")
    # A day of margin on each side: the first step is visible even when all fall on one day.
    first, last = events[0][0] - timedelta(days=1), events[-1][0] + timedelta(days=1)
    sites = sorted({site for _, site in events})
    totals = Counter(site for _, site in events)
    top = max(totals.values())
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (last - first).days

    def x(day: date) -> float:
        return LEFT + plot_w * (day - first).days / span

    def y(count: int) -> float:
        return TOP + plot_h * (1 - count / max(_ticks(top)))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} '
             f'{HEIGHT}" width="100%" aria-labelledby="accrual-title accrual-desc">',
             f'<title id="accrual-title">{title}</title>',
             '<desc id="accrual-desc">' + escape("; ".join(
                 f"{s}: {totals[s]} randomized" for s in sites)) + ". From "
             f"{first.isoformat()} to {events[-1][0].isoformat()}.</desc>",
             f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" '
             'stroke="#555"/>']
    for tick in _ticks(top):
        parts.append(f'<line x1="{LEFT - 4}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#ddd"/><text x="{LEFT - 8}" '
                     f'y="{y(tick) + 4:.1f}" text-anchor="end" font-size="12">{tick}</text>')
    for day in sorted({first, first + (last - first) // 2, last}):
        parts.append(f'<text x="{x(day):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" '
                     f'font-size="12">{day.isoformat()}</text>')
    parts.append(f'<text x="14" y="{TOP + plot_h / 2}" font-size="12" '
                 f'transform="rotate(-90 14 {TOP + plot_h / 2})" text-anchor="middle">'
                 'subjects randomized</text>')
    for i, site in enumerate(sites):
        colour, dash = COLOURS[i % len(COLOURS)], DASHES[i % len(DASHES)]
        count, points = 0, [f"{x(first):.1f},{y(0):.1f}"]
        for day, s in events:
            if s == site:
                points.append(f"{x(day):.1f},{y(count):.1f}")
                count += 1
                points.append(f"{x(day):.1f},{y(count):.1f}")
        points.append(f"{x(last):.1f},{y(count):.1f}")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash_attr} '
                     f'points="{" ".join(points)}"><title>{escape(site)}: {count}</title>'
                     "</polyline>")
        ly = TOP + 14 + 20 * i
        parts.append(f'<line x1="{WIDTH - RIGHT + 14}" x2="{WIDTH - RIGHT + 44}" y1="{ly}" '
                     f'y2="{ly}" stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
                     f'<text x="{WIDTH - RIGHT + 50}" y="{ly + 4}" font-size="12">'
                     f"{escape(site)} ({count})</text>")
    parts.append("</svg>")
    return "".join(parts)
