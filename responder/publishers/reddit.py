"""Replies on Reddit through praw, as the script app's own account (password grant).

publish: ``Comment.reply`` / ``Submission.reply`` (``POST /api/comment`` with ``thing_id``, the
mention's fullname). find: the account's own comment history (``GET /user/:name/comments``, newest
first), matched on ``parent_id``, text and time; it is where praw's own documentation says a reply
that was created but not returned can be found, and it needs no walk through a large comment tree.
like: ``upvote()`` (``POST /api/vote``). moderate: ``remove`` / ``spam`` (``POST /api/remove``), where
the account moderates the subreddit; Reddit answers 403 elsewhere.

Nothing here may resend a comment on its own: prawcore retries a timed-out or dropped request
(its default, and the listener's one retry), and praw sleeps and retries a short ``RATELIMIT``;
both are switched off, so a lost answer reaches the outbox as ``OutcomeUnknown`` and a rate limit
as ``RateLimited``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import praw
import praw.exceptions
import prawcore
import requests
from prawcore.sessions import FiniteRetryStrategy

from core.config import RedditSource
from core.errors import AuthFailed, ConfigError, OutcomeUnknown, PlatformError, RateLimited, Rejected, Unavailable
from listener.http import TimeoutSession
from listener.reddit import REAL_AUTH_URL, SITE, PacedByPoller, listing_children
from listener.sandbox.credentials import RedditCredentials
from responder.publishers.base import ActionUnsupported, Published, Target
from responder.publishers.matching import posted_since, same_text, timestamp
from responder.publishers.wire import transport_failure, unreadable_answer

PLATFORM = "reddit"
HISTORY = 100  # the account's newest comments searched by `find`
MODERATION = {"remove": False, "spam": True}  # action -> the ``spam`` flag of /api/remove
_WAIT = re.compile(r"(\d+) (millisecond|second|minute)s?")


# --------------------------------------------------------------------------- pure mapping
def fullname(target: Target) -> str:
    """The thing being answered: ``t1_<id>`` (comment) or ``t3_<id>`` (post), as the listener stores it."""
    native = target.native_id
    if native.startswith(("t1_", "t3_")):
        return native
    kind = target.raw.get("kind")
    if kind not in ("t1", "t3"):
        raise Rejected(PLATFORM, f"cannot tell whether {native!r} is a post or a comment: the stored mention has "
                       "no fullname (t1_/t3_) and no kind")
    return f"{kind}_{native}"


def find_comment(listing: Any, parent: str, text: str, since: datetime) -> Published | None:
    """The account's comment on `parent` with `text` in its history Listing (newest first), oldest match first."""
    children, _ = listing_children(listing)
    for child in reversed(children):
        data = child.get("data") if isinstance(child, Mapping) else None
        if not isinstance(data, Mapping) or data.get("parent_id") != parent:
            continue
        if same_text(text, str(data.get("body") or "")) and posted_since(data.get("created_utc"), since):
            return published(data)
    return None


def published(data: Mapping[str, Any]) -> Published:
    path = data.get("permalink")
    return Published(str(data.get("name") or f"t1_{data['id']}"), f"{SITE}{path}" if path else None,
                     timestamp(data.get("created_utc")))


def seconds_to_wait(message: str) -> float | None:
    """Reddit's "take a break for 9 minutes" as seconds."""
    found = _WAIT.search(message or "")
    if not found:
        return None
    amount, unit = int(found.group(1)), found.group(2)
    return amount * 60.0 if unit == "minute" else amount / 1000 if unit == "millisecond" else float(amount)


