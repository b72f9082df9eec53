"""The shared, in-memory world every fake platform serves from.

One ``World`` holds the posts of all eight platforms in platform-native form (ids, threads, places),
so the fakes only render payloads. Time is injected: ``clock`` gives "now" and ``tick(now)`` adds the
posts that fell due since the last tick. Generation runs in event-time order from one seeded
``random.Random``, so the same seed and the same final ``now`` give the same world whether it was
ticked once or every second. Replies that arrive through a fake's API are added here too (by the
brand's account) and listed by ``api_posts``, so a test can check a platform got exactly one copy.
"""

from __future__ import annotations

import bisect
import heapq
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from listener.sandbox import ids
from listener.sandbox.catalog import Catalog, Person, build_accounts, make_people
from listener.sandbox.generator import Generator

Clock = Callable[[], datetime]
PLATFORMS: tuple[str, ...] = ("x", "reddit", "mastodon", "bluesky", "youtube", "hackernews",
                              "discourse", "rss")
BRANDS = ("skylark", "nimbus")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class Author:
    platform: str
    id: str  # platform-native user id (X/Mastodon numeric, Reddit t2_, Bluesky DID, YouTube UC...)
    handle: str  # X username, Mastodon acct, Bluesky handle, Reddit/HN/Discourse username
    name: str
    followers: int
    following: int
    posts_count: int
    created_at: datetime
    brand: str | None = None  # "skylark" / "nimbus" for the airlines' own accounts


@dataclass(slots=True)
class Post:
    platform: str
    id: str  # platform-native id, as a string (Bluesky: the AT URI)
    author: Author
    text: str
    created_at: datetime
    lang: str = "en"
    topic: str = "custom"  # ground truth for benchmarks; never rendered into a payload
    sentiment: str = "neutral"
    brand: str | None = None  # the airline the text mentions, if any
    title: str | None = None
    parent_id: str | None = None
    root_id: str = ""
    kind: str = "post"  # reddit t3/t1, hackernews story/comment, discourse topic/reply, rss item
    place: str | None = None  # subreddit, YouTube video id, Discourse topic id, RSS feed name
    likes: int = 0
    reposts: int = 0
    replies: int = 0  # direct replies
    quotes: int = 0
    views: int = 0
    seq: int = 0
    via_api: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


@dataclass(slots=True)
class Spike:
    """A burst of angry mentions about one topic, e.g. an outage of the booking app."""

    at: datetime
    duration: timedelta
    rate_per_min: float
    topic: str
    brand: str
    count: int = 0  # posts produced so far


