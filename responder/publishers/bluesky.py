"""Replies on Bluesky through atproto, as the source's handle with an app password.

publish: ``send_post(text, reply_to=ReplyRef(root, parent))``. Both refs are strong (uri + cid): the
parent is the mention itself, the root is the thread's first post, taken from the stored record's
``reply.root`` when the mention is itself a reply. find: ``app.bsky.feed.getPostThread`` of the
parent, its direct replies by the own DID. like: ``client.like(uri, cid)`` (an ``app.bsky.feed.like``
record). moderate: `ActionUnsupported` (hiding replies through a threadgate is not done here).

Logging in costs two requests, so it happens once per publisher, on first use; atproto refreshes
the session itself, and a session the server no longer accepts is replaced by one new login. Pages
are read as JSON, like the listener, and matched by the pure functions below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

import httpx
from atproto import Client, models
from atproto_client.exceptions import (
    BadRequestError,
    InvokeTimeoutError,
    LoginRequiredError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError

from core.config import BlueskySource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Rejected, Unavailable
from core.models import utcnow
from listener.bluesky import SESSION_ERRORS, post_url
from listener.sandbox.credentials import BlueskyCredentials
from responder.publishers.base import ActionUnsupported, Published, Target
from responder.publishers.matching import posted_since, same_text, timestamp
from responder.publishers.wire import transport_failure, unreadable_answer

PLATFORM = "bluesky"
Ref = tuple[str, str]  # (uri, cid)


# --------------------------------------------------------------------------- pure mapping
def reply_refs(target: Target) -> tuple[Ref, Ref]:
    """(root, parent) strong refs of a reply to `target`, from the stored postView."""
    raw = target.raw
    parent = (str(raw.get("uri") or target.native_id), str(raw.get("cid") or ""))
    if not parent[1]:
        raise Rejected(PLATFORM, "the stored post has no cid, which a Bluesky reply needs; it was collected "
                       "without one, so answer it on bsky.app")
    root = ((raw.get("record") or {}).get("reply") or {}).get("root") or {}
    if root.get("uri") and root.get("cid"):
        return (str(root["uri"]), str(root["cid"])), parent
    return parent, parent


def find_reply(thread: Mapping[str, Any], own_did: str, text: str, since: datetime) -> Published | None:
    """The own account's direct reply with `text` in a ``getPostThread`` answer."""
    for node in (thread.get("thread") or {}).get("replies") or []:
        post = node.get("post") if isinstance(node, Mapping) else None
        if not isinstance(post, Mapping) or (post.get("author") or {}).get("did") != own_did:
            continue
        record = post.get("record") or {}
        if same_text(text, str(record.get("text") or "")) and posted_since(record.get("createdAt"), since):
            handle = str((post.get("author") or {}).get("handle") or own_did)
            return Published(str(post["uri"]), post_url(str(post["uri"]), handle), timestamp(record.get("createdAt")))
    return None


def translate_error(exc: Exception, now: datetime, *, write: bool = True,
                    timeout: float | None = None) -> PlatformError:
    """atproto's exceptions as Earful's tree (the one place this happens)."""
    status = exc.response.status_code if isinstance(exc, RequestErrorBase) and exc.response else None
    if isinstance(exc, RateLimitExceededError):
        retry = (exc.reset_at - now).total_seconds() if exc.reset_at else exc.retry_after
        return RateLimited(PLATFORM, "rate limit reached (about 1,666 posts an hour)", status=429,
                           retry_after=max(0.0, retry) if retry is not None else None)
    if isinstance(exc, (UnauthorizedError, LoginRequiredError)) or _xrpc_error(exc) in SESSION_ERRORS:
        return AuthFailed(PLATFORM, f"the session was refused ({_detail(exc)}); check handle and app_password (an "
                          "app password from Settings > Privacy and security)", status=status)
    if isinstance(exc, (InvokeTimeoutError, NetworkError)) and status is None or isinstance(exc, httpx.TransportError):
        # atproto wraps httpx's timeouts and network errors, and lets its protocol errors (a connection
        # closed before the answer) through as they are
        return transport_failure(PLATFORM, exc, write=write, timeout=timeout)
    if isinstance(exc, BadRequestError):  # InvalidRequest: text too long, a parent that is gone, bad refs
        return Rejected(PLATFORM, _message(exc), status=status)
    if isinstance(exc, RequestErrorBase):
        return Unavailable(PLATFORM, f"server error ({_message(exc)})", status=status)
    if isinstance(exc, (ModelError, ValueError)):
        return unreadable_answer(PLATFORM, write=write)
    return PlatformError(PLATFORM, f"{type(exc).__name__}: {exc}")


