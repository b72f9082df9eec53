"""The `alerts` section: spike detection and severities, notification channels (Slack, webhook,
email) and the rules that route alerts to them, delivery retries, the weekly report and
operational alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, SecretStr, field_validator, model_validator

from core.config.base import Section, Weekday

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
