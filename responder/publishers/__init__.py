"""Reply publishers: one module per platform behind `base.Publisher`, loaded on first use.

Each ``responder/publishers/<platform>.py`` exposes ``build(config, *, timeout) -> Publisher`` and takes
the same source configuration the listener reads with, so one configured account both listens and
answers. Importing lazily keeps the dashboard from loading six client libraries it does not need.
Hacker News, feeds and imported mentions have no reply API: the case offers the link and "mark
handled" instead, so `build_publisher` gives None for them.
"""

from __future__ import annotations

import importlib
from typing import Any

from core.config import SourceBase
from responder.publishers.base import Publisher, Target

REPLY_PLATFORMS = frozenset({"x", "reddit", "mastodon", "bluesky", "youtube", "discourse"})


def build_publisher(config: SourceBase, *, timeout: float = 20.0) -> Publisher | None:
    """The publisher for a configured source, or None where the platform cannot be answered through an API."""
    platform = getattr(config, "platform")
    if platform not in REPLY_PLATFORMS:
        return None
    module = importlib.import_module(f"responder.publishers.{platform}")
    return module.build(config, timeout=timeout)


def target_of(mention: Any) -> Target:
    """The `Target` of a stored mention (a `core.models.Mention` row, its author loaded).

    Everything a publisher needs beyond ids is in the row's raw payload, as each listener stored it:
    Reddit's kind, Mastodon's visibility, Bluesky's cid and thread root, YouTube's thread id,
    Discourse's topic id and post number.
    """
    author = getattr(mention, "author", None)
    return Target(
        platform=mention.platform,
        native_id=mention.native_id,
        url=mention.url,
        parent_id=mention.parent_id,
        conversation_id=mention.conversation_id,
        author_handle=getattr(author, "handle", None),
        author_native_id=getattr(author, "key", None),
        raw=dict(mention.raw or {}),
    )
