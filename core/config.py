"""Configuration: loaded once into a frozen, typed object.

Precedence, highest first: command-line flags > `EARFUL_*` environment variables > the config file >
defaults. The file is `--config PATH`, else `$EARFUL_CONFIG`, else `./config.yaml`; with none of
those, defaults alone apply. Nested keys are overridden from the environment with `__` between the
parts: `EARFUL_DATABASE__URL`, `EARFUL_DASHBOARD__PORT`.

Secrets are never written into the file: a secret key must hold a `${VAR}` reference, resolved from
the environment at load time (any other string may use `${VAR}` too). A relative SQLite path is
taken relative to the folder of the config file it came from, so a config and its database travel
together.

Every problem is reported as a `ConfigError` naming the file and the key; the CLI exits 2 on it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Union
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import ConfigError
from core.mention import PLATFORMS

ENV_PREFIX = "EARFUL_"
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Keys whose values are credentials. A literal value under one of these names is refused.
SECRET_KEYS = frozenset(
    {
        "password",
        "app_password",
        "client_secret",
        "consumer_secret",
        "access_token",
        "access_token_secret",
        "bearer_token",
        "api_key",
        "oauth_refresh_token",
        "webhook_url",
    }
)
MASK = "***"
# scheme://user:password@ anywhere in a text; the password part is what gets masked.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@'\"]*:)(?P<password>[^\s@'\"]+)(?=@)")


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every URL in it masked; a ${VAR} reference stays as written."""
    return _URL_PASSWORD.sub(
        lambda m: m["head"] + (m["password"] if REFERENCE.fullmatch(m["password"]) else MASK), text)


@dataclass(frozen=True, slots=True)
class Substitution:
    """A string of the config file that held ${VAR} references: where it is, as written and as resolved.

    Anything that quotes configuration (an error, `earful config check`) shows `written`: the
    resolved value may be a secret whatever its key is called."""

    trail: tuple[str | int, ...]
    written: str
    resolved: str
    values: tuple[tuple[str, str], ...]  # (the variable's value, "${NAME}") for each reference in it

    def touches(self, keys: tuple[str | int, ...]) -> bool:
        """True when this string lies under `keys` or `keys` lies under it."""
        n = min(len(keys), len(self.trail))
        return self.trail[:n] == keys[:n]


def hide_substitutions(text: str, substitutions: tuple[Substitution, ...] | list[Substitution]) -> str:
    """`text` with every resolved value of `substitutions` put back as written, and URL passwords masked."""
    pairs: list[tuple[str, str]] = []
    for sub in substitutions:
        pairs.append((sub.resolved, sub.written))
        pairs.extend(sub.values)
    for value, shown in sorted(pairs, key=lambda pair: -len(pair[0])):
        if value:
            for form in dict.fromkeys((value, repr(value)[1:-1], value.encode("unicode_escape").decode())):
                text = text.replace(form, shown)
    return mask_url_passwords(text)


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL; write it like https://example.com/path")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The URL spellings Earful talks to: SQLite through Python's sqlite3, PostgreSQL through psycopg 3
# (core/db.py sets psycopg-only connection options). Anything else gets a hint naming the right one.
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
SQLITE_EXAMPLE = "sqlite:///earful.db"
POSTGRES_EXAMPLE = "postgresql+psycopg://user:${PGPASSWORD}@host:5432/dbname"


class DatabaseConfig(Section):
    url: str = "sqlite:///earful.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"this is not a database URL; use {SQLITE_EXAMPLE} or {POSTGRES_EXAMPLE}") from None
        hint = unsupported_url_hint(url.drivername)
        if hint:
            raise ValueError(hint)
        return value


def unsupported_url_hint(drivername: str) -> str | None:
    """None for a URL scheme Earful supports, else what is wrong with it and the spelling to use."""
    if drivername in DATABASE_DRIVERS:
        return None
    backend, _, driver = drivername.partition("+")
    if backend == "postgres":
        return (f"{drivername}:// is an old spelling SQLAlchemy no longer reads; use postgresql+psycopg:// "
                f"(e.g. {POSTGRES_EXAMPLE})")
    if backend == "postgresql":
        return (f"the driver {driver!r} is not supported: Earful reaches PostgreSQL through psycopg 3; "
                f"use postgresql+psycopg:// (e.g. {POSTGRES_EXAMPLE})")
    if backend == "sqlite":
        return f"the SQLite driver {driver!r} is not supported; use sqlite:/// with Python's sqlite3 (e.g. {SQLITE_EXAMPLE})"
    return (f"the database {backend!r} is not supported; use postgresql+psycopg:// (e.g. {POSTGRES_EXAMPLE}) "
            f"or SQLite ({SQLITE_EXAMPLE})")


class DashboardConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=1, le=65535)
    title: str = "Earful"


class SchedulerConfig(Section):
    misfire_grace_seconds: int = Field(30, ge=1)
    backoff_max_seconds: int = Field(900, ge=1)


class SandboxConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8700, ge=0, le=65535)
    seed: int = 7
    rate_per_minute: float = Field(30.0, gt=0)
    spike_after_minutes: float | None = Field(1.0, ge=0)

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only listens on the loopback interface (127.0.0.1)")
        return value


class TopicConfig(Section):
    """One topic of `sentiment.topics`: a description and, optionally, example mentions and its own
    threshold (sentiment.topics says how they are scored). A bare string is the description."""

    description: str = Field(min_length=1)
    examples: tuple[str, ...] = ()
    threshold: float | None = Field(None, ge=-1, le=1)

    @model_validator(mode="before")
    @classmethod
    def _a_string_is_the_description(cls, value: object) -> object:
        return {"description": value} if isinstance(value, str) else value

    @field_validator("examples")
    @classmethod
    def _examples_have_text(cls, examples: tuple[str, ...]) -> tuple[str, ...]:
        if any(not e.strip() for e in examples):
            raise ValueError("an empty example; give the text of a mention about the topic, or leave it out")
        return examples


DEFAULT_TOPICS = {
    "safety": "danger, injury, fire, smoke, burns, unsafe product, health hazard",
    "legal threat": "lawyer, lawsuit, sue, court, legal action, regulator complaint",
    "outage": "service down, not working, cannot log in, app crashes, site unreachable",
    "hacked account": "account hacked, stolen password, unauthorised charges, fraud",
    "cancellation": "cancel my subscription, close my account, switching to a competitor",
}


MAX_TOPIC_NAME = 60


class CorporaConfig(Section):
    """Folders of labelled tweets that `earful train` and `earful eval --tweeteval` read (docs/model.md
    says where to obtain them). Relative paths are from the folder of the configuration file; a
    folder that is not set or not there is no error: training goes on without it and says so."""

    semeval: str | None = None
    tweeteval: str | None = None

    @field_validator("semeval", "tweeteval")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty path; give the folder, or null to go without it")
        return value

    def anchored(self, base_dir: Path) -> CorporaConfig:
        """The same folders, relative ones made absolute from `base_dir`."""
        return self.model_copy(update={name: str((base_dir / Path(value).expanduser()).resolve())
                                       for name, value in (("semeval", self.semeval), ("tweeteval", self.tweeteval))
                                       if value is not None})


class AdaptationConfig(Section):
    """Prior-shift adaptation (sentiment.adaptation, docs/model.md): each own brand's class mix,
    estimated from its recent unlabeled mentions, corrects the sentiment probabilities of its mentions."""

    enabled: bool = True
    window_days: float = Field(14.0, gt=0)
    min_mentions: int = Field(200, ge=1)
    max_mentions: int = Field(20_000, ge=1)  # the newest this many in the window; bounds the job's memory
    interval_seconds: int = Field(3600, ge=60)
    tolerance: float = Field(1e-6, gt=0, lt=1)
    max_iterations: int = Field(1, ge=1, le=100_000)  # one EM step: see docs/model.md, "Prior shift"

    @model_validator(mode="after")
    def _enough_room(self) -> AdaptationConfig:
        if self.min_mentions > self.max_mentions:
            raise ValueError(f"min_mentions ({self.min_mentions}) is above max_mentions ({self.max_mentions}); "
                             "no brand could ever be adapted")
        return self


class FineTuneConfig(Section):
    """`earful train --fine-tune` (sentiment.fine_tune, docs/model.md "Fine-tuning"): the encoder and a
    3-class head trained end to end, within a wall-time bound, checkpointed so a stopped run resumes."""

    max_minutes: float = Field(60.0, gt=0)  # per invocation; the run checkpoints and stops at it
    max_steps: int | None = Field(None, ge=1)  # optimiser steps in all (the schedule's length); null: every epoch
    epochs: int = Field(1, ge=1, le=100)
    learning_rate: float = Field(5e-5, gt=0, lt=1)  # the encoder's
    head_learning_rate: float = Field(1e-3, gt=0, lt=1)  # the new head's, on unit-length vectors
    warmup_fraction: float = Field(0.06, ge=0, le=0.5)
    batch_size: int = Field(32, ge=1, le=1024)
    max_length: int = Field(64, ge=8, le=512)
    checkpoint_every: int = Field(200, ge=1)
    checkpoint_dir: str | None = None  # null: fine-tune/checkpoints in the data directory (paths.data_dir)
    output_dir: str | None = None  # null: fine-tune/models in the data directory (paths.data_dir)
    seed: int = Field(0, ge=0)

    @field_validator("checkpoint_dir", "output_dir")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty path; give a folder, or null for the default in paths.data_dir")
        return value

    def anchored(self, base_dir: Path) -> FineTuneConfig:
        """The same folders, relative ones made absolute from `base_dir`."""
        return self.model_copy(update={name: str((base_dir / Path(value).expanduser()).resolve())
                                       for name, value in (("checkpoint_dir", self.checkpoint_dir),
                                                           ("output_dir", self.output_dir))
                                       if value is not None})


