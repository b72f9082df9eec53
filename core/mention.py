"""Platform-independent values that mapping functions produce and the store consumes.

A platform module's pure `map_*` function turns one raw payload into a `MentionIn`; the store
(`core.store.store_batch`) turns a list of them into rows. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

PLATFORMS: tuple[str, ...] = (
    "x",
    "reddit",
    "mastodon",
    "bluesky",
    "youtube",
    "hackernews",
    "discourse",
    "rss",
    "import",
)


@dataclass(frozen=True, slots=True)
class AuthorIn:
    """A post's author. `handle` is written as the platform shows it: `@jo@mastodon.social`, `@jo` on
    X, `u/jo` on Reddit, `jo.bsky.social`, `pg` on Hacker News; the dashboard prints it as given."""

    platform: str
    handle: str
    native_id: str | None = None
    name: str | None = None
    followers: int | None = None
    url: str | None = None
    verified_domain: str | None = None


@dataclass(frozen=True, slots=True)
class MentionIn:
    platform: str
    native_id: str
    text: str
    created_at: datetime
    url: str | None = None
    author: AuthorIn | None = None
    language: str | None = None
    title: str | None = None
    parent_id: str | None = None
    conversation_id: str | None = None
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    is_own: bool = False
    # Addressed to the brand: a notification of its account, a reply to its post, a comment on its
    # channel. Kept even when the text names no brand (the poller keeps brands, is_own or direct).
    direct: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)
    # Names of the configured brands (own or competitor) this item matched; set by the matcher.
    brands: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r}; expected one of {PLATFORMS}")
        if not self.native_id:
            raise ValueError("native_id is empty")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")


def utc(dt: datetime) -> datetime:
    """Return dt as an aware UTC datetime (naive values are taken to be UTC already)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
