"""Spike detection replayed over a month: delay, precision and recall, next to a naive fixed threshold.

    .venv/bin/python bench/alerts.py [--per-day 2400] [--days 30] [--seed 7]

Mentions of one brand follow a daily rhythm (night trough, lunchtime peak), a weekly one (quieter
weekends) and a day-to-day level that wanders (lognormal, 10 %), as a Poisson process per minute.
Two weeks of history come first. Then two months are replayed through the real detection code
(`core.alerts.run_detection` on SQLite, every `alerts.interval_seconds`, default settings):

- a quiet month with no spikes: every alert there is a false alarm;
- a month with spikes of 1.5x, 2x, 3x, 5x and 10x the current rate, one hour long each, injected at
  known times of day (night, morning, peak, evening) and mostly negative.

A spike counts as found when an alert opens between its start and the end of its hour plus one
window; its delay is the time from its start to that alert. Any other alert is a false alarm. The
naive rule alerts when a window holds more than a fixed count: three times the mean window count of
the history (one alert per run of windows over it).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import alerts  # noqa: E402
from core.config import AlertsConfig  # noqa: E402
from core.db import Database  # noqa: E402
from core.models import Alert, Brand, Mention, MentionBrand  # noqa: E402

START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday
HISTORY_DAYS = 14
SIZES = (1.5, 2.0, 3.0, 5.0, 10.0)
HOURS = (3, 8, 13, 19)  # night, morning, peak, evening (UTC)
# Relative rate by hour of day and by weekday (Monday first).
DAILY = np.array([0.3, 0.22, 0.18, 0.18, 0.22, 0.35, 0.6, 0.9, 1.2, 1.4, 1.5, 1.6,
                  1.7, 1.7, 1.6, 1.5, 1.4, 1.35, 1.3, 1.25, 1.1, 0.9, 0.7, 0.45])
WEEKLY = np.array([1.1, 1.1, 1.05, 1.05, 1.0, 0.75, 0.7])


@dataclass(frozen=True)
class Spike:
    start: datetime
    size: float
    minutes: int = 60


def rates_per_minute(days: int, per_day: float, rng: np.random.Generator) -> np.ndarray:
    minutes = np.arange(days * 1440)
    hour = (minutes // 60) % 24
    weekday = (minutes // 1440) % 7
    level = np.repeat(rng.lognormal(0, 0.1, days), 1440)
    shape = DAILY[hour] * WEEKLY[weekday]
    return per_day / 1440 * shape / (DAILY.mean() * WEEKLY.mean()) * level


def plan_spikes(days: int, rng: np.random.Generator) -> list[Spike]:
    """Each size at each of the HOURS, on distinct (day, hour) slots (slots are at least 5 hours apart)."""
    slots = [(d, h) for d in range(HISTORY_DAYS + 1, HISTORY_DAYS + days - 1) for h in HOURS]
    wanted = [(size, hour) for size in SIZES for hour in HOURS]
    out = []
    for size, hour in wanted:
        free = [slot for slot in slots if slot[1] == hour]
        if not free:
            raise SystemExit(f"--days {days} is too short for {len(wanted)} spikes; use at least 8")
        d, h = free[int(rng.integers(0, len(free)))]
        slots.remove((d, h))
        out.append(Spike(START + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60))), size))
    return sorted(out, key=lambda s: s.start)


def counts_per_minute(rates: np.ndarray, spikes: list[Spike], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(all mentions, of which extra spike mentions) per minute."""
    extra = np.zeros_like(rates)
    for s in spikes:
        i = int((s.start - START) / timedelta(minutes=1))
        extra[i:i + s.minutes] += (s.size - 1) * rates[i:i + s.minutes]
    base, burst = rng.poisson(rates), rng.poisson(extra)
    return base + burst, burst


def load(db: Database, total: np.ndarray, burst: np.ndarray, rng: np.random.Generator) -> None:
    with db.session() as s:
        brand = Brand(name="Skylark Air")
        s.add(brand)
        s.flush()
        brand_id = brand.id
    rows, links, n = [], [], 0
    for minute in np.nonzero(total)[0]:
        at = START + timedelta(minutes=int(minute))
        for k in range(int(total[minute])):
            n += 1
            negative = rng.random() < (0.7 if k < burst[minute] else 0.15)
            sentiment = "negative" if negative else ("positive" if rng.random() < 0.3 else "neutral")
            when = at + timedelta(seconds=int(rng.integers(0, 60)))
            rows.append({"id": n, "platform": "x", "native_id": str(n), "text": "", "created_at": when, "fetched_at": when,
                         "scored_at": when, "sentiment": sentiment, "urgency": 0.1, "raw": {}, "likes": 0, "reposts": 0,
                         "replies": 0, "is_own": False})
            links.append({"mention_id": n, "brand_id": brand_id, "created_at": when})
    with db.session() as s:
        for i in range(0, len(rows), 20_000):
            s.execute(sa.insert(Mention), rows[i:i + 20_000])
            s.execute(sa.insert(MentionBrand), links[i:i + 20_000])