class PathsConfig(Section):
    """Where Earful keeps what it makes (core.paths): trained models, caches, fine-tuned models.
    Never the installed package: its model is the read-only default until `earful train` writes one."""

    # null: the folder earful-data beside the configuration file, or without one the platform's user
    # data folder (platformdirs: ~/.local/share/earful on Linux). Relative: from the configuration file's folder.
    data_dir: str | None = None

    @field_validator("data_dir")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty path; give a folder, or null for earful-data beside the configuration file")
        return value

    def anchored(self, base_dir: Path, config_path: Path | None) -> PathsConfig:
        """`data_dir` made absolute: relative from `base_dir`, or the default for `config_path`."""
        from core.paths import default_data_dir

        if self.data_dir is None:
            return self.model_copy(update={"data_dir": str(default_data_dir(config_path))})
        return self.model_copy(update={"data_dir": str((base_dir / Path(self.data_dir).expanduser()).resolve())})


class SentimentConfig(Section):
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = Field(64, ge=1, le=4096)
    max_length: int = Field(128, ge=8, le=512)
    threads: int = Field(0, ge=0)
    topics: dict[str, TopicConfig] = Field(
        default_factory=lambda: {name: TopicConfig(description=text) for name, text in DEFAULT_TOPICS.items()})
    topic_threshold: float = Field(0.35, ge=-1, le=1)
    # A mention keeps its most similar topics, at most this many: a mention "about everything" says
    # nothing, and the list stays small enough for the period index that carries it (docs/config.md).
    max_topics: int = Field(5, ge=1, le=10)
    risk_topics: tuple[str, ...] = tuple(DEFAULT_TOPICS)
    reach_followers: int = Field(10_000, ge=0)
    velocity_per_hour: float = Field(20.0, gt=0)
    correction_weight: int = Field(5, ge=1, le=1000)
    interval_seconds: int = Field(15, ge=1)
    quantize: Literal["int8", "none"] = "int8"
    # Scoring runtime: auto = torch on a CUDA GPU, ONNX Runtime on CPU (docs/model.md).
    runtime: Literal["auto", "onnx", "torch"] = "auto"
    train_at: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    corpora: CorporaConfig = CorporaConfig()
    adaptation: AdaptationConfig = AdaptationConfig()
    fine_tune: FineTuneConfig = FineTuneConfig()

    @field_validator("topics")
    @classmethod
    def _topic_names_are_short(cls, topics: dict[str, str]) -> dict[str, str]:
        long = [name for name in topics if not 1 <= len(name.strip()) <= MAX_TOPIC_NAME]
        if long:
            raise ValueError(f"topic names must be 1 to {MAX_TOPIC_NAME} characters (the description can be longer): "
                             f"{long}")
        return topics

    @model_validator(mode="after")
    def _risk_topics_exist(self) -> SentimentConfig:
        unknown = [t for t in self.risk_topics if t not in self.topics]
        if unknown:
            raise ValueError(f"risk_topics {unknown} are not among sentiment.topics; add a description for each")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


class When(Section):
    """A condition on a case, its newest mention or the acting agent. Every key given must hold;
    an empty `when` always holds. Used by assignment, SLA and approval rules."""

    urgency_at_least: float | None = Field(None, ge=0, le=1)
    reach_at_least: int | None = Field(None, ge=0)  # the author's followers
    platforms: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()  # any of these topics
    intents: tuple[str, ...] = ()  # any of these intents
    sentiments: tuple[Literal["negative", "neutral", "positive"], ...] = ()
    agent_teams: tuple[str, ...] = ()  # approval only: the team of the agent writing the reply

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in PLATFORMS]
        if unknown:
            raise ValueError(f"unknown platforms {unknown}; use some of {', '.join(PLATFORMS)}")
        return value


