"""Advocacy: promoters and detractors over time, detractors won back after a reply, the top advocates,
and customer satisfaction (CSAT) from the closing survey. Figures come from `core.metrics`
(`advocates`, `top_advocates`, `csat`); the definitions shown are docs/metrics.md's, shortened.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core import metrics
from core.inbox import inbox_filter_options
from core.db import Database
from core.models import Role, utcnow
from dashboard import ui

ROLE = Role.manager
# label: (length, step of the chart)
RANGES: dict[str, tuple[timedelta, timedelta]] = {
    "Last 7 days": (timedelta(days=7), timedelta(days=1)),
    "Last 30 days": (timedelta(days=30), timedelta(days=7)),
    "Last 90 days": (timedelta(days=90), timedelta(days=7)),
}
TOP_ADVOCATES = 20
DEFINITIONS = (
    f"Promoter: an author with at least {metrics.REPEATED} positive mentions in the period, and more positive "
    "than negative ones.",
    f"Detractor: an author with at least {metrics.REPEATED} negative mentions in the period, and more negative "
    "than positive ones.",
    "Detractor replied: a detractor one of whose mentions got a reply sent in the period.",
    "Won back: a detractor replied to who posted a positive mention after the first such reply, before the "
    "period ended; also in % of detractors replied.",
    f"CSAT: the 1-5 answer to the survey sent when a case closes, over cases opened in the period; satisfied "
    f"means {metrics.SATISFIED_FROM} or 5. NPS is not collected.",
    "Mentions count when they are about the brand (any own brand when none is chosen), not the brand's own "
    "posts. In the chart each period counts only its own mentions.",
)


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    ui.page_user(app, ROLE)
    now = utcnow()
    st.title("Advocacy")
    with app.db.session() as session:
        options = inbox_filter_options(session)
    range_col, brand_col, platform_col = st.columns(3)
    with range_col:
        label = st.selectbox("Period", list(RANGES), index=0, key="adv_range")
    with brand_col:
        brand = st.selectbox("Brand", [b.name for b in options.brands if not b.is_competitor], index=None,
                             placeholder="All own brands", key="adv_brand")
    with platform_col:
        platform = st.selectbox("Platform", options.platforms, index=None, placeholder="All platforms",
                                key="adv_platform")
    length, step = RANGES[label]
    # The end is the current minute, so every rerun within it (each click) reuses the cached figures.
    end = now.replace(second=0, microsecond=0)
    people, over_time, top, csat = _figures(app.db, app.settings.database.url, end - length, end, brand, platform,
                                            step)

    a, b, c, d = st.columns(4)
    a.metric("Promoters", people["promoters"])
    b.metric("Detractors", people["detractors"])
    c.metric("Detractors replied", people["detractors_replied"])
    d.metric("Won back", f"{people['detractors_won_back']} ({_pct(people['won_back_pct'])})")

    st.subheader("Promoters and detractors over time")
    st.altair_chart(_people_chart(over_time), width="stretch")
    st.dataframe([{"from": r["start"], "to": r["end"], "promoters": r["promoters"], "detractors": r["detractors"],
                   "won back": r["detractors_won_back"]} for r in over_time], hide_index=True, width="stretch")

    st.subheader("Top advocates")
    if top:
        st.dataframe([{"platform": r["platform"], "author": r["author_handle"], "name": r["author_name"] or "",
                       "followers": r["author_followers"], "positive mentions": r["positive"],
                       "negative mentions": r["negative"]} for r in top], hide_index=True, width="stretch")
    else:
        ui.plain("No promoters in this period.")

    st.subheader("Customer satisfaction")
    e, g, h = st.columns(3)
    e.metric("CSAT answers", csat["responses"])
    g.metric("CSAT mean (1-5)", "n/a" if csat["mean"] is None else f"{csat['mean']:.2f}")
    h.metric("Satisfied", _pct(csat["satisfied_pct"]))

    st.subheader("Definitions")
    for line in DEFINITIONS:
        ui.plain(line)


@st.cache_data(ttl=120, max_entries=100, show_spinner="Counting authors…")
def _figures(_db: Database, url: str, start: datetime, end: datetime, brand: str | None, platform: str | None,
             step: timedelta) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Everything the page shows for one set of filters; cached per database (`url`) and minute.

    The two passes over the period's mentions (per author, and per author and step) run side by side,
    each on its own connection: the first render of a minute waits for the longer one, not for both."""
    f = metrics.Filters(start=start, end=end, brand=brand, platform=platform)
    with ThreadPoolExecutor(max_workers=1) as pool:
        over_time = pool.submit(_over_time, _db, f, step)
        with _db.session() as session:
            people, top = metrics.advocates_and_top(session, f, TOP_ADVOCATES)
            csat = metrics.csat(session, f)
        return people, over_time.result(), top, csat


def _over_time(db: Database, f: metrics.Filters, step: timedelta) -> list[dict[str, Any]]:
    with db.session() as session:
        return metrics.advocates_over_time(session, f, step)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} %"


def _people_chart(rows: list[dict[str, Any]]) -> alt.Chart:
    frame = pd.DataFrame([{"period": f"{r['start']:%Y-%m-%d %H:%M}", "promoters": r["promoters"],
                           "detractors": r["detractors"]} for r in rows])
    long = frame.melt(id_vars=["period"], var_name="who", value_name="authors")
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("period:O", title="period starting (UTC)"), xOffset="who:N", y=alt.Y("authors:Q", title="authors"),
        color=alt.Color("who:N", scale=alt.Scale(domain=["promoters", "detractors"], range=["#2ca02c", "#d62728"])),
        tooltip=["period:O", "who:N", "authors:Q"])
