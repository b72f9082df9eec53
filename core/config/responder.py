"""The `responder` section: cases, assignment, SLAs and business hours, approval, saved replies and
their placeholders, CSAT, the reply sender and suggestions."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from core.config.base import Section, Weekday
from core.mention import PLATFORMS

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
