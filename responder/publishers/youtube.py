"""Replies and moderation on YouTube through google-api-python-client, as the brand's channel (OAuth).

publish: ``comments.insert`` with ``snippet.parentId`` = the thread's top-level comment: YouTube
threads have one level, so a reply to a reply goes to its thread (50 quota units). find:
``comments.list(parentId=...)`` by the own channel (``channels.list(mine=true)``, once). like:
`ActionUnsupported`, the Data API cannot rate comments. moderate: ``comments.setModerationStatus``
with ``reject`` (rejected) or ``hold`` (heldForReview), on comments of the channel's own videos.

Auth is the channel owner's OAuth token: in sandbox mode the sandbox's fixed token, otherwise a
refresh token with the client that issued it (google-auth refreshes it). Requests go through
google-auth's requests session behind a small httplib2-shaped adapter, because httplib2 resends a
request once when the connection drops after sending: for ``comments.insert`` a second comment.
"""

from __future__ import annotations

import http.client
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

import google.auth.exceptions
import httplib2
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build as build_client
from googleapiclient.errors import Error as GoogleApiError, HttpError

from core.config import YouTubeSource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Rejected, Unavailable
from core.models import utcnow
from listener.sandbox.credentials import YouTubeCredentials
from listener.youtube import QUOTA_REASONS, RATE_REASONS, error_reasons, seconds_until_quota_reset
from responder.publishers.base import ActionUnsupported, Published, Target
from responder.publishers.matching import posted_since, same_text, timestamp
from responder.publishers.wire import transport_failure, unreadable_answer

PLATFORM = "youtube"
SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"
MODERATION = {"reject": "rejected", "hold": "heldForReview"}
FIND_PAGES = 5  # comments.list pages of a thread searched by `find` (100 replies each)
AUTH_REASONS = frozenset({"ineligibleAccount", "insufficientPermissions", "authError"})


# --------------------------------------------------------------------------- pure mapping
def thread_of(target: Target) -> str:
    """The top-level comment a reply must name as ``parentId``."""
    stored = target.raw.get("threadId") or target.conversation_id
    return str(stored) if stored else target.native_id.split(".", 1)[0]


def comment_url(comment: Mapping[str, Any]) -> str | None:
    video = (comment.get("snippet") or {}).get("videoId")
    return f"https://www.youtube.com/watch?v={video}&lc={comment['id']}" if video else None


def published(comment: Mapping[str, Any]) -> Published:
    snippet = comment.get("snippet") or {}
    return Published(str(comment["id"]), comment_url(comment), timestamp(snippet.get("publishedAt")))


def find_comment(items: Iterable[Any], own_channel: str, text: str, since: datetime) -> Published | None:
    """The own channel's reply with `text` among ``comments.list`` items."""
    for comment in items:
        snippet = comment.get("snippet") if isinstance(comment, Mapping) else None
        if not isinstance(snippet, Mapping) or (snippet.get("authorChannelId") or {}).get("value") != own_channel:
            continue
        seen = snippet.get("textOriginal") or snippet.get("textDisplay") or ""
        if same_text(text, str(seen)) and posted_since(snippet.get("publishedAt"), since):
            return published(comment)
    return None


