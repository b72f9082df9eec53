"""RSS and Atom feeds: blogs, review sites, forum feeds, alert feeds.

feedparser has no timeout and hangs on a silent server, so feeds are fetched with httpx (timeout,
conditional GET with ETag / Last-Modified) and only the bytes are handed to feedparser.
"""

from __future__ import annotations

import calendar
import json
import logging
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

import feedparser
import httpx

from core.config import RssSource
from core.errors import PlatformError
from core.mention import AuthorIn, MentionIn
from listener.base import Batch, map_each
from listener.enrich import BrandMatcher
from listener.http import make_client, request
from listener.text import html_to_text, query_key

PLATFORM = "rss"
log = logging.getLogger(__name__)


def _entry_time(entry: Mapping[str, Any]) -> datetime:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(field)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    raise ValueError("entry has no date")


def map_entry(entry: Mapping[str, Any], *, feed_url: str, feed_title: str | None = None) -> MentionIn:
    """A feedparser entry (RSS item or Atom entry) as a mention."""
    link = entry.get("link")
    entry_id = entry.get("id") or link
    if not entry_id:
        raise ValueError("entry has neither id nor link")
    content = entry.get("content")
    body = content[0].get("value") if content else entry.get("summary")
    text = html_to_text(body) or html_to_text(entry.get("title"))
    if not text:
        raise ValueError("entry has no text")
    author = entry.get("author")
    return MentionIn(
        platform=PLATFORM,
        native_id=str(entry_id)[:300],
        text=text,
        title=html_to_text(entry.get("title")) or None,
        created_at=_entry_time(entry),
        url=link,
        # Feed authors have no platform-wide identity: the key is per feed, the handle the name shown.
        author=AuthorIn(platform=PLATFORM, handle=str(author)[:300], native_id=f"{feed_url}#{author}"[:300]) if author else None,
        raw={"feed": feed_url, "id": entry_id, "title": entry.get("title"), "link": link, "summary": body},
    )


class FeedListener:
    def __init__(self, name: str, client: httpx.Client, feeds: Sequence[str]) -> None:
        self.name = name
        self.platform = PLATFORM
        self.client = client
        self.feeds = list(feeds)

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        mentions: list[MentionIn] = []
        new_cursors: dict[str, str] = {}
        skipped = 0
        failures: list[PlatformError] = []
        for url in self.feeds:
            key = query_key("feed", url)
            state = json.loads(cursors[key]) if key in cursors else {}
            headers = {}
            if state.get("etag"):
                headers["If-None-Match"] = state["etag"]
            if state.get("modified"):
                headers["If-Modified-Since"] = state["modified"]
            try:
                response = request(self.client, "GET", url, PLATFORM, headers=headers)
            except PlatformError as exc:
                failures.append(exc)  # one broken feed must not hide the others
                log.warning("source %s: feed %s failed: %s", self.name, url, exc)
                continue
            if response.status_code == 304:
                continue
            parsed = feedparser.parse(response.content, response_headers=dict(response.headers))
            if parsed.bozo and not parsed.entries:
                skipped += 1
                log.warning("source %s: feed %s is not valid RSS/Atom (%s)", self.name, url, parsed.get("bozo_exception"))
                continue
            title = parsed.feed.get("title")
            got, bad = map_each(parsed.entries, lambda e: map_entry(e, feed_url=url, feed_title=title), source=self.name)
            mentions += got
            skipped += bad
            new_state = {k: v for k, v in (("etag", response.headers.get("etag")), ("modified", response.headers.get("last-modified"))) if v}
            new_cursors[key] = json.dumps(new_state, sort_keys=True)
        if failures and len(failures) == len(self.feeds):
            raise failures[0]
        return Batch(mentions, new_cursors, skipped=skipped)

    def close(self) -> None:
        self.client.close()


def build(config: RssSource, matcher: BrandMatcher | None = None, *, timeout: float = 20.0) -> FeedListener:
    return FeedListener(config.name, make_client(timeout=timeout), config.feeds)
