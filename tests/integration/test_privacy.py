"""Erasing a person (GDPR) and retention, on SQLite and PostgreSQL, plus the `earful erase` and
`earful retention apply` commands with their exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.corrections import record_correction
from core.customers import link_authors
from core.db import Database
from core.errors import InvalidInput, PermissionDenied
from core.models import (
    Alert, AlertMention, AuditEntry, Author, Base, Case, CaseStatus, Correction, Customer, DeliveryState, Mention,
    MentionBrand, Note, Notification, Reply, ReplyState, Role, Score,
)
from core import privacy
from core.privacy import ERASED, apply_retention, customer_erasure_preview, erase_author, erase_customer, run_retention
from responder import cases, outbox
from responder.sla import BusinessCalendar
from tests.fakes import responder as fx

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
JO = "@jo@example.social"
JO_TEXTS = ("skylark lost my bag JO-SECRET-1", "skylark still no bag JO-SECRET-2", "skylark refund please JO-SECRET-3")
CONF = fx.settings({"csat": {"enabled": True}})
CALENDAR = BusinessCalendar.from_config(CONF.responder.sla)


def everything(db: Database) -> str:
    """Every row of every table, as one string: what a person's data could hide in."""
    chunks: list[str] = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                chunks.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(chunks)


def triage(s) -> None:  # type: ignore[no-untyped-def]
    cases.triage(s, CONF.responder, now=NOW, calendar=CALENDAR)


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    """Jo (two threads, an x account linked as the same customer) and Kim, with everything that can
    hang off a mention: scores, brand links, a correction, an alert, replies, notes, a survey answer."""
    ids: dict[str, int] = {}
    with db.session() as s:
        source_ids = fx.sync(s, CONF)
        for name, role in (("val", Role.viewer), ("ann", Role.agent), ("pam", Role.pr), ("max", Role.manager),
                           ("root", Role.admin)):
            fx.user(s, name, role)
        ann = fx.user(s, "ann")
        m1 = fx.mention(s, source_ids, text=JO_TEXTS[0], author=JO, conversation_id="t1", at=NOW - timedelta(hours=3))
        m2 = fx.mention(s, source_ids, text=JO_TEXTS[1], author=JO, conversation_id="t1", at=NOW - timedelta(hours=2))
        triage(s)
        s.refresh(m1)
        cases.set_status(s, ann, m1.case_id, "closed", now=NOW)  # Jo writes again later: a second case
        m3 = fx.mention(s, source_ids, text=JO_TEXTS[2], author=JO, conversation_id="t3", at=NOW - timedelta(hours=1),
                        urgency=0.7)
        kim = fx.mention(s, source_ids, text="skylark was great, thanks KIM-TEXT", author="@kim@example.social",
                         conversation_id="k1", at=NOW - timedelta(hours=1))
        xjo = fx.mention(s, source_ids, text="skylark delayed again JO-ON-X", source="bird", platform="x", author="@jo_x",
                         conversation_id="x1", at=NOW - timedelta(minutes=30))
        triage(s)
        for m in (m1, m2, m3, kim, xjo):
            s.refresh(m)
        link_authors(s, ann, [f"mastodon:{JO}", "x:@jo_x"], name="jo")
        record_correction(s, ann, m1.id, "sentiment", "negative", now=NOW)
        alert = Alert(brand_id=1, kind="negative_spike", severity="major", summary="Skylark Air: 5 negative",
                      opened_at=NOW, updated_at=NOW)
        s.add(alert)
        s.flush()
        s.add_all([AlertMention(alert_id=alert.id, mention_id=m) for m in (m1.id, m3.id, kim.id)])
        sent = outbox.save_draft(s, ann, m1.case_id, f"{JO} Hi jo, sorry about the bag.", config=CONF.responder, now=NOW)
        sent.state, sent.sent_at, sent.platform_reply_id, sent.context_embedding = ReplyState.sent, NOW, "p-1", b"\x01\x02"
        draft = outbox.save_draft(s, ann, m3.case_id, f"{JO} we will refund you", config=CONF.responder, now=NOW)
        outbox.edit_draft(s, ann, draft.id, f"{JO} we will refund you, jo", config=CONF.responder, now=NOW)
        cases.add_note(s, ann, m1.case_id, "Jo is a frequent flyer, seat 12A", now=NOW)
        cases.add_note(s, ann, m3.case_id, "Refund for Jo approved", now=NOW)
        cases.add_note(s, ann, kim.case_id, "Kim is happy", now=NOW)
        case_a = s.get(Case, m1.case_id)
        case_a.csat_token, case_a.csat_score, case_a.csat_comment, case_a.csat_answered_at = "tok", 2, "JO-SURVEY", NOW
        s.add(Notification(channel="mail", event="report", subject="weekly", body=f"Top author {JO} (3 mentions)",
                           payload={"top": [JO]}, state=DeliveryState.pending, created_at=NOW))
        ids.update(m1=m1.id, m2=m2.id, m3=m3.id, kim=kim.id, xjo=xjo.id, case_a=m1.case_id, case_b=m3.case_id,
                   case_kim=kim.case_id, sent=sent.id, draft=draft.id, alert=alert.id)
    return ids


