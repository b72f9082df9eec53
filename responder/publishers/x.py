"""Replies on X through tweepy (API v2, OAuth 1.0a user context: the brand account's four keys).

publish: ``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``. find: a recent search for
``conversation_id:<thread> from:<brand>``, matched on parent, text and time. like: ``POST
/2/users/:id/likes`` as the authenticated user, whose id comes from ``GET /2/users/me`` (tweepy's
``like()`` would read it from the access token, which only real tokens encode). moderate: ``hide``
(``PUT /2/tweets/:id/hidden``), allowed on replies in conversations the brand started.

tweepy and requests exceptions are translated once, in ``translate_error``. tweepy is used without
``wait_on_rate_limit`` (a 429 becomes ``RateLimited``; the outbox schedules the retry) and through
`listener.http.TimeoutSession`, since tweepy sets no timeout of its own.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import requests
import tweepy

from core.config import XSource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Rejected, Unavailable
from listener.http import TimeoutSession
from listener.sandbox.credentials import XCredentials
from listener.sandbox.redirect import redirect_session
from listener.x import REAL_BASE_URL
from responder.publishers.base import ActionUnsupported, Published, Target
from responder.publishers.matching import posted_since, same_text, timestamp
from responder.publishers.wire import transport_failure, unreadable_answer

PLATFORM = "x"
FIND_FIELDS = ["created_at", "conversation_id", "referenced_tweets", "author_id"]
# Problem types of a 403 that say the keys or the app's permissions are wrong, not this one reply.
AUTH_PROBLEMS = ("unsupported-authentication", "oauth1-permissions", "client-forbidden", "client-not-enrolled")


# --------------------------------------------------------------------------- pure mapping
def find_reply(payload: Mapping[str, Any], parent_id: str, text: str, since: datetime) -> Published | None:
    """The brand's reply to `parent_id` with `text` in a recent-search answer, oldest match first."""
    for tweet in reversed(list(payload.get("data") or [])):
        if not isinstance(tweet, Mapping):
            continue
        parents = [str(r.get("id")) for r in tweet.get("referenced_tweets") or () if r.get("type") == "replied_to"]
        if parent_id in parents and same_text(text, str(tweet.get("text") or "")) \
                and posted_since(tweet.get("created_at"), since):
            return Published(str(tweet["id"]), tweet_url(str(tweet["id"])), timestamp(tweet.get("created_at")))
    return None


def tweet_url(tweet_id: str, username: str | None = None) -> str:
    return f"https://x.com/{username}/status/{tweet_id}" if username else f"https://x.com/i/web/status/{tweet_id}"


def translate_error(exc: Exception, *, write: bool = True, now: datetime | None = None,
                    timeout: float | None = None) -> PlatformError:
    """tweepy's and requests' exceptions as Earful's tree (the one place this happens). `write`: the
    request may have created something, so an answer that never came is `OutcomeUnknown`."""
    if isinstance(exc, tweepy.TooManyRequests):
        reset = exc.reset_time
        retry = max(0.0, reset - (now or datetime.now(timezone.utc)).timestamp()) if reset is not None else None
        return RateLimited(PLATFORM, "rate limit reached for posting (the 15-minute window is used up)", status=429,
                           retry_after=retry)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthFailed(PLATFORM, "the OAuth 1.0a keys were refused; regenerate the access token and secret of "
                          "the brand account in the X developer portal (Keys and tokens) and export them as "
                          "${X_ACCESS_TOKEN} and ${X_ACCESS_TOKEN_SECRET}", status=401)
    if isinstance(exc, tweepy.Forbidden):
        if any(kind in problem_types(exc) for kind in AUTH_PROBLEMS):
            return AuthFailed(PLATFORM, f"{detail(exc)}; give the app Read and write permissions and regenerate "
                              "the access token", status=403)
        return Rejected(PLATFORM, detail(exc), status=403)
    if isinstance(exc, tweepy.TwitterServerError):
        return Unavailable(PLATFORM, f"server error ({detail(exc)})", status=exc.response.status_code)
    if isinstance(exc, tweepy.HTTPException):  # 400 (text too long, bad id), 404
        return Rejected(PLATFORM, detail(exc), status=exc.response.status_code)
    if isinstance(exc, requests.JSONDecodeError):
        return unreadable_answer(PLATFORM, write=write)
    if isinstance(exc, requests.RequestException):
        return transport_failure(PLATFORM, exc, write=write, timeout=timeout)
    return PlatformError(PLATFORM, f"{type(exc).__name__}: {exc}")