def replay(days: int, per_day: float, spikes_on: bool, seed: int, config: AlertsConfig) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    total_days = HISTORY_DAYS + days
    rates = rates_per_minute(total_days, per_day, rng)
    spikes = plan_spikes(days, rng) if spikes_on else []
    total, burst = counts_per_minute(rates, spikes, rng)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{tmp}/bench.db")
        load(db, total, burst, rng)
        began = time.perf_counter()
        step = timedelta(seconds=config.interval_seconds)
        now, end = START + timedelta(days=HISTORY_DAYS), START + timedelta(days=total_days)
        runs = 0
        while now <= end:
            with db.session() as s:
                alerts.run_detection(s, config, now=now)
            now += step
            runs += 1
        seconds = time.perf_counter() - began
        with db.session() as s:
            opened = sorted(s.scalars(sa.select(Alert.opened_at)))
        db.dispose()
    window = timedelta(minutes=config.window_minutes)
    ours = score(opened, spikes, window)
    # The naive rule on the same counts: window sums every interval, against 3x the history's mean window.
    per_window = int(config.window_minutes)
    cumulative = np.concatenate([[0], np.cumsum(total)])
    history = cumulative[HISTORY_DAYS * 1440] / (HISTORY_DAYS * 1440) * per_window
    threshold = math.ceil(3 * history)
    naive_opened, over_before = [], False
    for m in range(HISTORY_DAYS * 1440, total_days * 1440 + 1, config.interval_seconds // 60):
        over = cumulative[m] - cumulative[max(m - per_window, 0)] > threshold
        if over and not over_before:
            naive_opened.append(START + timedelta(minutes=m))
        over_before = over
    naive = score(naive_opened, spikes, window)
    return {"spikes": spikes, "ours": ours, "naive": naive, "naive_threshold": threshold, "runs": runs,
            "seconds": seconds, "mentions": int(total[HISTORY_DAYS * 1440:].sum())}


def score(opened: list[datetime], spikes: list[Spike], window: timedelta) -> dict[str, object]:
    found: dict[Spike, timedelta] = {}
    false_alarms = 0
    for at in opened:
        hit = [s for s in spikes if s.start <= at <= s.start + timedelta(minutes=s.minutes) + window]
        if hit:
            found.setdefault(hit[0], at - hit[0].start)
        else:
            false_alarms += 1
    true_alerts = len(opened) - false_alarms
    return {"found": found, "false_alarms": false_alarms, "alerts": len(opened),
            "precision": true_alerts / len(opened) if opened else None}


def fmt_delay(d: timedelta | None) -> str:
    return "-" if d is None else f"{d.total_seconds() / 60:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-day", type=float, default=2400, help="mean mentions a day (default 2400)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config = AlertsConfig()
    window = timedelta(minutes=config.window_minutes)
    print(f"one brand, {args.per_day:.0f} mentions a day on average, {HISTORY_DAYS} days of history, then "
          f"{args.days} days replayed; detection every {config.interval_seconds // 60} min over a "
          f"{config.window_minutes:g}-minute window (default settings)\n")
    quiet = replay(args.days, args.per_day, False, args.seed, config)
    print(f"quiet month: {quiet['mentions']} mentions, {quiet['runs']} detection runs in {quiet['seconds']:.1f} s "
          f"({1000 * quiet['seconds'] / quiet['runs']:.1f} ms a run)")
    print(f"  false alarms: Earful {quiet['ours']['false_alarms']}, naive fixed threshold "
          f"(> {quiet['naive_threshold']} a window) {quiet['naive']['false_alarms']}\n")
    spiky = replay(args.days, args.per_day, True, args.seed + 1, config)
    print(f"month with {len(spiky['spikes'])} injected one-hour spikes: {spiky['mentions']} mentions, "
          f"{spiky['runs']} runs in {spiky['seconds']:.1f} s")
    print("| size | spikes | Earful found | within one window | Earful delay min (each) | naive found | naive delay min (each) |")
    print("|---|---|---|---|---|---|---|")
    for size in SIZES:
        group = [s for s in spiky["spikes"] if s.size == size]
        ours = [spiky["ours"]["found"].get(s) for s in group]
        naive = [spiky["naive"]["found"].get(s) for s in group]
        within = sum(1 for d in ours if d is not None and d <= window)
        print(f"| {size:g}x | {len(group)} | {sum(d is not None for d in ours)} | {within} | "
              f"{', '.join(fmt_delay(d) for d in ours)} | {sum(d is not None for d in naive)} | "
              f"{', '.join(fmt_delay(d) for d in naive)} |")
    for name in ("ours", "naive"):
        r = spiky[name]
        label = "Earful" if name == "ours" else f"naive (> {spiky['naive_threshold']} a window)"
        big = [s for s in spiky["spikes"] if s.size >= 3]
        recall = sum(1 for s in big if s in r["found"]) / len(big)
        precision = "n/a" if r["precision"] is None else f"{r['precision']:.2f}"
        print(f"{label}: {r['alerts']} alerts, {r['false_alarms']} false alarms, precision {precision}, "
              f"recall of spikes >= 3x {recall:.2f}, recall of all {len(r['found'])}/{len(spiky['spikes'])}")


if __name__ == "__main__":
    main()
