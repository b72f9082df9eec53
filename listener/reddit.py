"""Reddit through praw: keyword search, new posts and comments of chosen subreddits, inbox mentions.

praw handles the OAuth token and prawcore maps status codes to exceptions; Earful asks it for the
raw Listing JSON (``Reddit.request``) so the pure ``map_thing`` reads the documented shapes
(``t3`` submissions, ``t1`` comments). Search covers titles and self-text only, so comments come
from the subreddits' comment streams, and the account's inbox catches ``u/name`` mentions anywhere.

Each *stream* (a search, a subreddit listing, the inbox) keeps two cursors:

- ``<key>``: ``"<created_utc> <fullname>"`` of the newest item stored. Listings are newest first;
  reading stops at that fullname, or at the first older item when it was deleted meanwhile.
- ``<key>:page``: while a stream is read page by page (``after``), the next ``after`` fullname,
  the newest position of this run and the pages read; empty when idle.

Every page is stored with the cursors that cover it; the newest position is committed when the run
reaches the cursor, the end of the listing, or ``max_pages`` (then older items are skipped, with a
warning). While a stream is mid-run, a fetch continues only the running streams.

A source never sleeps, but prawcore does in two places, both replaced here: it retries a 5xx or a
timeout twice after 0-4 s (here: once, at once, which keeps its token refresh on a 401; then the
error goes to the poller's backoff), and it paces requests from Reddit's ``x-ratelimit-*`` headers
(here: no pacing sleeps, the source's interval paces it; an exhausted window raises ``RateLimited``
until the reset, so the poller pauses the source instead of a thread sleeping).
"""

from __future__ import annotations

import dataclasses

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlsplit

import praw
import praw.exceptions
import prawcore
import requests
from prawcore.rate_limit import RateLimiter
from prawcore.sessions import FiniteRetryStrategy

from core.config import RedditSource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Unavailable
from core.mention import AuthorIn, MentionIn
from listener.base import Batch, map_each
from listener.enrich import BrandMatcher
from listener.http import TimeoutSession
from listener.query import to_reddit
from listener.sandbox.credentials import RedditCredentials
from listener.text import parse_timestamp, query_key

log = logging.getLogger(__name__)

PLATFORM = "reddit"
SITE = "https://www.reddit.com"
REAL_AUTH_URL = "https://www.reddit.com"
PAGE = 100  # the most a Reddit listing returns per request
MAX_PAGES = 10  # per run of one stream; Reddit listings end after about 1,000 items anyway
_GONE_AUTHORS = frozenset({"[deleted]", "[removed]"})


# --------------------------------------------------------------------------- pure mapping


def _directed(mention: MentionIn | None, direct: bool) -> MentionIn | None:
    return dataclasses.replace(mention, direct=True) if mention is not None and direct else mention


def map_thing(thing: Mapping[str, Any], *, owned: frozenset[str] = frozenset()) -> MentionIn | None:
    """One child of a Listing (``{"kind": "t3"|"t1", "data": {...}}``) as a mention.

    Other kinds (subreddits, users, private messages) are not mentions: None. ``owned`` holds
    the brand's own usernames, lower case.
    """
    kind = thing["kind"]
    if kind not in ("t1", "t3"):
        return None
    data = thing["data"]
    name = str(data["name"])
    author = data.get("author")
    is_post = kind == "t3"
    if is_post:
        title: str | None = str(data["title"])
        text = str(data.get("selftext") or "").strip() or str(title)  # a link post: its title is the text
    else:
        title, text = None, str(data["body"])
    link_id = name if is_post else (data.get("link_id") or _link_from_context(data.get("context")))
    path = data.get("permalink") or data.get("context")
    return MentionIn(
        platform=PLATFORM,
        native_id=name,
        text=text,
        title=title,
        created_at=parse_timestamp(float(data["created_utc"])),
        url=f"{SITE}{path}" if path and str(path).startswith("/") else (path or None),
        author=_author(data) if author and author not in _GONE_AUTHORS else None,
        parent_id=None if is_post else (data.get("parent_id") or None),
        conversation_id=link_id,
        likes=int(data.get("score") or 0),
        reposts=int(data.get("num_crossposts") or 0),
        replies=int(data.get("num_comments") or 0) if is_post else 0,
        is_own=bool(author) and str(author).lower() in owned,
        raw={"kind": kind, "data": dict(data)},
    )


