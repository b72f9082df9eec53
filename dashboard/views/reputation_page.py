"""Reputation: volume and sentiment over time, share of voice against competitors, topics, the spike
alerts of the period, the widest-reaching mentions, and the mentions behind any day (or hour) with a
CSV export. Every figure comes from `core.metrics` (definitions in docs/metrics.md); this module only
lays it out. Mention text and author names go into dataframes, never into Markdown.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core import metrics
from core.db import Database
from core.inbox import inbox_filter_options
from core.models import Role, User, utcnow
from dashboard import ui

ROLE = Role.pr
# label: (length, bucket of the charts)
RANGES: dict[str, tuple[timedelta, str]] = {
    "Last 24 hours": (timedelta(days=1), "hour"),
    "Last 7 days": (timedelta(days=7), "day"),
    "Last 30 days": (timedelta(days=30), "day"),
    "Last 90 days": (timedelta(days=90), "day"),
}
TOP_MENTIONS = 20
SENTIMENT_COLOURS = alt.Scale(domain=["negative", "neutral", "positive"], range=["#d62728", "#9e9e9e", "#2ca02c"])


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    user = ui.page_user(app, ROLE)
    now = utcnow()
    st.title("Reputation")
    with app.db.session() as session:
        options = inbox_filter_options(session)
    range_col, brand_col, platform_col = st.columns(3)
    with range_col:
        label = st.selectbox("Period", list(RANGES), index=1, key="rep_range")
    with brand_col:
        brand = st.selectbox("Brand", [b.name for b in options.brands], index=None, placeholder="All own brands",
                             key="rep_brand")
    with platform_col:
        platform = st.selectbox("Platform", options.platforms, index=None, placeholder="All platforms",
                                key="rep_platform")
    length, bucket = RANGES[label]
    # The end is the current minute, so every rerun within it (each click) reuses the cached figures.
    start, end = metrics.whole_buckets(now.replace(second=0, microsecond=0), length, bucket)
    f = metrics.Filters(start=start, end=end, brand=brand, platform=platform)
    data = _figures(app.db, app.settings.database.url, f.start, f.end, brand, platform, bucket)
    series, voice, spikes = data["series"], data["voice"], data["spikes"]

    totals = metrics.series_totals(series)
    own = next((r for r in voice if r["brand"] == brand), None) if brand else None
    own_share = own["share"] if own else _own_share(voice)
    a, b, c, d = st.columns(4)
    a.metric("Mentions", f"{totals['total']:,}")
    b.metric("Net sentiment", "n/a" if totals["net_sentiment"] is None else f"{totals['net_sentiment']:+.1f}")
    c.metric("Share of voice", "n/a" if own_share is None else f"{own_share:.1f} %")
    d.metric("Open spike alerts", len(spikes))
    ui.plain(f"{f.start:%Y-%m-%d %H:%M} to {f.end:%Y-%m-%d %H:%M} UTC, per {bucket}; figures refresh every minute; "
             "see docs/metrics.md for each definition.")

    st.subheader("Volume")
    st.altair_chart(_volume_chart(series, spikes, bucket), width="stretch")
    if spikes:
        st.dataframe([{"alert": s["id"], "opened": s["opened_at"], "kind": s["kind"], "severity": s["severity"],
                       "status": s["status"], "brand": s["brand"], "topic": s["topic"] or "", "summary": s["summary"]}
                      for s in spikes], hide_index=True, width="stretch")
    st.subheader("Sentiment")
    st.altair_chart(_sentiment_chart(series), width="stretch")
    st.altair_chart(_net_chart(series), width="stretch")

    st.subheader("Share of voice")
    if voice:
        st.altair_chart(_voice_chart(voice), width="stretch")
        st.dataframe([{"brand": r["brand"], "competitor": r["competitor"], "mentions": r["mentions"],
                       "share %": r["share"]} for r in voice], hide_index=True, width="stretch")
    else:
        st.info("No brand mentions in this period.")

    st.subheader("Topics")
    if data["topics"]:
        st.altair_chart(_topics_chart(data["topics"]), width="stretch")
    else:
        ui.plain("No topics in this period.")

    st.subheader("Top mentions by reach")
    st.dataframe(_mention_table(data["top"]), hide_index=True, width="stretch",
                 column_config={"text": st.column_config.TextColumn(width="large")})

    _drill_down(app.db, user, f, series, bucket)


@st.cache_data(ttl=120, max_entries=100, show_spinner="Counting mentions…")
def _figures(_db: Database, url: str, start: datetime, end: datetime, brand: str | None, platform: str | None,
             bucket: str) -> dict[str, Any]:
    """Everything the page charts for one set of filters; cached per database (`url`) and minute.

    The pass over the period's mentions (volume, sentiment and topics per bucket) runs on a connection
    of its own beside the smaller queries: the first render of a minute waits for the longer side."""
    f = metrics.Filters(start=start, end=end, brand=brand, platform=platform)
    with ThreadPoolExecutor(max_workers=1) as pool:
        series = pool.submit(_series, _db, f, bucket)
        with _db.session() as session:
            found = {"voice": metrics.share_of_voice(session, f), "spikes": metrics.spike_alerts(session, f),
                     "top": metrics.top_mentions(session, f, TOP_MENTIONS)}
        found["series"], found["topics"] = series.result()
        return found


def _series(db: Database, f: metrics.Filters, bucket: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with db.session() as session:
        return metrics.volume_and_topic_series(session, f, bucket)


def _own_share(voice: list[dict[str, Any]]) -> float | None:
    own = [r for r in voice if not r["competitor"]]
    total = sum(r["mentions"] for r in voice)
    return round(100 * sum(r["mentions"] for r in own) / total, 1) if total else None


def _drill_down(db: Database, user: User, f: metrics.Filters, series: list[dict[str, Any]], bucket: str) -> None:
    st.subheader(f"Mentions by {bucket}")
    busy = [r for r in series if r["mentions"]]
    if not busy:
        ui.plain("No mentions in this period.")
        return
    fmt = "%Y-%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d"
    labels = {r["start"]: f"{r['start']:{fmt}} · {_mentions(r['mentions'])}" for r in reversed(busy)}
    chosen = st.selectbox(bucket.capitalize(), list(labels), format_func=labels.__getitem__, key="rep_drill")
    with db.session() as session:
        rows = metrics.mentions_on(session, f, chosen, bucket)
    narrowed = metrics.bucket_filters(f, chosen, bucket)
    ui.plain(f"{_mentions(len(rows))} shown, the most followed author first "
             f"(at most 500 here; the CSV holds up to {metrics.EXPORT_LIMIT:,}).")
    st.dataframe(_mention_table(rows), hide_index=True, width="stretch",
                 column_config={"text": st.column_config.TextColumn(width="large")})
    st.download_button(
        "Download CSV", data=functools.partial(_export, db, narrowed, user),
        file_name=f"earful-mentions-{chosen:%Y%m%d-%H%M}.csv", mime="text/csv", on_click="ignore",
        icon=":material/download:", key="rep_export",
    )


def _mentions(n: int) -> str:
    return "1 mention" if n == 1 else f"{n:,} mentions"


def _export(db: Database, f: metrics.Filters, actor: User) -> str:
    # Called only when the button is clicked (Streamlit's deferred download data); the export is audited.
    with db.session() as session:
        return metrics.export_mentions_csv(session, f, actor=actor)


def _mention_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"when": r["created_at"], "platform": r["platform"], "author": r["author_handle"] or "",
             "followers": r["author_followers"], "text": r["text"], "sentiment": r["sentiment"] or ""} for r in rows]


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if "start" in frame:
        frame["start"] = pd.to_datetime(frame["start"], utc=True)
    return frame


def _volume_chart(series: list[dict[str, Any]], spikes: list[dict[str, Any]], bucket: str) -> alt.LayerChart:
    bars = alt.Chart(_frame(series)).mark_bar().encode(
        x=alt.X("start:T", title=f"{bucket} (UTC)"),
        y=alt.Y("mentions:Q", title="mentions"),
        tooltip=[alt.Tooltip("start:T", title=bucket), "mentions:Q"],
    )
    # Spike alerts as red rules at the time each opened (only Earful's own fields in the tooltip).
    marks = pd.DataFrame([{"opened_at": s["opened_at"], "kind": s["kind"], "severity": s["severity"]} for s in spikes],
                         columns=["opened_at", "kind", "severity"])
    marks["opened_at"] = pd.to_datetime(marks["opened_at"], utc=True)
    rules = alt.Chart(marks).mark_rule(color="#d62728", strokeWidth=2).encode(
        x="opened_at:T", tooltip=[alt.Tooltip("opened_at:T", title="alert opened"), "kind:N", "severity:N"])
    return alt.layer(bars, rules)


def _sentiment_chart(series: list[dict[str, Any]]) -> alt.Chart:
    frame = _frame(series).melt(id_vars=["start"], value_vars=["negative", "neutral", "positive"],
                                var_name="sentiment", value_name="count")
    return alt.Chart(frame).mark_area().encode(
        x=alt.X("start:T", title="UTC"), y=alt.Y("count:Q", stack=True, title="mentions"),
        color=alt.Color("sentiment:N", scale=SENTIMENT_COLOURS), tooltip=["start:T", "sentiment:N", "count:Q"])


def _net_chart(series: list[dict[str, Any]]) -> alt.Chart:
    return alt.Chart(_frame(series)).mark_line(point=True).encode(
        x=alt.X("start:T", title="UTC"),
        y=alt.Y("net_sentiment:Q", title="net sentiment", scale=alt.Scale(domain=[-100, 100])),
        tooltip=["start:T", "net_sentiment:Q"])


def _voice_chart(voice: list[dict[str, Any]]) -> alt.Chart:
    return alt.Chart(pd.DataFrame(voice)).mark_bar().encode(
        x=alt.X("share:Q", title="share of voice %"), y=alt.Y("brand:N", sort="-x", title=None),
        color=alt.Color("competitor:N", title="competitor"), tooltip=["brand:N", "mentions:Q", "share:Q"])


def _topics_chart(topics: list[dict[str, Any]]) -> alt.Chart:
    return alt.Chart(_frame(topics)).mark_line(point=True).encode(
        x=alt.X("start:T", title="UTC"), y=alt.Y("mentions:Q", title="mentions"), color="topic:N",
        tooltip=["start:T", "topic:N", "mentions:Q"])