@pytest.mark.parametrize("role", ["viewer", "agent", "pr", "manager"])
def test_only_an_admin_may_erase(db: Database, world: dict[str, int], role: str) -> None:
    before = everything(db)
    with db.session() as s:
        user = fx.user(s, {"viewer": "val", "agent": "ann", "pr": "pam", "manager": "max"}[role])
        with pytest.raises(PermissionDenied):
            erase_author(s, user, "mastodon", JO)
    assert everything(db) == before


def test_erase_removes_the_person_from_every_table(db: Database, world: dict[str, int]) -> None:
    with db.session() as s:
        result = erase_author(s, fx.user(s, "root"), "mastodon", JO, now=NOW)
    assert (result.mentions, result.cases_deleted, result.cases_kept) == (3, 1, 1)
    assert (result.replies_kept, result.replies_deleted, result.customer_deleted) == (1, 1, False)
    assert result.linked_authors == ("x:@jo_x",)

    dump = everything(db)
    for secret in (*JO_TEXTS, "jo@example.social", "JO-SURVEY", "seat 12A", "Refund for Jo"):
        assert secret not in dump, f"{secret!r} survived the erasure"
    with db.session() as s:
        # the brand's published reply stays, redacted, answering a tombstone
        reply = s.get(Reply, world["sent"])
        assert reply.text == f"{ERASED} Hi {ERASED}, sorry about the bag." and reply.context_embedding is None
        tomb = s.get(Mention, reply.in_reply_to_id)
        assert (tomb.text, tomb.author_id, tomb.url, tomb.raw, tomb.title) == (ERASED, None, None, {}, None)
        assert (tomb.sentiment, tomb.topics) == (None, None)  # what was said about what is gone too
        # SQL NULL, not JSON null, which PostgreSQL's topic counts could not take apart
        assert s.scalar(sa.select(sa.func.count()).where(Mention.id == tomb.id, Mention.topics.is_(None))) == 1
        assert {world["m1"], world["m2"], world["m3"]} & set(s.scalars(sa.select(Mention.id))) == {tomb.id}
        assert s.get(Reply, world["draft"]) is None
        for model, column in ((Score, Score.mention_id), (MentionBrand, MentionBrand.mention_id),
                              (Correction, Correction.mention_id), (AlertMention, AlertMention.mention_id)):
            assert not s.scalars(sa.select(model).where(column.in_([world["m1"], world["m2"], world["m3"]]))).all()
        case_a = s.get(Case, world["case_a"])
        assert (case_a.author_id, case_a.csat_score, case_a.csat_comment, case_a.csat_token) == (None, None, None, None)
        assert not s.scalars(sa.select(Note).where(Note.case_id == world["case_a"])).all()
        assert s.get(Case, world["case_b"]) is None
        assert not s.scalars(sa.select(Author).where(Author.platform == "mastodon", Author.handle == JO)).all()
        # everyone else is untouched
        assert s.get(Mention, world["kim"]).text.endswith("KIM-TEXT")
        assert s.scalars(sa.select(Score).where(Score.mention_id == world["kim"])).all()
        assert s.get(AlertMention, (world["alert"], world["kim"])) is not None
        assert [n.text for n in s.scalars(sa.select(Note).where(Note.case_id == world["case_kim"]))] == ["Kim is happy"]
        x_author = s.scalars(sa.select(Author).where(Author.handle == "@jo_x")).one()
        assert x_author.customer_id is not None and s.get(Customer, x_author.customer_id) is not None
        assert s.get(Mention, world["xjo"]).author_id == x_author.id
        # the audit entry says what happened, not about whom
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "person.erase")).one()
        assert entry.actor == "root" and entry.target_id == result.reference
        assert "jo" not in json.dumps(entry.details).lower()
        assert s.scalars(sa.select(Notification)).one().body == f"Top author {ERASED} (3 mentions)"


