"""`Settings`: every section together, with the checks that span sections."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator

from core.config.alerts import AlertsConfig
from core.config.base import Section, Substitution
from core.config.responder import ResponderConfig
from core.config.sentiment import SentimentConfig
from core.config.service import (
    DashboardConfig,
    DatabaseConfig,
    LoggingConfig,
    PathsConfig,
    RetentionConfig,
    SandboxConfig,
    SchedulerConfig,
)
from core.config.sources import BrandConfig, SourceBase, SourceConfig
from core.errors import ConfigError

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
