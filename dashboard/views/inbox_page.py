"""Inbox: collected mentions, most urgent first, with filters, paging and a CSV export.

Everything it shows comes from `core.inbox`; this module only lays it out.
"""

from __future__ import annotations

import functools
from datetime import datetime

import streamlit as st

from core.db import Database
from core.inbox import (
    EXPORT_LIMIT,
    TIME_RANGES,
    InboxFilterOptions,
    InboxFilters,
    InboxPage,
    export_inbox_csv,
    inbox_filter_options,
    list_inbox,
    since_for,
)
from core.models import Role, User, utcnow
from dashboard import ui
from responder.queue import sla_clock

ROLE = Role.viewer
PAGE_SIZES = (25, 50, 100)
DEFAULT_RANGE = "Last 7 days"
CARDS, TABLE = "Cards", "Table"


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    user = ui.page_user(app, ROLE)

    with app.db.session() as session:
        options = inbox_filter_options(session, topics=app.settings.sentiment.topics)
    filters, range_label, page_size = filter_sidebar(options)

    # Changing a filter starts again at page 1.
    signature = (filters.brand_id, filters.platform, filters.sentiment, filters.language, filters.intent,
                 filters.topic, filters.text, range_label, page_size)
    if st.session_state.get("inbox_signature") != signature:
        st.session_state["inbox_signature"] = signature
        st.session_state["inbox_page"] = 1

    now = utcnow()
    with app.db.session() as session:
        result = list_inbox(session, filters, page=st.session_state.get("inbox_page", 1), page_size=page_size,
                            clock=lambda: now)
    st.session_state["inbox_page"] = result.page  # clamped when the list shrank

    st.title("Inbox")
    head, view_col, export_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    with head:
        ui.plain(f"{result.total_label} mentions · most urgent first, then newest")
    with view_col:
        view = st.segmented_control("View", [CARDS, TABLE], default=CARDS, key="inbox_view") or CARDS
    with export_col:
        st.download_button(
            "Download CSV",
            data=functools.partial(export_csv, app.db, filters, user),
            file_name=f"earful-inbox-{datetime.now():%Y%m%d-%H%M}.csv",
            mime="text/csv",
            on_click="ignore",
            icon=":material/download:",
            disabled=result.total == 0,
            help=f"The filtered list in this order, up to {EXPORT_LIMIT:,} mentions.",
        )

    if not result.rows:
        st.info("No mentions match these filters. Widen the time range or clear a filter.", icon=":material/inbox:")
    elif view == TABLE:
        show_table(result, now)
    else:
        for row in result.rows:
            ui.mention_card(row, sla_clock(row, now))
    pager(result)


def filter_sidebar(options: InboxFilterOptions) -> tuple[InboxFilters, str, int]:
    brand_names = {b.id: b.name + (" (competitor)" if b.is_competitor else "") for b in options.brands}
    ranges = list(TIME_RANGES)
    with st.sidebar:
        st.header("Filters")
        brand_id = st.selectbox(
            "Brand", [None, *brand_names], format_func=lambda b: "All brands" if b is None else brand_names[b],
            key="inbox_brand",
        )
        platform = st.selectbox(
            "Platform", [None, *options.platforms], format_func=lambda p: p or "All platforms", key="inbox_platform"
        )
        sentiment = st.selectbox(
            "Sentiment", [None, *options.sentiments], format_func=lambda s: s or "Any sentiment",
            key="inbox_sentiment",
        )
        language = st.selectbox(
            "Language", [None, *options.languages], format_func=lambda code: code or "Any language",
            key="inbox_language",
        )
        intent = st.selectbox(
            "Intent", [None, *options.intents], format_func=lambda i: i or "Any intent", key="inbox_intent"
        )
        topic = st.selectbox(
            "Topic", [None, *options.topics], format_func=lambda t: t or "Any topic", key="inbox_topic"
        )
        text = st.text_input("Text contains", max_chars=200, key="inbox_text")
        range_label = st.selectbox("Time range", ranges, index=ranges.index(DEFAULT_RANGE), key="inbox_range")
        page_size = st.selectbox("Per page", PAGE_SIZES, key="inbox_page_size")
    filters = InboxFilters(
        brand_id=brand_id,
        platform=platform,
        sentiment=sentiment,
        language=language,
        intent=intent,
        topic=topic,
        text=text,
        since=since_for(range_label, utcnow()),
    )
    return filters, range_label, page_size


def export_csv(db: Database, filters: InboxFilters, actor: User) -> str:
    # Called only when the button is clicked (Streamlit's deferred download data).
    with db.session() as session:
        return export_inbox_csv(session, filters, actor=actor)


def show_table(result: InboxPage, now: datetime) -> None:
    # st.dataframe draws every cell as text, so untrusted values stay inert here too.
    st.dataframe(
        [
            {
                "Urgency": row.urgency,
                "Sentiment": row.sentiment or "not scored",
                "Intent": row.intent or "",
                "Topics": ", ".join(row.topics),
                "Why urgent": "; ".join(row.reasons),
                "Platform": row.platform,
                "Author": row.author_handle,
                "Followers": row.author_followers,
                "Text": row.text,
                "Brands": ", ".join(row.brands),
                "Age": row.age,
                "Case": row.case_status,
                "SLA": sla_clock(row, now),
                "URL": row.url,
            }
            for row in result.rows
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "Urgency": st.column_config.NumberColumn(format="%.2f"),
            "Text": st.column_config.TextColumn(width="large"),
            "URL": st.column_config.TextColumn(),  # text, not a link: the scheme is untrusted
        },
    )


def step_page(delta: int) -> None:
    st.session_state["inbox_page"] = max(1, st.session_state.get("inbox_page", 1) + delta)


def pager(result: InboxPage) -> None:
    if result.page_count <= 1:
        return
    more = "+" if result.total_capped else ""
    prev_col, page_col, next_col = st.columns([1, 2, 1], vertical_alignment="bottom")
    with prev_col:
        st.button("Previous", icon=":material/chevron_left:", disabled=result.page <= 1,
                  on_click=step_page, args=(-1,), key="inbox_prev")
    with page_col:
        st.number_input("Page", min_value=1, max_value=result.page_count, step=1, key="inbox_page")
        ui.plain(f"of {result.page_count:,}{more}")
    with next_col:
        st.button("Next", icon=":material/chevron_right:", disabled=result.page >= result.page_count,
                  on_click=step_page, args=(1,), key="inbox_next")
