"""X (Twitter) API v2 through tweepy: recent search per brand query, and mentions of owned accounts.

Each *stream* (one search query, or the mentions timeline of one owned user) keeps two cursors:

- ``<key>``: the newest post id already stored; the next poll asks X for ``since_id=<key>``.
- ``<key>:page``: while a stream is being paged (newest first, ``next_token``), the next page
  token, the newest id of this run and the pages read so far; empty when the stream is idle.

The since_id only moves once the last page of a run is stored, and every page is stored with the
cursor that covers it (the poller fetches again while ``Batch.more``), so a crash between pages
resumes at the page token. While any stream is mid-run, a fetch continues only those streams, so an
idle stream is not re-read (and re-billed) once per page of another. A run stops after
``max_pages`` pages; older posts of that run are skipped, with a warning.

Costs are metered, since X bills reads per resource (see ``read_cost``). tweepy is used with
``return_type=dict`` so the pure ``map_tweet`` works on the documented JSON, and never with
``wait_on_rate_limit``: a 429 becomes ``RateLimited`` and the poller pauses the source.
"""

from __future__ import annotations

import dataclasses

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

import requests
import tweepy

from core.config import XSource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Unavailable
from core.mention import AuthorIn, MentionIn
from listener.base import Batch, map_each
from listener.enrich import BrandMatcher
from listener.http import TimeoutSession, hide_in_logs
from listener.query import to_x
from listener.sandbox.credentials import XCredentials
from listener.sandbox.redirect import redirect_session
from listener.text import parse_timestamp, query_key

log = logging.getLogger(__name__)


# tweepy logs every request's headers at DEBUG, the bearer token included.
hide_in_logs(("tweepy.client",), r"""(['"]Authorization['"]: *['"])[^'"]*""", "Authorization")

PLATFORM = "x"
REAL_BASE_URL = "https://api.twitter.com"
PAGE = 100  # the most X returns per request (search: 10..100, mentions: 5..100)
MAX_PAGES = 10  # per run of one stream: at most 1,000 posts ($5 at the default price)
TWEET_FIELDS = ["created_at", "conversation_id", "public_metrics", "lang", "referenced_tweets",
                "in_reply_to_user_id", "author_id"]
USER_FIELDS = ["public_metrics", "username", "name", "verified", "url"]
EXPANSIONS = ["author_id"]  # parents are known from referenced_tweets; expanding them costs a read each
# Language tags X gives to posts without classifiable text (und, and private-use codes such as qme).
_NO_LANGUAGE = frozenset({"und", "zxx", "qam", "qct", "qht", "qme", "qst"})


# --------------------------------------------------------------------------- pure mapping


