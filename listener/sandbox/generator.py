"""Turns the corpus in ``texts`` into platform-shaped posts: who speaks, where, in reply to what.

The world calls ``main_post`` / ``spike_post`` in event-time order with one shared RNG; nothing here
reads a clock. Style follows each platform: X and Mastodon replies start with the @handle they answer,
Reddit and Discourse threads open with a title, YouTube comments sit under videos, news arrives in
feeds, and the brand's name is written the way people write it there (@skylarkair, #SkylarkAir,
"Skylark").
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from listener.sandbox import texts as T

if TYPE_CHECKING:
    from listener.sandbox.world import Author, Post, Spike, World

MAIN_WEIGHTS = {"x": 27, "reddit": 16, "bluesky": 14, "mastodon": 10, "youtube": 11, "discourse": 9,
                "hackernews": 6, "rss": 4}
SPIKE_WEIGHTS = {"x": 34, "bluesky": 20, "reddit": 15, "mastodon": 12, "youtube": 8, "discourse": 6,
                 "hackernews": 3, "rss": 2}
REPLY_CHANCE = {"x": 0.25, "mastodon": 0.2, "bluesky": 0.25, "reddit": 0.6, "youtube": 0.25,
                "hackernews": 0.7, "discourse": 0.6, "rss": 0.0}
BRAND_FORMS = {
    "skylark": {"name": "Skylark Air", "short": "Skylark", "x": "@skylarkair", "hashtag": "#SkylarkAir",
                "bluesky": "@skylarkair.bsky.social", "mastodon": "@skylarkair"},
    "nimbus": {"name": "Nimbus Airways", "short": "Nimbus", "x": "@nimbusair", "hashtag": "#NimbusAir",
               "bluesky": "@nimbusair.bsky.social", "mastodon": "@nimbusair@airline.example"},
}
_SUBREDDITS = {"skylark": ("SkylarkAir", "travel", "flying", "solotravel"),
               "nimbus": ("NimbusAirways", "travel", "flying"), None: ("travel", "europe", "solotravel")}


@dataclass(slots=True)
class Content:
    text: str
    topic: str
    sentiment: str
    brand: str | None
    lang: str = "en"
    title: str | None = None


class Generator:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng

    # --- entry points -----------------------------------------------------------------------
    def main_post(self, at: datetime) -> Post:
        platform = self._weighted(MAIN_WEIGHTS)
        parent = self._parent(platform, None)
        roll = self.rng.random()
        if parent is None and platform in ("x", "mastodon", "bluesky") and roll < 0.04:
            brand = "skylark" if self.rng.random() < 0.7 else "nimbus"
            text = self._fill(self.rng.choice(T.BRAND_ANNOUNCEMENTS), platform, brand)
            return self._emit(platform, at, Content(text, "announcement", "neutral", brand),
                              author=self.world.account(platform, brand))
        if parent is not None and self.rng.random() < 0.5:
            text, sentiment = self.rng.choice(T.REPLIES)
            content = Content(self._fill(text, platform, "skylark"), "conversation", sentiment, None)
        elif roll < 0.12 and platform != "rss":
            content = Content(self._fill(self.rng.choice(T.NOISE), platform, None), "noise", "neutral", None)
        elif roll < 0.19 and platform != "rss":
            lang, topic, sentiment, text = self.rng.choice(T.FOREIGN)
            content = Content(self._fill(text, platform, "skylark"), topic, sentiment, "skylark", lang)
        else:
            topic = self._weighted({t.key: t.weight for t in T.TOPICS})
            brand = "skylark" if self.rng.random() < 0.78 else "nimbus"
            chosen = next(t for t in T.TOPICS if t.key == topic)
            content = self._topic_content(chosen, platform, brand, is_root=parent is None)
        return self._emit(platform, at, content, parent=parent)

    def spike_post(self, at: datetime, spike: Spike) -> Post:
        """One angry post of a burst; the 4th is an HN story and the 7th a news item."""
        if spike.count == 3:
            platform = "hackernews"
        elif spike.count == 6:
            platform = "rss"
        else:
            platform = self._weighted(SPIKE_WEIGHTS)
        topic = T.APP_OUTAGE if spike.topic == T.APP_OUTAGE.key else next(
            (t for t in T.TOPICS if t.key == spike.topic), T.APP_OUTAGE)
        parent = self._parent(platform, topic.key) if spike.count not in (3, 6) else None
        foreign = [f for f in T.FOREIGN if f[1] == topic.key]
        if foreign and platform != "rss" and self.rng.random() < 0.08:
            lang, _, sentiment, text = self.rng.choice(foreign)
            content = Content(self._fill(text, platform, spike.brand), topic.key, sentiment, spike.brand, lang)
        else:
            content = self._topic_content(topic, platform, spike.brand, is_root=parent is None, angry=True)
            content.sentiment = "negative"
        return self._emit(platform, at, content, parent=parent)

    # --- pieces ---------------------------------------------------------------------------
    def _topic_content(self, topic: T.Topic, platform: str, brand: str, *, is_root: bool,
                       angry: bool = False) -> Content:
        text = self._fill(self.rng.choice(topic.texts), platform, brand, angry=angry)
        title = None
        if platform == "rss" and topic.key == T.OUTAGE_NEWS.key:
            title = self._fill(self.rng.choice(T.OUTAGE_NEWS.titles), "rss", brand)
            return Content(self.rng.choice(T.OUTAGE_NEWS.texts), topic.key, "negative", brand, title=title)
        if platform == "rss" or (platform == "hackernews" and is_root and topic.key != "app_outage"):
            title = self._fill(self.rng.choice(T.NEWS.titles), "rss", brand)
            text = self.rng.choice(T.NEWS.texts)
            return Content(text, "news", "neutral", brand, title=title)
        if topic.titles:
            title = self._fill(self.rng.choice(topic.titles), "reddit", brand)
        return Content(text, topic.key, topic.sentiment, brand, title=title)

    def _fill(self, template: str, platform: str, brand: str | None, angry: bool = False) -> str:
        rng = self.rng
        city, city2 = rng.sample(T.CITIES, 2)
        forms = BRAND_FORMS[brand or "skylark"]
        other = BRAND_FORMS["nimbus" if brand == "skylark" else "skylark"]["name"]
        if platform in ("x", "bluesky", "mastodon"):
            handle_chance = 0.7 if angry else 0.45
            pick = rng.random()
            name = forms[platform] if pick < handle_chance else (
                forms["hashtag"] if platform == "x" and pick > 0.9 else forms["name"])
        elif platform == "reddit" and brand == "skylark" and rng.random() < 0.1:
            name = "u/skylarkair"  # a username mention lands in the brand's Reddit inbox
        else:
            name = forms["name"] if rng.random() < 0.75 else forms["short"]
        currency = rng.choice(("$", "€", "£"))
        return template.format(
            brand=name, other=other, city=city, city2=city2, flight=rng.randint(100, 999),
            hours=rng.randint(2, 9), days=rng.randint(2, 12), amount=f"{currency}{rng.randint(120, 980)}",
            crew=rng.choice(T.CREW), month=rng.choice(T.MONTHS))

    def _parent(self, platform: str, prefer_topic: str | None) -> Post | None:
        if self.rng.random() >= REPLY_CHANCE[platform]:
            return None
        recent = self.world.posts(platform)[-30:]
        if prefer_topic:
            recent = [p for p in recent if p.topic == prefer_topic] or recent
        if platform == "youtube":
            recent = [p for p in recent if p.extra.get("moderation") == "published"]
        return self.rng.choice(recent) if recent else None

    def _emit(self, platform: str, at: datetime, content: Content, *, parent: Post | None = None,
              author: Author | None = None) -> Post:
        world, rng = self.world, self.rng
        if author is None:
            author = world.author_for(platform, int(len(world.people) * rng.random() ** 1.6))
        text = content.text
        if parent is not None and platform in ("x", "mastodon") and parent.author.handle != author.handle:
            text = f"@{parent.author.handle} {text}"
        place, extra = self._place(platform, content, parent)
        likes, reposts, views = self._engagement(author)
        title = content.title if parent is None and platform in ("reddit", "discourse", "hackernews", "rss") else None
        if platform in ("reddit", "discourse", "hackernews", "rss") and parent is None and title is None:
            title = content.text[:70]
        if platform == "hackernews" and parent is None and content.topic != "app_outage":
            extra["url"] = f"https://news.example/{at:%Y/%m}/{'-'.join(title.lower().split()[:6]) if title else 'story'}"
        if platform == "hackernews" and parent is None and content.topic == "app_outage":
            extra["url"] = "https://status.skylark.example/incidents/booking-outage"
        return world.add_post(platform, text, author=author, at=at, parent_id=parent.id if parent else None,
                              title=title, place=place, lang=content.lang, topic=content.topic,
                              sentiment=content.sentiment,
                              brand=_mentioned(text, title, content.brand, content.topic == "noise"),
                              likes=likes, reposts=reposts, views=views, extra=extra)

    def _place(self, platform: str, content: Content,
               parent: Post | None) -> tuple[str | None, dict[str, Any]]:
        extra: dict[str, Any] = {}
        if parent is not None:
            return None, extra
        if platform == "reddit":
            return self.rng.choice(_SUBREDDITS[content.brand if content.brand in _SUBREDDITS else None]), extra
        if platform == "youtube":
            videos = self.world.catalog.videos
            own = [v for v in videos if v.channel_id == self.world.account("youtube", "skylark").id]
            pool = own if content.brand == "skylark" and self.rng.random() < 0.7 else list(videos)
            return self.rng.choice(pool).id, extra
        if platform == "discourse":
            extra["category_id"] = 7 if "baggage" in content.topic else (6 if content.sentiment == "positive" else 5)
        if platform == "rss":
            return ("blog" if content.brand == "skylark" and self.rng.random() < 0.5 else "reviews"), extra
        return None, extra

    def _engagement(self, author: Author) -> tuple[int, int, int]:
        reach = max(author.followers, 20)
        likes = int(self.rng.paretovariate(1.6) * math.sqrt(reach) * 0.25)
        if self.rng.random() < 0.01:
            likes *= 40  # the occasional post that takes off
        reposts = int(likes * self.rng.uniform(0.03, 0.3))
        views = likes * self.rng.randint(15, 90) + self.rng.randint(5, 300)
        return likes, reposts, views

    def _weighted(self, weights: Mapping[str, float]) -> str:
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _mentioned(text: str, title: str | None, hint: str | None, noise: bool) -> str | None:
    """Ground truth: which airline the words actually name (a skylark singing is not a mention)."""
    if noise:
        return None
    haystack = f"{title or ''} {text}".lower()
    named = [b for b in ("skylark", "nimbus") if b in haystack]
    if hint in named:
        return hint
    return named[0] if named else None