class CasesConfig(Section):
    # Mentions scored below this urgency open no case (they stay in the mention stream).
    min_urgency: float = Field(0.0, ge=0, le=1)
    # A new mention from the same customer about the same brand joins their open case within this window.
    merge_hours: float = Field(72.0, gt=0)
    # A new mention in the thread of a case closed less than this long ago reopens it.
    reopen_days: float = Field(7.0, ge=0)
    # How long an agent's hold on a case (collision protection) lasts without activity.
    hold_minutes: float = Field(10.0, gt=0)
    interval_seconds: int = Field(15, ge=1)


class AssignmentRule(Section):
    when: When = When()
    team: str = Field(min_length=1)


class AssignmentConfig(Section):
    mode: Literal["round_robin", "manual"] = "round_robin"
    default_team: str = "care"
    # Open (not closed) cases an agent may hold at once; round-robin skips agents at the limit.
    capacity: int = Field(25, ge=1)
    rules: tuple[AssignmentRule, ...] = ()


class BusinessHours(Section):
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: str = Field("09:00", pattern=HHMM)
    end: str = Field("17:30", pattern=HHMM)

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        if not self.days:
            raise ValueError("days is empty; list at least one weekday (mon..sun)")
        return self


class SlaPolicy(Section):
    name: str = Field(min_length=1, max_length=100)
    when: When = When()
    first_response_minutes: float = Field(gt=0)
    resolution_hours: float = Field(gt=0)
    # true: the clock runs only in business hours; false: around the clock (24/7 teams, crises).
    business_hours_only: bool = True


class SlaConfig(Section):
    timezone: str = "UTC"
    business_hours: BusinessHours = BusinessHours()
    # Public holidays that stop the clock: an ISO country code known to the `holidays` package
    # (GB, US, DE ...), optionally with a subdivision (GB-SCT, US-CA); null for none.
    holidays: str | None = None
    # Extra closed dates (YYYY-MM-DD), e.g. a company shutdown.
    closed_dates: tuple[date, ...] = ()
    # The first policy whose `when` holds applies; a case matching none gets no due times.
    policies: tuple[SlaPolicy, ...] = (
        SlaPolicy(name="standard", first_response_minutes=60, resolution_hours=24),
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/London") from None
        return value

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import holidays

        country, _, subdivision = value.partition("-")
        try:
            holidays.country_holidays(country.upper(), subdiv=subdivision.upper() or None)
        except (NotImplementedError, KeyError) as exc:
            raise ValueError(f"{value!r} is not a country (or subdivision) the holidays package knows: {exc}") from None
        return value


class ApprovalConfig(Section):
    # A reply needs a pr/manager/admin's approval when any rule's `when` holds.
    rules: tuple[When, ...] = ()


class SavedReply(Section):
    name: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1)
    platforms: tuple[str, ...] = ()  # empty: offered on every platform


class CsatConfig(Section):
    enabled: bool = False
    # Where customers answer: the dashboard's public survey page; {token} is filled in per case.
    url: str = "http://127.0.0.1:8501/?csat={token}"
    message: str = "Thanks {author_name}, we're glad we could help. How did we do? {csat_link}"


class SenderConfig(Section):
    interval_seconds: int = Field(5, ge=1)
    timeout_seconds: float = Field(20.0, gt=0)
    max_attempts: int = Field(5, ge=1)
    backoff_max_seconds: int = Field(600, ge=1)
    # A reply left in "sending" longer than this was abandoned by a crashed sender: it is reconciled.
    lease_seconds: float = Field(120.0, gt=0)


class SuggestionsConfig(Section):
    # How often the scorer role stores the sentence embedding of newly sent replies (suggestions).
    interval_seconds: int = Field(60, ge=5)


class ResponderConfig(Section):
    cases: CasesConfig = CasesConfig()
    assignment: AssignmentConfig = AssignmentConfig()
    sla: SlaConfig = SlaConfig()
    approval: ApprovalConfig = ApprovalConfig()
    saved_replies: tuple[SavedReply, ...] = ()
    # Values for custom placeholders in saved replies: {support_url} and the like.
    fields: dict[str, str] = Field(default_factory=dict)
    csat: CsatConfig = CsatConfig()
    sender: SenderConfig = SenderConfig()
    suggestions: SuggestionsConfig = SuggestionsConfig()

    @model_validator(mode="after")
    def _check_saved_replies(self) -> ResponderConfig:
        names = [r.name for r in self.saved_replies]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"saved_replies: the names {dupes} are used twice; names must be unique")
        known = set(REPLY_PLACEHOLDERS) | set(self.fields)
        for i, saved in enumerate(self.saved_replies):
            _check_placeholders(saved.text, known, f"saved_replies[{i}].text")
        _check_placeholders(self.csat.message, known | {"csat_link"}, "csat.message")
        if self.csat.enabled and "{csat_link}" not in self.csat.message:
            raise ValueError("csat.message: it must contain {csat_link}, or customers get no survey link")
        if "{token}" not in self.csat.url:
            raise ValueError("csat.url: it must contain {token}, the per-case survey token")
        return self


