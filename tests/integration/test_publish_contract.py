"""The contract every reply publisher keeps, checked on all six against the sandbox with the real client
libraries: a reply lands once and `find` sees it, and each way a platform fails becomes the right error
of Earful's tree (with the reply still landing exactly once, or not at all)."""

from __future__ import annotations

import re
import socket
from typing import Iterator

import pytest

from core.db import Database
from core.errors import AuthFailed, OutcomeUnknown, RateLimited, Rejected, Unavailable
from listener.sandbox import FaultKind, Sandbox
from responder.publishers import REPLY_PLATFORMS
from responder.publishers.base import Publisher, Target
from tests.fakes.publishing import KITS, Kit, thread_target
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

# Platforms whose 429 says when to come back in a form the publisher reads (Mastodon's reset is an
# absolute time that Mastodon.py compares with the real clock; YouTube's quota resets at midnight).
SAYS_WHEN = {"x", "reddit", "bluesky", "discourse"}
TEXT = "Sorry to hear that! Please send us a DM with your booking reference and we'll look into it."


@pytest.fixture(params=sorted(KITS))
def kit(request: pytest.FixtureRequest) -> Kit:
    return KITS[request.param]


@pytest.fixture
def target(sqlite_db: Database, sandbox: Sandbox, kit: Kit) -> Target:  # noqa: F811
    return thread_target(sqlite_db, sandbox, kit)[0]


@pytest.fixture
def publisher(sandbox: Sandbox, kit: Kit) -> Iterator[Publisher]:  # noqa: F811
    publisher = kit.publisher(sandbox)
    yield publisher
    publisher.close()


def replies(sb: Sandbox, kit: Kit) -> list:
    """Replies the fake platform stored through its API."""
    return sb.world.api_posts(kit.platform)


def reply_requests(sb: Sandbox, kit: Kit) -> list:
    return sb.requests(kit.platform, "POST", kit.reply_route)


def test_every_platform_with_a_reply_api_has_a_kit() -> None:
    assert set(KITS) == REPLY_PLATFORMS


def test_a_reply_lands_once_and_find_sees_it(sandbox: Sandbox, clock: FrozenClock, kit: Kit, target: Target,  # noqa: F811
                                             publisher: Publisher) -> None:
    since = clock()
    assert publisher.find(target, TEXT, since) is None
    published = publisher.publish(target, TEXT)
    [landed] = replies(sandbox, kit)
    assert published.platform_id == kit.stored_id(sandbox, landed)
    assert landed.text == TEXT and landed.author.brand == "skylark"
    assert published.url and published.url.startswith(("https://", "http://127.0.0.1"))
    assert len(reply_requests(sandbox, kit)) == 1
    found = publisher.find(target, f"  {TEXT.upper()} ", since)  # platforms trim and fold text
    assert found is not None and found.platform_id == published.platform_id
    assert publisher.find(target, "A different answer to the same post, for a different day.", since) is None
    assert len(replies(sandbox, kit)) == 1  # looking up wrote nothing


def test_a_refused_text_is_rejected_with_the_platforms_reason(sandbox: Sandbox, kit: Kit, target: Target,  # noqa: F811
                                                               publisher: Publisher) -> None:
    with pytest.raises(Rejected, match=re.escape(kit.refusal)):
        publisher.publish(target, kit.refused_text)
    assert replies(sandbox, kit) == []


def test_a_rate_limit_is_rate_limited_and_lands_nothing(sandbox: Sandbox, kit: Kit, target: Target,  # noqa: F811
                                                        publisher: Publisher) -> None:
    sandbox.inject(kit.platform, FaultKind.RATE_LIMIT, route=kit.reply_route, method="POST", retry_after_s=90)
    with pytest.raises(RateLimited) as raised:
        publisher.publish(target, TEXT)
    if kit.platform in SAYS_WHEN:
        assert raised.value.retry_after == pytest.approx(90, abs=1)
    assert raised.value.retry_after is None or raised.value.retry_after > 0
    assert replies(sandbox, kit) == [] and len(reply_requests(sandbox, kit)) == 1


def test_a_server_error_is_unavailable_and_is_not_retried_inside(sandbox: Sandbox, kit: Kit, target: Target,  # noqa: F811
                                                                 publisher: Publisher) -> None:
    sandbox.inject(kit.platform, FaultKind.SERVER_ERROR, route=kit.reply_route, method="POST", status=500)
    with pytest.raises(Unavailable):
        publisher.publish(target, TEXT)
    assert replies(sandbox, kit) == []
    assert len(reply_requests(sandbox, kit)) == 1  # the outbox decides about retrying, not the library
    assert publisher.publish(target, TEXT).platform_id  # the fault was one answer: the next attempt lands


def test_refused_credentials_are_auth_failed(sandbox: Sandbox, kit: Kit, target: Target,  # noqa: F811
                                             publisher: Publisher) -> None:
    # twice: a publisher may log in again once after a refused session (Bluesky does)
    sandbox.inject(kit.platform, FaultKind.UNAUTHORIZED, route=kit.reply_route, method="POST", times=2)
    with pytest.raises(AuthFailed):
        publisher.publish(target, TEXT)
    assert replies(sandbox, kit) == []


@pytest.mark.parametrize("how", ["timeout", "dropped"])
def test_a_lost_answer_is_outcome_unknown_and_the_reply_exists_once(sandbox: Sandbox, clock: FrozenClock,  # noqa: F811
                                                                    kit: Kit, target: Target, how: str) -> None:
    """The platform stores the reply, and the answer never arrives: the client times out waiting, or the
    connection is dropped at once. Nothing may resend it (httplib2 and prawcore would, on their own)."""
    publisher = kit.publisher(sandbox, timeout=0.4 if how == "timeout" else 5.0)
    try:
        sandbox.inject(kit.platform, FaultKind.LOST_ANSWER, route=kit.reply_route, method="POST",
                       delay_s=30.0 if how == "timeout" else 0.0)
        with pytest.raises(OutcomeUnknown):
            publisher.publish(target, TEXT)
        [landed] = replies(sandbox, kit)
        assert len(reply_requests(sandbox, kit)) == 1
        found = publisher.find(target, TEXT, clock())
        assert found is not None and found.platform_id == kit.stored_id(sandbox, landed)
    finally:
        publisher.close()


def test_an_unreachable_platform_is_unavailable(sandbox: Sandbox, kit: Kit, target: Target) -> None:  # noqa: F811
    closed_url = f"http://127.0.0.1:{_free_port()}/{kit.platform}"  # nothing listens there
    extra = {"auth_url": closed_url} if kit.platform == "reddit" else {}
    publisher = kit.publisher(sandbox, base_url=closed_url, **extra)
    try:
        with pytest.raises(Unavailable, match="nothing was sent"):
            publisher.publish(target, TEXT)
    finally:
        publisher.close()
    assert replies(sandbox, kit) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