def translate_error(exc: Exception, now: datetime, *, write: bool = True,
                    timeout: float | None = None) -> PlatformError:
    """googleapiclient, google-auth and requests failures as Earful's tree (the one place this happens)."""
    if isinstance(exc, HttpError):
        status, reasons = exc.resp.status, error_reasons(exc)
        message = exc.reason or f"HTTP {status}"
        if reasons & QUOTA_REASONS:
            return RateLimited(PLATFORM, "the daily quota of 10,000 units is spent (a reply costs 50); it resets at "
                               "midnight Pacific time", status=status, retry_after=seconds_until_quota_reset(now))
        if status == 429 or reasons & RATE_REASONS:
            return RateLimited(PLATFORM, f"rate limited ({message})", status=status)
        if status == 401 or reasons & AUTH_REASONS:
            return AuthFailed(PLATFORM, f"{message}; authorise the channel owner's Google account again with the "
                              f"{SCOPE} scope and set oauth_refresh_token: ${{YOUTUBE_REFRESH_TOKEN}}", status=status)
        if status >= 500:
            return Unavailable(PLATFORM, f"server error ({message})", status=status)
        return Rejected(PLATFORM, f"{message} ({', '.join(sorted(reasons))})" if reasons else message, status=status)
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return AuthFailed(PLATFORM, f"the OAuth token could not be refreshed ({exc}); check client_id, client_secret "
                          "and oauth_refresh_token (a refresh token issued to that client)")
    if isinstance(exc, google.auth.exceptions.TransportError):
        return Unavailable(PLATFORM, f"the token endpoint could not be reached ({exc}); nothing was sent")
    if isinstance(exc, (requests.RequestException, OSError, httplib2.HttpLib2Error, http.client.HTTPException)):
        return transport_failure(PLATFORM, exc, write=write, timeout=timeout)
    if isinstance(exc, ValueError):
        return unreadable_answer(PLATFORM, write=write)
    return PlatformError(PLATFORM, f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- I/O
class RequestsHttp:
    """The httplib2 interface googleapiclient calls (``request`` -> response, content), over a requests
    session, which never resends a request on its own."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self.session = session
        self.timeout = timeout

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Mapping[str, str] | None = None,
                redirections: int = 5, connection_type: Any = None) -> tuple[httplib2.Response, bytes]:
        response = self.session.request(method, uri, data=body, headers=dict(headers or {}), timeout=self.timeout)
        info = {name.lower(): value for name, value in response.headers.items()}
        info.update(status=str(response.status_code), reason=response.reason or "")
        return httplib2.Response(info), response.content

    def close(self) -> None:
        self.session.close()


class YouTubePublisher:
    def __init__(self, name: str, youtube: Any, *, clock: Callable[[], datetime] = utcnow,
                 timeout: float | None = None) -> None:
        self.name = name
        self.platform = PLATFORM
        self.youtube = youtube
        self.clock = clock
        self.timeout = timeout
        self._channel: str | None = None

    def publish(self, target: Target, text: str) -> Published:
        body = {"snippet": {"parentId": thread_of(target), "textOriginal": text}}
        comment = self._execute(self.youtube.comments().insert(part="snippet", body=body))
        if not isinstance(comment, Mapping) or not comment.get("id"):
            raise unreadable_answer(PLATFORM)
        return published(comment)

    def find(self, target: Target, text: str, since: datetime) -> Published | None:
        channel, token = self._own_channel(), None
        for _ in range(FIND_PAGES):
            page = self._execute(self.youtube.comments().list(
                part="snippet", parentId=thread_of(target), maxResults=100, textFormat="plainText", pageToken=token),
                write=False)
            found = find_comment(page.get("items") or [], channel, text, since)
            token = page.get("nextPageToken")
            if found is not None or not token:
                return found
        return None

    def like(self, target: Target) -> None:
        raise ActionUnsupported("the YouTube Data API cannot like (rate) comments; like it in YouTube Studio")

    def moderate(self, target: Target, action: str) -> None:
        if action not in MODERATION:
            raise ActionUnsupported(f"YouTube offers {sorted(MODERATION)} on the channel's own videos, not {action!r}")
        request = self.youtube.comments().setModerationStatus(id=target.native_id, moderationStatus=MODERATION[action])
        try:
            self._execute(request)
        except Rejected as exc:
            if exc.status == 403:
                raise ActionUnsupported(f"YouTube refused to {action} it: {exc}") from exc
            raise

    def _own_channel(self) -> str:
        if self._channel is None:
            page = self._execute(self.youtube.channels().list(part="id", mine=True), write=False)
            items = page.get("items") or []
            if not items:
                raise AuthFailed(PLATFORM, "the OAuth token belongs to no YouTube channel; authorise the Google "
                                 "account that owns the brand's channel")
            self._channel = str(items[0]["id"])
        return self._channel

    def _execute(self, request: Any, *, write: bool = True) -> Any:
        try:
            return request.execute(num_retries=0)
        except (GoogleApiError, google.auth.exceptions.GoogleAuthError, requests.RequestException, OSError,
                httplib2.HttpLib2Error, http.client.HTTPException, ValueError) as exc:
            raise translate_error(exc, self.clock(), write=write, timeout=self.timeout) from exc

    def close(self) -> None:
        self.youtube.close()


def build(config: YouTubeSource, *, timeout: float = 20.0, clock: Callable[[], datetime] = utcnow) -> YouTubePublisher:
    if config.sandbox:
        credentials = Credentials(token=YouTubeCredentials().oauth_token)
    else:
        where = f"sources.{config.name}"
        secret = config.client_secret.get_secret_value() if config.client_secret else None
        refresh = config.oauth_refresh_token.get_secret_value() if config.oauth_refresh_token else None
        for key, value, hint in (
            ("client_id", config.client_id, "the OAuth client id (Google Cloud console > APIs & Services > "
                                            "Credentials, a Desktop or Web client)"),
            ("client_secret", secret, "${YOUTUBE_CLIENT_SECRET}, that client's secret, and export that variable"),
            ("oauth_refresh_token", refresh, f"${{YOUTUBE_REFRESH_TOKEN}}: a refresh token of the channel owner's "
                                             f"account for the {SCOPE} scope, issued to that client"),
        ):
            if not value:
                raise ConfigError(f"missing; replying acts as the channel, so set it to {hint}", key=f"{where}.{key}")
        credentials = Credentials(None, refresh_token=refresh, client_id=config.client_id, client_secret=secret,
                                  token_uri=str(config.token_uri))
    youtube = build_client(
        "youtube",
        "v3",
        http=RequestsHttp(AuthorizedSession(credentials), timeout),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": config.base_url},
    )
    return YouTubePublisher(config.name, youtube, clock=clock, timeout=timeout)