def _author(data: Mapping[str, Any]) -> AuthorIn:
    """Reach stays unknown: a listing has no follower count, and karma is no audience."""
    name = str(data["author"])
    return AuthorIn(platform=PLATFORM, handle=f"u/{name}", native_id=data.get("author_fullname") or None,
                    url=f"{SITE}/user/{name}")


def _link_from_context(context: Any) -> str | None:
    """Inbox items carry ``/r/<sub>/comments/<link id>/<slug>/<comment id>/?context=3``."""
    parts = urlsplit(str(context or "")).path.strip("/").split("/")
    return f"t3_{parts[3]}" if len(parts) > 3 and parts[2] == "comments" else None


def listing_children(payload: Any) -> tuple[list[Any], str | None]:
    """The children and ``after`` fullname of a Listing answer."""
    if not isinstance(payload, Mapping) or payload.get("kind") != "Listing":
        raise ValueError(f"expected a Listing, got {type(payload).__name__}")
    data = payload.get("data") or {}
    return list(data.get("children") or []), data.get("after") or None


@dataclass(frozen=True, order=True)
class Position:
    """Where a listing item sits: its creation time, then its fullname (stored as a cursor)."""

    created: float
    name: str

    def encode(self) -> str:
        return f"{self.created!r} {self.name}"

    @classmethod
    def decode(cls, value: str | None) -> Position | None:
        parts = (value or "").split()
        try:
            return cls(float(parts[0]), parts[1]) if len(parts) == 2 else None
        except ValueError:
            return None

    @classmethod
    def of(cls, thing: Any) -> Position | None:
        data = thing.get("data") if isinstance(thing, Mapping) else None
        if not isinstance(data, Mapping) or not data.get("name"):
            return None
        try:
            return cls(float(data["created_utc"]), str(data["name"]))
        except (KeyError, TypeError, ValueError):
            return None


def unseen(children: Sequence[Any], cursor: Position | None) -> tuple[list[Any], bool]:
    """The newest-first children before the cursor, and whether the cursor was reached."""
    fresh = []
    for child in children:
        at = Position.of(child)
        if cursor is not None and at is not None and (at.name == cursor.name or at.created < cursor.created):
            return fresh, True
        fresh.append(child)
    return fresh, False


# --------------------------------------------------------------------------- errors


def translate_error(exc: Exception) -> PlatformError:
    """prawcore's and praw's exceptions as Earful's error tree (the one place this happens)."""
    if isinstance(exc, prawcore.TooManyRequests):
        return RateLimited(PLATFORM, "rate limit reached (100 requests a minute per OAuth client)", status=429,
                           retry_after=_seconds(exc.retry_after))
    if isinstance(exc, prawcore.OAuthException):
        return AuthFailed(PLATFORM, f"the login was refused ({exc.error}); check the source's username and "
                          "password (the script app's own account, without two-factor authentication)",
                          status=exc.response.status_code)
    if isinstance(exc, prawcore.InsufficientScope):
        return AuthFailed(PLATFORM, "the token lacks a scope; the app needs read (and privatemessages for "
                          "inbox mentions)", status=403)
    if isinstance(exc, prawcore.InvalidToken):
        return AuthFailed(PLATFORM, "the access token was refused; check client_id and client_secret at "
                          "reddit.com/prefs/apps", status=401)
    if isinstance(exc, prawcore.Forbidden):
        return AuthFailed(PLATFORM, "forbidden: the account may not read this (a private or banned subreddit, "
                          "or an app without API approval)", status=403)
    if isinstance(exc, prawcore.ServerError):
        return Unavailable(PLATFORM, "server error", status=exc.response.status_code)
    if isinstance(exc, prawcore.BadJSON):
        return Unavailable(PLATFORM, "the answer was not valid JSON", status=exc.response.status_code)
    if isinstance(exc, (prawcore.NotFound, prawcore.Redirect)):
        return PlatformError(PLATFORM, "not found; check that every name in subreddits exists",
                             status=exc.response.status_code)
    if isinstance(exc, prawcore.ResponseException):
        status = exc.response.status_code
        if status in (401, 403):
            return AuthFailed(PLATFORM, "the app credentials were refused; check client_id and client_secret "
                              "of the script app at reddit.com/prefs/apps", status=status)
        return PlatformError(PLATFORM, f"request refused ({exc.response.reason})", status=status)
    if isinstance(exc, prawcore.RequestException):
        original = exc.original_exception
        what = "timed out" if isinstance(original, requests.Timeout) else "connection failed"
        return Unavailable(PLATFORM, f"{what} ({type(original).__name__})")
    return PlatformError(PLATFORM, f"{type(exc).__name__}: {exc}")


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- I/O