class World:
    """Thread-safe store and generator of the demo world."""

    def __init__(self, *, seed: int = 7, clock: Clock | None = None, rate_per_min: float = 4.0,
                 backlog: timedelta = timedelta(hours=1)) -> None:
        self.seed = seed
        self.clock: Clock = clock or utc_now
        self.rate_per_min = rate_per_min
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._posts: dict[str, list[Post]] = {p: [] for p in PLATFORMS}
        self._index: dict[str, dict[str, Post]] = {p: {} for p in PLATFORMS}
        self._keys: dict[str, list[tuple[datetime, int]]] = {p: [] for p in PLATFORMS}
        self._api_posts: list[Post] = []
        self._seq = 0
        self._counters: dict[str, int] = {"reddit_t3": int("1j8k000", 36), "reddit_t1": int("lq30000", 36),
                                          "hackernews": 41_200_000, "discourse_post": 1200,
                                          "discourse_topic": 300}
        self._topic_posts: dict[str, int] = {}
        start = self.clock() - backlog
        self.started_at = start
        self.people: list[Person] = make_people(random.Random(f"{seed}:people"), start)
        self.accounts: dict[tuple[str, str], Author] = build_accounts(seed, start)
        self.catalog = Catalog.build(seed, start, self.accounts)
        self._authors: dict[tuple[str, int], Author] = {}
        self._generator = Generator(self, self._rng)
        self._spikes: list[Spike] = []
        self._spike_queue: list[tuple[datetime, int, int]] = []
        self._next_main = start + self._gap()
        self._last_tick = start
        self.tick(self.clock())

    # --- time -----------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def _gap(self) -> timedelta:
        if self.rate_per_min <= 0:
            return timedelta(days=3650)
        return timedelta(seconds=self._rng.expovariate(self.rate_per_min / 60.0))

    def set_rate(self, per_min: float) -> None:
        with self._lock:
            self.rate_per_min = per_min
            self._next_main = self._last_tick + self._gap()

    def tick(self, now: datetime | None = None) -> list[Post]:
        """Add every post due up to ``now`` (default: the clock) and return them, oldest first."""
        now = now or self.clock()
        added: list[Post] = []
        with self._lock:
            while True:
                spike_due = self._spike_queue[0][0] if self._spike_queue else None
                if spike_due is not None and spike_due <= now and spike_due <= self._next_main:
                    at, _, index = heapq.heappop(self._spike_queue)
                    spike = self._spikes[index]
                    added.append(self._generator.spike_post(at, spike))
                    spike.count += 1
                elif self._next_main <= now:
                    at = self._next_main
                    added.append(self._generator.main_post(at))
                    self._next_main = at + self._gap()
                else:
                    break
            self._last_tick = max(self._last_tick, now)
        return added

    def schedule_spike(self, at: datetime, *, duration: timedelta = timedelta(minutes=15),
                       rate_per_min: float | None = None, topic: str = "app_outage",
                       brand: str = "skylark") -> Spike:
        """Schedule a burst of negative posts about ``topic`` from ``at`` for ``duration``, on top of
        the normal stream (by default five times the normal rate, at least 10 a minute)."""
        rate = rate_per_min if rate_per_min is not None else max(10.0, self.rate_per_min * 5)
        with self._lock:
            spike = Spike(at, duration, rate, topic, brand)
            index = len(self._spikes)
            self._spikes.append(spike)
            rng = random.Random(f"{self.seed}:spike:{index}")
            t, order = at, 0
            while True:
                t = t + timedelta(seconds=rng.expovariate(rate / 60.0))
                if t >= at + duration:
                    break
                heapq.heappush(self._spike_queue, (t, index * 100_000 + order, index))
                order += 1
        return spike

    # --- writing --------------------------------------------------------------------------
    def add_post(self, platform: str, text: str, *, author: Author | None = None,
                 at: datetime | None = None, parent_id: str | None = None, title: str | None = None,
                 place: str | None = None, lang: str = "en", topic: str = "custom",
                 sentiment: str = "neutral", brand: str | None = None, likes: int = 0,
                 reposts: int = 0, views: int = 0, via_api: bool = False,
                 extra: dict[str, Any] | None = None) -> Post:
        """Add one post with a proper platform id and thread links; the single write path."""
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        with self._lock:
            at = at or self.clock()
            author = author or self.account(platform, "skylark")
            parent = self.get(platform, parent_id) if parent_id else None
            if parent_id and parent is None:
                raise KeyError(f"{platform}: no post {parent_id!r} to reply to")
            self._seq += 1
            post = Post(platform, "", author, text, at, lang=lang, topic=topic, sentiment=sentiment,
                        brand=brand, title=title, likes=likes, reposts=reposts, views=views,
                        seq=self._seq, via_api=via_api, extra=dict(extra or {}))
            self._shape(post, parent, place)
            if parent is not None:
                self._get(platform, post.parent_id).replies += 1  # type: ignore[union-attr]
                root = self._get(platform, post.root_id)
                if root is not None:
                    root.extra["thread_size"] = root.extra.get("thread_size", 0) + 1
            key = (post.created_at, post.seq)
            pos = bisect.bisect(self._keys[platform], key)
            self._keys[platform].insert(pos, key)
            self._posts[platform].insert(pos, post)
            self._index[platform][post.id] = post
            if via_api:
                self._api_posts.append(post)
            return post

    def reply(self, platform: str, parent_id: str, text: str, *, brand: str = "skylark",
              **kwargs: Any) -> Post:
        """A reply by the brand's account received through a fake API."""
        return self.add_post(platform, text, author=self.account(platform, brand), parent_id=parent_id,
                             via_api=True, **kwargs)

    def _shape(self, post: Post, parent: Post | None, place: str | None) -> None:
        """Give the post its platform-native id, kind, place and thread root."""
        p, at, seq = post.platform, post.created_at, post.seq
        if p == "x":
            post.id = str(ids.x_snowflake(at, seq))
        elif p == "mastodon":
            post.id = str(ids.mastodon_id(at, seq))
        elif p == "bluesky":
            tid = ids.bluesky_tid(at, seq)
            post.id = f"at://{post.author.id}/app.bsky.feed.post/{tid}"
            post.extra["cid"] = ids.bluesky_cid(post.id, post.text)
        elif p == "reddit":
            post.kind = "t1" if parent else "t3"
            post.id = ids.base36(self._next(f"reddit_{post.kind}"))
            post.place = parent.place if parent else (place or "travel")
            if not parent and not post.title:
                post.title = post.text[:80]
        elif p == "youtube":
            top = parent if parent is None or parent.parent_id is None else self.get(p, parent.parent_id)
            if top is None:
                post.id = ids.youtube_comment_id(self.seed, seq)
                post.place = place or self.catalog.videos[0].id
            else:
                post.id = ids.youtube_reply_id(top.id, self.seed, seq)
                post.place = top.place
                parent = top
            video = self.catalog.video(post.place)
            post.extra["channel_id"] = video.channel_id if video else ""
            post.extra.setdefault("moderation", "published")
        elif p == "hackernews":
            post.kind = "comment" if parent else "story"
            post.id = str(self._next("hackernews"))
        elif p == "discourse":
            post.id = str(self._next("discourse_post"))
            post.kind = "reply" if parent else "topic"
            topic = (parent.place if parent else None) or str(self._next("discourse_topic"))
            post.place = topic
            number = self._topic_posts.get(topic, 0) + 1
            self._topic_posts[topic] = number
            post.extra["post_number"] = number
            parent_number = parent.extra.get("post_number") if parent else None
            post.extra.setdefault("reply_to_post_number", parent_number if parent_number != 1 else None)
            post.extra.setdefault("category_id", parent.extra.get("category_id") if parent else 5)
            if not parent and not post.title:
                post.title = post.text[:80]
        elif p == "rss":
            post.kind = "item"
            post.place = place or "reviews"
            slug = "-".join((post.title or post.text).lower().split()[:8])
            slug = "".join(c for c in slug if c.isalnum() or c == "-")
            post.id = f"https://{self.catalog.feed(post.place).site}/{at:%Y/%m}/{slug}-{seq}"
        post.parent_id = parent.id if parent else None
        post.root_id = (parent.root_id or parent.id) if parent else post.id
        if place and p in ("x", "mastodon", "bluesky", "hackernews"):
            post.place = place

    def _next(self, counter: str) -> int:
        self._counters[counter] += 1
        return self._counters[counter]

    # --- reading --------------------------------------------------------------------------
    def get(self, platform: str, post_id: str | None) -> Post | None:
        with self._lock:
            return self._get(platform, post_id)

    def _get(self, platform: str, post_id: str | None) -> Post | None:
        return self._index[platform].get(post_id or "")

    def posts(self, platform: str) -> list[Post]:
        """All posts of a platform, oldest first (a copy: safe to iterate while the world grows)."""
        with self._lock:
            return list(self._posts[platform])

    def children(self, platform: str, post_id: str) -> list[Post]:
        with self._lock:
            return [p for p in self._posts[platform] if p.parent_id == post_id]

    def api_posts(self, platform: str | None = None) -> list[Post]:
        """Posts created through a fake platform API (the responder's replies), in arrival order."""
        with self._lock:
            return [p for p in self._api_posts if platform is None or p.platform == platform]

    def account(self, platform: str, brand: str = "skylark") -> Author:
        return self.accounts[(platform, brand)]

    def author_for(self, platform: str, person_index: int) -> Author:
        """The platform identity of one generated person (cached, so ids stay stable)."""
        with self._lock:
            key = (platform, person_index)
            if key not in self._authors:
                self._authors[key] = self.people[person_index].on(platform, self.seed)
            return self._authors[key]

    def find_author(self, platform: str, handle_or_id: str) -> Author | None:
        want = handle_or_id.lower().lstrip("@")
        with self._lock:
            candidates = [a for (p, _), a in self.accounts.items() if p == platform]
            candidates += [a for (p, _), a in self._authors.items() if p == platform]
        for author in candidates:
            if want in (author.handle.lower(), author.id.lower()):
                return author
        return None

    @property
    def spikes(self) -> list[Spike]:
        with self._lock:
            return list(self._spikes)
