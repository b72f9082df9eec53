"""The pure statistics of spike detection, with hand-made numbers."""

from datetime import datetime, timedelta, timezone

import pytest

from core import detect
from core.detect import Baseline, Counts, Episode, Level, Span, Thresholds

NOW = datetime(2026, 3, 23, 14, 0, tzinfo=timezone.utc)
T = Thresholds()


def test_poisson_and_binomial_tails_match_hand_values() -> None:
    assert detect.poisson_sf(0, 3.0) == 1.0
    # P(X >= 6 | 3) = 1 - sum_{k<6} e^-3 3^k / k! = 0.0839
    assert detect.poisson_sf(6, 3.0) == pytest.approx(0.083918, abs=1e-6)
    assert detect.poisson_sf(30, 10.0) == pytest.approx(2.50995e-7, rel=1e-4)  # scipy.stats.poisson.sf(29, 10)
    # P(X >= 2 | n=3, p=0.5) = 4/8
    assert detect.binomial_sf(2, 3, 0.5) == pytest.approx(0.5)
    assert detect.binomial_sf(4, 3, 0.5) == 0.0


def test_baseline_spans_are_the_same_hours_of_previous_weeks() -> None:
    window = Span(NOW - timedelta(minutes=30), NOW)
    spans = detect.baseline_spans(window, 2, timedelta(hours=1))
    assert spans[0] == Span(NOW - timedelta(days=7, minutes=90), NOW - timedelta(days=7) + timedelta(hours=1))
    assert spans[1].end == NOW - timedelta(days=14) + timedelta(hours=1)


def test_the_median_week_ignores_one_past_spike() -> None:
    window = Span(NOW - timedelta(minutes=30), NOW)
    spans = detect.baseline_spans(window, 3, timedelta(minutes=60))  # 150 minutes each
    counts = [Counts(50, 50, 5), Counts(500, 500, 400), Counts(60, 60, 6)]
    base = detect.estimate_baseline(window, spans, counts, "hour_of_week")
    assert base.expected == pytest.approx(60 / 150 * 30)  # median rate 0.4 a minute
    assert base.negative_share == pytest.approx((411 + 0.5) / 611)
    assert base.weeks == 3


def test_a_quiet_brand_doubling_is_not_a_spike_but_a_big_one_is() -> None:
    quiet = detect.volume_finding(Counts(6), Baseline(3.0, 0.2, "hour_of_week"), T)
    assert not quiet.anomalous and quiet.ratio == 2.0
    big = detect.volume_finding(Counts(600), Baseline(300.0, 0.2, "hour_of_week"), T)
    assert big.anomalous and big.severity == "warning"
    normal_plus_20 = detect.volume_finding(Counts(360), Baseline(300.0, 0.2, "hour_of_week"), T)
    assert not normal_plus_20.anomalous  # significant, but under the 2x of the lowest level


def test_severity_ladder() -> None:
    levels = T.levels
    assert [detect.severity_for(r, levels) for r in (2.0, 3.9, 4.0, 7.9, 8.0, 50)] == [
        "warning", "warning", "major", "major", "critical", "critical"]
    finding = detect.volume_finding(Counts(40), Baseline(4.0, 0.2, "trailing"), T)
    assert finding.severity == "critical" and finding.ratio == 10


def test_no_baseline_no_alarm() -> None:
    assert not detect.volume_finding(Counts(100), Baseline(0.0, 0.5, "none"), T).anomalous


def test_negative_share_spike() -> None:
    base = Baseline(12.0, 1 / 6, "hour_of_week")
    finding = detect.negative_finding(Counts(12, 12, 10), base, T)
    assert finding.anomalous and finding.ratio == pytest.approx(5.0) and finding.severity == "major"
    # same share as usual at 3x volume: a volume spike, not a negative one
    assert not detect.negative_finding(Counts(36, 36, 6), base, T).anomalous
    assert detect.volume_finding(Counts(36, 36, 6), base, T).anomalous


def test_thresholds_refuse_a_falling_ladder() -> None:
    with pytest.raises(ValueError):
        Thresholds(levels=(Level("a", 3.0), Level("b", 2.0)))


def _finding(anomalous: bool, severity: str | None = None) -> detect.Finding:
    return detect.Finding("volume_spike", anomalous, 0, 1.0, 1.0, 1.0, severity)


def test_episode_steps() -> None:
    quiet = timedelta(minutes=60)
    step = lambda active, f, now=NOW: detect.next_step(active, f, now, quiet, T.levels)  # noqa: E731
    assert step(None, _finding(False)) == "none"
    assert step(None, _finding(True, "warning")) == "open"
    active = Episode("major", NOW - timedelta(minutes=10))
    assert step(active, _finding(True, "warning")) == "continue"
    assert step(active, _finding(True, "major")) == "continue"
    assert step(active, _finding(True, "critical")) == "escalate"
    assert step(active, _finding(False)) == "cooling"
    assert step(active, _finding(False), NOW + timedelta(minutes=50)) == "resolve"