def test_erasing_twice_or_someone_unknown_says_so(db: Database, world: dict[str, int]) -> None:
    with db.session() as s:
        erase_author(s, fx.user(s, "root"), "mastodon", JO)
    with db.session() as s:
        with pytest.raises(InvalidInput, match="nothing to erase"):
            erase_author(s, fx.user(s, "root"), "mastodon", JO)
        with pytest.raises(InvalidInput, match="unknown platform"):
            erase_author(s, fx.user(s, "root"), "myspace", JO)


def test_erasing_the_last_account_of_a_customer_deletes_the_profile(db: Database, world: dict[str, int]) -> None:
    with db.session() as s:
        erase_author(s, fx.user(s, "root"), "mastodon", JO)
        result = erase_author(s, fx.user(s, "root"), "x", "jo_x")  # without the @, as staff type it
    assert result.customer_deleted and result.linked_authors == ()
    with db.session() as s:
        assert not s.scalars(sa.select(Customer)).all()
        assert "JO-ON-X" not in everything(db)


def _jo_customer(db: Database) -> int:
    with db.session() as s:
        return s.scalars(sa.select(Author.customer_id).where(Author.handle == "@jo_x")).one()


def test_erase_customer_removes_every_linked_account_and_the_profile(db: Database, world: dict[str, int]) -> None:
    customer_id = _jo_customer(db)
    with db.session() as s:
        root = fx.user(s, "root")
        preview = customer_erasure_preview(s, root, "x:jo_x")  # any linked account names the profile
        assert (preview.customer_id, preview.accounts, preview.mentions) == (customer_id, (f"mastodon:{JO}", "x:@jo_x"), 4)
        result = erase_customer(s, root, str(customer_id), now=NOW)
    assert (result.authors, result.mentions, result.customer_deleted, result.linked_authors) == (2, 4, True, ())
    assert (result.cases_deleted, result.cases_kept, result.replies_kept) == (2, 1, 1)  # the x case, Jo's refund case
    dump = everything(db)
    for secret in (*JO_TEXTS, "JO-ON-X", "jo@example.social", "jo_x", "JO-SURVEY", "seat 12A", "Refund for Jo"):
        assert secret not in dump, f"{secret!r} survived the erasure"
    with db.session() as s:
        assert not s.scalars(sa.select(Customer)).all()
        assert {a.handle for a in s.scalars(sa.select(Author))} == {"@kim@example.social"}
        assert s.get(Mention, world["kim"]).text.endswith("KIM-TEXT")
        assert s.get(Reply, world["sent"]).text == f"{ERASED} Hi {ERASED}, sorry about the bag."
        link = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "customer.link")).one()
        assert "jo" not in json.dumps(link.details).lower()  # the profile's own entry: handles and name redacted
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "person.erase")).one()
        assert entry.actor == "root" and entry.target_id == result.reference
        assert (entry.details["customer"], entry.details["platforms"], entry.details["mentions"]) == (True, ["mastodon", "x"], 4)