# Placeholders every saved reply may use; responder.fields adds custom ones.
REPLY_PLACEHOLDERS = ("author_name", "author_handle", "brand", "case_id", "agent_name", "platform")


def _check_placeholders(text: str, known: set[str], where: str) -> None:
    import string

    try:
        used = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}; write a literal brace as {{{{ or }}}}") from None
    for name in used:
        if name not in known:
            raise ValueError(f"{where}: unknown placeholder {{{name}}}; use one of "
                             f"{', '.join('{' + k + '}' for k in sorted(known))} or add it under responder.fields")


AlertKind = Literal["volume_spike", "negative_spike"]
AlertEvent = Literal["opened", "escalated", "resolved"]


class SeverityLevel(Section):
    name: str = Field(min_length=1, max_length=16, pattern=r"^[a-z][a-z0-9_-]*$")
    ratio: float = Field(gt=1)


class ChannelBase(Section):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SlackChannel(ChannelBase):
    type: Literal["slack"]
    webhook_url: SecretStr


class WebhookChannel(ChannelBase):
    type: Literal["webhook"]
    webhook_url: SecretStr


class EmailChannel(ChannelBase):
    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(min_length=3)
    recipients: tuple[str, ...] = Field(min_length=1)
    # A relay whose certificate a private or self-signed CA signed: trust that CA (PEM) instead of the system's.
    ca_file: str | None = None

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"{value} is not a file; give the path of the PEM file holding the CA certificate "
                             "that signed the SMTP server's certificate, or remove ca_file to trust the system's CAs")
        return value

    @model_validator(mode="after")
    def _ca_file_needs_tls(self) -> EmailChannel:
        if self.ca_file is not None and self.security == "none":
            raise ValueError("ca_file is set but security is none, so no certificate is checked; "
                             "set security to starttls or ssl, or remove ca_file")
        return self


ChannelConfig = Annotated[Union[SlackChannel, WebhookChannel, EmailChannel], Field(discriminator="type")]


class AlertRule(Section):
    """Send alerts that match to `channels`. An empty list matches everything."""

    kinds: tuple[AlertKind, ...] = ()
    brands: tuple[str, ...] = ()
    min_severity: str | None = None
    events: tuple[AlertEvent, ...] = ("opened", "escalated", "resolved")
    channels: tuple[str, ...] = Field(min_length=1)


class NotifyConfig(Section):
    interval_seconds: int = Field(30, ge=1)
    timeout_seconds: float = Field(10.0, gt=0)
    max_attempts: int = Field(6, ge=1)
    backoff_seconds: float = Field(30.0, gt=0)
    backoff_max_seconds: float = Field(1800.0, gt=0)


class WeeklyReportConfig(Section):
    enabled: bool = False
    day: Weekday = "mon"
    time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    brand: str | None = None
    channels: tuple[str, ...] = ()


class OperationalAlertsConfig(Section):
    """Alerts about Earful's own machinery (core.ops_alerts): a source, a sender or a channel that needs a human."""

    enabled: bool = True
    channels: tuple[str, ...] = ()  # empty: every channel in alerts.channels
    source_failing_minutes: float = Field(60.0, gt=0)
    sender_failures: int = Field(3, ge=1)
    channel_failures: int = Field(1, ge=1)


