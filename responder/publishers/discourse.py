"""Replies on a Discourse forum over plain HTTP (httpx), as the API key's user (``Api-Username``).

publish: ``POST /posts.json`` with ``topic_id``, ``raw`` and ``reply_to_post_number``, from the
stored post. find: ``GET /t/{topic}.json`` (and the newest posts the topic answer only lists by id,
through ``/t/{topic}/posts.json``), the key user's replies to that post number, whose raw Markdown
(``/posts/{id}.json``) is compared with the text. like: ``POST /post_actions.json`` (type 2).
moderate: `ActionUnsupported`; staff act in the forum itself.

Discourse answers a refused post with 422 and a list of reasons (too short, too similar to a recent
post, topic closed); those are `Rejected` with Discourse's own words. A wrong key pair is a 403
``invalid_access`` naming the key, not a 401.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

import httpx

from core.config import DiscourseSource
from core.errors import AuthFailed, ConfigError, PlatformError, RateLimited, Rejected, Unavailable
from listener.discourse import LIKE_ACTION, site_of
from listener.http import make_client, retry_after_seconds
from listener.sandbox.credentials import DiscourseCredentials
from responder.publishers.base import ActionUnsupported, Published, Target
from responder.publishers.matching import posted_since, same_text, timestamp
from responder.publishers.wire import transport_failure, unreadable_answer

PLATFORM = "discourse"
NEWEST = 50  # posts of a long topic fetched by id when the topic answer does not carry them


# --------------------------------------------------------------------------- pure mapping
def reply_fields(target: Target) -> dict[str, int]:
    """``topic_id`` and ``reply_to_post_number`` of a reply to the stored post (raw, else its URL)."""
    raw = target.raw
    topic, number = raw.get("topic_id"), raw.get("post_number")
    if topic is None or number is None:  # .../t/<slug>/<topic>/<number> or .../t/<topic>/<number>
        parts = urlsplit(target.url or "").path.rstrip("/").split("/")
        if len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
            topic, number = parts[-2], parts[-1]
    try:
        return {"topic_id": int(topic), "reply_to_post_number": int(number)}  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Rejected(PLATFORM, f"cannot tell which topic and post {target.native_id} is: the stored post has "
                       "no topic_id and post_number") from None


def post_id(native_id: str) -> int:
    """The forum's post id of a native id ``<site>:<post id>``."""
    head, _, tail = native_id.rpartition(":")
    if not tail.isdigit() or head.endswith(":topic"):  # <site>:topic:<id> names a topic, not a post
        raise Rejected(PLATFORM, f"{native_id!r} is not a Discourse post id (<site>:<number>)")
    return int(tail)


def candidates(posts: Iterable[Any], username: str, reply_to: int, since: datetime) -> list[int]:
    """Ids of the user's posts since `since` that may answer post number `reply_to`, oldest first.

    A post without ``reply_to_post_number`` is kept: Discourse leaves it unset for a reply to the
    topic itself, and missing a landed reply would post it twice (its raw text decides)."""
    found = []
    for post in posts:
        if not isinstance(post, Mapping) or str(post.get("username", "")).lower() != username.lower():
            continue
        number = post.get("reply_to_post_number")
        if (number is None or int(number) == reply_to) and posted_since(post.get("created_at"), since):
            found.append(int(post["id"]))
    return sorted(found)


def published(post: Mapping[str, Any], base_url: str) -> Published:
    base = base_url.rstrip("/")
    slug, topic, number = post.get("topic_slug"), post.get("topic_id"), post.get("post_number")
    url = f"{base}/t/{slug}/{topic}/{number}" if slug else f"{base}/t/{topic}/{number}" if topic else None
    return Published(f"{site_of(base_url)}:{post['id']}", url, timestamp(post.get("created_at")))


