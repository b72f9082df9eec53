"""Discourse forums: full-text search and the stream of latest posts, over plain HTTP (httpx).

Two kinds of stream, both newest first:

* ``GET /search.json?q=<words> order:latest after:<date>`` for each string of
  ``listener.query.to_discourse``. Search returns one post per topic (its latest match), 50 per
  ``page``, with a blurb rather than the full text; it is the only way to find older matches.
* ``GET /posts.json``: every new post of the forum (``before=<id>`` pages back), with its raw
  Markdown. Its cursor is the highest post id seen; a sweep stops at the first known id.

Each `fetch` reads one page per stream, and a stream that has not reached its mark keeps its
position in ``<key>:next``, so every page is stored with the cursor that covers it. The very first
sweep of a stream reads a single page (no backfill); one that found nothing keeps an empty mark and
reads all it finds later. Within a batch the latest posts come after the search hits, so an item seen
by both is stored with its full text rather than the blurb.

Post ids are only unique within one forum, so a mention's native id is ``<site>:<post id>`` where
site is the forum's host (and path, for a forum under a sub-folder). Topic titles are kept as the
title of every post of the topic: Discourse's own search matches them, and a reply in a topic about
the brand is about the brand. A reply's parent is known only by its number in the topic
(``reply_to_post_number``, kept in raw with ``topic_id`` for answering), so ``parent_id`` is unset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlsplit

import httpx

from core.config import DiscourseSource
from core.errors import ConfigError, Unavailable
from core.mention import AuthorIn, MentionIn
from listener.base import Batch, Page, PageReader, map_each, sweep
from listener.enrich import BrandMatcher
from listener.http import get_json, make_client
from listener.query import to_discourse
from listener.sandbox.credentials import DiscourseCredentials
from listener.text import html_to_text, parse_timestamp, query_key

PLATFORM = "discourse"
LATEST = "posts"
LIKE_ACTION = 2  # post_action_type id of a like in actions_summary

# One page of one stream: mentions, skipped items, cursor values, and whether the sweep goes on.


# --------------------------------------------------------------------------- pure mapping
def site_of(base_url: str) -> str:
    """The forum's identity in native ids: host, plus the path of a forum under a sub-folder."""
    parts = urlsplit(base_url)
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}"


def map_post(
    post: Mapping[str, Any],
    *,
    base_url: str,
    topics: Mapping[int, Mapping[str, Any]] | None = None,
    owned: frozenset[str] = frozenset(),
) -> MentionIn:
    """A Discourse post (``/posts.json`` entry or ``/search.json`` hit) as a mention.

    `topics` are the search answer's topic summaries by id, for the slug and title a hit lacks.
    """
    post_id, topic_id, number = int(post["id"]), int(post["topic_id"]), int(post["post_number"])
    topic = (topics or {}).get(topic_id) or {}
    base = base_url.rstrip("/")
    site = site_of(base_url)
    slug = post.get("topic_slug") or topic.get("slug")
    text = post.get("raw") or html_to_text(post.get("cooked")) or html_to_text(post.get("blurb"))
    if not text:
        raise ValueError("post has no text")
    username = str(post["username"])
    title = post.get("topic_title") or topic.get("title") or html_to_text(post.get("topic_title_headline")) or None
    return MentionIn(
        platform=PLATFORM,
        native_id=f"{site}:{post_id}",
        text=text,
        title=title,
        created_at=parse_timestamp(post["created_at"]),
        url=f"{base}/t/{slug}/{topic_id}/{number}" if slug else f"{base}/t/{topic_id}/{number}",
        author=AuthorIn(
            platform=PLATFORM,
            handle=username,
            native_id=f"{site}:{username.lower()}",  # usernames are unique per forum, case-insensitive
            name=post.get("name") or None,
            url=f"{base}/u/{username}",
        ),
        conversation_id=f"{site}:topic:{topic_id}",
        likes=_likes(post),
        replies=int(post.get("reply_count") or 0),
        is_own=username.lower() in owned,
        raw=dict(post),
    )


def _likes(post: Mapping[str, Any]) -> int:
    if post.get("like_count") is not None:
        return int(post["like_count"])
    for action in post.get("actions_summary") or []:
        if isinstance(action, Mapping) and action.get("id") == LIKE_ACTION:
            return int(action.get("count") or 0)
    return 0


def search_query(words: str, since: datetime | None) -> str:
    """The ``q`` of a search: newest first, from the day before the mark (Discourse's ``after:``
    takes a date and the forum's own time zone; a day of overlap keeps the result a superset)."""
    query = f"{words} order:latest"
    return f"{query} after:{(since - timedelta(days=1)).date().isoformat()}" if since else query


