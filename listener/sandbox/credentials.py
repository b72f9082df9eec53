"""The credentials the sandbox accepts. They are fixed, public and worthless outside the sandbox,
which is why the sandbox only ever binds to 127.0.0.1. Anything else gets the platform's 401."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class XCredentials:
    bearer_token: str = "sandbox-x-app-bearer"  # app-only: reads
    consumer_key: str = "sandbox-x-consumer-key"  # OAuth 1.0a user context: reads and writes
    consumer_secret: str = "sandbox-x-consumer-secret"
    access_token: str = "sandbox-x-access-token"
    access_token_secret: str = "sandbox-x-access-secret"
    user_bearer_token: str = "sandbox-x-oauth2-user-token"  # OAuth 2.0 user context (PKCE)


@dataclass(frozen=True, slots=True)
class RedditCredentials:
    client_id: str = "sandbox-reddit-client"
    client_secret: str = "sandbox-reddit-secret"
    username: str = "skylarkair"
    password: str = "sandbox-reddit-password"
    user_agent: str = "earful-sandbox/1.0 by skylarkair"


@dataclass(frozen=True, slots=True)
class MastodonCredentials:
    access_token: str = "sandbox-mastodon-token"


@dataclass(frozen=True, slots=True)
class BlueskyCredentials:
    identifier: str = "skylarkair.bsky.social"
    password: str = "sandbox-bsky-app-password"


@dataclass(frozen=True, slots=True)
class YouTubeCredentials:
    api_key: str = "sandbox-youtube-api-key"  # developerKey: reads
    oauth_token: str = "sandbox-youtube-oauth-token"  # Bearer: reads and writes as the brand channel
    # An OAuth client and the channel owner's refresh token, which the fake's /token exchanges for oauth_token
    # (to exercise the refresh a real deployment goes through).
    client_id: str = "sandbox-youtube-client.apps.googleusercontent.com"
    client_secret: str = "sandbox-youtube-client-secret"
    refresh_token: str = "sandbox-youtube-refresh-token"


@dataclass(frozen=True, slots=True)
class DiscourseCredentials:
    api_key: str = "sandbox-discourse-api-key"
    api_username: str = "skylark_support"


@dataclass(frozen=True, slots=True)
class SandboxCredentials:
    x: XCredentials = field(default_factory=XCredentials)
    reddit: RedditCredentials = field(default_factory=RedditCredentials)
    mastodon: MastodonCredentials = field(default_factory=MastodonCredentials)
    bluesky: BlueskyCredentials = field(default_factory=BlueskyCredentials)
    youtube: YouTubeCredentials = field(default_factory=YouTubeCredentials)
    discourse: DiscourseCredentials = field(default_factory=DiscourseCredentials)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
