"""What every publisher shares: recognising its own reply (`matching`), telling a write that never left
from one that may have landed (`wire`), and building a Target from a stored mention (`publishers`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from http.client import RemoteDisconnected

import httpx
import pytest
import requests
import urllib3.exceptions
from atproto_client.exceptions import NetworkError as AtprotoNetworkError
from mastodon.errors import MastodonNetworkError

from core.config import HackerNewsSource, RssSource
from core.errors import OutcomeUnknown, Unavailable
from core.models import Author, Mention
from responder.publishers import REPLY_PLATFORMS, build_publisher, target_of
from responder.publishers.matching import CLOCK_SKEW, posted_since, same_text
from responder.publishers.wire import transport_failure, unreadable_answer

SINCE = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- matching
def test_texts_match_once_platform_rewriting_is_undone() -> None:
    sent = "Sorry  Jo & team!\nSee https://skylark.example/help/bags?ref=x for help."
    assert same_text(sent, "sorry jo &amp; team! see https://t.co/AbC123 for help.")  # X: t.co, entities
    assert same_text(sent, " SORRY JO & TEAM! See https://skylark.example/help/bags?ref=x for help. ")
    assert not same_text(sent, "Sorry Jo & team! See the help pages.")
    assert not same_text("Thanks!", "Thanks!!")


@pytest.mark.parametrize(("at", "recent"), [
    ("2025-03-14T12:00:05.000Z", True),
    (SINCE.timestamp() - 30, True),  # epoch seconds (Reddit), within the clock skew
    (SINCE - CLOCK_SKEW - timedelta(seconds=1), False),
    ("2025-03-14T11:00:00Z", False),
    (None, True),  # no time given: parent and text decide
    ("not a time", True),
])
def test_posted_since_allows_for_clock_skew(at: object, recent: bool) -> None:
    assert posted_since(at, SINCE) is recent


# --------------------------------------------------------------------------- wire
def refused() -> requests.ConnectionError:
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")  # type: ignore[arg-type]
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/2/tweets", reason))  # type: ignore[arg-type]


def dropped() -> requests.ConnectionError:
    return requests.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")))


def wrapped(outer: Exception, inner: Exception, *, cause: bool) -> Exception:
    """`outer` raised while handling `inner`: atproto chains it as the cause, Mastodon.py only as context."""
    try:
        try:
            raise inner
        except Exception as exc:
            if cause:
                raise outer from exc
            raise outer
    except Exception as raised:
        return raised


@pytest.mark.parametrize(("exc", "kind"), [
    (refused(), Unavailable),
    (requests.ConnectTimeout("connect timed out"), Unavailable),
    (httpx.ConnectError("All connection attempts failed"), Unavailable),
    (wrapped(AtprotoNetworkError(), httpx.ConnectError("refused"), cause=True), Unavailable),
    (requests.ReadTimeout("read timed out"), OutcomeUnknown),
    (dropped(), OutcomeUnknown),
    (httpx.ReadTimeout("timed out"), OutcomeUnknown),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), OutcomeUnknown),
    (wrapped(MastodonNetworkError("Could not complete request"), dropped(), cause=False), OutcomeUnknown),
    (wrapped(MastodonNetworkError("Could not complete request"), refused(), cause=False), Unavailable),
])
def test_a_write_that_may_have_left_is_outcome_unknown(exc: Exception, kind: type) -> None:
    error = transport_failure("x", exc, timeout=2)
    assert type(error) is kind and error.platform == "x"
    assert type(transport_failure("x", exc, write=False)) is Unavailable  # a read is simply repeated


def test_the_messages_say_what_happens_next() -> None:
    assert "within 2 s" in str(transport_failure("x", requests.ReadTimeout("t"), timeout=2))
    assert "looked up" in str(transport_failure("x", dropped()))
    assert "nothing was sent" in str(transport_failure("x", refused()))
    assert type(unreadable_answer("x")) is OutcomeUnknown
    assert type(unreadable_answer("x", write=False)) is Unavailable


# --------------------------------------------------------------------------- registry and targets
def test_platforms_without_a_reply_api_get_no_publisher() -> None:
    assert REPLY_PLATFORMS == {"x", "reddit", "mastodon", "bluesky", "youtube", "discourse"}
    assert build_publisher(HackerNewsSource(platform="hackernews", name="hn")) is None
    assert build_publisher(RssSource(platform="rss", name="feeds", feeds=("https://a.example/feed",))) is None


def test_a_target_carries_what_the_listener_stored() -> None:
    author = Author(platform="bluesky", key="did:plc:abc", handle="@jo.bsky.social")
    raw = {"uri": "at://did:plc:abc/app.bsky.feed.post/3k", "cid": "bafy1",
           "record": {"reply": {"root": {"uri": "at://root", "cid": "bafy0"}}}}
    mention = Mention(platform="bluesky", native_id=raw["uri"], url="https://bsky.app/profile/jo/post/3k",
                      parent_id="at://root", conversation_id="at://root", raw=raw, author=author, text="hi",
                      created_at=SINCE)
    target = target_of(mention)
    assert (target.platform, target.native_id, target.parent_id, target.conversation_id) == \
        ("bluesky", raw["uri"], "at://root", "at://root")
    assert (target.author_handle, target.author_native_id) == ("@jo.bsky.social", "did:plc:abc")
    assert target.raw == raw and target.url == mention.url
    assert target_of(Mention(platform="x", native_id="1", text="t", created_at=SINCE)).author_handle is None