def _time(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value) if value else None
    except (TypeError, ValueError, AttributeError):
        return None


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z" if value else ""


def _post_id(post: Any) -> int | None:
    try:
        return int(post["id"])
    except (KeyError, TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- I/O
class DiscourseListener:
    def __init__(
        self,
        name: str,
        client: httpx.Client,
        base_url: str,
        queries: Sequence[str],
        owned: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.platform = PLATFORM
        self.client = client
        self.base_url = base_url
        self.queries = list(dict.fromkeys(q for q in queries if q))
        self.owned = frozenset(o.lower() for o in owned)

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        # Latest posts last: an item both streams return is then stored with its full text.
        streams: list[tuple[str, PageReader]] = [
            (query_key("search", q), partial(self._search_page, q)) for q in self.queries
        ]
        streams.append((LATEST, self._latest_page))
        return sweep(streams, cursors)

    def _search_page(self, words: str, key: str, cursors: Mapping[str, str]) -> Page:
        mark, top = _time(cursors.get(key)), _time(cursors.get(f"{key}:top"))
        page_number = int(cursors.get(f"{key}:next") or 1)
        data = self._get("/search.json", {"q": search_query(words, mark), "page": page_number})
        posts = list(data.get("posts") or [])
        topics = {t["id"]: t for t in data.get("topics") or [] if isinstance(t, Mapping) and "id" in t}
        got, bad = map_each(posts, self._mapper(topics), source=self.name)
        times = [t for p in posts if isinstance(p, Mapping) and (t := _time(p.get("created_at"))) is not None]
        top = max([*times, *([top] if top else [])], default=None)
        more_pages = bool((data.get("grouped_search_result") or {}).get("more_full_page_results"))
        reached_mark = mark is not None and any(t < mark for t in times)
        done = not more_pages or not posts or key not in cursors or reached_mark
        if done:
            return got, bad, {key: _iso(top) or _iso(mark), f"{key}:next": "", f"{key}:top": ""}, False
        return got, bad, {f"{key}:next": str(page_number + 1), f"{key}:top": _iso(top)}, True

    def _latest_page(self, key: str, cursors: Mapping[str, str]) -> Page:
        mark = int(cursors.get(key) or 0)
        top = int(cursors.get(f"{key}:top") or 0)
        before = cursors.get(f"{key}:next") or None
        data = self._get("/posts.json", {"before": before} if before else None)
        latest = list(data.get("latest_posts") or [])
        unseen = [p for p in latest if (post_id := _post_id(p)) is None or post_id > mark]  # a bad id is skipped later
        got, bad = map_each(unseen, self._mapper({}), source=self.name)
        ids = [post_id for p in latest if (post_id := _post_id(p)) is not None]
        top = max([*ids, top])
        done = not ids or key not in cursors or min(ids) <= mark
        if done:
            return got, bad, {key: str(top or mark or ""), f"{key}:next": "", f"{key}:top": ""}, False
        return got, bad, {f"{key}:next": str(min(ids)), f"{key}:top": str(top)}, True

    def _mapper(self, topics: Mapping[int, Mapping[str, Any]]) -> Callable[[Any], MentionIn]:
        return lambda post: map_post(post, base_url=self.base_url, topics=topics, owned=self.owned)

    def _get(self, path: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        data = get_json(self.client, path, PLATFORM, params=params)
        if not isinstance(data, Mapping):
            raise Unavailable(PLATFORM, f"{path} answered something other than a JSON object")
        return data

    def close(self) -> None:
        self.client.close()


def build(
    config: DiscourseSource,
    matcher: BrandMatcher | None = None,
    *,
    timeout: float = 20.0,
    transport: httpx.BaseTransport | None = None,
) -> DiscourseListener:
    if config.sandbox:
        creds = DiscourseCredentials()
        api_key, username = creds.api_key, creds.api_username
    else:
        api_key = config.api_key.get_secret_value() if config.api_key else None
        username = config.api_username
        if bool(api_key) != bool(username):
            raise ConfigError("api_key and api_username go together: set both (the key's user, e.g. the brand's "
                              "support account) or neither (anonymous reads of a public forum)",
                              key=f"sources.{config.name}")
    headers = {"Api-Key": api_key, "Api-Username": username} if api_key and username else None
    client = make_client(config.base_url, headers=headers, transport=transport, timeout=timeout)
    queries = [s for qs in (matcher.queries.values() if matcher else ()) for q in qs for s in to_discourse(q)]
    return DiscourseListener(config.name, client, config.base_url, queries, owned=[username] if username else ())