def _xrpc_error(exc: Exception) -> str | None:
    """The XRPC error name of a refused request (``ExpiredToken``, ``InvalidRequest`` ...)."""
    content = getattr(getattr(exc, "response", None), "content", None)
    return content.error if isinstance(content, XrpcError) else None


def _message(exc: Exception) -> str:
    content = getattr(getattr(exc, "response", None), "content", None)
    message = getattr(content, "message", None) or getattr(content, "error", None)
    return str(message) if message else _detail(exc)


def _detail(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- I/O
class BlueskyPublisher:
    def __init__(self, name: str, client: Client, identifier: str, password: str, *,
                 clock: Callable[[], datetime] = utcnow, timeout: float | None = None) -> None:
        self.name = name
        self.platform = PLATFORM
        self.client = client
        self.clock = clock
        self.timeout = timeout
        self._identifier = identifier
        self._password = password
        self._own: tuple[str, str] | None = None  # (did, handle)

    def publish(self, target: Target, text: str) -> Published:
        (root_uri, root_cid), (parent_uri, parent_cid) = reply_refs(target)
        reply_to = models.AppBskyFeedPost.ReplyRef(
            root=models.ComAtprotoRepoStrongRef.Main(uri=root_uri, cid=root_cid),
            parent=models.ComAtprotoRepoStrongRef.Main(uri=parent_uri, cid=parent_cid),
        )
        created = self._call(lambda: self.client.send_post(text, reply_to=reply_to))
        return Published(created.uri, post_url(created.uri, self._session()[1]))

    def find(self, target: Target, text: str, since: datetime) -> Published | None:
        params = models.AppBskyFeedGetPostThread.Params(uri=target.native_id, depth=1, parent_height=0)
        response = self._call(lambda: self.client.invoke_query("app.bsky.feed.getPostThread", params=params),
                              write=False)
        if not isinstance(response.content, Mapping):
            raise Unavailable(PLATFORM, "getPostThread answered something other than a JSON object")
        return find_reply(response.content, self._session()[0], text, since)

    def like(self, target: Target) -> None:
        _, (uri, cid) = reply_refs(target)
        self._call(lambda: self.client.like(uri, cid))

    def moderate(self, target: Target, action: str) -> None:
        raise ActionUnsupported(f"Earful does not {action} Bluesky posts; use bsky.app (mute, block, report, or "
                                "hide a reply in a thread the brand started)")

    def _session(self) -> tuple[str, str]:
        if self._own is None:
            self._login()
        assert self._own is not None
        return self._own

    def _login(self) -> None:
        try:
            profile = self.client.login(self._identifier, self._password)
        except UnauthorizedError as exc:
            raise AuthFailed(PLATFORM, f"login as {self._identifier} was refused; check handle and app_password "
                             "(an app password from Settings > Privacy and security)", status=401) from exc
        except (AtProtocolError, ValueError, httpx.TransportError) as exc:
            raise translate_error(exc, self.clock(), write=False, timeout=self.timeout) from exc
        self._own = (profile.did, profile.handle)

    def _call(self, action: Callable[[], Any], *, write: bool = True) -> Any:
        """One XRPC call after logging in; a session the server refuses (revoked, or past its refresh
        token) is replaced by a new login once: a refused request was not carried out."""
        self._session()
        try:
            try:
                return action()
            except (UnauthorizedError, BadRequestError) as exc:
                if not isinstance(exc, UnauthorizedError) and _xrpc_error(exc) not in SESSION_ERRORS:
                    raise
            self._login()
            return action()
        except (AtProtocolError, ValueError, httpx.TransportError) as exc:
            raise translate_error(exc, self.clock(), write=write, timeout=self.timeout) from exc

    def close(self) -> None:
        self.client.request.close()


def build(config: BlueskySource, *, timeout: float = 20.0, clock: Callable[[], datetime] = utcnow) -> BlueskyPublisher:
    if config.sandbox:
        creds = BlueskyCredentials()
        identifier, password = creds.identifier, creds.password
    elif config.handle and config.app_password:
        identifier, password = config.handle, config.app_password.get_secret_value()
    else:
        raise ConfigError("replying needs handle and app_password; create an app password (Settings > Privacy and "
                          "security > App passwords) and set app_password: ${BLUESKY_APP_PASSWORD}",
                          key=f"sources.{config.name}")
    client = Client(base_url=config.base_url, request=Request(timeout=timeout))
    return BlueskyPublisher(config.name, client, identifier, password, clock=clock, timeout=timeout)
