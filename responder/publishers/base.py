"""The contract every reply publisher keeps: one module per platform behind it, like the listener's
`Source`. The outbox (`responder.outbox`) knows only this.

A publisher does I/O and translation only. It receives a `Target` (what the stored mention says about
the post being answered), posts text through the platform's own client library, and hands back a
`Published` (the platform's id and URL of the new post). It translates the client library's
exceptions into Earful's tree once, here:

- `RateLimited`, `Unavailable`: nothing landed; the outbox retries with backoff.
- `OutcomeUnknown`: the request went out but no answer came (read timeout, dropped connection); the
  outbox looks the reply up with `find` before anything else, and never resends blindly.
- `Rejected`, `AuthFailed`: permanent; the reply fails with the platform's reason shown to the agent.

`find` is how a crash between the platform accepting a reply and the database recording it is
reconciled: it looks for a reply by the brand's account to the target whose text matches, posted at or
after `since`. It returns None when the platform shows no such reply, and raises `LookupUnsupported`
where the platform offers no way to look (the outbox then flags the reply for a human to verify).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Protocol

from core.errors import EarfulError


@dataclass(frozen=True, slots=True)
class Target:
    """The post being answered, as stored: enough for any platform to address a reply to it."""

    platform: str
    native_id: str  # the mention's platform id (X tweet id, Reddit fullname-less id, Bluesky at:// uri ...)
    url: str | None = None
    parent_id: str | None = None
    conversation_id: str | None = None
    author_handle: str | None = None
    author_native_id: str | None = None
    # The mention's stored raw payload: Bluesky's cid and reply root, Mastodon's visibility,
    # Discourse's topic_id and post_number, Reddit's kind (t1 comment / t3 post) ...
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Published:
    platform_id: str
    url: str | None = None
    posted_at: datetime | None = None


class LookupUnsupported(EarfulError):
    """The platform offers no way to look up whether a reply landed."""


class ActionUnsupported(EarfulError):
    """The platform (or the account's rights there) does not offer this action."""


class Publisher(Protocol):
    platform: str
    name: str  # the configured source name whose account posts

    def publish(self, target: Target, text: str) -> Published:
        """Post `text` as a public reply to `target`. Raises from Earful's error tree."""
        ...

    def find(self, target: Target, text: str, since: datetime) -> Published | None:
        """The brand account's reply to `target` with this text posted at or after `since`, if any."""
        ...

    def like(self, target: Target) -> None:
        """Like / favourite / upvote the target. Raises ActionUnsupported where there is none."""
        ...

    def moderate(self, target: Target, action: str) -> None:
        """Hide or remove the target ('hide', 'remove', 'reject' ...) where the account has the right.

        Raises ActionUnsupported for an action the platform or the account does not offer."""
        ...

    def close(self) -> None: ...


def normalise_text(text: str) -> str:
    """Text compared for reconciliation: platforms trim and collapse whitespace differently."""
    return " ".join(text.split()).casefold()