class AlertsConfig(Section):
    enabled: bool = True
    interval_seconds: int = Field(300, ge=1)
    window_minutes: float = Field(30.0, gt=0, le=24 * 60)
    baseline_weeks: int = Field(4, ge=1, le=12)
    baseline_padding_minutes: float = Field(60.0, ge=0)
    trailing_hours: float = Field(24.0, gt=0)
    p_value: float = Field(0.0001, gt=0, lt=1)
    min_count: int = Field(10, ge=1)
    min_negative: int = Field(8, ge=1)
    min_share_increase: float = Field(0.15, ge=0, le=1)
    resolve_after_minutes: float = Field(60.0, gt=0)
    topics: tuple[str, ...] = ()
    severities: tuple[SeverityLevel, ...] = (
        SeverityLevel(name="warning", ratio=2.0),
        SeverityLevel(name="major", ratio=4.0),
        SeverityLevel(name="critical", ratio=8.0),
    )
    channels: tuple[ChannelConfig, ...] = ()
    rules: tuple[AlertRule, ...] = ()
    notify: NotifyConfig = NotifyConfig()
    weekly_report: WeeklyReportConfig = WeeklyReportConfig()
    operational: OperationalAlertsConfig = OperationalAlertsConfig()

    @model_validator(mode="after")
    def _consistent(self) -> AlertsConfig:
        names = [s.name for s in self.severities]
        ratios = [s.ratio for s in self.severities]
        if not names:
            raise ValueError("severities is empty; list at least one level, e.g. {name: warning, ratio: 2}")
        if len(set(names)) != len(names) or ratios != sorted(set(ratios)):
            raise ValueError(f"severities: names must be unique and ratios rise strictly (got {list(zip(names, ratios))})")
        channels = [c.name for c in self.channels]
        dupes = sorted({n for n in channels if channels.count(n) > 1})
        if dupes:
            raise ValueError(f"channels: the names {dupes} are used twice; names must be unique")
        for i, rule in enumerate(self.rules):
            unknown = [c for c in rule.channels if c not in channels]
            if unknown:
                raise ValueError(f"rules[{i}].channels: {unknown} are not among alerts.channels; define them there")
            if rule.min_severity is not None and rule.min_severity not in names:
                raise ValueError(f"rules[{i}].min_severity: {rule.min_severity!r} is not a severity; use one of {names}")
        unknown = [c for c in self.weekly_report.channels if c not in channels]
        if unknown:
            raise ValueError(f"weekly_report.channels: {unknown} are not among alerts.channels; define them there")
        if self.weekly_report.enabled and not self.weekly_report.channels:
            raise ValueError("weekly_report.channels is empty; name the channels (an email channel) to send it to")
        unknown = [c for c in self.operational.channels if c not in channels]
        if unknown:
            raise ValueError(f"operational.channels: {unknown} are not among alerts.channels; define them there")
        return self


class RetentionConfig(Section):
    # Mentions older than this many days are deleted with their scores (never those in open cases);
    # None keeps everything.
    days: int | None = Field(None, ge=1)
    interval_seconds: int = Field(3600, ge=1)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class QueryConfig(Section):
    expression: str = ""
    keywords: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> QueryConfig:
        if not (self.expression.strip() or self.keywords or self.handles):
            raise ValueError("a query needs an expression, keywords or handles")
        return self


class BrandConfig(Section):
    name: str = Field(min_length=1, max_length=200)
    competitor: bool = False
    queries: tuple[QueryConfig, ...] = Field(min_length=1)


class SourceBase(Section):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    enabled: bool = True
    interval_seconds: int = Field(300, ge=5)
    # Per-request timeout of the platform client while polling: a silent platform fails the poll
    # (backed off and retried) instead of holding the listener.
    timeout_seconds: float = Field(20.0, gt=0, le=300)
    # Talk to the local sandbox with its published test credentials instead of the real platform.
    sandbox: bool = False
    dry_run: bool = False
    daily_budget_usd: float | None = Field(None, ge=0)


class XSource(SourceBase):
    platform: Literal["x"]
    base_url: HttpUrl = "https://api.twitter.com"
    bearer_token: SecretStr | None = None
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    owned_user_ids: tuple[str, ...] = ()
    price_post_read_usd: float = Field(0.005, ge=0)
    price_user_read_usd: float = Field(0.010, ge=0)
    price_post_create_usd: float = Field(0.015, ge=0)


class RedditSource(SourceBase):
    platform: Literal["reddit"]
    base_url: HttpUrl = "https://oauth.reddit.com"
    auth_url: HttpUrl = "https://www.reddit.com"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    user_agent: str = "earful/0.1 (self-hosted social listening)"
    subreddits: tuple[str, ...] = ()
    search_sitewide: bool = True


class MastodonSource(SourceBase):
    platform: Literal["mastodon"]
    base_url: HttpUrl = "https://mastodon.social"
    access_token: SecretStr | None = None
    owned_accounts: tuple[str, ...] = ()


class BlueskySource(SourceBase):
    platform: Literal["bluesky"]
    base_url: HttpUrl = "https://bsky.social"
    handle: str | None = None
    app_password: SecretStr | None = None


class YouTubeSource(SourceBase):
    platform: Literal["youtube"]
    base_url: HttpUrl = "https://www.googleapis.com"
    api_key: SecretStr | None = None
    # Replying and moderating act as the channel: an OAuth client and the channel owner's refresh token.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    oauth_refresh_token: SecretStr | None = None
    token_uri: HttpUrl = "https://oauth2.googleapis.com/token"
    channel_ids: tuple[str, ...] = ()
    search_terms: bool = True