def detail(exc: tweepy.HTTPException) -> str:
    messages = [m for m in exc.api_messages if m] or [exc.response.reason or ""]
    return "; ".join(dict.fromkeys(messages))[:500]


def problem_types(exc: tweepy.HTTPException) -> str:
    try:
        body = exc.response.json()
    except ValueError:
        return ""
    if not isinstance(body, Mapping):
        return ""
    return " ".join(str(p.get("type", "")) for p in [body, *(body.get("errors") or [])] if isinstance(p, Mapping))


# --------------------------------------------------------------------------- I/O
class XPublisher:
    def __init__(self, name: str, client: tweepy.Client, *, timeout: float | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.name = name
        self.platform = PLATFORM
        self.client = client
        self.timeout = timeout
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._me: Mapping[str, Any] | None = None

    def publish(self, target: Target, text: str) -> Published:
        answer = self._call(lambda: self.client.create_tweet(text=text, in_reply_to_tweet_id=target.native_id,
                                                             user_auth=True))
        try:
            tweet_id = str(answer["data"]["id"])
        except (KeyError, TypeError) as exc:
            raise unreadable_answer(PLATFORM) from exc
        return Published(tweet_id, tweet_url(tweet_id, (self._me or {}).get("username")))

    def find(self, target: Target, text: str, since: datetime) -> Published | None:
        username = self._own()["username"]
        thread = target.conversation_id or target.native_id
        query = f"conversation_id:{thread} from:{username}"
        payload = self._call(lambda: self.client.search_recent_tweets(
            query, max_results=100, tweet_fields=FIND_FIELDS, user_auth=True), write=False)
        found = find_reply(payload, target.native_id, text, since)
        return Published(found.platform_id, tweet_url(found.platform_id, username), found.posted_at) if found else None

    def like(self, target: Target) -> None:
        own_id = self._own()["id"]
        self._call(lambda: self.client.request("POST", f"/2/users/{own_id}/likes",
                                               json={"tweet_id": target.native_id}, user_auth=True))

    def moderate(self, target: Target, action: str) -> None:
        if action != "hide":
            raise ActionUnsupported(f"X offers 'hide' (hide a reply in the brand's own conversation), not {action!r}")
        try:
            self._call(lambda: self.client.hide_reply(target.native_id, user_auth=True))
        except Rejected as exc:
            if exc.status == 403:
                raise ActionUnsupported(f"X refused to hide this post: {exc}") from exc
            raise

    def _own(self) -> Mapping[str, Any]:
        """The brand account behind the keys (one ``GET /2/users/me`` per publisher)."""
        if self._me is None:
            self._me = self._call(lambda: self.client.get_me(user_auth=True), write=False)["data"]
        return self._me

    def _call(self, action: Callable[[], Any], *, write: bool = True) -> Any:
        try:
            return action()
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise translate_error(exc, write=write, now=self.clock(), timeout=self.timeout) from exc

    def close(self) -> None:
        self.client.session.close()


def build(config: XSource, *, timeout: float = 20.0, clock: Callable[[], datetime] | None = None) -> XPublisher:
    if config.sandbox:
        creds = XCredentials()
        keys = dict(consumer_key=creds.consumer_key, consumer_secret=creds.consumer_secret,
                    access_token=creds.access_token, access_token_secret=creds.access_token_secret)
    else:
        keys = {key: _secret(getattr(config, key)) for key in
                ("consumer_key", "consumer_secret", "access_token", "access_token_secret")}
        for key, value in keys.items():
            if not value:
                raise ConfigError(f"missing; replying on X signs as the brand account with OAuth 1.0a: set it to "
                                  f"${{X_{key.upper()}}} (developer portal > Keys and tokens, with Read and write "
                                  "permissions) and export that variable", key=f"sources.{config.name}.{key}")
    client = tweepy.Client(**keys, return_type=dict, wait_on_rate_limit=False)
    client.session.close()
    client.session = TimeoutSession(timeout)
    if config.base_url.rstrip("/") != REAL_BASE_URL:
        redirect_session(client.session, config.base_url)  # tweepy hard-codes api.twitter.com
    return XPublisher(config.name, client, timeout=timeout, clock=clock)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value
