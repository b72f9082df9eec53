"""Did a failed write leave this machine? The one question every publisher asks of a transport error.

A request that failed before it was sent (connection refused, a name that does not resolve, a
connect timeout) landed nowhere: `Unavailable`, and the outbox may send it again. Any other
transport failure (a read timeout, a connection dropped after the request went out) may hide a post
the platform accepted: `OutcomeUnknown`, and the outbox looks the reply up before anything else.
When in doubt the answer is `OutcomeUnknown`: a lookup too many costs a request, a blind resend
costs a duplicate public reply.

Each client library wraps the socket error its own way (requests in urllib3's ``MaxRetryError``,
Mastodon.py and atproto in their own types, prawcore in ``original_exception``), so the chain of
causes is walked here once for all of them.
"""

from __future__ import annotations

import socket
from typing import Iterator

import httplib2
import httpx
import requests
import urllib3.exceptions

from core.errors import OutcomeUnknown, PlatformError, Unavailable

# Failures that happen before a single byte of the request is written.
NOT_SENT: tuple[type[BaseException], ...] = (
    ConnectionRefusedError,
    socket.gaierror,
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    requests.exceptions.ConnectTimeout,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httplib2.ServerNotFoundError,
)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps: causes, contexts, wrapped originals and exception arguments."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "original_exception", None),
                  getattr(current, "reason", None), *getattr(current, "args", ())]
        stack += [e for e in linked if isinstance(e, BaseException)]


def never_sent(exc: BaseException) -> bool:
    return any(isinstance(e, NOT_SENT) for e in causes(exc))


def transport_failure(platform: str, exc: BaseException, *, write: bool = True,
                      timeout: float | None = None) -> PlatformError:
    """A transport error as `Unavailable` (a read, or a write that never left) or `OutcomeUnknown`
    (a write that may have landed)."""
    names = [type(e).__name__ for e in causes(exc)]
    what = names[-1] if len(names) > 1 else names[0]
    limit = f" within {timeout:g} s" if timeout and _timed_out(exc) else ""
    if never_sent(exc):
        return Unavailable(platform, f"could not connect ({what}); nothing was sent")
    if not write:
        return Unavailable(platform, f"no answer{limit} ({what})")
    return OutcomeUnknown(platform, f"no answer{limit} ({what}); the platform may have accepted the request, "
                          "so it is looked up before anything is sent again")


def unreadable_answer(platform: str, *, write: bool = True, status: int | None = None) -> PlatformError:
    """A success status whose body could not be read: for a write, the post most likely landed."""
    if write:
        return OutcomeUnknown(platform, "the answer could not be read; the platform may have accepted the request, "
                              "so it is looked up before anything is sent again", status=status)
    return Unavailable(platform, "the answer was not valid JSON", status=status)


def _timed_out(exc: BaseException) -> bool:
    return any(isinstance(e, (TimeoutError, requests.Timeout, httpx.TimeoutException)) for e in causes(exc))
