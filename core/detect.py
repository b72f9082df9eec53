"""Spike detection statistics: pure arithmetic on counts, no database and no clock.

Why it is built this way:
- **Hour of the week.** Mentions follow a daily and a weekly rhythm, so "30 mentions in half an
  hour" is ordinary on a Monday noon and alarming at 03:00 on a Sunday. The expected count of a
  window is read from the *same stretch of the week* in each of the previous weeks, widened by a
  padding on both sides to smooth it, and the weeks are combined with the median, so one past
  spike does not raise the baseline of the weeks after it.
- **A tail test with minimum counts.** Whether a count is surprising depends on its size: 3 -> 6 on a
  quiet brand happens by chance (Poisson P(X >= 6 | 3) = 0.08), 300 -> 600 never does. A window is a
  volume spike only when the Poisson upper tail is below `p_value`, the count reaches `min_count`, and
  it is at least the lowest severity ratio times the baseline (real traffic varies more than Poisson
  from week to week; the ratio keeps a big brand's normal +20 % from alarming). A negative spike is
  the same idea on the share of negative mentions (a binomial tail against the baseline share).
- **Severity is the ratio** of what was seen to what was expected, read off an ascending ladder
  (by default warning 2x, major 4x, critical 8x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Sequence

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open stretch of time [start, end)."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class Level:
    """One rung of the severity ladder: `name` applies from `ratio` times the baseline upwards."""

    name: str
    ratio: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    p_value: float = 0.0001
    min_count: int = 10
    min_negative: int = 8
    min_share_increase: float = 0.15
    levels: tuple[Level, ...] = (Level("warning", 2.0), Level("major", 4.0), Level("critical", 8.0))

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError("the severity ladder is empty; give at least one level with a ratio")
        ratios = [lvl.ratio for lvl in self.levels]
        if ratios != sorted(ratios) or len(set(ratios)) != len(ratios) or ratios[0] <= 1:
            raise ValueError(f"severity ratios {ratios} must rise strictly and start above 1")

    @property
    def min_ratio(self) -> float:
        return self.levels[0].ratio


def baseline_spans(window: Span, weeks: int, padding: timedelta) -> list[Span]:
    """The same stretch of the week as `window` in each of the `weeks` previous weeks, padded."""
    return [Span(window.start - k * WEEK - padding, window.end - k * WEEK + padding) for k in range(1, weeks + 1)]


def trailing_span(window: Span, hours: float) -> Span:
    """The `hours` just before the window: the fallback baseline of a series with under a week of history."""
    return Span(window.start - timedelta(hours=hours), window.start)


@dataclass(frozen=True, slots=True)
class Counts:
    """Mentions in one span: all of them, those scored, those scored negative."""

    total: int = 0
    scored: int = 0
    negative: int = 0


@dataclass(frozen=True, slots=True)
class Baseline:
    """What one window is expected to hold, and how it was learnt."""

    expected: float  # mentions expected in the window
    negative_share: float  # expected share of negative among scored mentions
    method: str  # "hour_of_week" (n weeks), "trailing" or "none"
    weeks: int = 0


def estimate_baseline(window: Span, spans: Sequence[Span], counts: Sequence[Counts], method: str) -> Baseline:
    """Scale each span's rate to the window's length; median over spans; pooled negative share.

    The negative share has a weak prior (half a negative in one scored mention), so a baseline
    without scored mentions reads 0.5 rather than 0 and cannot make every negative mention a spike.
    """
    if not spans:
        return Baseline(expected=0.0, negative_share=0.5, method="none")
    rates = [c.total / s.minutes for s, c in zip(spans, counts)]
    expected = median(rates) * window.minutes
    scored = sum(c.scored for c in counts)
    negative = sum(c.negative for c in counts)
    share = (negative + 0.5) / (scored + 1)
    return Baseline(expected=expected, negative_share=share, method=method, weeks=len(spans) if method == "hour_of_week" else 0)


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed from k upwards in log space (exact for small tails)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    total = 0.0
    i = k
    log_lam = math.log(lam)
    while True:
        term = math.exp(i * log_lam - lam - math.lgamma(i + 1))
        total += term
        if i > lam and term < total * 1e-15:
            break
        i += 1
        if i > k + 100_000:  # pragma: no cover - only for absurd inputs
            break
    return min(total, 1.0)


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    total = 0.0
    for i in range(k, n + 1):
        total += math.exp(log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
    return min(total, 1.0)


def severity_for(ratio: float, levels: Sequence[Level]) -> str:
    """The highest level whose ratio `ratio` reaches; the lowest when it reaches none."""
    found = levels[0].name
    for level in levels:
        if ratio >= level.ratio:
            found = level.name
    return found


def severity_rank(name: str, levels: Sequence[Level]) -> int:
    for i, level in enumerate(levels):
        if level.name == name:
            return i
    return -1


@dataclass(frozen=True, slots=True)
class Finding:
    """The verdict on one window of one series for one kind of alert."""

    kind: str  # volume_spike or negative_spike
    anomalous: bool
    observed: int
    expected: float
    ratio: float
    p_value: float
    severity: str | None  # set when anomalous

    def as_details(self) -> dict[str, float | int | str | None]:
        return {"observed": self.observed, "expected": round(self.expected, 3), "ratio": round(self.ratio, 3),
                "p_value": self.p_value, "severity": self.severity}


# The expected count never goes below this: a series that was silent in its baseline weeks still
# needs several mentions (and min_count) before a window can be surprising.
EXPECTED_FLOOR = 0.5


def volume_finding(current: Counts, baseline: Baseline, t: Thresholds) -> Finding:
    expected = max(baseline.expected, EXPECTED_FLOOR)
    observed = current.total
    ratio = observed / expected
    p = poisson_sf(observed, expected)
    anomalous = (baseline.method != "none" and observed >= t.min_count and ratio >= t.min_ratio and p < t.p_value)
    return Finding("volume_spike", anomalous, observed, expected, ratio, p,
                   severity_for(ratio, t.levels) if anomalous else None)


def negative_finding(current: Counts, baseline: Baseline, t: Thresholds) -> Finding:
    """A rise in the share of negative mentions; severity from negatives seen over negatives expected."""
    share0 = baseline.negative_share
    observed = current.negative
    expected_negative = max(max(baseline.expected, EXPECTED_FLOOR) * share0, EXPECTED_FLOOR)
    ratio = observed / expected_negative
    p = binomial_sf(observed, current.scored, share0)
    share = observed / current.scored if current.scored else 0.0
    anomalous = (
        baseline.method != "none"
        and observed >= t.min_negative
        and share >= share0 + t.min_share_increase
        and ratio >= t.min_ratio
        and p < t.p_value
    )
    return Finding("negative_spike", anomalous, observed, expected_negative, ratio, p,
                   severity_for(ratio, t.levels) if anomalous else None)


def assess(current: Counts, baseline: Baseline, t: Thresholds) -> list[Finding]:
    return [volume_finding(current, baseline, t), negative_finding(current, baseline, t)]


# --- episodes: one alert from the first anomalous window until the series has been quiet a while ---


@dataclass(frozen=True, slots=True)
class Episode:
    """What the detector needs to know about an alert still active (open, escalated or acknowledged)."""

    severity: str
    last_anomalous_at: datetime


def next_step(active: Episode | None, finding: Finding, now: datetime, quiet: timedelta,
              levels: Sequence[Level]) -> str:
    """What to do with one series' alert after one run.

    "open"      anomalous, no active alert: open one (notify)
    "escalate"  anomalous at a higher severity than the active alert: raise it (notify again)
    "continue"  anomalous at the same or a lower severity: keep the alert, attach new mentions
    "cooling"   quiet, but for less than `quiet` since the last anomalous window: keep the alert
    "resolve"   quiet for `quiet` or longer: resolve (notify)
    "none"      quiet and no alert
    """
    if finding.anomalous:
        if active is None:
            return "open"
        assert finding.severity is not None
        if severity_rank(finding.severity, levels) > severity_rank(active.severity, levels):
            return "escalate"
        return "continue"
    if active is None:
        return "none"
    return "resolve" if now - active.last_anomalous_at >= quiet else "cooling"
