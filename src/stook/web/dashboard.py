"""The fixity dashboard's figures, read from the ledger: what failed (first), what was
never checked, what was checked longest ago, what recovered, and checks per day.

Everything comes from the ledger's ``fixity`` table (one row per bag) and its event
log; nothing here opens a bag. The chart is drawn on the server as SVG, with the same
numbers in a table beside it for screen readers and copying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from markupsafe import Markup, escape

from stook.audit import BagAudit
from stook.audit.report import next_step
from stook.ledger import BagVersion, Event
from stook.store import Store

CHART_DAYS = 30
LIST_MAX = 25
FAILURES_MAX = 200
OUTCOME_COLOURS = {"suc": "#2e7d32", "war": "#b26a00", "fai": "#c62828"}
OUTCOME_WORDS = {"suc": "intact", "war": "warning", "fai": "failed"}


@dataclass
class FailedBag:
    """A bag whose latest fixity check failed, with what that check found per file."""

    bag: str
    identifier: str | None
    version: int | None
    name: str | None
    checked: str
    status: str
    detail: str
    problems: list[dict[str, Any]]
    omitted: int
    last_intact: str | None
    next_step: str | None


@dataclass
class DayCount:
    day: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Dashboard:
    bags: int
    checked: int
    never: list[BagVersion]
    never_count: int
    oldest: list[tuple[BagVersion, str]]
    oldest_check: str | None
    newest_check: str | None
    failures: list[FailedBag]
    failures_count: int
    recovered: list[Event]
    days: list[DayCount]

    @property
    def chart(self) -> Markup:
        return chart_svg(self.days)


def _since(days: int, now: datetime | None = None) -> str:
    moment = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT00:00:00.000000Z")


def build_dashboard(store: Store, *, now: datetime | None = None) -> Dashboard:
    ledger = store.ledger
    rows = ledger.fixity_rows()
    bags = ledger.bags()
    by_path = {b.path: b for b in bags}
    never = [b for b in bags if b.path not in rows]
    checked = [(b, rows[b.path].last_any or "") for b in bags if b.path in rows]
    checked.sort(key=lambda pair: pair[1])
    times = [row.last_any for row in rows.values() if row.last_any]
    failing = sorted(path for path, row in rows.items() if row.last_outcome == "fai")
    failures = [_failure(store, path, by_path.get(path), rows[path].last_intact)
                for path in failing[:FAILURES_MAX]]
    counts: dict[str, DayCount] = {}
    for day, outcome, count in ledger.fix_counts(_since(CHART_DAYS - 1, now)):
        counts.setdefault(day, DayCount(day)).counts[outcome] = count
    today = (now or datetime.now(timezone.utc)).date()
    days = []
    for back in range(CHART_DAYS - 1, -1, -1):
        key = (today - timedelta(days=back)).isoformat()
        days.append(counts.get(key, DayCount(key)))
    return Dashboard(
        bags=len(bags), checked=len(checked), never=never[:LIST_MAX], never_count=len(never),
        oldest=checked[:LIST_MAX // 2], oldest_check=min(times) if times else None,
        newest_check=max(times) if times else None, failures=failures, failures_count=len(failing),
        recovered=ledger.recoveries(_since(CHART_DAYS, now)), days=days,
    )


def _failure(store: Store, path: str, bag: BagVersion | None, last_intact: str | None) -> FailedBag:
    last: Event | None = None
    for event in store.ledger.events(bag=path, types=["fix"]):
        last = event
    data = (last.data if last is not None else None) or {}
    status = str(data.get("status") or "failed")
    problems = [p for p in data.get("problems", []) if isinstance(p, dict)]
    audit = BagAudit(path, bag.identifier if bag else None, bag.version if bag else None,
                     "missing" if status == "missing" else "failed", "full")
    return FailedBag(
        bag=path, identifier=bag.identifier if bag else None, version=bag.version if bag else None,
        name=bag.name if bag else None, checked=last.datetime if last else "", status=status,
        detail=last.detail if last else "", problems=problems, omitted=int(data.get("problems_omitted") or 0),
        last_intact=last_intact, next_step=next_step(audit, str(store.root)) if bag else None,
    )


# -- the chart ---------------------------------------------------------------------------

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 44, 34, 12


def chart_svg(days: list[DayCount]) -> Markup:
    """Stacked bars of fixity checks per day (intact, warning, failed), as inline SVG."""
    peak = max((d.total for d in days), default=0)
    scale = _nice(peak)
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - BOTTOM - TOP
    step = plot_w / max(1, len(days))
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart-title" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Fixity checks per day for the last '
        f"{len(days)} days, by outcome</title>",
    ]
    for tick in (0, scale // 2, scale):
        y = TOP + plot_h - (plot_h * tick / scale if scale else 0)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{tick}</text>')
    for index, day in enumerate(days):
        x = LEFT + index * step + 1
        y = TOP + plot_h
        for outcome in ("suc", "war", "fai"):
            count = day.counts.get(outcome, 0)
            if not count or not scale:
                continue
            height = plot_h * count / scale
            y -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(1.0, step - 2):.1f}" height="{height:.1f}"'
                f' fill="{OUTCOME_COLOURS[outcome]}"><title>{escape(day.day)}: {count}'
                f" {OUTCOME_WORDS[outcome]}</title></rect>"
            )
        if index % 5 == 0 or index == len(days) - 1:
            label = date.fromisoformat(day.day).strftime("%d %b")
            parts.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle"'
                         f' font-size="11">{escape(label)}</text>')
    legend_x = LEFT
    for outcome in ("suc", "war", "fai"):
        parts.append(f'<rect x="{legend_x}" y="{HEIGHT - 12}" width="10" height="10"'
                     f' fill="{OUTCOME_COLOURS[outcome]}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="{HEIGHT - 3}" font-size="11">'
                     f"{OUTCOME_WORDS[outcome]}</text>")
        legend_x += 90
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(peak: int) -> int:
    """A round top for the scale, at least ``peak`` (and even, so its half is whole)."""
    if peak <= 0:
        return 0
    for top in (2, 4, 6, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if peak <= top:
            return top
    magnitude: int = 10 ** (len(str(peak)) - 1)
    return int(-(-peak // magnitude) * magnitude)
