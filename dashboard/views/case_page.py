"""Case: the thread, the customer's history, notes, the composer (saved replies and suggestions from
past sent replies, `dashboard.suggestions`) and approvals, and corrections.

Every action is a call into `responder` or `core`, which checks the role itself; this page only lays
things out and hides what the user's role cannot do. Text from the internet is shown with
`ui.plain` (no Markdown, no HTML); links open only from an explicit button.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import streamlit as st

from core.corrections import INTENTS, SENTIMENTS, model_output, record_correction
from core.customers import customer_mentions
from core.errors import EarfulError
from core.inbox import format_age, http_url_or_none
from core.models import Author, Case, CaseStatus, Mention, Reply, ReplyState, Role, User, utcnow
from core.users import has_role
from dashboard import suggestions, ui
from responder import actions, assignment, cases, csat, outbox
from responder.limits import measure
from responder.publishers import REPLY_PLATFORMS
from responder.queue import rows_for, sla_clock
from responder.templates import render as render_template
from responder.templates import saved_replies_for, template_values

ROLE = Role.viewer


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    user = ui.page_user(app, ROLE)
    case_id = st.number_input("Case #", min_value=1, step=1, value=int(st.session_state.get("open_case", 1)),
                              key="case_pick")
    st.session_state["open_case"] = int(case_id)
    now = utcnow()
    with app.db.session() as session:
        rows = rows_for(session, [int(case_id)]) if session.get(Case, int(case_id)) else []
    if not rows:
        st.info("No case with this number. Open one from the Cases page.")
        return
    row = rows[0]
    st.title(f"Case #{row.case_id}")
    ui.plain(" · ".join(x for x in (
        row.status, row.platform, f"team {row.team}" if row.team else "no team",
        f"assigned to {row.assignee}" if row.assignee else "unassigned",
        f"urgency {row.urgency:.2f}", sla_clock(row, now) and f"SLA {sla_clock(row, now)}",
        f"held by {row.held_by} until {row.hold_until:%H:%M} UTC" if row.held_by and row.hold_until and row.hold_until > now else "",
    ) if x))
    if row.reasons:
        ui.plain("Why urgent: " + "; ".join(row.reasons))
    # Each section shows its own error (a refused action names why) and the rest of the page stays.
    _guarded(_case_actions, app, user, row, now)
    _guarded(_thread, app, user, row.case_id)
    _guarded(_history, app, row.case_id)
    _guarded(_notes, app, user, row.case_id)
    if row.platform in REPLY_PLATFORMS:
        _guarded(_composer, app, user, row.case_id, row.platform)
    else:
        st.subheader("Answer on the site")
        ui.plain(f"{row.platform} has no reply API: answer there, then mark the case handled.")
        link = http_url_or_none(row.url)
        if link:
            st.link_button("Open the post", link)
    _guarded(_platform_actions, app, user, row)
    _guarded(_corrections, app, user, row.case_id, row.urgency)


def _guarded(section, *args) -> None:  # type: ignore[no-untyped-def]
    try:
        section(*args)
    except EarfulError as exc:
        st.error(str(exc))


def _case_actions(app: ui.App, user: User, row, now: datetime) -> None:  # type: ignore[no-untyped-def]
    if not has_role(user, Role.agent):
        return
    conf = app.settings.responder
    cols = st.columns(5, vertical_alignment="bottom")
    with cols[0]:
        if st.button("Take", key="case_take", disabled=row.assignee == user.username):
            with app.db.session() as session:
                assignment.assign(session, user, row.case_id, user.username, now=utcnow())
            st.rerun()
    with cols[1]:
        status = st.selectbox("Status", ["open", "pending", "closed"], index=None, key="case_status")
        if st.button("Set status", key="case_set_status", disabled=status is None):
            with app.db.session() as session:
                cases.set_status(session, user, row.case_id, str(status), now=utcnow())
            st.rerun()
    with cols[2]:
        if row.platform not in REPLY_PLATFORMS and st.button("Mark handled", key="case_handled"):
            with app.db.session() as session:
                cases.mark_handled(session, user, row.case_id, now=utcnow())
            st.rerun()
    with cols[3]:
        if conf.csat.enabled and row.platform in REPLY_PLATFORMS and row.status != CaseStatus.closed.value:
            if st.button("Close with survey", key="case_survey"):
                with app.db.session() as session:
                    csat.close_with_survey(session, user, row.case_id, config=conf, now=utcnow(),
                                           idempotency_key=f"survey-{row.case_id}")
                st.rerun()
    with cols[4]:
        if row.held_by == user.username and st.button("Release hold", key="case_release"):
            with app.db.session() as session:
                assignment.release(session, user, row.case_id, now=utcnow())
            st.rerun()


IN_FLIGHT = (ReplyState.approved, ReplyState.sending)


def _thread(app: ui.App, user: User, case_id: int) -> None:
    st.subheader("Thread")
    with app.db.session() as session:
        items = cases.thread(session, case_id)
    # While a reply is on its way the thread refreshes itself, so the agent sees it turn to sent.
    moving = any(i.kind == "reply" and i.item.state in IN_FLIGHT for i in items)
    st.fragment(run_every=2 if moving else None)(_thread_items)(app, user, case_id)


def _thread_items(app: ui.App, user: User, case_id: int) -> None:
    with app.db.session() as session:
        items = cases.thread(session, case_id)
    now = utcnow()
    for item in items:
        with st.container(border=True):
            if item.kind == "mention":
                m: Mention = item.item
                ui.plain(f"{m.platform} · {item.who} · {format_age(m.created_at, now)}"
                         + (f" · {m.sentiment}" if m.sentiment else ""))
                ui.plain(item.text)
            elif item.kind == "reply":
                r: Reply = item.item
                state = r.state.value + (" (dry run: not sent)" if r.dry_run else "")
                ui.plain(f"reply by {item.who} · {state}" + (f" · {r.platform_url}" if r.platform_url else ""))
                ui.plain(item.text)
                if r.error:
                    st.error(r.error)
                if r.review_note:
                    st.warning(f"Returned by the approver: {r.review_note}")
                _reply_actions(app, user, r)
            else:
                ui.plain(f"internal note by {item.who} · {format_age(item.at, now)}")
                ui.plain(item.text)


def _reply_actions(app: ui.App, user: User, reply: Reply) -> None:
    key = f"reply{reply.id}"
    if reply.state == ReplyState.failed and has_role(user, Role.agent):
        if st.button("Retry", key=f"{key}_retry"):
            with app.db.session() as session:
                outbox.retry(session, user, reply.id, now=utcnow())
            st.rerun()
    if reply.state == ReplyState.verify and has_role(user, Role.agent):
        ui.plain("Check the thread on the platform before doing anything else.")
        yes, no = st.columns(2)
        if yes.button("It is there: mark sent", key=f"{key}_posted"):
            with app.db.session() as session:
                outbox.resolve_verify(session, user, reply.id, posted=True, now=utcnow())
            st.rerun()
        if no.button("It is not there: send again", key=f"{key}_resend"):
            with app.db.session() as session:
                outbox.resolve_verify(session, user, reply.id, posted=False, now=utcnow())
            st.rerun()
    if reply.state == ReplyState.draft and reply.submitted_at is not None and has_role(user, Role.pr):
        edited = st.text_area("Approve as", reply.text, key=f"{key}_edit")
        reason = st.text_input("Reason (to reject)", key=f"{key}_reason")
        ok, back = st.columns(2)
        if ok.button("Approve and send", key=f"{key}_approve"):
            with app.db.session() as session:
                outbox.approve(session, user, reply.id, now=utcnow(), text=edited)
            st.rerun()
        if back.button("Reject", key=f"{key}_reject"):
            with app.db.session() as session:
                outbox.reject(session, user, reply.id, reason, now=utcnow())
            st.rerun()


def _history(app: ui.App, case_id: int) -> None:
    with app.db.session() as session:
        case = cases.get_case(session, case_id)
        others = cases.customer_cases(session, case)
        said = customer_mentions(session, case.author_id, limit=50) if case.author_id else []
        lines = [f"#{c.id} · {c.platform} · {c.status.value} · opened {c.opened_at:%Y-%m-%d}" for c in others]
        history = [(m.platform, m.created_at, m.text) for m in said if m.case_id != case_id]
    with st.expander(f"Customer history: {len(lines)} other cases, {len(history)} other mentions"):
        for line in lines:
            ui.plain(line)
        for platform, at, text in history:
            ui.plain(f"{platform} · {at:%Y-%m-%d %H:%M}: {text}")


def _notes(app: ui.App, user: User, case_id: int) -> None:
    if not has_role(user, Role.agent):
        return
    with st.form("case_note", clear_on_submit=True):
        text = st.text_area("Internal note (never leaves Earful)", key="case_note_text")
        if st.form_submit_button("Add note"):
            with app.db.session() as session:
                cases.add_note(session, user, case_id, text, now=utcnow())
            st.rerun()


def _composer(app: ui.App, user: User, case_id: int, platform: str) -> None:
    if not has_role(user, Role.agent):
        return
    conf = app.settings.responder
    st.subheader("Reply")
    key_name = f"compose_key_{case_id}"
    # One idempotency key per compose box: a double click or a re-run finds the same reply. The box's
    # widget key carries it, so after sending a fresh, empty box replaces the old one.
    st.session_state.setdefault(key_name, uuid.uuid4().hex)
    box = f"compose_{case_id}_{st.session_state[key_name]}"
    saved = saved_replies_for(platform, conf.saved_replies)
    if saved:
        choice = st.selectbox("Saved reply", [s.name for s in saved], index=None, key=f"saved_{case_id}")
        if choice and st.button("Use saved reply", key=f"use_saved_{case_id}"):
            st.session_state[box] = _fill(app, user, case_id, next(s.text for s in saved if s.name == choice))
            st.rerun()
    suggestions.section(app, case_id, box)
    text = st.text_area("Public reply", key=box, height=120)
    used = measure(platform, text or "")
    ui.plain(f"{used.used} / {used.limit} {used.unit}" + ("" if used.fits or used.used == 0 else " · does not fit"))
    send = st.button("Send", type="primary", key=f"send_{case_id}", disabled=not (text or "").strip())
    if send:
        with app.db.session() as session:
            reply = outbox.save_draft(session, user, case_id, text, config=conf, now=utcnow(),
                                      idempotency_key=st.session_state[key_name])
            if reply.state == ReplyState.draft and reply.submitted_at is None:
                reply = outbox.submit(session, user, reply.id, config=conf, now=utcnow())
            waiting = reply.state == ReplyState.draft
        st.session_state.pop(key_name, None)
        st.toast("Sent for approval" if waiting else "Queued: it goes out within seconds")
        st.rerun()


def _fill(app: ui.App, user: User, case_id: int, text: str) -> str:
    with app.db.session() as session:
        case = cases.get_case(session, case_id)
        author = session.get(Author, case.author_id) if case.author_id else None
        brand = cases.case_brand_name(session, case)
        values = template_values(author_name=author.name if author else None,
                                 author_handle=author.handle if author else None, brand=brand, case_id=case.id,
                                 agent_name=user.display_name or user.username, platform=case.platform,
                                 fields=app.settings.responder.fields)
    return render_template(text, values)


@st.cache_resource(show_spinner=False)
def _publishers(_settings_key: int, _app: ui.App) -> outbox.Publishers:
    return outbox.Publishers(_app.settings)


MODERATION = {"x": "hide", "reddit": "remove", "youtube": "reject"}


def _platform_actions(app: ui.App, user: User, row) -> None:  # type: ignore[no-untyped-def]
    """Like the customer's newest post, or hide/remove it where the brand's account may."""
    if not has_role(user, Role.agent) or row.platform not in REPLY_PLATFORMS:
        return
    with app.db.session() as session:
        newest = cases.newest_mention(session, row.case_id)
        if newest is None:
            return
        mention_id = newest.id
    publishers = _publishers(id(app.settings), app)
    like_col, hide_col = st.columns(2)
    if like_col.button("Like", key=f"like_{row.case_id}", disabled=row.platform == "youtube"):
        actions.like(app.db, publishers, user, mention_id)
        st.toast("Liked")
    action = MODERATION.get(row.platform)
    if action and has_role(user, Role.pr) and hide_col.button(f"{action.capitalize()} the post", key=f"mod_{row.case_id}"):
        actions.moderate(app.db, publishers, user, mention_id, action)
        st.toast(f"{action.capitalize()}: done")


def _corrections(app: ui.App, user: User, case_id: int, case_urgency: float) -> None:
    if not has_role(user, Role.agent):
        return
    with app.db.session() as session:
        newest = cases.newest_mention(session, case_id)
        if newest is None:
            return
        mention_id, sentiment = newest.id, newest.sentiment
        said = model_output(session, mention_id)
    st.subheader("The model's reading of the newest mention")
    ui.plain(" · ".join((
        f"sentiment {said.sentiment or '(not scored)'}", f"intent {said.intent or '(not scored)'}",
        "topics " + (", ".join(said.topics) or "none"), f"model {said.model_version or '(none yet)'}",
    )))
    for field, value in said.corrected.items():
        ui.plain(f"Corrected {field}: {_shown(value)}")
    with st.expander("Correct the model"):
        ui.plain("Sentiment, intent and topic corrections teach the next training run (earful train, or the "
                 "nightly one at sentiment.train_at); until then the scores stay as they are. An urgency "
                 "correction sets this case's urgency now and moves it in the queue; the urgency formula "
                 "itself is not retrained.")
        topic_names = list(dict.fromkeys([*app.settings.sentiment.topics, *said.topics]))
        with st.form(f"correct_{case_id}"):
            new_sentiment = st.selectbox("Sentiment", SENTIMENTS,
                                         index=SENTIMENTS.index(sentiment) if sentiment in SENTIMENTS else None)
            new_urgency = st.slider("Urgency of this case", 0.0, 1.0, float(case_urgency), 0.05)
            new_intent = st.selectbox("Intent", INTENTS,
                                      index=INTENTS.index(said.intent) if said.intent in INTENTS else None)
            topics = st.multiselect("Topics", topic_names, default=list(said.topics))
            if st.form_submit_button("Save corrections"):
                saved = []
                with app.db.session() as session:
                    if new_sentiment and new_sentiment != sentiment:
                        saved.append(record_correction(session, user, mention_id, "sentiment", new_sentiment).field)
                    if abs(new_urgency - case_urgency) > 1e-9:
                        saved.append(record_correction(session, user, mention_id, "urgency", new_urgency).field)
                    if new_intent and new_intent != said.intent:
                        saved.append(record_correction(session, user, mention_id, "intent", new_intent).field)
                    if sorted(topics) != sorted(said.topics):
                        saved.append(record_correction(session, user, mention_id, "topic", topics).field)
                if not saved:
                    st.toast("Nothing changed")
                else:
                    st.rerun()  # the header, the corrected values and the queue show it


def _shown(value: dict[str, object]) -> str:
    """A correction's new value in words (topics are names from the configuration)."""
    if "topics" in value:
        return ", ".join(str(t) for t in value["topics"] or ()) or "no topics"  # type: ignore[union-attr]
    number = value.get("value")
    return f"{number:.2f}" if isinstance(number, float) else str(value.get("label", number))