def users_by_id(payload: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The ``includes.users`` expansion of a v2 response, by user id."""
    users = (payload.get("includes") or {}).get("users") or []
    return {str(u["id"]): u for u in users if isinstance(u, Mapping) and u.get("id") is not None}


def map_tweet(
    tweet: Mapping[str, Any],
    users: Mapping[str, Mapping[str, Any]],
    *,
    owned: frozenset[str] = frozenset(),
) -> MentionIn:
    """A v2 Tweet object (``data[]`` of a search or mentions response) as a mention.

    ``users`` is the ``includes.users`` expansion by id (see ``users_by_id``): it gives the
    author's username and reach (``public_metrics.followers_count``).
    """
    tweet_id = str(tweet["id"])
    author_id = str(tweet["author_id"]) if tweet.get("author_id") is not None else None
    user = users.get(author_id) if author_id else None
    username = user.get("username") if user else None
    metrics = tweet.get("public_metrics") or {}
    parent = next((str(ref["id"]) for ref in tweet.get("referenced_tweets") or ()
                   if ref.get("type") == "replied_to"), None)
    lang = tweet.get("lang")
    return MentionIn(
        platform=PLATFORM,
        native_id=tweet_id,
        text=str(tweet["text"]),
        created_at=parse_timestamp(tweet["created_at"]),
        url=f"https://x.com/{username}/status/{tweet_id}" if username else f"https://x.com/i/web/status/{tweet_id}",
        author=_author(author_id, user),
        language=lang if lang and lang not in _NO_LANGUAGE else None,
        parent_id=parent,
        conversation_id=str(tweet["conversation_id"]) if tweet.get("conversation_id") else tweet_id,
        likes=int(metrics.get("like_count") or 0),
        reposts=int(metrics.get("retweet_count") or 0),
        replies=int(metrics.get("reply_count") or 0),
        is_own=author_id is not None and author_id in owned,
        raw={"tweet": dict(tweet), "author": dict(user) if user else None},
    )


def _author(author_id: str | None, user: Mapping[str, Any] | None) -> AuthorIn | None:
    if user is None:
        # X left the user out (suspended or protected since): keep the id so the author can be joined later.
        return AuthorIn(platform=PLATFORM, handle=author_id, native_id=author_id) if author_id else None
    username = str(user["username"])
    followers = (user.get("public_metrics") or {}).get("followers_count")
    return AuthorIn(
        platform=PLATFORM,
        handle=f"@{username}",
        native_id=str(user["id"]),
        name=user.get("name") or None,
        followers=int(followers) if followers is not None else None,
        url=f"https://x.com/{username}",
    )


def read_cost(posts_read: int, users_read: int, *, post_price: float, user_price: float) -> float:
    """Metered spend of one fetch in US dollars, X pay-per-use.

    X bills each post and each user a response returns; a resource read twice in one UTC day is
    billed once. Earful meters conservatively: every post returned is counted, and users are
    de-duplicated only within one fetch, so the meter can run above X's bill, never below it.
    """
    return posts_read * post_price + users_read * user_price


# --------------------------------------------------------------------------- errors


def translate_error(exc: Exception, *, now: datetime | None = None, timeout: float | None = None) -> PlatformError:
    """tweepy's and requests' exceptions as Earful's error tree (the one place this happens)."""
    if isinstance(exc, tweepy.TooManyRequests):
        reset = exc.reset_time  # epoch seconds from x-rate-limit-reset; None when X sent none
        retry = max(0.0, reset - (now or datetime.now(timezone.utc)).timestamp()) if reset is not None else None
        return RateLimited(PLATFORM, "rate limit reached for this endpoint's 15-minute window", status=429,
                           retry_after=retry)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthFailed(PLATFORM, "the bearer token was refused; create a new one in the X developer portal "
                          "(Projects & Apps > Keys and tokens), export it and reference it as "
                          "bearer_token: ${X_BEARER_TOKEN}", status=401)
    if isinstance(exc, tweepy.Forbidden):
        return AuthFailed(PLATFORM, f"access refused ({_detail(exc)}); check that the app's project has read "
                          "access to recent search and has pay-per-use credits", status=403)
    if isinstance(exc, tweepy.TwitterServerError):
        return Unavailable(PLATFORM, f"server error ({_detail(exc)})", status=exc.response.status_code)
    if isinstance(exc, tweepy.NotFound):
        return PlatformError(PLATFORM, f"not found ({_detail(exc)}); check owned_user_ids (numeric user ids, "
                             "not @names)", status=404)
    if isinstance(exc, tweepy.HTTPException):
        return PlatformError(PLATFORM, f"request refused ({_detail(exc)})", status=exc.response.status_code)
    if isinstance(exc, requests.Timeout):
        limit = f" after {timeout:g} s" if timeout else ""
        return Unavailable(PLATFORM, f"timed out{limit} ({type(exc).__name__})")
    if isinstance(exc, requests.JSONDecodeError):
        return Unavailable(PLATFORM, "the answer was not valid JSON")
    if isinstance(exc, requests.RequestException):
        return Unavailable(PLATFORM, f"connection failed ({type(exc).__name__})")
    return PlatformError(PLATFORM, f"{type(exc).__name__}: {exc}")


def _detail(exc: tweepy.HTTPException) -> str:
    messages = [m for m in exc.api_messages if m] or [exc.response.reason or ""]
    return "; ".join(messages)[:300]


# --------------------------------------------------------------------------- I/O


@dataclass(frozen=True)
class Stream:
    key: str  # cursor key
    kind: str  # "search" or "mentions"
    target: str  # the query, or the owned user id


@dataclass(frozen=True)
class _Run:
    """A stream's pagination in progress, stored as the ``<key>:page`` cursor."""

    token: str
    newest: str
    pages: int

    def encode(self) -> str:
        return f"{self.token} {self.newest} {self.pages}"

    @classmethod
    def decode(cls, value: str | None) -> _Run | None:
        parts = (value or "").split()
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]))


@dataclass
class _Page:
    """What one request of one stream gave."""

    mentions: list[MentionIn] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    more: bool = False
    posts_read: int = 0
    users: set[str] = field(default_factory=set)


