"""Replies on Mastodon through Mastodon.py, as the account of the source's access token.

publish: ``status_post(text, in_reply_to_id=..., visibility=...)`` with the parent's visibility, so
a reply is never more public than what it answers (a followers-only post gets a followers-only
reply), and with an ``Idempotency-Key`` made of the target and the text, so a resend Mastodon
already accepted in the last hour returns that status instead of a second one. find: the parent's
``status_context`` descendants by the own account (``verify_credentials``). like:
``status_favourite``. moderate: an account cannot moderate other people's posts; that is the
instance's admins' business, so every action is `ActionUnsupported`.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from core.config import MastodonSource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Rejected, Unavailable
from listener.sandbox.credentials import MastodonCredentials
from listener.text import html_to_text
from responder.publishers.base import ActionUnsupported, Published, Target
from responder.publishers.matching import posted_since, same_text, timestamp
from responder.publishers.wire import transport_failure, unreadable_answer

PLATFORM = "mastodon"
VISIBILITIES = ("public", "unlisted", "private", "direct")  # most public first


# --------------------------------------------------------------------------- pure mapping
def reply_visibility(parent: Mapping[str, Any]) -> str | None:
    """The parent's visibility, which the reply keeps; None when the stored status does not say."""
    visibility = parent.get("visibility")
    return visibility if visibility in VISIBILITIES else None


def idempotency_key(target: Target, text: str) -> str:
    return hashlib.sha256(f"earful:{target.native_id}:{text}".encode()).hexdigest()[:40]


def find_status(descendants: Iterable[Mapping[str, Any]], own_id: str, parent_id: str, text: str,
                since: datetime) -> Published | None:
    """The own account's direct reply to `parent_id` with `text` among a thread's descendants."""
    for status in descendants:
        account = status.get("account") or {}
        if str(account.get("id")) != own_id or str(status.get("in_reply_to_id")) != parent_id:
            continue
        if same_text(text, html_to_text(status.get("content"))) and posted_since(status.get("created_at"), since):
            return published(status)
    return None


def published(status: Mapping[str, Any]) -> Published:
    return Published(str(status["id"]), status.get("url") or status.get("uri"), timestamp(status.get("created_at")))


def translate_error(exc: Exception, *, write: bool = True, api: Mastodon | None = None,
                    timeout: float | None = None) -> PlatformError:
    """Mastodon.py's exceptions as Earful's tree (the one place this happens)."""
    status, message = _status(exc), _message(exc)
    if isinstance(exc, MastodonRatelimitError):
        reset = getattr(api, "ratelimit_reset", None) if api else None
        retry = max(0.0, float(reset) - time.time()) if reset else None
        return RateLimited(PLATFORM, "rate limit reached (300 requests per 5 minutes)", status=429, retry_after=retry)
    if isinstance(exc, MastodonUnauthorizedError):
        return AuthFailed(PLATFORM, f"the access token was refused ({message}); create a new one with the read and "
                          "write scopes (Preferences > Development) and set access_token: ${MASTODON_TOKEN}",
                          status=401)
    if isinstance(exc, MastodonNotFoundError):
        return Rejected(PLATFORM, f"{message} (the post was deleted, or the account cannot see it)", status=404)
    if isinstance(exc, MastodonServerError):
        return Unavailable(PLATFORM, f"server error ({message})", status=status)
    if isinstance(exc, MastodonNetworkError):
        return transport_failure(PLATFORM, exc, write=write, timeout=timeout)
    if isinstance(exc, MastodonAPIError):
        if status is None:  # a success answer whose JSON could not be parsed
            return unreadable_answer(PLATFORM, write=write)
        if status == 403 and "scope" in message.lower():
            return AuthFailed(PLATFORM, f"{message}; the token needs the write:statuses and write:favourites scopes",
                              status=403)
        return Rejected(PLATFORM, message, status=status)
    return PlatformError(PLATFORM, f"{type(exc).__name__}: {exc}")


def _status(exc: Exception) -> int | None:
    return exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None


def _message(exc: Exception) -> str:
    """Mastodon.py's args: ('Mastodon API returned error', status, reason, the instance's message)."""
    parts = [str(a) for a in exc.args[2:] if a] if _status(exc) is not None else [str(exc)]
    return str(parts[-1]) if parts else type(exc).__name__


# --------------------------------------------------------------------------- I/O
class MastodonPublisher:
    def __init__(self, name: str, api: Mastodon, *, timeout: float | None = None) -> None:
        self.name = name
        self.platform = PLATFORM
        self.api = api
        self.timeout = timeout
        self._own_id: str | None = None

    def publish(self, target: Target, text: str) -> Published:
        visibility = reply_visibility(target.raw)
        if visibility is None:  # not stored: ask the instance rather than guess a wider audience
            parent = self._call(lambda: self.api.status(target.native_id), write=False)
            visibility = reply_visibility(parent) or "direct"
        status = self._call(lambda: self.api.status_post(text, in_reply_to_id=target.native_id, visibility=visibility,
                                                         idempotency_key=idempotency_key(target, text)))
        return published(status)

    def find(self, target: Target, text: str, since: datetime) -> Published | None:
        own_id = self._own()
        context = self._call(lambda: self.api.status_context(target.native_id), write=False)
        return find_status(context.get("descendants") or [], own_id, target.native_id, text, since)

    def like(self, target: Target) -> None:
        self._call(lambda: self.api.status_favourite(target.native_id))

    def moderate(self, target: Target, action: str) -> None:
        raise ActionUnsupported(f"Mastodon lets only the instance's moderators {action} other people's posts; "
                                "report the post on the instance instead")

    def _own(self) -> str:
        if self._own_id is None:
            account = self._call(lambda: self.api.account_verify_credentials(), write=False)
            self._own_id = str(account["id"])
        return self._own_id

    def _call(self, action: Callable[[], Any], *, write: bool = True) -> Any:
        try:
            return action()
        except MastodonError as exc:
            raise translate_error(exc, write=write, api=self.api, timeout=self.timeout) from exc

    def close(self) -> None:
        session = getattr(self.api, "session", None)
        if session is not None:
            session.close()


def build(config: MastodonSource, *, timeout: float = 20.0) -> MastodonPublisher:
    if config.sandbox:
        token: str | None = MastodonCredentials().access_token
    else:
        token = config.access_token.get_secret_value() if config.access_token else None
        if not token:
            raise ConfigError("missing; replying posts as the brand account: create an access token with the read "
                              "and write scopes (Preferences > Development > New application) and set it to "
                              "${MASTODON_TOKEN}", key=f"sources.{config.name}.access_token")
    api = Mastodon(
        api_base_url=config.base_url,
        access_token=token,
        mastodon_version="4.3.0",
        version_check_mode="created",  # with mastodon_version given: checks locally, no /api/v1/instance call
        ratelimit_method="throw",
        request_timeout=timeout,
    )
    return MastodonPublisher(config.name, api, timeout=timeout)
