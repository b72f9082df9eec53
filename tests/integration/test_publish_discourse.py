"""The Discourse publisher on the wire: httpx against the sandbox's forum."""

from __future__ import annotations

from typing import Iterator

import pytest

from core.db import Database
from core.errors import AuthFailed, Rejected
from listener.sandbox import Sandbox
from responder.publishers import discourse
from responder.publishers.base import ActionUnsupported, Target
from tests.fakes.publishing import KITS, thread_target
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

KIT = KITS["discourse"]
TEXT = "Sorry about your bag! Please send our team a message with your file reference."


@pytest.fixture
def publisher(sandbox: Sandbox) -> Iterator[discourse.DiscoursePublisher]:  # noqa: F811
    publisher = KIT.publisher(sandbox)
    yield publisher
    publisher.close()


def test_a_reply_names_topic_and_post_number_with_the_api_key(sqlite_db: Database, sandbox: Sandbox,  # noqa: F811
                                                              clock: FrozenClock,
                                                              publisher: discourse.DiscoursePublisher) -> None:
    target, first, reply = thread_target(sqlite_db, sandbox, KIT)
    published = publisher.publish(target, TEXT)
    [sent] = sandbox.requests("discourse", "POST", "/posts.json")
    assert sent.json() == {"topic_id": int(first.place), "reply_to_post_number": 2, "raw": TEXT}
    assert (sent.headers["api-key"], sent.headers["api-username"]) == ("sandbox-discourse-api-key", "skylark_support")
    [landed] = sandbox.world.api_posts("discourse")
    assert published.platform_id == KIT.stored_id(sandbox, landed) and landed.parent_id == reply.id
    assert published.url and published.url.endswith(f"/{first.place}/{landed.extra['post_number']}")
    found = publisher.find(target, TEXT, clock())
    assert found is not None and found.platform_id == published.platform_id


def test_find_reaches_past_the_posts_a_long_topic_answer_carries(sandbox: Sandbox, clock: FrozenClock,  # noqa: F811
                                                                 publisher: discourse.DiscoursePublisher) -> None:
    world = sandbox.world
    first = world.add_post("discourse", "Skylark Air baggage megathread, post your stories here",
                           title="Skylark Air baggage megathread", author=world.author_for("discourse", 1))
    for i in range(30):
        last = world.add_post("discourse", f"Story {i}: my bag went to Oslo instead of Lisbon.", parent_id=first.id,
                              author=world.author_for("discourse", 2 + i % 9))
    target = Target("discourse", f"forum:{last.id}", raw={"topic_id": int(first.place), "post_number": 31})
    published = publisher.publish(target, TEXT)
    found = publisher.find(target, TEXT, clock())
    assert found is not None and found.platform_id == published.platform_id
    assert sandbox.requests("discourse", "GET", "/t/{id}/posts.json")  # the reply was not among the first 20


def test_too_similar_a_reply_is_rejected_in_discourses_words(sandbox: Sandbox,  # noqa: F811
                                                             publisher: discourse.DiscoursePublisher) -> None:
    post = next(p for p in reversed(sandbox.world.posts("discourse")) if not p.author.brand)
    target = Target("discourse", f"forum:{post.id}", raw={"topic_id": int(post.place), "post_number":
                                                          post.extra["post_number"]})
    publisher.publish(target, TEXT)
    with pytest.raises(Rejected, match="too similar to what you recently posted") as refused:
        publisher.publish(target, TEXT)
    assert refused.value.status == 422


def test_like_is_a_post_action_and_moderation_is_unsupported(sandbox: Sandbox,  # noqa: F811
                                                             publisher: discourse.DiscoursePublisher) -> None:
    post = next(p for p in reversed(sandbox.world.posts("discourse")) if not p.author.brand)
    likes = post.likes
    publisher.like(Target("discourse", f"forum:{post.id}"))
    [sent] = sandbox.requests("discourse", "POST", "/post_actions.json")
    assert sent.json() == {"id": int(post.id), "post_action_type_id": 2} and post.likes == likes + 1
    with pytest.raises(Rejected, match="not permitted"):  # Discourse refuses a second like of the same post
        publisher.like(Target("discourse", f"forum:{post.id}"))
    with pytest.raises(ActionUnsupported, match="forum itself"):
        publisher.moderate(Target("discourse", f"forum:{post.id}"), "hide")


def test_a_wrong_api_key_is_auth_failed_not_rejected(sandbox: Sandbox) -> None:  # noqa: F811
    publisher = KIT.publisher(sandbox, sandbox=False, api_key="not-the-key", api_username="skylark_support")
    post = sandbox.world.posts("discourse")[-1]
    try:
        with pytest.raises(AuthFailed, match="api_key"):
            publisher.publish(Target("discourse", f"forum:{post.id}",
                                     raw={"topic_id": int(post.place), "post_number": 1}), TEXT)
    finally:
        publisher.close()