@pytest.mark.parametrize("role", ["viewer", "agent", "pr", "manager"])
def test_only_an_admin_may_erase_or_preview_a_customer(db: Database, world: dict[str, int], role: str) -> None:
    customer_id = _jo_customer(db)
    before = everything(db)
    with db.session() as s:
        user = fx.user(s, {"viewer": "val", "agent": "ann", "pr": "pam", "manager": "max"}[role])
        with pytest.raises(PermissionDenied):
            customer_erasure_preview(s, user, customer_id)
        with pytest.raises(PermissionDenied):
            erase_customer(s, user, customer_id)
    assert everything(db) == before


def test_erase_customer_is_one_transaction(db: Database, world: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the first account's rows are gone leaves every account as it was."""
    customer_id = _jo_customer(db)
    before = everything(db)

    def disk_full(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(privacy, "_scrub_text_columns", disk_full)  # runs after every delete
    with pytest.raises(RuntimeError, match="disk full"):
        with db.session() as s:
            erase_customer(s, fx.user(s, "root"), customer_id, now=NOW)
    assert everything(db) == before


def test_erase_customer_says_what_is_wrong(db: Database, world: dict[str, int]) -> None:
    with db.session() as s:
        root = fx.user(s, "root")
        with pytest.raises(InvalidInput, match="no customer 999"):
            erase_customer(s, root, "999")
        with pytest.raises(InvalidInput, match="not linked to a customer profile"):
            erase_customer(s, root, "mastodon:@kim@example.social")
        with pytest.raises(InvalidInput, match="neither a customer id"):
            erase_customer(s, root, "jo")
        with pytest.raises(InvalidInput, match="nothing to erase"):
            erase_customer(s, root, "x:@nobody")


# ------------------------------------------------------------------------------------------ retention


def test_retention_deletes_exactly_the_old_rows_and_their_scores(db: Database) -> None:
    old, recent = NOW - timedelta(days=100), NOW - timedelta(days=1)
    with db.session() as s:
        source_ids = fx.sync(s, CONF)
        ann = fx.user(s, "ann")
        loose_old = fx.mention(s, source_ids, text="old, no case", author="@a@x", urgency=0.0, at=old)
        loose_new = fx.mention(s, source_ids, text="new, no case", author="@b@x", urgency=0.0, at=recent)
        open_old = fx.mention(s, source_ids, text="skylark old but open", author="@c@x", conversation_id="c", at=old)
        closed_old = fx.mention(s, source_ids, text="skylark old and closed", author="@d@x", conversation_id="d", at=old)
        mixed_old = fx.mention(s, source_ids, text="skylark old in a closed case", author="@e@x", conversation_id="e",
                               at=old)
        cases.triage(s, CONF.responder.model_copy(update={"cases": CONF.responder.cases.model_copy(
            update={"min_urgency": 0.1})}), now=old + timedelta(minutes=5), calendar=CALENDAR)
        mixed_new = fx.mention(s, source_ids, text="skylark again", author="@e@x", conversation_id="e", at=recent)
        cases.triage(s, CONF.responder.model_copy(update={"cases": CONF.responder.cases.model_copy(
            update={"min_urgency": 0.1})}), now=recent, calendar=CALENDAR)
        for m in (loose_old, loose_new, open_old, closed_old, mixed_old, mixed_new):
            s.refresh(m)
        assert loose_old.case_id is None and mixed_new.case_id == mixed_old.case_id is not None
        reply = outbox.save_draft(s, ann, closed_old.case_id, "sorry", config=CONF.responder, now=old)
        cases.add_note(s, ann, closed_old.case_id, "note", now=old)
        for m in (closed_old, mixed_old):
            cases.set_status(s, ann, m.case_id, "closed", now=old + timedelta(hours=1))
        ids = {n: m.id for n, m in (("loose_old", loose_old), ("loose_new", loose_new), ("open_old", open_old),
                                    ("closed_old", closed_old), ("mixed_old", mixed_old), ("mixed_new", mixed_new))}
        closed_case, reply_id = closed_old.case_id, reply.id
    with db.session() as s:
        result = apply_retention(s, 30, NOW)
    assert (result.mentions, result.scores, result.cases, result.authors) == (2, 2, 1, 2)
    with db.session() as s:
        left = set(s.scalars(sa.select(Mention.id)))
        assert left == {ids["loose_new"], ids["open_old"], ids["mixed_old"], ids["mixed_new"]}
        assert set(s.scalars(sa.select(Score.mention_id))) == left
        assert set(s.scalars(sa.select(MentionBrand.mention_id))) == left
        assert s.get(Case, closed_case) is None and s.get(Reply, reply_id) is None
        assert not s.scalars(sa.select(Note).where(Note.case_id == closed_case)).all()
        assert {a.handle for a in s.scalars(sa.select(Author))} == {"@b@x", "@c@x", "@e@x"}
        assert s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "retention.apply")).one().details["mentions"] == 2
    with db.session() as s:  # a second run finds nothing more
        assert apply_retention(s, 30, NOW).mentions == 0
        with pytest.raises(InvalidInput):
            apply_retention(s, 0, NOW)


