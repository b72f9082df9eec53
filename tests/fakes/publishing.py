"""What the publisher tests need per platform: a configuration pointed at the sandbox, a thread to
answer (collected by the real listener and stored, so the Target comes from a stored row exactly as
the outbox will build it), the route a reply is posted to, and a text the platform refuses for good."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa

from core.config import (BlueskySource, BrandConfig, DiscourseSource, MastodonSource, QueryConfig, RedditSource,
                         SourceBase, XSource, YouTubeSource)
from core.db import Database
from core.models import Mention
from core.store import store_batch
from listener.discourse import site_of
from listener.enrich import BrandMatcher
from listener.registry import build_source
from listener.sandbox import Post, Sandbox
from responder.publishers import build_publisher, target_of
from responder.publishers.base import Publisher, Target

MATCHER = BrandMatcher.from_brands([BrandConfig(name="Skylark Air", queries=[QueryConfig(expression="skylark")])])
TIMEOUT = 2.0


@dataclass(frozen=True)
class Kit:
    platform: str
    reply_route: str  # the fake's route pattern a reply is posted to
    refused_text: str  # a text the platform refuses for good
    refusal: str  # words of the platform's own reason for refusing it
    make_config: Callable[[Sandbox], dict[str, Any]]

    def config(self, sb: Sandbox, **overrides: Any) -> SourceBase:
        options = {"platform": self.platform, "name": f"{self.platform}-test", "sandbox": True,
                   "base_url": sb.base_urls[self.platform], **self.make_config(sb), **overrides}
        return SOURCE_TYPES[self.platform](**options)

    def publisher(self, sb: Sandbox, *, timeout: float = TIMEOUT, **overrides: Any) -> Publisher:
        """Built as `build_publisher` builds it, with the sandbox's clock where the module takes one
        (rate-limit resets are epoch times on the sandbox's clock)."""
        config = self.config(sb, **overrides)
        build = importlib.import_module(f"responder.publishers.{self.platform}").build
        if "clock" not in inspect.signature(build).parameters:
            publisher = build_publisher(config, timeout=timeout)
            assert publisher is not None
            return publisher
        return build(config, timeout=timeout, clock=sb.world.clock)

    def stored_id(self, sb: Sandbox, post: Post) -> str:
        """The id Earful keeps for a post of the fake world (what a listener maps it to)."""
        if self.platform == "reddit":
            return f"{post.kind}_{post.id}"
        if self.platform == "discourse":
            return f"{site_of(sb.base_urls['discourse'])}:{post.id}"
        return post.id


SOURCE_TYPES: dict[str, type[SourceBase]] = {
    "x": XSource, "reddit": RedditSource, "mastodon": MastodonSource, "bluesky": BlueskySource,
    "youtube": YouTubeSource, "discourse": DiscourseSource,
}

KITS = {
    "x": Kit("x", "/2/tweets", "x" * 281, "too long", lambda sb: {}),
    "reddit": Kit("reddit", "/api/comment", "x" * 10_001, "TOO_LONG",
                  lambda sb: {"auth_url": sb.base_urls["reddit"], "subreddits": ("travel",)}),
    "mastodon": Kit("mastodon", "/api/v1/statuses", "x" * 501, "character limit of 500 exceeded", lambda sb: {}),
    "bluesky": Kit("bluesky", "/xrpc/com.atproto.repo.createRecord", "x" * 301, "longer than 300 graphemes",
                   lambda sb: {}),
    "youtube": Kit("youtube", "/youtube/v3/comments", "x" * 10_001, "too long",
                   lambda sb: {"channel_ids": (sb.accounts()["youtube"]["id"],)}),
    "discourse": Kit("discourse", "/posts.json", "Thanks!", "Body is too short (minimum is 20 characters)",
                     lambda sb: {}),
}


def customer_thread(sb: Sandbox, platform: str) -> tuple[Post, Post]:
    """A customer's post about the brand and a second customer's reply to it (the post to answer),
    placed where the listener reads: r/travel, a video of the brand's channel, a new forum topic."""
    world = sb.world
    first, second = world.author_for(platform, 3), world.author_for(platform, 4)
    place = {"reddit": "travel", "youtube": world.catalog.videos[0].id}.get(platform)
    root = world.add_post(platform, "Skylark Air lost my bag on the way to Lisbon, again.", author=first,
                          place=place, title="Skylark Air lost my bag" if platform in ("reddit", "discourse") else None)
    reply = world.add_post(platform, "Same here, Skylark Air still has not found mine after a week.", author=second,
                           parent_id=root.id)
    return root, reply


def collect(db: Database, sb: Sandbox, kit: Kit) -> None:
    """One fetch of the platform's real listener, stored as the poller stores it."""
    source = build_source(kit.config(sb), MATCHER)
    try:
        batch = source.fetch({})
    finally:
        source.close()
    with db.session() as session:
        store_batch(session, batch.mentions)


def stored_target(db: Database, sb: Sandbox, kit: Kit, post: Post) -> Target:
    """The Target the outbox builds from the stored mention of `post`."""
    native_id = kit.stored_id(sb, post)
    with db.session() as session:
        row = session.scalars(sa.select(Mention).options(sa.orm.joinedload(Mention.author))
                              .where(Mention.platform == kit.platform, Mention.native_id == native_id)).one()
        return target_of(row)


def thread_target(db: Database, sb: Sandbox, kit: Kit) -> tuple[Target, Post, Post]:
    """(the Target of a customer's reply in a thread, the thread's first post, that reply)."""
    root, reply = customer_thread(sb, kit.platform)
    collect(db, sb, kit)
    return stored_target(db, sb, kit, reply), root, reply