@dataclass(frozen=True)
class RetryOnceAtOnce(FiniteRetryStrategy):
    """One retry, without prawcore's 2-4 s sleep: a source never sleeps, the poller backs off."""

    retries: int = 1

    def _sleep_seconds(self) -> float | None:
        return None


class PacedByPoller(RateLimiter):
    """prawcore's rate limiter without its sleeps: a used-up window raises ``RateLimited``."""

    def __init__(self, *, window_size: int, clock: Callable[[], datetime]) -> None:
        super().__init__(window_size=window_size)
        self.clock = clock
        self.reset_at: datetime | None = None

    def delay(self) -> None:
        now = self.clock()
        if self.remaining is not None and self.remaining <= 0 and self.reset_at is not None and now < self.reset_at:
            raise RateLimited(PLATFORM, "the rate-limit window is used up (x-ratelimit-remaining: 0)",
                              retry_after=(self.reset_at - now).total_seconds())

    def update(self, *, response_headers: Mapping[str, str]) -> None:
        super().update(response_headers=response_headers)
        if "x-ratelimit-reset" in response_headers:  # seconds until the window resets
            seconds = max(1.0, float(response_headers["x-ratelimit-reset"]))
            self.reset_at = self.clock() + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Stream:
    key: str  # cursor key
    path: str  # API path relative to the OAuth host
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Run:
    """A stream's paging in progress, stored as the ``<key>:page`` cursor."""

    after: str
    newest: Position
    pages: int

    def encode(self) -> str:
        return f"{self.after} {self.newest.encode()} {self.pages}"

    @classmethod
    def decode(cls, value: str | None) -> _Run | None:
        parts = (value or "").split()
        if len(parts) != 4 or not parts[3].isdigit():
            return None
        newest = Position.decode(f"{parts[1]} {parts[2]}")
        return cls(parts[0], newest, int(parts[3])) if newest else None


def streams_for(queries: Sequence[str], subreddits: Sequence[str], *, sitewide: bool, inbox: bool) -> list[Stream]:
    """What one source reads. Several subreddits are read as one multireddit (``a+b``)."""
    subs = "+".join(dict.fromkeys(s.strip().removeprefix("/").removeprefix("r/").strip("/") for s in subreddits if s.strip()))
    streams = []
    for query in dict.fromkeys(q for q in queries if q):
        search = {"q": query, "sort": "new", "t": "all"}
        if sitewide:
            streams.append(Stream(query_key("search", query), "r/all/search", search))
        elif subs:  # a site-wide search already covers the subreddits
            streams.append(Stream(query_key("search", f"r/{subs} {query}"), f"r/{subs}/search",
                                  {**search, "restrict_sr": "on"}))
    if subs:
        streams.append(Stream(query_key("new", subs), f"r/{subs}/new"))
        streams.append(Stream(query_key("comments", subs), f"r/{subs}/comments"))
    if inbox:
        streams.append(Stream("mentions", "message/mentions"))
    return streams


@dataclass
class _Page:
    """What one request of one stream gave."""

    mentions: list[MentionIn] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    more: bool = False


