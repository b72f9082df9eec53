"""Bluesky: post search, and mentions of the brand's account, through atproto.

Two kinds of stream, both read newest first:

* one ``app.bsky.feed.searchPosts`` search per string of ``listener.query.to_bluesky`` (Bluesky has
  no OR), with ``sort=latest`` and ``since`` = the newest post time of the last finished sweep;
* ``app.bsky.notification.listNotifications`` for mentions, replies and quotes of the brand's own
  account, whose posts are then read with ``app.bsky.feed.getPosts`` so that they carry the same
  engagement counts as search results (a re-sighting refreshes counts; zeros would erase them).
  The poller keeps those that match a brand query, as for search results.

A sweep reads one page per `fetch` and keeps its page token in the cursors (``<key>:next``), so
every page is stored with the cursor that covers it and a rate limit in the middle of a sweep loses
nothing. The high-water mark (``<key>``) only moves when a sweep is finished. The very first sweep
of a stream reads a single page: Earful starts listening now rather than backfilling history. A
stream swept without finding anything keeps an empty mark; all it finds later is new, so it is read
in full.

Pages are read as JSON and mapped item by item: atproto's typed response models validate a whole
page at once, so one malformed post would lose its 99 neighbours.

``since`` compares with a post's ``sortAt`` (the earlier of ``createdAt`` and ``indexedAt``), and
is inclusive: boundary posts come back once more and are deduplicated by the store. A post indexed
long after its (backdated) ``createdAt`` can be missed; Bluesky offers no better cursor.
"""

from __future__ import annotations

import dataclasses

from datetime import datetime
from functools import partial
from typing import Any, Callable, Iterable, Mapping, Sequence

