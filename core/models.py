"""Earful's data model (SQLAlchemy 2 typed ORM).

Every table is created by Alembic migrations in `core/migrations/`, never by `create_all`, so a
production database and a test database are built the same way.

Times are stored in UTC. `UTCDateTime` makes SQLite (which keeps no zone) hand back aware datetimes
like PostgreSQL does, so code never compares naive with aware values.

Some values are deliberately denormalised because the dashboard reads them on hot paths over
millions of rows: a mention carries its current sentiment and urgency (copied from its newest
score), `mention_brands` carries the mention's time, and a case carries the highest urgency of its
mentions. Each copy is written by exactly one function in `core.store`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime column that always round-trips as aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Role(str, enum.Enum):
    viewer = "viewer"
    agent = "agent"
    pr = "pr"
    manager = "manager"
    admin = "admin"


class CaseStatus(str, enum.Enum):
    new = "new"
    open = "open"
    pending = "pending"
    closed = "closed"


class ReplyState(str, enum.Enum):
    draft = "draft"
    approved = "approved"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    verify = "verify"  # the platform may have accepted it; a human must check before any resend


class SourceHealth(str, enum.Enum):
    unknown = "unknown"
    ok = "ok"
    degraded = "degraded"  # transient errors, backing off
    paused = "paused"  # rate limited or over budget until paused_until
    unhealthy = "unhealthy"  # needs a human (bad credentials, missing scope)


class DeliveryState(str, enum.Enum):
    pending = "pending"  # waiting for its (next) attempt
    sent = "sent"
    failed = "failed"  # gave up: attempts exhausted or the endpoint refused for good


class AlertStatus(str, enum.Enum):
    open = "open"
    escalated = "escalated"
    acknowledged = "acknowledged"
    resolved = "resolved"


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    is_competitor: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    queries: Mapped[list[BrandQueryRow]] = relationship(
        back_populates="brand", cascade="all, delete-orphan", order_by="BrandQueryRow.id"
    )


class BrandQueryRow(Base):
    """One saved search of a brand: a boolean expression plus keyword/handle lists and filters."""

    __tablename__ = "brand_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(sa.ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    expression: Mapped[str] = mapped_column(sa.Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    handles: Mapped[list[Any]] = mapped_column(default=list)
    exclude: Mapped[list[Any]] = mapped_column(default=list)
    languages: Mapped[list[Any]] = mapped_column(default=list)

    brand: Mapped[Brand] = relationship(back_populates="queries")


class Source(Base):
    """A configured poller (one platform account or feed) and its health."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # never secrets: those stay ${VAR}
    enabled: Mapped[bool] = mapped_column(default=True)
    health: Mapped[SourceHealth] = mapped_column(_enum(SourceHealth, "source_health"), default=SourceHealth.unknown)
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None]  # when the current run of failures began; None while it succeeds
    paused_until: Mapped[datetime | None]
    items_collected: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    api_spend_usd: Mapped[Decimal] = mapped_column(sa.Numeric(12, 4), default=Decimal("0"))
    spend_day: Mapped[date | None] = mapped_column(sa.Date)
    spend_today_usd: Mapped[Decimal] = mapped_column(sa.Numeric(12, 4), default=Decimal("0"))