def test_retention_is_set_based_on_many_rows(db: Database) -> None:
    """Fifteen thousand old mentions go in batches over several transactions, in seconds; nothing newer
    is touched (bench: a million rows, see docs/security.md)."""
    import time

    from core.mention import AuthorIn, MentionIn
    from core.store import record_scores, store_batch
    from sentiment.postprocess import ScoreResult

    with db.session() as s:
        items = [MentionIn("rss", f"r{i}", f"text {i}", created_at=NOW - timedelta(days=40 if i % 4 else 2),
                           author=AuthorIn("rss", f"site{i % 50}")) for i in range(20_000)]
        for start in range(0, len(items), 5000):
            result = store_batch(s, items[start:start + 5000], now=NOW - timedelta(days=40))
            record_scores(s, [ScoreResult(i, "t", "neutral", .1, .8, .1, 0, "other", (), .1) for i in result.inserted_ids],
                          now=NOW)
    started = time.monotonic()
    result = run_retention(db, 30, NOW, per_transaction=4_000)  # four short transactions
    assert result.mentions == 15_000 and result.scores == 15_000 and result.authors == 25  # the odd sites wrote only old posts
    assert time.monotonic() - started < 30
    if not db.is_postgres:  # the connection's foreign keys are back on before it returns to the pool
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Mention)) == 5_000
        assert s.scalar(sa.select(sa.func.count()).select_from(Score)) == 5_000


# ------------------------------------------------------------------------------------------ the CLI


