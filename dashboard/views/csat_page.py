"""The public customer-satisfaction survey: `/?csat=<token>`, reached from a closing reply's link.

It needs no login (customers have none) and shows nothing about the case beyond the brand's name;
the random per-case token is the only key, and an answer is accepted once.
"""

from __future__ import annotations

import streamlit as st

from core.errors import EarfulError
from core.models import Brand, utcnow
from dashboard import ui
from responder import csat

SCORES = {1: "Very unhappy", 2: "Unhappy", 3: "OK", 4: "Happy", 5: "Very happy"}


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    token = st.query_params.get("csat", "")
    with app.db.session() as session:
        case = csat.find_by_token(session, token)
        brand = session.get(Brand, case.brand_id).name if case is not None and case.brand_id else ""
        answered = case is not None and case.csat_answered_at is not None
    st.title("How did we do?")
    if case is None:
        st.error("This survey link is not valid; it may have been mistyped.")
        return
    if answered:
        st.success("Thank you, we have your answer.")
        return
    st.text(f"Your conversation with {brand or 'us'}" if brand else "Your recent conversation with us")
    with st.form("csat"):
        score = st.radio("Your rating", list(SCORES), format_func=lambda n: f"{n} · {SCORES[n]}", horizontal=True,
                         index=None)
        comment = st.text_area("Anything you want to tell us? (optional)", max_chars=csat.MAX_COMMENT)
        sent = st.form_submit_button("Send")
    if sent:
        if score is None:
            st.error("Pick a rating from 1 to 5 first.")
            return
        try:
            with app.db.session() as session:
                csat.record_answer(session, token, int(score), comment, now=utcnow())
        except EarfulError as exc:
            st.error(str(exc))
            return
        st.success("Thank you, we have your answer.")