from atproto import Client, models
from atproto_client.exceptions import (
    BadRequestError,
    InvokeTimeoutError,
    LoginRequiredError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.request import Request, Response as XrpcResponse
from atproto_core.exceptions import AtProtocolError

from core.config import BlueskySource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Unavailable
from core.mention import AuthorIn, MentionIn
from core.models import utcnow
from listener.base import Batch, Page, PageReader, map_each, sweep
from listener.enrich import BrandMatcher
from listener.query import to_bluesky
from listener.sandbox.credentials import BlueskyCredentials
from listener.text import parse_timestamp, query_key

PLATFORM = "bluesky"
PAGE = 100  # the most searchPosts and listNotifications return
GET_POSTS_MAX = 25  # the most uris getPosts accepts
REASONS = ("mention", "reply", "quote")
NOTIFICATIONS = "notifications"
SESSION_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired"})

# One page of one stream: mentions, skipped items, cursor values, and whether the sweep goes on.


# --------------------------------------------------------------------------- pure mapping
def post_url(uri: str, handle: str) -> str:
    """The bsky.app address of a post: at://<did>/app.bsky.feed.post/<rkey>."""
    if not uri.startswith("at://") or "/app.bsky.feed.post/" not in uri:
        raise ValueError(f"not a post uri: {uri!r}")
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


def map_post(post: Mapping[str, Any], *, own_did: str | None = None) -> MentionIn:
    """An ``app.bsky.feed.defs#postView`` as a mention; uri and cid stay in raw (a reply needs both)."""
    uri = str(post["uri"])
    if not post.get("cid"):
        raise ValueError("post has no cid: it could not be answered")
    author, record = post["author"], post["record"]
    handle = str(author["handle"])
    reply = record.get("reply") or {}
    langs = record.get("langs") or []
    return MentionIn(
        platform=PLATFORM,
        native_id=uri,
        text=str(record["text"]),
        created_at=parse_timestamp(record["createdAt"]),
        url=post_url(uri, handle),
        author=AuthorIn(
            platform=PLATFORM,
            handle=f"@{handle}",
            native_id=str(author["did"]),
            name=author.get("displayName") or None,
            followers=None,  # a postView carries no follower count
            url=f"https://bsky.app/profile/{handle}",
        ),
        language=str(langs[0]) if langs else None,
        parent_id=(reply.get("parent") or {}).get("uri"),
        conversation_id=(reply.get("root") or {}).get("uri") or uri,
        likes=int(post.get("likeCount") or 0),
        reposts=int(post.get("repostCount") or 0),
        replies=int(post.get("replyCount") or 0),
        is_own=own_did is not None and author["did"] == own_did,
        raw=dict(post),  # with uri and cid, which a reply's strong refs need
    )


def sort_time(post: Mapping[str, Any]) -> datetime | None:
    """Bluesky's ``sortAt``: the earlier of createdAt and indexedAt; None when neither parses."""
    times = []
    for value in ((post.get("record") or {}).get("createdAt"), post.get("indexedAt")):
        try:
            times.append(parse_timestamp(value))
        except (TypeError, ValueError, AttributeError):
            continue
    return min(times) if times else None


def wanted_notifications(notes: Iterable[Any], since: datetime | None) -> list[str]:
    """Uris of mention/reply/quote notifications newer than `since`, newest first, without repeats."""
    uris: list[str] = []
    for note in notes:
        if not isinstance(note, Mapping) or note.get("reason") not in REASONS or not note.get("uri"):
            continue
        at = _time(note.get("indexedAt"))
        if since is not None and at is not None and at <= since:
            continue
        if note["uri"] not in uris:
            uris.append(str(note["uri"]))
    return uris


def _time(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value)
    except (TypeError, ValueError, AttributeError):
        return None


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z" if value else ""


# --------------------------------------------------------------------------- errors
def translate_error(exc: Exception, now: datetime) -> PlatformError:
    """atproto's exceptions as Earful's tree; `now` turns ``ratelimit-reset`` into seconds."""
    status = exc.response.status_code if isinstance(exc, RequestErrorBase) and exc.response else None
    if isinstance(exc, RateLimitExceededError):
        retry = (exc.reset_at - now).total_seconds() if exc.reset_at else exc.retry_after
        return RateLimited(PLATFORM, "rate limit reached (3,000 requests per 5 minutes)", status=429,
                           retry_after=max(0.0, retry) if retry is not None else None)
    if isinstance(exc, (UnauthorizedError, LoginRequiredError)) or _xrpc_error(exc) in SESSION_ERRORS:
        return AuthFailed(PLATFORM, f"the session was refused ({_detail(exc)}); check handle and app_password",
                          status=status)
    if isinstance(exc, InvokeTimeoutError):
        return Unavailable(PLATFORM, "timed out")
    if isinstance(exc, NetworkError):
        return Unavailable(PLATFORM, f"network error ({_detail(exc)})", status=status)
    if isinstance(exc, BadRequestError):
        return PlatformError(PLATFORM, f"request refused ({_detail(exc)})", status=status)
    if isinstance(exc, RequestErrorBase):
        return Unavailable(PLATFORM, f"server error ({_detail(exc)})", status=status)
    if isinstance(exc, (ModelError, ValueError)):
        return Unavailable(PLATFORM, "the answer was not valid JSON")
    return Unavailable(PLATFORM, f"{type(exc).__name__}: {exc}")


def _xrpc_error(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    return content.error if isinstance(content, XrpcError) else None


def _detail(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- I/O
class BlueskyListener:
    def __init__(
        self,
        name: str,
        client: Client,
        identifier: str,
        password: str,
        queries: Sequence[str],
        *,
        clock: Callable[[], datetime] = utcnow,
        page_size: int = PAGE,
    ) -> None:
        self.name = name
        self.platform = PLATFORM
        self.client = client
        self.queries = list(dict.fromkeys(q for q in queries if q))
        self.clock = clock
        self.page_size = page_size
        self._identifier = identifier
        self._password = password
        self._own_did: str | None = None

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        if self._own_did is None:
            self._login()
        streams: list[tuple[str, PageReader]] = [
            (query_key("search", q), partial(self._search_page, q)) for q in self.queries
        ]
        streams.append((NOTIFICATIONS, self._notifications_page))
        return sweep(streams, cursors)

    def _search_page(self, query: str, key: str, cursors: Mapping[str, str]) -> Page:
        since, token = cursors.get(key) or None, cursors.get(f"{key}:next") or None
        top = _time(cursors.get(f"{key}:top"))
        params = models.AppBskyFeedSearchPosts.Params(q=query, sort="latest", since=since, cursor=token,
                                                      limit=self.page_size)
        page = self._query("app.bsky.feed.searchPosts", params)
        posts = list(page.get("posts") or [])
        got, bad = map_each(posts, lambda p: map_post(p, own_did=self._own_did), source=self.name)
        times = [t for p in posts if isinstance(p, Mapping) and (t := sort_time(p)) is not None]
        top = max([*times, *([top] if top else [])], default=None)
        done = not page.get("cursor") or not posts or key not in cursors
        return got, bad, _sweep(key, since, top, page.get("cursor"), done), not done

    def _notifications_page(self, key: str, cursors: Mapping[str, str]) -> Page:
        since, token = _time(cursors.get(key)), cursors.get(f"{key}:next") or None
        top = _time(cursors.get(f"{key}:top"))
        params = models.AppBskyNotificationListNotifications.Params(limit=self.page_size, cursor=token,
                                                                    reasons=list(REASONS))
        page = self._query("app.bsky.notification.listNotifications", params)
        notes = list(page.get("notifications") or [])
        uris = wanted_notifications(notes, since)
        posts: list[Any] = []
        for start in range(0, len(uris), GET_POSTS_MAX):
            chunk = uris[start : start + GET_POSTS_MAX]
            found = self._query("app.bsky.feed.getPosts", models.AppBskyFeedGetPosts.Params(uris=chunk))
            posts += found.get("posts") or []
        got, bad = map_each(posts, lambda p: dataclasses.replace(map_post(p, own_did=self._own_did), direct=True),
                            source=self.name)
        times = [t for n in notes if isinstance(n, Mapping) and (t := _time(n.get("indexedAt"))) is not None]
        top = max([*times, *([top] if top else [])], default=None)
        reached_mark = since is not None and any(t <= since for t in times)
        done = not page.get("cursor") or not notes or key not in cursors or reached_mark
        return got, bad, _sweep(key, _iso(since) or None, top, page.get("cursor"), done), not done

    def _login(self) -> None:
        try:
            self.client.login(self._identifier, self._password)
        except UnauthorizedError as exc:
            raise AuthFailed(PLATFORM, f"login as {self._identifier} was refused; check handle and app_password "
                             "(an app password from Settings > Privacy and security)", status=401) from exc
        except (AtProtocolError, ValueError) as exc:
            raise translate_error(exc, self.clock()) from exc
        me = self.client.me
        self._own_did = me.did if me is not None else ""

    def _query(self, nsid: str, params: Any) -> Mapping[str, Any]:
        """One XRPC query, as JSON."""
        try:
            response = self._invoke(nsid, params)
        except (AtProtocolError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise translate_error(exc, self.clock()) from exc
        if not isinstance(response.content, Mapping):
            raise Unavailable(PLATFORM, f"{nsid} answered something other than a JSON object")
        return response.content

    def _invoke(self, nsid: str, params: Any) -> XrpcResponse:
        """atproto refreshes a session before it expires; one that was revoked or outlived its refresh
        token is replaced by a new login, once."""
        try:
            return self.client.invoke_query(nsid, params=params)
        except (UnauthorizedError, BadRequestError) as exc:
            if not isinstance(exc, UnauthorizedError) and _xrpc_error(exc) not in SESSION_ERRORS:
                raise
        self._login()
        return self.client.invoke_query(nsid, params=params)

    def close(self) -> None:
        self.client.request.close()


def _sweep(key: str, since: str | None, top: datetime | None, token: str | None, done: bool) -> dict[str, str]:
    """Cursor values after one page: the mark moves only when the sweep is finished."""
    if done:
        return {key: _iso(top) or since or "", f"{key}:next": "", f"{key}:top": ""}
    return {f"{key}:next": str(token), f"{key}:top": _iso(top)}


def build(
    config: BlueskySource,
    matcher: BrandMatcher | None = None,
    *,
    timeout: float = 20.0,
    clock: Callable[[], datetime] = utcnow,
    page_size: int = PAGE,
) -> BlueskyListener:
    if config.sandbox:
        creds = BlueskyCredentials()
        identifier, password = creds.identifier, creds.password
    elif config.handle and config.app_password:
        identifier, password = config.handle, config.app_password.get_secret_value()
    else:
        raise ConfigError("a Bluesky source needs handle and app_password; create an app password and set "
                          "app_password: ${BLUESKY_APP_PASSWORD}", key=f"sources.{config.name}")
    client = Client(base_url=config.base_url, request=Request(timeout=timeout))
    queries = [s for qs in (matcher.queries.values() if matcher else ()) for q in qs for s in to_bluesky(q)]
    return BlueskyListener(config.name, client, identifier, password, queries, clock=clock, page_size=page_size)
