"""The contract every platform source implements, and nothing else the scheduler needs to know.

A `Source` does I/O with one platform through that platform's client library and returns a `Batch`
of already-mapped mentions plus the cursor values that cover them. The poller stores both in one
transaction. A source never writes to the database and never sleeps: rate limits and failures are
raised as `core.errors.PlatformError` subclasses and the poller decides when to come back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, TypeVar

from core.mention import MentionIn

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Batch:
    mentions: list[MentionIn]
    # New cursor values, stored in the same transaction as `mentions`.
    cursors: dict[str, str] = field(default_factory=dict)
    # Items the platform returned that could not be mapped (logged, skipped).
    skipped: int = 0
    # True when the platform has more pages right now; the poller fetches again at once.
    more: bool = False
    # Metered API spend of this fetch in US dollars (X pay-per-use reads).
    cost_usd: float = 0.0


class Source(Protocol):
    name: str
    platform: str

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        """Fetch the next items after `cursors`. Raises PlatformError subclasses on failure."""
        ...

    def close(self) -> None: ...


# One page of one list (a search, a notifications feed, a channel): the mapped mentions, the count of
# skipped items, the cursor values that cover them, and whether that list has more pages to read.
Page = tuple[list[MentionIn], int, dict[str, str], bool]
PageReader = Callable[[str, Mapping[str, str]], Page]


def sweep(streams: Sequence[tuple[str, PageReader]], cursors: Mapping[str, str]) -> Batch:
    """Read one page of each list into one Batch.

    A list in the middle of paging keeps `<key>:next` in its cursors; while any list is, only those
    are read, so lists that finished are not queried (or billed) again before the others catch up.
    """
    resuming = {key for key, _ in streams if cursors.get(f"{key}:next")}
    mentions: list[MentionIn] = []
    new_cursors: dict[str, str] = {}
    skipped = 0
    more = False
    for key, read in streams:
        if resuming and key not in resuming:
            continue
        got, bad, moved, unfinished = read(key, cursors)
        mentions += got
        skipped += bad
        more = more or unfinished
        new_cursors.update(moved)
    return Batch(mentions, new_cursors, skipped=skipped, more=more)


def map_each(
    items: Iterable[T], mapper: Callable[[T], MentionIn | None], *, source: str
) -> tuple[list[MentionIn], int]:
    """Map raw items one by one; a malformed item is logged and skipped, never fatal."""
    mapped: list[MentionIn] = []
    skipped = 0
    for item in items:
        try:
            mention = mapper(item)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            skipped += 1
            log.warning("source %s: skipped a malformed item (%s: %s)", source, type(exc).__name__, exc)
            continue
        if mention is not None:
            mapped.append(mention)
    return mapped, skipped


def describe_item(item: Any) -> str:
    """A short, secret-free description of a raw item for logs."""
    if isinstance(item, Mapping):
        return f"id={item.get('id')!r}"
    return type(item).__name__
