"""Fault injection: make the next N answers of a route fail the way real platforms fail.

Earful's error handling (rate-limit pauses, retries with backoff, skipping a bad item) can only be
trusted if a test sees the real client library raise on a real wire answer. Each platform module
gives an ``ErrorStyle`` so a 429 carries that platform's body and headers (X's ``x-rate-limit-reset``,
Reddit's ``retry-after``, YouTube's 403 ``quotaExceeded`` ...).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from listener.sandbox.server import Response


class FaultKind(str, Enum):
    RATE_LIMIT = "rate_limit"  # the platform's rate-limit answer (429, or YouTube's 403 quota)
    SERVER_ERROR = "server_error"  # a 5xx (``status``, 500 by default) in the platform's shape
    DELAY = "delay"  # wait ``delay_s`` before answering normally: longer than a client timeout
    MALFORMED = "malformed"  # a 200 whose body is cut in half (invalid JSON / XML)
    MISSING_FIELDS = "missing_fields"  # a 200 whose first item lacks required fields
    DISCONNECT = "disconnect"  # close the socket without answering
    UNAUTHORIZED = "unauthorized"  # the platform's 401 shape, as if the token was revoked
    # The handler runs (a post is accepted and stored), then the answer is held for ``delay_s`` (released
    # early when the server stops) and the connection is dropped unanswered: a crash or a network loss
    # between the platform accepting a write and the caller hearing about it.
    LOST_ANSWER = "lost_answer"


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    route: str | None = None
    method: str | None = None
    remaining: int = 1
    with_reset: bool = True  # rate_limit: send reset / retry-after headers
    retry_after_s: int = 60
    delay_s: float = 5.0
    status: int = 500

    def matches(self, method: str, pattern: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        if self.route is None:
            return True
        want = self.route.rstrip("/")
        return want in (pattern.rstrip("/"), path.rstrip("/"))


class FaultQueue:
    """Thread-safe list of pending faults; the first matching one is consumed per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, pattern: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, pattern, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class ErrorStyle:
    """How one platform answers errors. Subclasses override the shapes; defaults are generic JSON."""

    #: paths, relative to the first item of the first list in a JSON answer, that MISSING_FIELDS drops
    required_fields: tuple[tuple[str, ...], ...] = (("id",),)

    def _json(self, payload: Any, status: int, headers: dict[str, str] | None = None) -> Response:
        from listener.sandbox.server import Response

        return Response.json(payload, status=status, headers=headers)

    def rate_limited(self, fault: Fault, now: datetime) -> Response:
        headers = {"Retry-After": str(fault.retry_after_s)} if fault.with_reset else {}
        return self._json({"error": "Too Many Requests"}, 429, headers)

    def server_error(self, status: int) -> Response:
        return self._json({"error": "Internal Server Error"}, status)

    def unauthorized(self) -> Response:
        return self._json({"error": "Unauthorized"}, 401)

    def not_found(self) -> Response:
        return self._json({"error": "Not Found"}, 404)

    def method_not_allowed(self) -> Response:
        return self._json({"error": "Method Not Allowed"}, 405)

    def corrupt(self, body: bytes, content_type: str) -> bytes:
        """MISSING_FIELDS for a JSON answer: drop ``required_fields`` from the first item found."""
        if "json" not in content_type:
            return body
        payload = json.loads(body)
        item = first_item(payload)
        if item is not None:
            for path in self.required_fields:
                drop_path(item, path)
        return json.dumps(payload).encode("utf-8")


def first_item(payload: Any) -> dict[str, Any] | None:
    """Depth-first: the first dict inside the first non-empty list of dicts."""
    if isinstance(payload, list):
        if payload and isinstance(payload[0], dict):
            return payload[0]
        return None
    if isinstance(payload, dict):
        for value in payload.values():
            found = first_item(value)
            if found is not None:
                return found
    return None


def drop_path(item: dict[str, Any], path: tuple[str, ...]) -> None:
    target: Any = item
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict):
        target.pop(path[-1], None)


def apply_corruption(response: Response, kind: FaultKind, style: ErrorStyle) -> Response:
    if kind is FaultKind.MALFORMED:
        body = response.body
        response.body = body[: max(1, len(body) // 2)] if body else b"{"
        if response.status in (204, 304):
            response.status = 200
        if not response.content_type:
            response.content_type = "application/json; charset=utf-8"
    elif kind is FaultKind.MISSING_FIELDS and response.body:
        response.body = style.corrupt(response.body, response.content_type)
    return response
