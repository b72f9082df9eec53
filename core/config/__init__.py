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

The package, one concern a module; import from `core.config` itself, which re-exports them all:
`base` (the Section base, secret rules and masking, error lines), `loader` (file, ${VAR}, overrides,
relative paths; `earful config check`'s view), `settings` (the whole), and the sections: `service`
(database, dashboard, scheduler, sandbox, logging, retention, paths), `sentiment`, `responder`,
`alerts`, `sources` (brands and platforms).
"""

from core.config.alerts import (
    AlertEvent,
    AlertKind,
    AlertRule,
    AlertsConfig,
    ChannelBase,
    ChannelConfig,
    EmailChannel,
    NotifyConfig,
    OperationalAlertsConfig,
    SeverityLevel,
    SlackChannel,
    WebhookChannel,
    WeeklyReportConfig,
)
from core.config.base import (
    MASK,
    REFERENCE,
    SECRET_KEYS,
    HttpUrl,
    Section,
    Substitution,
    Weekday,
    hide_substitutions,
    mask_url_passwords,
)
from core.config.loader import ENV_PREFIX, effective_config, find_config_path, load_config
from core.config.responder import (
    HHMM,
    REPLY_PLACEHOLDERS,
    ApprovalConfig,
    AssignmentConfig,
    AssignmentRule,
    BusinessHours,
    CasesConfig,
    CsatConfig,
    ResponderConfig,
    SavedReply,
    SenderConfig,
    SlaConfig,
    SlaPolicy,
    SuggestionsConfig,
    When,
)
from core.config.sentiment import (
    DEFAULT_TOPICS,
    MAX_TOPIC_NAME,
    AdaptationConfig,
    CorporaConfig,
    FineTuneConfig,
    SentimentConfig,
    TopicConfig,
)
from core.config.service import (
    DATABASE_DRIVERS,
    POSTGRES_EXAMPLE,
    SQLITE_EXAMPLE,
    DashboardConfig,
    DatabaseConfig,
    LoggingConfig,
    PathsConfig,
    RetentionConfig,
    SandboxConfig,
    SchedulerConfig,
    unsupported_url_hint,
)
from core.config.settings import Settings
from core.config.sources import (
    BlueskySource,
    BrandConfig,
    DiscourseSource,
    HackerNewsSource,
    MastodonSource,
    QueryConfig,
    RedditSource,
    RssSource,
    SourceBase,
    SourceConfig,
    XSource,
    YouTubeSource,
)

__all__ = [
    "AdaptationConfig",
    "AlertEvent",
    "AlertKind",
    "AlertRule",
    "AlertsConfig",
    "ApprovalConfig",
    "AssignmentConfig",
    "AssignmentRule",
    "BlueskySource",
    "BrandConfig",
    "BusinessHours",
    "CasesConfig",
    "ChannelBase",
    "ChannelConfig",
    "CorporaConfig",
    "CsatConfig",
    "DATABASE_DRIVERS",
    "DEFAULT_TOPICS",
    "DashboardConfig",
    "DatabaseConfig",
    "DiscourseSource",
    "ENV_PREFIX",
    "EmailChannel",
    "FineTuneConfig",
    "HHMM",
    "HackerNewsSource",
    "HttpUrl",
    "LoggingConfig",
    "MASK",
    "MAX_TOPIC_NAME",
    "MastodonSource",
    "NotifyConfig",
    "OperationalAlertsConfig",
    "POSTGRES_EXAMPLE",
    "PathsConfig",
    "QueryConfig",
    "REFERENCE",
    "REPLY_PLACEHOLDERS",
    "RedditSource",
    "ResponderConfig",
    "RetentionConfig",
    "RssSource",
    "SECRET_KEYS",
    "SQLITE_EXAMPLE",
    "SandboxConfig",
    "SavedReply",
    "SchedulerConfig",
    "Section",
    "SenderConfig",
    "SentimentConfig",
    "Settings",
    "SeverityLevel",
    "SlaConfig",
    "SlaPolicy",
    "SlackChannel",
    "SourceBase",
    "SourceConfig",
    "Substitution",
    "SuggestionsConfig",
    "TopicConfig",
    "WebhookChannel",
    "Weekday",
    "WeeklyReportConfig",
    "When",
    "XSource",
    "YouTubeSource",
    "effective_config",
    "find_config_path",
    "hide_substitutions",
    "load_config",
    "mask_url_passwords",
    "unsupported_url_hint",
]