class XListener:
    def __init__(
        self,
        name: str,
        client: tweepy.Client,
        queries: Sequence[str],
        owned_user_ids: Sequence[str],
        *,
        post_price: float,
        user_price: float,
        clock: Callable[[], datetime],
        timeout: float | None = None,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.name = name
        self.platform = PLATFORM
        self.client = client
        self.owned = frozenset(str(u) for u in owned_user_ids)
        self.streams = [Stream(query_key("search", q), "search", q) for q in dict.fromkeys(q for q in queries if q)]
        self.streams += [Stream(f"mentions:{u}", "mentions", u) for u in dict.fromkeys(self.owned)]
        self.post_price = post_price
        self.user_price = user_price
        self.clock = clock
        self.timeout = timeout
        self.max_pages = max_pages

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        running = [s for s in self.streams if _Run.decode(cursors.get(f"{s.key}:page"))]
        pages = [self._read(stream, cursors) for stream in running or self.streams]
        users_read = set().union(*(p.users for p in pages))
        return Batch(
            mentions=[m for p in pages for m in p.mentions],
            cursors={k: v for p in pages for k, v in p.cursors.items()},
            skipped=sum(p.skipped for p in pages),
            more=any(p.more for p in pages),
            cost_usd=read_cost(sum(p.posts_read for p in pages), len(users_read),
                               post_price=self.post_price, user_price=self.user_price),
        )

    def _read(self, stream: Stream, cursors: Mapping[str, str]) -> _Page:
        """The next page of one stream, and the cursors that cover it."""
        since = cursors.get(stream.key) or None
        run = _Run.decode(cursors.get(f"{stream.key}:page"))
        out = _Page()
        try:
            try:
                payload = self._page(stream, since, run.token if run else None)
            except tweepy.BadRequest as exc:
                if not (since or run) or not _refuses_cursor(exc):
                    raise
                # A page token expired, or the source slept past the 7-day reach of since_id.
                log.warning("source %s: X refused the stored cursor of %s (%s); reading it afresh",
                            self.name, stream.key, _detail(exc))
                if run:
                    out.cursors[f"{stream.key}:page"] = ""
                since = run = None
                payload = self._page(stream, None, None)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise translate_error(exc, now=self.clock(), timeout=self.timeout) from exc
        tweets = payload.get("data") or []
        users = users_by_id(payload)
        direct = stream.kind != "search"  # the owned account's mentions timeline
        out.mentions, out.skipped = map_each(
            tweets, lambda t: dataclasses.replace(map_tweet(t, users, owned=self.owned), direct=direct), source=self.name
        )
        out.posts_read = len(tweets) + len((payload.get("includes") or {}).get("tweets") or [])
        out.users = set(users)
        meta = payload.get("meta") or {}
        newest = run.newest if run else _max_id(meta.get("newest_id"), *(t.get("id") for t in _dicts(tweets)))
        pages = (run.pages if run else 0) + 1
        token = meta.get("next_token")
        if token and newest and pages < self.max_pages:
            out.cursors[f"{stream.key}:page"] = _Run(str(token), newest, pages).encode()
            out.more = True
            return out
        if token:
            log.warning("source %s: %s stopped after %d pages; older posts of this run are skipped",
                        self.name, stream.key, pages)
        highest = _max_id(newest, since)
        if highest and highest != since:
            out.cursors[stream.key] = highest
        if run:
            out.cursors[f"{stream.key}:page"] = ""
        return out

    def _page(self, stream: Stream, since_id: str | None, token: str | None) -> dict[str, Any]:
        fields: dict[str, Any] = dict(since_id=since_id, max_results=PAGE, expansions=EXPANSIONS,
                                      tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS)
        if stream.kind == "search":
            return self.client.search_recent_tweets(stream.target, next_token=token, **fields)
        return self.client.get_users_mentions(stream.target, pagination_token=token, **fields)

    def close(self) -> None:
        self.client.session.close()


def _refuses_cursor(exc: tweepy.BadRequest) -> bool:
    text = " ".join([str(exc), *exc.api_messages])
    return any(name in text for name in ("since_id", "next_token", "pagination_token"))


def _dicts(items: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    return (i for i in items if isinstance(i, Mapping))


def _max_id(*ids: Any) -> str | None:
    """X ids are 64-bit snowflakes sent as strings: compare them as integers."""
    values = [int(str(i)) for i in ids if i is not None and str(i).isdigit()]
    return str(max(values)) if values else None


def build(
    config: XSource,
    matcher: BrandMatcher | None = None,
    *,
    timeout: float = 20.0,
    clock: Callable[[], datetime] | None = None,
    max_pages: int = MAX_PAGES,
) -> XListener:
    if config.sandbox:
        token = XCredentials().bearer_token
    elif config.bearer_token is not None and config.bearer_token.get_secret_value():
        token = config.bearer_token.get_secret_value()
    else:
        raise ConfigError("missing; X reads need an app bearer token: set it to ${X_BEARER_TOKEN} and export that "
                          "variable", key=f"sources.{config.name}.bearer_token")
    client = tweepy.Client(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
    client.session.close()
    client.session = TimeoutSession(timeout)
    if config.base_url.rstrip("/") != REAL_BASE_URL:
        redirect_session(client.session, config.base_url)  # tweepy hard-codes api.twitter.com
    queries = [to_x(q) for qs in (matcher.queries.values() if matcher else ()) for q in qs]
    return XListener(
        config.name,
        client,
        queries,
        config.owned_user_ids,
        post_price=config.price_post_read_usd,
        user_price=config.price_user_read_usd,
        clock=clock or (lambda: datetime.now(timezone.utc)),
        timeout=timeout,
        max_pages=max_pages,
    )
