"""HTTP plumbing shared by the adapters.

httpx for the platforms Earful reaches with plain HTTP (Hacker News, Discourse, feeds): `check`
translates an HTTP answer into Earful's error tree in one place, like prawcore's table of status
codes, and `request` adds the translation of transport failures. `TimeoutSession` is for the
client libraries built on requests (tweepy, praw).
"""

from __future__ import annotations

import logging
import re
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any

import httpx
import requests

from core.errors import AuthFailed, PlatformError, RateLimited, Unavailable

USER_AGENT = "earful/0.1 (+self-hosted social listening)"


def make_client(
    base_url: str = "",
    headers: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 20.0,
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,
        transport=transport,
    )


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def check(response: httpx.Response, platform: str) -> httpx.Response:
    status = response.status_code
    if status < 400 or status == 304:
        return response
    if status == 429:
        raise RateLimited(platform, "rate limited", status=status, retry_after=retry_after_seconds(response))
    if status in (401, 403):
        raise AuthFailed(platform, f"access refused ({response.reason_phrase}); check the API key and its user", status=status)
    if status >= 500:
        raise Unavailable(platform, f"server error ({response.reason_phrase})", status=status)
    raise PlatformError(platform, f"request refused ({response.reason_phrase}) for {response.request.url.path}", status=status)


def request(client: httpx.Client, method: str, url: str, platform: str, **kwargs: Any) -> httpx.Response:
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise Unavailable(platform, f"timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise Unavailable(platform, f"connection failed ({type(exc).__name__})") from exc
    return check(response, platform)


def get_json(client: httpx.Client, url: str, platform: str, **kwargs: Any) -> Any:
    response = request(client, "GET", url, platform, **kwargs)
    try:
        return response.json()
    except ValueError as exc:
        raise Unavailable(platform, "the answer was not valid JSON") from exc


class TimeoutSession(requests.Session):
    """A requests session whose every request times out after at most `timeout` seconds.

    tweepy.Client sets no timeout at all (it would wait forever on a silent server), and praw 8
    parses its `timeout` setting but prawcore always sends 16 s.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        given = kwargs.get("timeout")
        kwargs["timeout"] = self.timeout if given is None else min(float(given), self.timeout)
        return super().request(method, url, *args, **kwargs)


class HideInLogs(logging.Filter):
    """Replaces what `pattern`'s last group matches in a log message with "[hidden]".

    Client libraries log their requests at DEBUG with the credential in them (tweepy the
    Authorization header, googleapiclient the `key=` of the URL); a source hides it on the
    library's own loggers with `hide_in_logs`.
    """

    def __init__(self, pattern: str, needle: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)
        self.needle = needle

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.needle in message:
            record.msg, record.args = self.pattern.sub(r"\1[hidden]", message), ()
        return True


def hide_in_logs(loggers: tuple[str, ...], pattern: str, needle: str) -> None:
    """Hide a credential matched by `pattern` (group 1 is kept, the rest hidden) on `loggers`."""
    for name in loggers:
        logging.getLogger(name).addFilter(HideInLogs(pattern, needle))
