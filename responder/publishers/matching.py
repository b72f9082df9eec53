"""Pure rules for recognising the brand's own reply on a platform (the `find` half of reconciliation).

Platforms hand text back changed: X shortens links to t.co and escapes ``&``, Mastodon returns HTML,
all of them trim and fold whitespace. Two texts are the same reply when they agree after undoing
that. Times are compared with some slack: ``since`` comes from Earful's clock, the post time from
the platform's, and YouTube keeps only whole seconds.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

from listener.text import parse_timestamp
from responder.publishers.base import normalise_text

CLOCK_SKEW = timedelta(minutes=2)
_URL = re.compile(r"https?://\S+")


def comparable(text: str) -> str:
    """Text as compared: entities unescaped, every link one placeholder, whitespace and case folded."""
    return normalise_text(_URL.sub("<link>", html.unescape(text)))


def same_text(sent: str, seen: str) -> bool:
    return comparable(sent) == comparable(seen)


def posted_since(at: Any, since: datetime) -> bool:
    """Whether a platform timestamp (ISO string, epoch seconds or datetime) is at or after `since`,
    allowing `CLOCK_SKEW`. An unreadable or missing time counts as recent: the text and the parent
    already identify the reply, and missing a landed reply would send it twice."""
    if at is None or at == "":
        return True
    try:
        when = parse_timestamp(at)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return True
    return when >= parse_timestamp(since) - CLOCK_SKEW


def timestamp(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value) if value not in (None, "") else None
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None