def errors_of(response: httpx.Response) -> str:
    """Discourse's own reasons (``{"errors": [...]}``), else the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if isinstance(errors, list) and errors:
        return "; ".join(str(e) for e in errors)
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def refusal(response: httpx.Response) -> PlatformError | None:
    """A Discourse answer's error in Earful's tree, None for a success (the one place statuses are read)."""
    status = response.status_code
    if status < 400:
        return None
    reason = errors_of(response)
    if status == 429:
        wait = retry_after_seconds(response)
        return RateLimited(PLATFORM, reason, status=status, retry_after=wait if wait is not None else _wait(response))
    if status == 401 or (status == 403 and "api username or key is invalid" in reason.lower()):
        return AuthFailed(PLATFORM, f"{reason}; check api_key (Admin > API > Keys, a key for that user with the "
                          "posts and likes scopes) and api_username", status=status)
    if status >= 500:
        return Unavailable(PLATFORM, f"server error ({reason})", status=status)
    return Rejected(PLATFORM, reason, status=status)  # 422 refused text, 403 not allowed, 404 gone


def _wait(response: httpx.Response) -> float | None:
    try:
        return float(response.json()["extras"]["wait_seconds"])
    except (ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------- I/O
class DiscoursePublisher:
    def __init__(self, name: str, client: httpx.Client, base_url: str, username: str) -> None:
        self.name = name
        self.platform = PLATFORM
        self.client = client
        self.base_url = base_url
        self.username = username

    def publish(self, target: Target, text: str) -> Published:
        post = self._json("POST", "/posts.json", json={**reply_fields(target), "raw": text})
        if not post.get("id"):
            raise unreadable_answer(PLATFORM)
        return published(post, self.base_url)

    def find(self, target: Target, text: str, since: datetime) -> Published | None:
        fields = reply_fields(target)
        topic = fields["topic_id"]
        data = self._json("GET", f"/t/{topic}.json", write=False)
        stream = data.get("post_stream") or {}
        posts = list(stream.get("posts") or [])
        loaded = {p.get("id") for p in posts if isinstance(p, Mapping)}
        missing = [i for i in stream.get("stream") or [] if i not in loaded][-NEWEST:]
        if missing:
            more = self._json("GET", f"/t/{topic}/posts.json", params={"post_ids[]": missing}, write=False)
            posts += (more.get("post_stream") or {}).get("posts") or []
        for candidate in candidates(posts, self.username, fields["reply_to_post_number"], since):
            post = self._json("GET", f"/posts/{candidate}.json", write=False)
            if same_text(text, str(post.get("raw") or "")):
                return published(post, self.base_url)
        return None

    def like(self, target: Target) -> None:
        self._json("POST", "/post_actions.json", json={"id": post_id(target.native_id),
                                                       "post_action_type_id": LIKE_ACTION})

    def moderate(self, target: Target, action: str) -> None:
        raise ActionUnsupported(f"Earful does not {action} Discourse posts; staff can do it in the forum itself")

    def _json(self, method: str, path: str, *, write: bool = True, **kwargs: Any) -> Mapping[str, Any]:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise transport_failure(PLATFORM, exc, write=write, timeout=self.client.timeout.read) from exc
        error = refusal(response)
        if error is not None:
            raise error
        try:
            data = response.json()
        except ValueError as exc:
            raise unreadable_answer(PLATFORM, write=write) from exc
        if not isinstance(data, Mapping):
            raise unreadable_answer(PLATFORM, write=write)
        return data

    def close(self) -> None:
        self.client.close()


def build(config: DiscourseSource, *, timeout: float = 20.0,
          transport: httpx.BaseTransport | None = None) -> DiscoursePublisher:
    if config.sandbox:
        creds = DiscourseCredentials()
        api_key, username = creds.api_key, creds.api_username
    else:
        api_key = config.api_key.get_secret_value() if config.api_key else None
        username = config.api_username
        for key, value, hint in (("api_key", api_key, "${DISCOURSE_API_KEY}, a key created in Admin > API > Keys, "
                                                      "and export that variable"),
                                 ("api_username", username, "the forum user the brand replies as, e.g. its "
                                                            "support account")):
            if not value:
                raise ConfigError(f"missing; replying posts as a forum user: set it to {hint}",
                                  key=f"sources.{config.name}.{key}")
    assert api_key and username
    headers = {"Api-Key": api_key, "Api-Username": username}
    client = make_client(config.base_url, headers=headers, transport=transport, timeout=timeout)
    client.follow_redirects = False  # a redirected POST would be sent again as a GET, or not at all
    return DiscoursePublisher(config.name, client, config.base_url, username)
