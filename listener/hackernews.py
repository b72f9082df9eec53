"""Hacker News stories and comments through the Algolia search API (no key needed).

Hacker News has no reply API: cases link to the item and the agent marks them handled.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import httpx

from core.config import HackerNewsSource
from core.mention import AuthorIn, MentionIn
from listener.base import Batch, map_each
from listener.enrich import BrandMatcher
from listener.http import get_json, make_client
from listener.query import to_hackernews
from listener.text import html_to_text, parse_timestamp, query_key

PLATFORM = "hackernews"
HITS_PER_PAGE = 100
MAX_PAGES = 10
ITEM_URL = "https://news.ycombinator.com/item?id={}"


def map_hit(hit: Mapping[str, Any]) -> MentionIn:
    """An Algolia HN hit (story or comment) as a mention."""
    object_id = str(hit["objectID"])
    tags = hit.get("_tags") or []
    is_comment = "comment" in tags or hit.get("comment_text") is not None
    text = html_to_text(hit.get("comment_text") if is_comment else (hit.get("story_text") or ""))
    title = hit.get("title") or hit.get("story_title")
    if not is_comment and not text:
        text = title or ""
    if not text:
        raise ValueError("hit has no text")
    author = hit.get("author")
    story_id = hit.get("story_id")
    parent = hit.get("parent_id")
    return MentionIn(
        platform=PLATFORM,
        native_id=object_id,
        text=text,
        title=title if not is_comment else None,
        created_at=parse_timestamp(hit["created_at_i"] if "created_at_i" in hit else hit["created_at"]),
        url=ITEM_URL.format(object_id),
        author=AuthorIn(platform=PLATFORM, handle=str(author), url=f"https://news.ycombinator.com/user?id={author}") if author else None,
        parent_id=str(parent) if parent is not None and is_comment else None,
        conversation_id=str(story_id) if story_id is not None else object_id,
        likes=int(hit.get("points") or 0),
        replies=int(hit.get("num_comments") or 0),
        raw=dict(hit),
    )


class HackerNewsListener:
    def __init__(self, name: str, client: httpx.Client, queries: Sequence[str]) -> None:
        self.name = name
        self.platform = PLATFORM
        self.client = client
        self.queries = list(dict.fromkeys(q for q in queries if q))

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        mentions: list[MentionIn] = []
        new_cursors: dict[str, str] = {}
        skipped = 0
        for query in self.queries:
            key = query_key("search", query)
            since = int(cursors.get(key, "0"))
            newest = since
            for page in range(MAX_PAGES):
                params: dict[str, Any] = {"query": query, "tags": "(story,comment)", "hitsPerPage": HITS_PER_PAGE, "page": page}
                if since:
                    # >= rather than >: items of the same second arriving later are not lost; dedupe absorbs repeats.
                    params["numericFilters"] = f"created_at_i>={since}"
                data = get_json(self.client, "/api/v1/search_by_date", PLATFORM, params=params)
                hits = data.get("hits") or []
                got, bad = map_each(hits, map_hit, source=self.name)
                mentions += got
                skipped += bad
                for hit in hits:
                    if isinstance(hit, Mapping) and isinstance(hit.get("created_at_i"), int):
                        newest = max(newest, hit["created_at_i"])
                if page + 1 >= int(data.get("nbPages") or 0):
                    break
            if newest:
                new_cursors[key] = str(newest)
        return Batch(mentions, new_cursors, skipped=skipped)

    def close(self) -> None:
        self.client.close()


def build(config: HackerNewsSource, matcher: BrandMatcher | None = None, *, timeout: float = 20.0) -> HackerNewsListener:
    queries = [s for qs in (matcher.queries.values() if matcher else ()) for q in qs for s in to_hackernews(q)]
    return HackerNewsListener(config.name, make_client(config.base_url, timeout=timeout), queries)
