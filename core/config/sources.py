"""What Earful listens for and where: `brands` with their queries, and `sources`, one model per
platform told apart by its `platform` key."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, SecretStr, model_validator

from core.config.base import HttpUrl, Section

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
