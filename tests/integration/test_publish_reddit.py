"""The Reddit publisher on the wire: real praw against the sandbox's Reddit OAuth API."""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from core.config import RedditSource
from core.db import Database
from core.errors import ConfigError, RateLimited, Rejected
from listener.sandbox import Sandbox
from responder.publishers import reddit
from responder.publishers.base import ActionUnsupported, Target
from tests.fakes.publishing import KITS, collect, customer_thread, stored_target, thread_target
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

KIT = KITS["reddit"]
TEXT = "Sorry about your bag! Please send us a chat message with your file reference."


@pytest.fixture
def publisher(sandbox: Sandbox) -> Iterator[reddit.RedditPublisher]:  # noqa: F811
    publisher = KIT.publisher(sandbox)
    yield publisher
    publisher.close()


def test_a_reply_to_a_comment_names_it_by_fullname_with_the_users_token(  # noqa: F811
        sqlite_db: Database, sandbox: Sandbox, clock: FrozenClock, publisher: reddit.RedditPublisher) -> None:
    target, root, comment = thread_target(sqlite_db, sandbox, KIT)
    published = publisher.publish(target, TEXT)
    [sent] = sandbox.requests("reddit", "POST", "/api/comment")
    assert sent.form()["thing_id"] == f"t1_{comment.id}" and sent.form()["text"] == TEXT
    assert sent.headers["authorization"].startswith("bearer sandbox-reddit-user-")  # password grant: the account
    [landed] = sandbox.world.api_posts("reddit")
    assert published.platform_id == f"t1_{landed.id}" and landed.parent_id == comment.id
    assert published.url and published.url.endswith(f"/{landed.id}/")
    found = publisher.find(target, TEXT, clock())
    assert found == published
    [history] = sandbox.requests("reddit", "GET", "/user/{name}/comments")
    assert history.path == "/user/skylarkair/comments"


def test_a_reply_to_a_post_names_the_post(sqlite_db: Database, sandbox: Sandbox,  # noqa: F811
                                          publisher: reddit.RedditPublisher) -> None:
    root, _ = customer_thread(sandbox, "reddit")
    collect(sqlite_db, sandbox, KIT)
    target = stored_target(sqlite_db, sandbox, KIT, root)
    assert target.raw["kind"] == "t3"
    publisher.publish(target, TEXT)
    [sent] = sandbox.requests("reddit", "POST", "/api/comment")
    assert sent.form()["thing_id"] == f"t3_{root.id}"


def test_reddits_refusals_in_json_errors_are_rejected_or_rate_limited(sandbox: Sandbox,  # noqa: F811
                                                                      publisher: reddit.RedditPublisher) -> None:
    with pytest.raises(Rejected, match="DELETED_COMMENT: that comment has been deleted"):
        publisher.publish(Target("reddit", "t1_zzzzzz9"), TEXT)
    sandbox.apis["reddit"].comment_ratelimit_s = 540
    comment = next(p for p in sandbox.world.posts("reddit") if p.kind == "t1")
    started = time.monotonic()
    with pytest.raises(RateLimited, match="Take a break") as limited:
        publisher.publish(Target("reddit", f"t1_{comment.id}"), TEXT)
    assert limited.value.retry_after == 540 and time.monotonic() - started < 1  # praw did not sleep on it
    assert sandbox.world.api_posts("reddit") == []


def test_like_upvotes_and_remove_needs_a_moderated_subreddit(sandbox: Sandbox,  # noqa: F811
                                                             publisher: reddit.RedditPublisher) -> None:
    world = sandbox.world
    post = world.add_post("reddit", "Skylark Air staff are scamming people, avoid", title="Avoid Skylark Air",
                          place="SkylarkAir", author=world.author_for("reddit", 6))
    publisher.like(Target("reddit", f"t3_{post.id}"))
    [vote] = sandbox.requests("reddit", "POST", "/api/vote")
    assert (vote.form()["dir"], vote.form()["id"]) == ("1", f"t3_{post.id}")
    assert sandbox.apis["reddit"].votes == {f"t3_{post.id}": 1}

    publisher.moderate(Target("reddit", f"t3_{post.id}"), "spam")
    [removal] = sandbox.requests("reddit", "POST", "/api/remove")
    assert removal.form()["id"] == f"t3_{post.id}" and removal.form()["spam"] == "True"
    assert post.extra["removed"] and post.extra["spam"]

    elsewhere = next(p for p in world.posts("reddit") if p.place == "travel")
    with pytest.raises(ActionUnsupported, match="not a moderator"):
        publisher.moderate(Target("reddit", f"{elsewhere.kind}_{elsewhere.id}"), "remove")
    with pytest.raises(ActionUnsupported, match="remove"):
        publisher.moderate(Target("reddit", f"t3_{post.id}"), "hide")


def test_replying_needs_the_accounts_password() -> None:
    config = RedditSource(platform="reddit", name="brand-reddit", client_id="abc", client_secret="s3cret",
                          username="skylarkair")
    with pytest.raises(ConfigError, match=r"sources\.brand-reddit\.password: missing.*REDDIT_PASSWORD"):
        reddit.build(config)
