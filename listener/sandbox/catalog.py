"""The fixed cast and scenery of the demo world: people, the airlines' accounts, subreddits, YouTube
videos, Discourse categories and news feeds.

Derived from the seed alone (a separate random stream from the posts), so adding texts or changing
the post rate never renames a person or moves a video.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from listener.sandbox import ids
from listener.sandbox.texts import FIRST_NAMES, HANDLE_SUFFIXES, LAST_NAMES

if TYPE_CHECKING:
    from listener.sandbox.world import Author

MASTODON_DOMAIN = "mastodon.example"
MASTODON_OTHER_DOMAINS = ("fosstodon.example", "travel.example", "social.example")
_FOLLOWER_SCALE = {"x": 1.0, "bluesky": 0.45, "mastodon": 0.2, "youtube": 0.3, "reddit": 0.0,
                   "hackernews": 0.0, "discourse": 0.0, "rss": 0.0}


@dataclass(frozen=True, slots=True)
class Person:
    index: int
    name: str
    handle: str
    followers: int
    following: int
    posts_count: int
    joined: datetime
    home: str  # Mastodon instance

    def on(self, platform: str, seed: int) -> Author:
        from listener.sandbox.world import Author

        followers = int(self.followers * _FOLLOWER_SCALE[platform])
        if platform == "x":
            uid, handle = ids.numeric_id(18, seed, "x", self.handle), self.handle[:15]
        elif platform == "reddit":
            uid, handle = "t2_" + ids.opaque(8, seed, "t2", self.handle, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"), self.handle
            followers = self.posts_count * 7  # reported as karma
        elif platform == "mastodon":
            local = self.home == MASTODON_DOMAIN
            uid = ids.numeric_id(18, seed, "mastodon", self.handle)
            handle = self.handle if local else f"{self.handle}@{self.home}"
        elif platform == "bluesky":
            uid, handle = ids.plc_did(seed, self.handle), self.handle.replace("_", "-") + ".bsky.social"
        elif platform == "youtube":
            uid = ids.youtube_channel_id(seed, self.handle)
            handle = "@" + self.name.replace(" ", "")
        elif platform == "discourse":
            uid, handle = str(100 + self.index), self.handle
        else:  # hackernews, rss (bylines)
            uid, handle = self.handle, self.handle if platform == "hackernews" else self.name
        return Author(platform, uid, handle, self.name, followers, self.following, self.posts_count,
                      self.joined)


def make_people(rng: random.Random, start: datetime, count: int = 90) -> list[Person]:
    """Varied authors; follower counts are log-normal with a few large travel accounts."""
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        handle = (first + last[:1]).lower() + rng.choice(HANDLE_SUFFIXES)
        if handle in seen:
            continue
        seen.add(handle)
        influencer = rng.random() < 0.06
        followers = int(math.exp(rng.gauss(10.5, 1.0))) if influencer else int(math.exp(rng.gauss(5.3, 1.5)))
        home = MASTODON_DOMAIN if rng.random() < 0.6 else rng.choice(MASTODON_OTHER_DOMAINS)
        people.append(Person(
            index=len(people), name=f"{first} {last}", handle=handle, followers=followers,
            following=int(math.exp(rng.gauss(5.5, 0.8))), posts_count=int(math.exp(rng.gauss(6.5, 1.3))),
            joined=start - timedelta(days=rng.randint(60, 4000)), home=home))
    return people


_BRAND_IDENTITIES: dict[str, dict[str, str | int]] = {
    "skylark": {"name": "Skylark Air", "x": "skylarkair", "reddit": "skylarkair",
                "mastodon": "skylarkair", "bluesky": "skylarkair.bsky.social",
                "youtube": "@SkylarkAir", "hackernews": "skylark_eng", "discourse": "skylark_support",
                "rss": "Skylark Air", "followers": 184_000},
    "nimbus": {"name": "Nimbus Airways", "x": "nimbusair", "reddit": "nimbusairways",
               "mastodon": "nimbusair@airline.example", "bluesky": "nimbusair.bsky.social",
               "youtube": "@NimbusAirways", "hackernews": "nimbus_dev", "discourse": "nimbus_team",
               "rss": "Nimbus Airways", "followers": 97_000},
}


def build_accounts(seed: int, start: datetime) -> dict[tuple[str, str], Author]:
    from listener.sandbox.world import PLATFORMS, Author

    accounts: dict[tuple[str, str], Author] = {}
    for brand, identity in _BRAND_IDENTITIES.items():
        for platform in PLATFORMS:
            handle = str(identity[platform])
            uid = {
                "x": ids.numeric_id(10, seed, "x", brand),
                "reddit": "t2_" + ids.opaque(8, seed, "t2", brand, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"),
                "mastodon": ids.numeric_id(18, seed, "mastodon", brand),
                "bluesky": ids.plc_did(seed, brand),
                "youtube": ids.youtube_channel_id(seed, brand),
                "discourse": "2" if brand == "skylark" else "3",
            }.get(platform, handle)
            followers = int(int(identity["followers"]) * max(_FOLLOWER_SCALE[platform], 0.05))
            accounts[(platform, brand)] = Author(platform, uid, handle, str(identity["name"]), followers,
                                                 120, 5400, start - timedelta(days=3000), brand=brand)
    return accounts


@dataclass(frozen=True, slots=True)
class Video:
    id: str
    channel_id: str
    channel_title: str
    title: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    format: str  # "rss" or "atom"
    title: str
    site: str
    description: str


@dataclass(frozen=True, slots=True)
class Subreddit:
    name: str
    id: str
    subscribers: int


@dataclass(frozen=True, slots=True)
class Catalog:
    videos: tuple[Video, ...]
    feeds: tuple[Feed, ...]
    subreddits: tuple[Subreddit, ...]
    categories: tuple[tuple[int, str, str], ...]  # (id, name, slug) of Discourse categories

    @classmethod
    def build(cls, seed: int, start: datetime, accounts: dict[tuple[str, str], Author]) -> Catalog:
        brand = accounts[("youtube", "skylark")]
        vloggers = [("Wanderlust Wendy", "vlog-wendy"), ("Points & Miles Pete", "vlog-pete")]
        videos = [
            Video(ids.youtube_video_id(seed, "v1"), brand.id, brand.name,
                  "Welcome aboard our new A321neo cabin", start - timedelta(days=12)),
            Video(ids.youtube_video_id(seed, "v2"), brand.id, brand.name,
                  "How to check in with the Skylark Air app", start - timedelta(days=40)),
            Video(ids.youtube_video_id(seed, "v3"), brand.id, brand.name,
                  "Safety video 2025", start - timedelta(days=90)),
        ]
        for title, key in vloggers:
            videos.append(Video(ids.youtube_video_id(seed, key), ids.youtube_channel_id(seed, key), title,
                                f"{title}: Skylark Air vs Nimbus Airways, which is better?",
                                start - timedelta(days=5)))
        feeds = (
            Feed("reviews", "rss", "Travel Wire: airline news and reviews", "travelwire.example",
                 "Airline and travel industry news and reviews."),
            Feed("blog", "atom", "Window Seat: a travel blog", "windowseat.example",
                 "Trip reports and airline news, including alerts that mention Skylark Air."),
        )
        subs = tuple(Subreddit(name, "t5_" + ids.opaque(6, seed, name, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"), n)
                     for name, n in (("travel", 9_800_000), ("flying", 2_100_000), ("SkylarkAir", 14_200),
                                     ("solotravel", 3_000_000), ("NimbusAirways", 6_100),
                                     ("europe", 4_600_000)))
        categories = ((5, "Airlines", "airlines"), (6, "Trip Reports", "trip-reports"),
                      (7, "Baggage & Fees", "baggage"))
        return cls(tuple(videos), feeds, subs, categories)

    def video(self, video_id: str | None) -> Video | None:
        return next((v for v in self.videos if v.id == video_id), None)

    def feed(self, name: str) -> Feed:
        return next(f for f in self.feeds if f.name == name)

    def subreddit(self, name: str) -> Subreddit | None:
        return next((s for s in self.subreddits if s.name.lower() == name.lower()), None)