class HackerNewsSource(SourceBase):
    platform: Literal["hackernews"]
    base_url: HttpUrl = "https://hn.algolia.com"


class DiscourseSource(SourceBase):
    platform: Literal["discourse"]
    base_url: HttpUrl
    api_key: SecretStr | None = None
    api_username: str | None = None


class RssSource(SourceBase):
    platform: Literal["rss"]
    feeds: tuple[HttpUrl, ...] = Field(min_length=1)


SourceConfig = Annotated[
    Union[
        XSource,
        RedditSource,
        MastodonSource,
        BlueskySource,
        YouTubeSource,
        HackerNewsSource,
        DiscourseSource,
        RssSource,
    ],
    Field(discriminator="platform"),
]


class Settings(Section):
    """The whole effective configuration. Built only by `load_config`."""

    database: DatabaseConfig = DatabaseConfig()
    dashboard: DashboardConfig = DashboardConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    sandbox: SandboxConfig = SandboxConfig()
    logging: LoggingConfig = LoggingConfig()
    sentiment: SentimentConfig = SentimentConfig()
    responder: ResponderConfig = ResponderConfig()
    alerts: AlertsConfig = AlertsConfig()
    retention: RetentionConfig = RetentionConfig()
    paths: PathsConfig = PathsConfig()
    brands: tuple[BrandConfig, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    # Where the configuration came from (None: defaults only); set by load_config.
    config_path: Path | None = Field(None, exclude=True)
    # The file's strings that held ${VAR} references, so what quotes the configuration shows them as written.
    _substitutions: tuple[Substitution, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for what, items in (("brands", self.brands), ("sources", self.sources)):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"{what}: the name {item.name!r} is used twice; names must be unique")
                seen.add(item.name)
        return self

    @model_validator(mode="after")
    def _alert_topics_exist(self) -> Settings:
        unknown = [t for t in self.alerts.topics if t not in self.sentiment.topics]
        if unknown:
            raise ValueError(f"alerts.topics {unknown} are not among sentiment.topics; add a description for each there")
        return self

    def source(self, name: str) -> SourceBase:
        for src in self.sources:
            if src.name == name:
                return src
        raise ConfigError(f"no source named {name!r}", key="sources", path=str(self.config_path or ""))


def find_config_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if explicit:
        return Path(explicit)
    if env.get("EARFUL_CONFIG"):
        return Path(env["EARFUL_CONFIG"])
    default = Path("config.yaml")
    return default if default.exists() else None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings. `overrides` are dotted keys from CLI flags (highest precedence)."""
    env = os.environ if env is None else env
    config_path = find_config_path(path, env)
    where = str(config_path) if config_path else "defaults"
    raw = _read_yaml(config_path) if config_path else {}
    _refuse_literal_secrets(raw, where)
    substitutions: list[Substitution] = []
    raw = _interpolate(raw, env, where, (), substitutions)
    overridden = {**_env_overrides(env, where), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    for key, value in overridden.items():
        _set_dotted(raw, key, value, where)
        # An overridden string no longer shows what the file says.
        keys = tuple(key.split("."))
        substitutions = [sub for sub in substitutions if sub.trail[: len(keys)] != keys]
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where, substitutions), path=None) from None
    base_dir = config_path.resolve().parent if config_path else Path.cwd()
    url = _anchor_sqlite_path(settings.database.url, base_dir)
    database = settings.database.model_copy(update={"url": url})
    sentiment = settings.sentiment.model_copy(update={"corpora": settings.sentiment.corpora.anchored(base_dir),
                                                      "fine_tune": settings.sentiment.fine_tune.anchored(base_dir)})
    settings = settings.model_copy(update={"config_path": config_path, "database": database, "sentiment": sentiment,
                                           "paths": settings.paths.anchored(base_dir, config_path)})
    settings._substitutions = tuple(substitutions)
    return settings


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found; create one with `earful init`", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{at}: {getattr(exc, 'problem', exc)}", path=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of sections (database:, brands:, ...)", path=str(path))
    return data


def _refuse_literal_secrets(node: Any, where: str, trail: tuple[str | int, ...] = ()) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SECRET_KEYS and isinstance(value, str) and value and not REFERENCE.fullmatch(value):
                env_name = "_".join(str(p) for p in (*trail, key) if isinstance(p, str)).upper()
                raise ConfigError(
                    f"a literal secret is not allowed in the file; export it as an environment "
                    f"variable and write ${{{env_name}}} instead",
                    key=_dotted((*trail, key)),
                    path=where,
                )
            if key == "url" and isinstance(value, str) and "${" not in value and urlsplit(value).password:
                raise ConfigError(
                    "the URL holds a literal password; write it as "
                    "postgresql+psycopg://user:${PGPASSWORD}@host/db and export PGPASSWORD",
                    key=_dotted((*trail, key)),
                    path=where,
                )
            _refuse_literal_secrets(value, where, (*trail, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_literal_secrets(value, where, (*trail, i))


def _interpolate(
    node: Any, env: Mapping[str, str], where: str, trail: tuple[str | int, ...], found: list[Substitution]
) -> Any:
    """`node` with every ${VAR} replaced by its value; each string that held one is added to `found`."""
    if isinstance(node, dict):
        return {k: _interpolate(v, env, where, (*trail, k), found) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env, where, (*trail, i), found) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        values: list[tuple[str, str]] = []

        def resolve(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(
                    f"environment variable {name} is not set; export it before starting Earful",
                    key=_dotted(trail),
                    path=where,
                )
            values.append((env[name], match.group(0)))
            return env[name]

        resolved = REFERENCE.sub(resolve, node)
        if values:
            found.append(Substitution(trail, node, resolved, tuple(values)))
        return resolved
    return node


def _env_overrides(env: Mapping[str, str], where: str) -> dict[str, Any]:
    top_level_sections = set(Settings.model_fields) - {"config_path", "brands", "sources"}
    found: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if parts[0] not in top_level_sections:
            raise ConfigError(
                f"environment variable {name} names no setting; nested settings are "
                f"EARFUL_<SECTION>__<KEY> with a section among {sorted(top_level_sections)}",
                path=where,
            )
        found[".".join(parts)] = yaml.safe_load(value) if value else value
    return found


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    node = raw
    *parents, last = dotted.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {dotted}: {part} is not a section", key=dotted, path=where)
        node = child
    node[last] = value


def _dotted(trail: tuple[str | int, ...]) -> str:
    out = ""
    for part in trail:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(exc: ValidationError, where: str, substitutions: list[Substitution]) -> str:
    """One line per problem, quoting what the file says: a value that came from a ${VAR} is shown as
    that reference (pydantic's messages quote the resolved input), a secret key's value as ***, and
    a URL without its password."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        # Discriminated unions add the tag ("mastodon") after the list index; it is no key.
        loc = [p for i, p in enumerate(loc) if not (i > 0 and isinstance(loc[i - 1], int) and p in PLATFORMS)]
        keys = tuple(p for p in loc if isinstance(p, (str, int)))
        key = _dotted(keys)
        near = [sub for sub in substitutions if sub.touches(keys)]
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key; check its spelling against docs/config.md"
        elif err["type"] == "missing":
            message = "required key is missing"
        elif "input" in err and err["type"] not in ("union_tag_invalid",) and not isinstance(err["input"], (dict, list)):
            secret = any(isinstance(p, str) and p in SECRET_KEYS for p in keys)
            written = next((sub.written for sub in near if sub.trail == keys), None)
            shown = written if written is not None else (MASK if secret else err["input"])
            message = f"{message} (got {shown!r})"
        if err["type"] == "union_tag_invalid":
            message = f"unknown platform; use one of {', '.join(p for p in PLATFORMS if p != 'import')}"
        message = hide_substitutions(message, near)
        lines.append(f"{where}: {key}: {message}" if key else f"{where}: {message}")
    return "\n".join(lines)


def _anchor_sqlite_path(url: str, base_dir: Path) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return url
    db_path = Path(parsed.database)
    if not db_path.is_absolute():
        db_path = (base_dir / db_path).resolve()
    return parsed.set(database=str(db_path)).render_as_string(hide_password=False)


def effective_config(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data for `earful config check`: secrets masked, every value
    that came from a ${VAR} shown as the file writes it, and URLs without their password."""
    data = settings.model_dump(mode="json", exclude={"config_path"})
    from sqlalchemy.engine import make_url

    data["database"]["url"] = make_url(settings.database.url).render_as_string(hide_password=True)
    for sub in settings._substitutions:
        _put(data, sub.trail, sub.written)
    return _mask_urls(data)


def _put(data: Any, trail: tuple[str | int, ...], value: str) -> None:
    *parents, last = trail
    for part in parents:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(data, dict) and last in data or isinstance(data, list) and isinstance(last, int) and last < len(data):
        data[last] = value


def _mask_urls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _mask_urls(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_urls(v) for v in node]
    return mask_url_passwords(node) if isinstance(node, str) else node