class SourceCursor(Base):
    """Where a source stopped reading, per key (a source may page several queries or feeds).

    Written in the same transaction as the mentions it covers (see `core.store.store_batch`).
    """

    __tablename__ = "source_cursors"

    source_id: Mapped[int] = mapped_column(sa.ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True, default="")
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(Base):
    """One person, possibly known through several platform authors."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    authors: Mapped[list[Author]] = relationship(back_populates="customer")


class Author(Base):
    __tablename__ = "authors"
    __table_args__ = (
        sa.UniqueConstraint("platform", "key", name="uq_authors_platform_key"),
        sa.Index("ix_authors_followers", "followers"),  # the most followed first (core.metrics.top_mentions)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    key: Mapped[str] = mapped_column(sa.String(300))  # native user id when known, else the handle
    handle: Mapped[str] = mapped_column(sa.String(300))
    name: Mapped[str | None] = mapped_column(sa.String(300))
    url: Mapped[str | None] = mapped_column(sa.Text)
    followers: Mapped[int | None] = mapped_column(sa.BigInteger)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    # A domain the platform verified as this person's (a Bluesky domain handle, a Mastodon profile
    # link with verified_at). Authors sharing one are linked to one customer automatically.
    verified_domain: Mapped[str | None] = mapped_column(sa.String(253), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer | None] = relationship(back_populates="authors")


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (
        sa.UniqueConstraint("platform", "native_id", name="uq_mentions_platform_native_id"),
        # The range scans of the reports and dashboard (core.metrics), with what they filter on; on
        # PostgreSQL with what the Reputation page counts, so its pass over a period reads the index alone.
        sa.Index("ix_mentions_created_at", "created_at", "is_own", "platform",
                 postgresql_include=["id", "sentiment", "topics"]),
        sa.Index("ix_mentions_unscored", "scored_at", "id"),
        sa.Index("ix_mentions_conversation", "platform", "conversation_id"),
        sa.Index("ix_mentions_sentiment_time", "sentiment", "created_at"),
        # Scored mentions the responder has not yet looked at (see responder.cases.triage).
        sa.Index("ix_mentions_untriaged", "triaged_at", "scored_at"),
        # The inbox order: most urgent first (unscored last), then newest. See core.inbox.INBOX_ORDER.
        sa.Index("ix_mentions_urgency_time", sa.text("coalesce(urgency, -1.0) DESC"), sa.text("created_at DESC")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    native_id: Mapped[str] = mapped_column(sa.String(300))
    source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sources.id", ondelete="SET NULL"))
    url: Mapped[str | None] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.Text)
    text: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str | None] = mapped_column(sa.String(12))
    created_at: Mapped[datetime]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authors.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[str | None] = mapped_column(sa.String(300))
    conversation_id: Mapped[str | None] = mapped_column(sa.String(300))
    likes: Mapped[int] = mapped_column(default=0)
    reposts: Mapped[int] = mapped_column(default=0)
    replies: Mapped[int] = mapped_column(default=0)
    is_own: Mapped[bool] = mapped_column(default=False)  # posted by one of the brand's own accounts
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Copied from the newest score by core.store.record_scores; NULL until scored. The topics too, so
    # the period figures (topics over time, topic trends) read the mention alone, not its score.
    scored_at: Mapped[datetime | None]
    sentiment: Mapped[str | None] = mapped_column(sa.String(10))
    urgency: Mapped[float | None]
    # None is SQL NULL here, not JSON null: jsonb_array_elements_text fails on a JSON scalar.
    topics: Mapped[list[Any] | None] = mapped_column(
        sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"), default=None)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    # When the responder decided whether this mention opens or joins a case (NULL: not yet).
    triaged_at: Mapped[datetime | None]

    author: Mapped[Author | None] = relationship()
    brands: Mapped[list[Brand]] = relationship(secondary="mention_brands", viewonly=True)
    scores: Mapped[list[Score]] = relationship(back_populates="mention", cascade="all, delete-orphan")


class MentionBrand(Base):
    """Which brands (own or competitor) a mention matched; carries the time for trend queries."""

    __tablename__ = "mention_brands"
    __table_args__ = (sa.Index("ix_mention_brands_brand_time", "brand_id", "created_at", postgresql_include=["mention_id"]),)

    mention_id: Mapped[int] = mapped_column(sa.ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(sa.ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime]


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (sa.UniqueConstraint("mention_id", "model_version", name="uq_scores_mention_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(sa.ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(sa.String(100))
    sentiment: Mapped[str] = mapped_column(sa.String(10))
    p_negative: Mapped[float]
    p_neutral: Mapped[float]
    p_positive: Mapped[float]
    # p_* above are adapted to the brand's class mix (sentiment.adaptation); these are the model's own.
    # NULL on scores written before adaptation existed (migration 0008), whose p_* are the model's own.
    raw_p_negative: Mapped[float | None]
    raw_p_neutral: Mapped[float | None]
    raw_p_positive: Mapped[float | None]
    valence: Mapped[float]
    urgency: Mapped[float]
    urgency_reasons: Mapped[list[Any]] = mapped_column(default=list)
    intent: Mapped[str] = mapped_column(sa.String(20))
    topics: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mention: Mapped[Mention] = relationship(back_populates="scores")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(100), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"), default=Role.viewer)
    team: Mapped[str | None] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_inbox", "status", "urgency", "first_response_due"),
        # Each agent's cases by status, with what the Team page's workload reads (responder.team).
        sa.Index("ix_cases_assignee_status", "assignee_id", "status", "opened_at", "first_response_at",
                 "first_response_due"),
        sa.Index("ix_cases_opened_at", "opened_at"),  # the cases of a period (core.metrics)
        sa.Index("ix_cases_holds", "held_by_id", "hold_expires_at"),
        sa.Index("ix_cases_thread", "platform", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int | None] = mapped_column(sa.ForeignKey("brands.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(sa.String(20))
    conversation_id: Mapped[str | None] = mapped_column(sa.String(300))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authors.id", ondelete="SET NULL"))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"), default=CaseStatus.new)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None]  # round-robin picks the agent whose last assignment is oldest
    team: Mapped[str | None] = mapped_column(sa.String(100))
    sla_policy: Mapped[str | None] = mapped_column(sa.String(100))
    urgency: Mapped[float] = mapped_column(default=0.0)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    first_response_breached: Mapped[bool] = mapped_column(default=False)
    resolution_breached: Mapped[bool] = mapped_column(default=False)
    held_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    hold_expires_at: Mapped[datetime | None]
    csat_score: Mapped[int | None]
    csat_comment: Mapped[str | None] = mapped_column(sa.Text)
    csat_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    csat_answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    mentions: Mapped[list[Mention]] = relationship(order_by="Mention.created_at")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    author: Mapped[Author | None] = relationship()


class Reply(Base):
    """An outgoing public reply: an outbox row with an idempotency key and a state machine."""

    __tablename__ = "replies"
    __table_args__ = (sa.Index("ix_replies_state", "state", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # Indexed for the foreign key: deleting mentions (retention, erasure) looks their replies up.
    in_reply_to_id: Mapped[int] = mapped_column(sa.ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[ReplyState] = mapped_column(_enum(ReplyState, "reply_state"), default=ReplyState.draft)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    needs_approval: Mapped[bool] = mapped_column(default=False)
    author_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Set when the author asks for approval; cleared (with review_note) when an approver rejects it.
    submitted_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(sa.Text)
    # The source whose account posts it (the source that collected the mention answered).
    source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sources.id", ondelete="SET NULL"))
    # Sentence embedding of the mention this answered: suggestions rank past replies by it.
    context_embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    platform_reply_id: Mapped[str | None] = mapped_column(sa.String(300))
    platform_url: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    dry_run: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class Note(Base):
    """An internal note on a case. Never leaves Earful."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (sa.Index("ix_alerts_status_opened", "status", "opened_at"),
                      sa.Index("ix_alerts_kind_subject", "kind", "subject"))

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int | None] = mapped_column(sa.ForeignKey("brands.id", ondelete="CASCADE"))
    topic: Mapped[str | None] = mapped_column(sa.String(200))
    # Reputation: volume_spike, negative_spike (about a brand). Operational (core.ops_alerts): auth_failed,
    # over_budget, source_failing, sender_failing, channel_failing (about `subject`).
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str | None] = mapped_column(sa.String(200))  # source:NAME, sender:NAME, channel:NAME
    severity: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus, "alert_status"), default=AlertStatus.open)
    summary: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class AlertMention(Base):
    __tablename__ = "alert_mentions"

    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    # Its own index too (the primary key leads with alert_id): deleting mentions looks their links up.
    mention_id: Mapped[int] = mapped_column(sa.ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class Notification(Base):
    """One message to one channel (an alert event or a report): an outbox row the notify job delivers
    with retries, so a slow or failing endpoint never holds up detection."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(100))
    event: Mapped[str] = mapped_column(sa.String(20))  # opened, escalated, resolved, report
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState, "delivery_state"), default=DeliveryState.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(100))  # username, or "system"
    action: Mapped[str] = mapped_column(sa.String(60))
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(100))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Correction(Base):
    """A staff correction of model output; `earful train` learns from these."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(sa.ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(sa.String(20))  # sentiment, urgency, topic, intent
    old_value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    new_value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_version: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BrandPriors(Base):
    """An own brand's class mix (negative, neutral, positive) as estimated from its recent
    unlabeled mentions with one model version's probabilities (sentiment.adaptation); the scorer
    adapts that brand's mentions to it. One row per (brand, model version), refreshed on a schedule."""

    __tablename__ = "brand_priors"
    __table_args__ = (sa.UniqueConstraint("brand_id", "model_version", name="uq_brand_priors_brand_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(sa.ForeignKey("brands.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(sa.String(100))
    p_negative: Mapped[float]
    p_neutral: Mapped[float]
    p_positive: Mapped[float]
    # False: too few mentions in the window (sentiment.adaptation.min_mentions); p_* are then the
    # model's training mix and the brand's mentions are scored without adaptation.
    adapted: Mapped[bool] = mapped_column(default=False)
    mentions: Mapped[int] = mapped_column(default=0)  # how many mentions it was estimated from
    iterations: Mapped[int] = mapped_column(default=0)
    converged: Mapped[bool] = mapped_column(default=True)
    estimated_at: Mapped[datetime] = mapped_column(default=utcnow)
