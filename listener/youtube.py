"""YouTube: comments on the brand's own channels, through google-api-python-client.

``commentThreads.list`` with ``allThreadsRelatedToChannelId`` returns every comment thread on a
channel's videos, newest first (``order=time``), with up to five replies each. On the brand's own
channels every thread concerns the brand, so all are read; ``searchTerms`` (one plain word, see
``listener.query.to_youtube``) narrows the list only when every configured query shares a word.
A comment written by one of the configured channels is the brand's own (``is_own``). (The poller
still keeps only comments that match a brand query or are the brand's own.)

Quota: each ``commentThreads.list`` call costs 1 unit of the project's 10,000 units a day
(``comments.insert`` costs 50). The quota resets at midnight Pacific time; a ``quotaExceeded``
answer pauses the source until then.

Cursor: per channel, the newest ``publishedAt`` of a top-level comment seen in the last finished
sweep. A sweep reads one page per `fetch` (its page token is kept in ``<key>:next``) and stops at
the first thread older than the mark. The very first sweep of a channel reads a single page (no
backfill); one that found nothing keeps an empty mark and reads all it finds later. Threads are ordered by
their top-level comment, so a new reply on an old thread is seen only while that thread is still
within the pages a sweep reads.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import http.client
import json
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

import httplib2
from googleapiclient.discovery import build as build_client
from googleapiclient.errors import Error as GoogleApiError, HttpError

from core.config import YouTubeSource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Unavailable
from core.mention import AuthorIn, MentionIn
from core.models import utcnow
from listener.base import Batch, Page, map_each, sweep
from listener.enrich import BrandMatcher
from listener.http import hide_in_logs
from listener.query import to_youtube
from listener.sandbox.credentials import YouTubeCredentials
from listener.text import parse_timestamp, query_key

PLATFORM = "youtube"


# googleapiclient logs every request URL at DEBUG, the `key=` API key included.
hide_in_logs(("googleapiclient.discovery", "googleapiclient.http"), r"([?&]key=)[^&\s'\"]+", "key=")
PAGE = 100  # the most commentThreads.list returns
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED"})

Pair = tuple[Any, Mapping[str, Any]]  # (comment resource, the thread it came in)
# One page of one channel: mentions, skipped items, cursor values, and whether the sweep goes on.


# --------------------------------------------------------------------------- pure mapping
def thread_comments(thread: Mapping[str, Any]) -> list[Pair]:
    """The top-level comment and the included replies of a commentThread, each with its thread.

    Never raises: a thread without a snippet yields ``(None, thread)``, which the mapper rejects,
    so it is counted as skipped like any malformed item.
    """
    snippet = thread.get("snippet") if isinstance(thread, Mapping) else None
    top = snippet.get("topLevelComment") if isinstance(snippet, Mapping) else None
    replies = thread.get("replies") if isinstance(thread, Mapping) else None
    comments = replies.get("comments") if isinstance(replies, Mapping) else None
    return [(top, thread)] + [(reply, thread) for reply in (comments if isinstance(comments, list) else [])]


def map_comment(
    comment: Mapping[str, Any], thread: Mapping[str, Any], *, owned: frozenset[str] = frozenset()
) -> MentionIn:
    """A ``youtube#comment`` (top-level or reply) of a ``youtube#commentThread`` as a mention."""
    comment_id = str(comment["id"])
    snippet = comment["snippet"]
    thread_id = str(thread["id"])
    thread_snippet = thread.get("snippet") or {}
    video_id = snippet.get("videoId") or thread_snippet.get("videoId")
    if not video_id:
        raise ValueError("comment has no videoId (a comment on the channel itself is not collected)")
    is_top = comment_id == thread_id
    text = snippet.get("textDisplay") or snippet.get("textOriginal")  # asked for as plainText
    if not isinstance(text, str):
        raise ValueError("comment has no text")
    channel = (snippet.get("authorChannelId") or {}).get("value")
    name = snippet.get("authorDisplayName")
    return MentionIn(
        platform=PLATFORM,
        native_id=comment_id,
        text=text,
        created_at=parse_timestamp(snippet["publishedAt"]),
        url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}",
        author=AuthorIn(
            platform=PLATFORM,
            handle=str(name or channel),
            native_id=str(channel) if channel else None,
            name=str(name) if name else None,
            url=snippet.get("authorChannelUrl"),
        )
        if (name or channel)
        else None,
        parent_id=None if is_top else str(snippet.get("parentId") or thread_id),
        conversation_id=thread_id,
        likes=int(snippet.get("likeCount") or 0),
        replies=int(thread_snippet.get("totalReplyCount") or 0) if is_top else 0,
        is_own=channel is not None and channel in owned,
        raw={"comment": dict(comment), "videoId": video_id, "threadId": thread_id,
             "channelId": thread_snippet.get("channelId")},
    )