def earful(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    return subprocess.run([sys.executable, "-m", "core.cli", "--config", str(cwd / "config.yaml"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(f"database: {{url: 'sqlite:///{tmp_path / 'e.db'}'}}\n")
    db = Database.open(f"sqlite:///{tmp_path / 'e.db'}")
    with db.session() as s:
        source_ids = fx.sync(s, CONF)
        fx.user(s, "root", Role.admin)
        fx.user(s, "ann", Role.agent)
        today = datetime.now(timezone.utc)  # the commands use the real clock
        fx.mention(s, source_ids, text="skylark JO-CLI", author=JO, at=today - timedelta(days=60))
        fx.mention(s, source_ids, text="skylark fresh", author="@kim@example.social", at=today)
    db.dispose()
    return tmp_path


def test_erase_command_exit_codes(site: Path) -> None:
    bad = earful("erase", "--author", "jo", "--yes", cwd=site)
    assert bad.returncode == 2 and "PLATFORM:HANDLE" in bad.stderr
    unknown = earful("erase", "--author", "myspace:@jo", "--yes", cwd=site)
    assert unknown.returncode == 2 and "PLATFORM:HANDLE" in unknown.stderr
    nobody = earful("erase", "--author", "mastodon:@nobody@x", "--yes", cwd=site)
    assert nobody.returncode == 2 and "nothing to erase" in nobody.stderr
    agent = earful("erase", "--author", f"mastodon:{JO}", "--as", "ann", "--yes", cwd=site)
    assert agent.returncode == 1 and "admin" in agent.stderr
    ghost = earful("erase", "--author", f"mastodon:{JO}", "--as", "ghost", "--yes", cwd=site)
    assert ghost.returncode == 2 and "ghost" in ghost.stderr
    unconfirmed = earful("erase", "--author", f"mastodon:{JO}", "--as", "root", cwd=site)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    done = earful("erase", "--author", f"mastodon:{JO}", "--as", "root", "--yes", "--json", cwd=site)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mentions"] == 1
    assert "Traceback" not in bad.stderr + unknown.stderr + agent.stderr + done.stderr


def test_erase_command_erases_a_customer_across_accounts(site: Path) -> None:
    both = earful("erase", "--author", f"mastodon:{JO}", "--customer", "1", "--yes", cwd=site)
    assert both.returncode == 2 and "--author" in both.stderr and "--customer" in both.stderr
    neither = earful("erase", "--yes", cwd=site)
    assert neither.returncode == 2 and "--customer ID" in neither.stderr
    unlinked = earful("erase", "--customer", f"mastodon:{JO}", "--as", "root", "--yes", cwd=site)
    assert unlinked.returncode == 2 and "--author" in unlinked.stderr
    linked = earful("customers", "link", f"mastodon:{JO}", "mastodon:@kim@example.social", "--as", "root", cwd=site)
    assert linked.returncode == 0, linked.stderr
    customer_id = linked.stdout.split()[-1]
    agent = earful("erase", "--customer", customer_id, "--as", "ann", "--yes", cwd=site)
    assert agent.returncode == 1 and "admin" in agent.stderr
    done = earful("erase", "--customer", customer_id, "--as", "root", "--yes", "--json", cwd=site)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["authors"], result["mentions"], result["customer_deleted"]) == (2, 2, True)
    db = Database.open(f"sqlite:///{site / 'e.db'}")
    with db.session() as s:
        assert not s.scalars(sa.select(Author)).all() and not s.scalars(sa.select(Mention)).all()
    db.dispose()


def test_retention_command(site: Path) -> None:
    unset = earful("retention", "apply", cwd=site)
    assert unset.returncode == 2 and "retention.days" in unset.stderr
    zero = earful("retention", "apply", "--days", "0", cwd=site)
    assert zero.returncode == 2 and "--days" in zero.stderr
    done = earful("retention", "apply", "--days", "30", "--json", cwd=site)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mentions"] == 1
    (site / "config.yaml").write_text((site / "config.yaml").read_text() + "retention: {days: 0}\n")
    invalid = earful("retention", "apply", cwd=site)
    assert invalid.returncode == 2 and "retention.days" in invalid.stderr


def test_the_scheduler_runs_retention_only_when_days_is_set() -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from core.config import Settings
    from listener.scheduler import RETENTION_JOB, schedule_retention

    scheduler = BackgroundScheduler(timezone="UTC")
    assert schedule_retention(scheduler, Settings.model_validate({"retention": {"days": 90}}), None, now=NOW) == [RETENTION_JOB]
    job = scheduler.get_job(RETENTION_JOB)
    # on one node at a time: through the job lock
    assert job.func_ref == "core.runtimes:run_exclusive" and job.args == (RETENTION_JOB, "core.privacy:retention_job", None)
    assert job.trigger.interval == timedelta(hours=1)
    assert schedule_retention(scheduler, Settings(), None) == [] and scheduler.get_job(RETENTION_JOB) is None