class RedditListener:
    def __init__(self, name: str, reddit: praw.Reddit, streams: Sequence[Stream], owned: Sequence[str],
                 *, max_pages: int = MAX_PAGES) -> None:
        self.name = name
        self.platform = PLATFORM
        self.reddit = reddit
        self.streams = list(streams)
        self.owned = frozenset(o.lower().removeprefix("u/") for o in owned if o)
        self.max_pages = max_pages

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        running = [s for s in self.streams if _Run.decode(cursors.get(f"{s.key}:page"))]
        pages = [self._read(stream, cursors) for stream in running or self.streams]
        return Batch(
            mentions=[m for p in pages for m in p.mentions],
            cursors={k: v for p in pages for k, v in p.cursors.items()},
            skipped=sum(p.skipped for p in pages),
            more=any(p.more for p in pages),
        )

    def _read(self, stream: Stream, cursors: Mapping[str, str]) -> _Page:
        """The next page of one stream, up to its cursor, and the cursors that cover it."""
        cursor = Position.decode(cursors.get(stream.key))
        run = _Run.decode(cursors.get(f"{stream.key}:page"))
        params = {**stream.params, "limit": str(PAGE), **({"after": run.after} if run else {})}
        try:
            payload = self.reddit.request(method="GET", path=stream.path, params=params)
            children, after = listing_children(payload)
        except (prawcore.PrawcoreException, praw.exceptions.PRAWException) as exc:
            raise translate_error(exc) from exc
        except ValueError as exc:
            raise Unavailable(PLATFORM, f"unexpected answer from {stream.path}: {exc}") from exc
        fresh, reached = unseen(children, cursor)
        out = _Page()
        direct = stream.key == "mentions"  # the account's inbox: u/name mentions
        out.mentions, out.skipped = map_each(
            fresh, lambda t: _directed(map_thing(t, owned=self.owned), direct), source=self.name
        )
        newest = max(filter(None, [run.newest if run else None, *map(Position.of, fresh)]), default=None)
        pages = (run.pages if run else 0) + 1
        if after and not reached and newest and pages < self.max_pages:
            out.cursors[f"{stream.key}:page"] = _Run(after, newest, pages).encode()
            out.more = True
            return out
        if after and not reached and cursor is not None:
            log.warning("source %s: %s stopped after %d pages; older items of this run are skipped",
                        self.name, stream.path, pages)
        if newest and (cursor is None or newest > cursor):
            out.cursors[stream.key] = newest.encode()
        if run:
            out.cursors[f"{stream.key}:page"] = ""
        return out

    def close(self) -> None:
        for core in {id(c): c for c in _cores(self.reddit)}.values():
            core.close()


def _cores(reddit: praw.Reddit) -> list[prawcore.Session]:
    """praw's prawcore sessions (read-only and, with a login, the authorized one)."""
    return [c for c in (reddit._core, reddit._read_only_core, reddit._authorized_core) if c is not None]


def build(config: RedditSource, matcher: BrandMatcher | None = None, *, timeout: float = 20.0,
          clock: Callable[[], datetime] | None = None, max_pages: int = MAX_PAGES) -> RedditListener:
    if config.sandbox:
        creds = RedditCredentials()
        client_id, secret, username, password = creds.client_id, creds.client_secret, creds.username, creds.password
    else:
        client_id = config.client_id
        secret = config.client_secret.get_secret_value() if config.client_secret else None
        username = config.username
        password = config.password.get_secret_value() if config.password else None
        for key, value, hint in (("client_id", client_id, "the id under the app's name at reddit.com/prefs/apps"),
                                 ("client_secret", secret, "${REDDIT_CLIENT_SECRET} and export that variable")):
            if not value:
                raise ConfigError(f"missing; set it to {hint}", key=f"sources.{config.name}.{key}")
    login = bool(username and password)
    reddit = praw.Reddit(
        client_id=client_id,
        client_secret=secret,
        username=username if login else None,
        password=password if login else None,
        user_agent=config.user_agent,
        oauth_url=config.base_url,
        reddit_url=config.auth_url,
        short_url=config.auth_url if config.auth_url != REAL_AUTH_URL else "https://redd.it",
        check_for_updates=False,
        requestor_kwargs={"session": TimeoutSession(timeout)},
    )
    clock = clock or (lambda: datetime.now(timezone.utc))
    for core in _cores(reddit):  # prawcore offers no public setting for either
        core._retry_strategy_class = RetryOnceAtOnce
        core._rate_limiter = PacedByPoller(window_size=reddit.config.window_size, clock=clock)
    queries = [to_reddit(q) for qs in (matcher.queries.values() if matcher else ()) for q in qs]
    streams = streams_for(queries, config.subreddits, sitewide=config.search_sitewide, inbox=login)
    return RedditListener(config.name, reddit, streams, [username] if login and username else [], max_pages=max_pages)