def translate_error(exc: Exception, *, write: bool = True, timeout: float | None = None) -> PlatformError:
    """praw's and prawcore's exceptions as Earful's tree (the one place this happens). `write`: the
    request may have created something, so an answer that never came is `OutcomeUnknown`."""
    if isinstance(exc, praw.exceptions.RedditAPIException):
        limited = next((item for item in exc.items if item.error_type == "RATELIMIT"), None)
        if limited is not None:
            return RateLimited(PLATFORM, limited.message, retry_after=seconds_to_wait(limited.message))
        return Rejected(PLATFORM, "; ".join(f"{i.error_type}: {i.message}" for i in exc.items))
    if isinstance(exc, prawcore.TooManyRequests):
        retry = float(exc.retry_after) if str(exc.retry_after or "").replace(".", "", 1).isdigit() else None
        return RateLimited(PLATFORM, "rate limit reached (100 requests a minute per OAuth client)", status=429,
                           retry_after=retry)
    if isinstance(exc, prawcore.OAuthException):
        return AuthFailed(PLATFORM, f"the login was refused ({exc.error}); check username and password of the "
                          "script app's account (without two-factor authentication)", status=exc.response.status_code)
    if isinstance(exc, (prawcore.InvalidToken, prawcore.InsufficientScope)):
        return AuthFailed(PLATFORM, "the token was refused or lacks a scope; replying needs the submit, vote and "
                          "modposts scopes of a script app (check client_id and client_secret at "
                          "reddit.com/prefs/apps)", status=exc.response.status_code)
    if isinstance(exc, prawcore.Forbidden):
        return Rejected(PLATFORM, "forbidden: the account may not do this here (banned, locked or archived "
                        "thread, or not a moderator)", status=403)
    if isinstance(exc, prawcore.ServerError):
        return Unavailable(PLATFORM, "server error", status=exc.response.status_code)
    if isinstance(exc, prawcore.BadJSON):
        return unreadable_answer(PLATFORM, write=write, status=exc.response.status_code)
    if isinstance(exc, prawcore.ResponseException):
        status = exc.response.status_code
        if status == 401:
            return AuthFailed(PLATFORM, "the app credentials were refused; check client_id and client_secret of "
                              "the script app at reddit.com/prefs/apps", status=status)
        return Rejected(PLATFORM, f"refused ({exc.response.reason})", status=status)
    if isinstance(exc, (prawcore.RequestException, requests.RequestException)):
        return transport_failure(PLATFORM, exc, write=write, timeout=timeout)
    return PlatformError(PLATFORM, f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- I/O
@dataclass(frozen=True)
class NeverRetry(FiniteRetryStrategy):
    """No retry and no sleep: a resent comment would be a second, public comment."""

    retries: int = 0

    def _sleep_seconds(self) -> float | None:
        return None


class RedditPublisher:
    def __init__(self, name: str, reddit: praw.Reddit, username: str, *, timeout: float | None = None) -> None:
        self.name = name
        self.platform = PLATFORM
        self.reddit = reddit
        self.username = username
        self.timeout = timeout

    def publish(self, target: Target, text: str) -> Published:
        comment = self._call(lambda: self._thing(target).reply(text))
        if comment is None:  # praw: Reddit created it but did not return it
            raise OutcomeUnknown(PLATFORM, "Reddit accepted the comment without returning it; it is looked up")
        return published(vars(comment))

    def find(self, target: Target, text: str, since: datetime) -> Published | None:
        listing = self._call(lambda: self.reddit.request(method="GET", path=f"user/{self.username}/comments",
                                                         params={"limit": str(HISTORY), "sort": "new"}),
                             write=False)
        try:
            return find_comment(listing, fullname(target), text, since)
        except ValueError as exc:
            raise Unavailable(PLATFORM, f"unexpected answer from the comment history: {exc}") from exc

    def like(self, target: Target) -> None:
        self._call(lambda: self._thing(target).upvote())

    def moderate(self, target: Target, action: str) -> None:
        if action not in MODERATION:
            raise ActionUnsupported(f"Reddit offers {sorted(MODERATION)} to a subreddit's moderators, not {action!r}")
        try:
            self._call(lambda: self._thing(target).mod.remove(spam=MODERATION[action]))
        except Rejected as exc:
            if exc.status == 403:
                raise ActionUnsupported(f"Reddit refused to {action} it: the account {self.username} is not a "
                                        "moderator of that subreddit") from exc
            raise

    def _thing(self, target: Target) -> Any:
        """A lazy praw Comment or Submission: replying, voting and removing need only its fullname."""
        kind, _, bare = fullname(target).partition("_")
        return self.reddit.comment(id=bare) if kind == "t1" else self.reddit.submission(id=bare)

    def _call(self, action: Callable[[], Any], *, write: bool = True) -> Any:
        try:
            return action()
        except (prawcore.PrawcoreException, praw.exceptions.PRAWException, requests.RequestException) as exc:
            raise translate_error(exc, write=write, timeout=self.timeout) from exc

    def close(self) -> None:
        for core in {id(c): c for c in _cores(self.reddit)}.values():
            core.close()


def _cores(reddit: praw.Reddit) -> list[prawcore.Session]:
    return [c for c in (reddit._core, reddit._read_only_core, reddit._authorized_core) if c is not None]


def build(config: RedditSource, *, timeout: float = 20.0,
          clock: Callable[[], datetime] | None = None) -> RedditPublisher:
    if config.sandbox:
        creds = RedditCredentials()
        client_id, secret, username, password = creds.client_id, creds.client_secret, creds.username, creds.password
    else:
        client_id = config.client_id
        secret = config.client_secret.get_secret_value() if config.client_secret else None
        username = config.username
        password = config.password.get_secret_value() if config.password else None
        for key, value, hint in (
            ("client_id", client_id, "the id under the app's name at reddit.com/prefs/apps"),
            ("client_secret", secret, "${REDDIT_CLIENT_SECRET} and export that variable"),
            ("username", username, "the brand account the script app belongs to"),
            ("password", password, "${REDDIT_PASSWORD} (replying posts as that account) and export that variable"),
        ):
            if not value:
                raise ConfigError(f"missing; set it to {hint}", key=f"sources.{config.name}.{key}")
    assert username is not None
    reddit = praw.Reddit(
        client_id=client_id,
        client_secret=secret,
        username=username,
        password=password,
        user_agent=config.user_agent,
        oauth_url=config.base_url,
        reddit_url=config.auth_url,
        short_url=config.auth_url if config.auth_url != REAL_AUTH_URL else "https://redd.it",
        check_for_updates=False,
        ratelimit_seconds=-1,  # never sleep on RATELIMIT: it becomes RateLimited and the outbox waits
        requestor_kwargs={"session": TimeoutSession(timeout)},
    )
    clock = clock or (lambda: datetime.now(timezone.utc))
    for core in _cores(reddit):  # prawcore offers no public setting for either
        core._retry_strategy_class = NeverRetry
        core._rate_limiter = PacedByPoller(window_size=reddit.config.window_size, clock=clock)
    return RedditPublisher(config.name, reddit, username, timeout=timeout)
