"""Fixtures and client factories for tests that run real client libraries against the sandbox.

Import the fixtures into a test module (``from tests.fakes.sandbox_fixtures import clock, sandbox``)
and build clients with the ``*_client`` functions, which hold the exact constructor arguments each
library needs to reach its fake.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from listener.sandbox import Sandbox, redirect_session

START = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)


class FrozenClock:
    """An injectable clock: time moves only when a test says so."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def sandbox(clock: FrozenClock) -> Iterator[Sandbox]:
    """A running sandbox with an hour of history at 12 posts a minute; fails if a fake crashed."""
    with Sandbox(seed=11, clock=clock, rate_per_min=12) as running:
        yield running
        assert running.handler_errors() == {}


def tweepy_client(sb: Sandbox, **overrides: Any) -> Any:
    import tweepy

    c = sb.credentials.x
    options: dict[str, Any] = dict(bearer_token=c.bearer_token, consumer_key=c.consumer_key, consumer_secret=c.consumer_secret,
                   access_token=c.access_token, access_token_secret=c.access_token_secret)
    options.update(overrides)
    client = tweepy.Client(**options)
    redirect_session(client.session, sb.base_urls["x"])
    return client


def praw_client(sb: Sandbox, **overrides: Any) -> Any:
    import praw

    c, url = sb.credentials.reddit, sb.base_urls["reddit"]
    options: dict[str, Any] = dict(client_id=c.client_id, client_secret=c.client_secret, username=c.username, password=c.password,
                   user_agent=c.user_agent, oauth_url=url, reddit_url=url, short_url=url, check_for_updates=False)
    options.update(overrides)
    return praw.Reddit(**options)


def mastodon_client(sb: Sandbox, access_token: str | None = None) -> Any:
    from mastodon import Mastodon

    return Mastodon(api_base_url=sb.base_urls["mastodon"],
                    access_token=access_token or sb.credentials.mastodon.access_token,
                    mastodon_version="4.3.0", ratelimit_method="throw")


def bluesky_client(sb: Sandbox, login: bool = True) -> Any:
    from atproto import Client

    client = Client(base_url=sb.base_urls["bluesky"])
    if login:
        client.login(sb.credentials.bluesky.identifier, sb.credentials.bluesky.password)
    return client


def youtube_client(sb: Sandbox, owner: bool = False, api_key: str | None = None) -> Any:
    """Read with the API key; ``owner=True`` authenticates as the brand channel (needed for writes)."""
    from googleapiclient.discovery import build

    options: dict[str, Any] = {"static_discovery": True, "client_options": {"api_endpoint": sb.base_urls["youtube"]}}
    if owner:
        from google.oauth2.credentials import Credentials

        options["credentials"] = Credentials(token=sb.credentials.youtube.oauth_token)
    else:
        options["developerKey"] = api_key or sb.credentials.youtube.api_key
    return build("youtube", "v3", **options)