def thread_time(thread: Any) -> datetime | None:
    """publishedAt of a thread's top-level comment (the order of ``order=time``); None if unreadable."""
    try:
        return parse_timestamp(thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def search_terms(queries: Sequence[str], enabled: bool = True) -> str:
    """The one ``searchTerms`` word every configured query shares, or "" for all threads."""
    words = set(queries)
    return next(iter(words)) if enabled and len(words) == 1 and "" not in words else ""


def seconds_until_quota_reset(now: datetime) -> float:
    """Seconds from `now` to the next midnight in Pacific time, when YouTube resets the daily quota."""
    local = now.astimezone(QUOTA_ZONE)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(0.0, (midnight - now).total_seconds())


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


# --------------------------------------------------------------------------- errors
def translate_error(exc: Exception, now: datetime) -> PlatformError:
    """googleapiclient / httplib2 failures as Earful's tree."""
    if isinstance(exc, HttpError):
        status, reasons = exc.resp.status, error_reasons(exc)
        message = exc.reason or f"HTTP {status}"
        if reasons & QUOTA_REASONS:
            return RateLimited(PLATFORM, "the daily quota of 10,000 units is spent; it resets at midnight Pacific time",
                               status=status, retry_after=seconds_until_quota_reset(now))
        if status == 429 or reasons & RATE_REASONS:
            return RateLimited(PLATFORM, f"rate limited ({message})", status=status)
        if reasons & KEY_REASONS or (status == 400 and "API key" in message):
            return AuthFailed(PLATFORM, f"the API key was refused ({message}); create a key with the YouTube Data "
                              "API v3 enabled", status=status)
        if status in (401, 403):
            return AuthFailed(PLATFORM, f"access refused ({message}); check api_key and channel_ids", status=status)
        if status >= 500:
            return Unavailable(PLATFORM, f"server error ({message})", status=status)
        if status == 404:
            return PlatformError(PLATFORM, f"not found ({message}); check channel_ids", status=status)
        return PlatformError(PLATFORM, f"request refused ({message})", status=status)
    if isinstance(exc, TimeoutError):
        return Unavailable(PLATFORM, "timed out")
    if isinstance(exc, (OSError, httplib2.HttpLib2Error, http.client.HTTPException)):
        return Unavailable(PLATFORM, f"connection failed ({type(exc).__name__})")
    if isinstance(exc, ValueError):
        return Unavailable(PLATFORM, "the answer was not valid JSON")
    return Unavailable(PLATFORM, f"{type(exc).__name__}: {exc}")


def error_reasons(exc: HttpError) -> set[str]:
    """The ``reason`` values of a Google API error body (``errors[]`` and ``details[]``)."""
    try:
        error = json.loads(exc.content.decode("utf-8")).get("error") or {}
    except (ValueError, AttributeError, UnicodeDecodeError):
        return set()
    entries = list(error.get("errors") or []) + list(error.get("details") or [])
    return {str(e["reason"]) for e in entries if isinstance(e, Mapping) and e.get("reason")}


# --------------------------------------------------------------------------- I/O
class YouTubeListener:
    def __init__(
        self,
        name: str,
        youtube: Any,
        channel_ids: Sequence[str],
        terms: str = "",
        *,
        clock: Callable[[], datetime] = utcnow,
        page_size: int = PAGE,
    ) -> None:
        self.name = name
        self.platform = PLATFORM
        self.youtube = youtube
        self.channel_ids = list(dict.fromkeys(channel_ids))
        self.owned = frozenset(self.channel_ids)
        self.terms = terms
        self.clock = clock
        self.page_size = page_size

    def key(self, channel: str) -> str:
        """Changing the search word starts the channel's cursor afresh."""
        return query_key(f"channel:{channel}", self.terms)

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        return sweep([(self.key(c), partial(self._channel_page, c)) for c in self.channel_ids], cursors)

    def _channel_page(self, channel: str, key: str, cursors: Mapping[str, str]) -> Page:
        mark, top = _time(cursors.get(key)), _time(cursors.get(f"{key}:top"))
        page = self._list(channel, cursors.get(f"{key}:next") or None)
        threads = list(page.get("items") or [])
        pairs = [pair for thread in threads for pair in thread_comments(thread)]
        # Every comment on the brand's own channels is addressed to the brand.
        got, bad = map_each(
            pairs, lambda pair: dataclasses.replace(map_comment(pair[0], pair[1], owned=self.owned), direct=True),
            source=self.name,
        )
        times = [t for thread in threads if (t := thread_time(thread)) is not None]
        top = max([*times, *([top] if top else [])], default=None)
        reached_mark = mark is not None and any(t < mark for t in times)
        done = not page.get("nextPageToken") or not threads or key not in cursors or reached_mark
        if done:
            return got, bad, {key: _iso(top) or _iso(mark), f"{key}:next": "", f"{key}:top": ""}, False
        return got, bad, {f"{key}:next": str(page["nextPageToken"]), f"{key}:top": _iso(top)}, True

    def _list(self, channel: str, token: str | None) -> Mapping[str, Any]:
        request = self.youtube.commentThreads().list(
            part="snippet,replies",
            allThreadsRelatedToChannelId=channel,
            searchTerms=self.terms or None,
            order="time",
            maxResults=self.page_size,
            textFormat="plainText",
            pageToken=token,
        )
        try:
            page = request.execute(num_retries=0)
        except (GoogleApiError, OSError, httplib2.HttpLib2Error, http.client.HTTPException, ValueError) as exc:
            raise translate_error(exc, self.clock()) from exc
        if not isinstance(page, Mapping):
            raise Unavailable(PLATFORM, "commentThreads.list answered something other than a JSON object")
        return page

    def close(self) -> None:
        self.youtube.close()


def _time(value: str | None) -> datetime | None:
    try:
        return parse_timestamp(value) if value else None
    except ValueError:
        return None


def build(
    config: YouTubeSource,
    matcher: BrandMatcher | None = None,
    *,
    timeout: float = 20.0,
    clock: Callable[[], datetime] = utcnow,
    page_size: int = PAGE,
) -> YouTubeListener:
    where = f"sources.{config.name}"
    if config.sandbox:
        api_key = YouTubeCredentials().api_key
    elif config.api_key:
        api_key = config.api_key.get_secret_value()
    else:
        raise ConfigError("missing; create an API key with the YouTube Data API v3 enabled and set "
                          "api_key: ${YOUTUBE_API_KEY}", key=f"{where}.api_key")
    if not config.channel_ids:
        raise ConfigError("empty; list the brand's channel ids (UC...), whose comments Earful reads",
                          key=f"{where}.channel_ids")
    youtube = build_client(
        "youtube",
        "v3",
        developerKey=api_key,
        http=httplib2.Http(timeout=timeout),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": config.base_url},
    )
    words = [to_youtube(q) for qs in (matcher.queries.values() if matcher else ()) for q in qs]
    terms = search_terms(words, config.search_terms)
    return YouTubeListener(config.name, youtube, config.channel_ids, terms, clock=clock, page_size=page_size)
