"""Small helpers the platform fakes share: timestamps, opaque cursors, rate-limit windows, auth headers."""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from listener.sandbox.server import Request


def iso_ms(dt: datetime) -> str:
    """``2025-03-14T12:00:00.000Z``: the form X and Mastodon use."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(dt: datetime) -> str:
    """``2025-03-14T12:00:00Z``: the form YouTube and Algolia use."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(timezone.utc), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 (``Z`` or offset, or a bare date) or epoch seconds; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), timezone.utc)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def encode_cursor(style: str = "b32", **fields: Any) -> str:
    """An opaque page token that pins the position (not an offset), so new posts arriving between
    two pages neither repeat nor skip items."""
    raw = json.dumps(fields, separators=(",", ":")).encode("utf-8")
    if style == "b64":
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def decode_cursor(token: str | None) -> dict[str, Any] | None:
    """The fields of a token made by ``encode_cursor``; None for a token we did not issue."""
    if not token:
        return None
    padded = (base64.b32decode, token.upper() + "=" * (-len(token) % 8)), \
        (base64.urlsafe_b64decode, token + "=" * (-len(token) % 4))
    for decode, text in padded:
        try:
            data = json.loads(decode(text))
        except ValueError:  # also binascii.Error and JSONDecodeError
            continue
        if isinstance(data, dict):
            return data
    return None


def bearer(req: Request) -> str | None:
    value = req.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class RateWindow:
    """Counts requests per (key, fixed window) to fill the platforms' informational rate headers.

    The fakes never refuse a request on their own; a 429 only comes from an injected fault, so tests
    decide when limits bite.
    """

    def __init__(self, limit: int, window_s: int) -> None:
        self.limit = limit
        self.window_s = window_s
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def hit(self, key: str, now: datetime) -> tuple[int, int, int]:
        """Returns (used, remaining, reset epoch seconds)."""
        epoch = int(now.timestamp())
        window = epoch - epoch % self.window_s
        with self._lock:
            used = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = used
        return used, max(self.limit - used, 0), window + self.window_s


def clamp_int(value: str | None, default: int, low: int, high: int) -> int | None:
    """Parse a page size; None when it is not an integer in [low, high] (the caller answers 400)."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        return None
    return number if low <= number <= high else None
