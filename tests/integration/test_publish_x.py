"""The X publisher on the wire: real tweepy against the sandbox's X API v2."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from pydantic import SecretStr

from core.config import XSource
from core.db import Database
from core.errors import ConfigError, Rejected
from listener.sandbox import Sandbox
from responder.publishers import x
from responder.publishers.base import ActionUnsupported, Target
from tests.fakes.publishing import KITS, thread_target
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

KIT = KITS["x"]
TEXT = "Sorry about your bag! Please DM us your file reference and we will chase it today."


@pytest.fixture
def publisher(sandbox: Sandbox) -> Iterator[x.XPublisher]:  # noqa: F811
    publisher = KIT.publisher(sandbox)
    yield publisher
    publisher.close()


def test_a_reply_names_its_parent_and_is_signed_as_the_brand(sqlite_db: Database, sandbox: Sandbox,  # noqa: F811
                                                             clock: FrozenClock, publisher: x.XPublisher) -> None:
    target, root, reply = thread_target(sqlite_db, sandbox, KIT)
    published = publisher.publish(target, TEXT)
    [sent] = sandbox.requests("x", "POST", "/2/tweets")
    assert sent.json() == {"text": TEXT, "reply": {"in_reply_to_tweet_id": reply.id}}
    auth = sent.headers["authorization"]
    assert auth.startswith("OAuth ") and 'oauth_consumer_key="sandbox-x-consumer-key"' in auth
    assert 'oauth_token="sandbox-x-access-token"' in auth and "oauth_signature=" in auth  # the fake checked it
    [landed] = sandbox.world.api_posts("x")
    assert (landed.id, landed.parent_id, landed.root_id) == (published.platform_id, reply.id, root.id)

    found = publisher.find(target, TEXT, clock())
    assert found is not None and found.platform_id == published.platform_id
    search = sandbox.requests("x", "GET", "/2/tweets/search/recent")[-1]  # after the listener's own
    assert search.query["query"] == [f"conversation_id:{root.id} from:skylarkair"]
    assert found.url == f"https://x.com/skylarkair/status/{published.platform_id}"


def test_replying_to_a_deleted_post_or_twice_is_rejected_with_xs_reason(sandbox: Sandbox,  # noqa: F811
                                                                        publisher: x.XPublisher) -> None:
    with pytest.raises(Rejected, match="deleted or not visible"):
        publisher.publish(Target("x", "1900000000000000001"), TEXT)
    post = sandbox.world.posts("x")[-1]
    publisher.publish(Target("x", post.id), TEXT)
    with pytest.raises(Rejected, match="duplicate content") as refused:
        publisher.publish(Target("x", post.id), TEXT)
    assert refused.value.status == 403 and len(sandbox.world.api_posts("x")) == 1


def test_like_is_posted_as_the_authenticated_user(sandbox: Sandbox, publisher: x.XPublisher) -> None:  # noqa: F811
    post = next(p for p in reversed(sandbox.world.posts("x")) if not p.author.brand)
    likes = post.likes
    publisher.like(Target("x", post.id))
    publisher.like(Target("x", post.id))
    brand = sandbox.accounts()["x"]["id"]
    sent = sandbox.requests("x", "POST", "/2/users/{id}/likes")
    assert [r.path for r in sent] == [f"/2/users/{brand}/likes"] * 2 and sent[0].json() == {"tweet_id": post.id}
    assert sent[0].headers["authorization"].startswith("OAuth ")
    assert len(sandbox.requests("x", "GET", "/2/users/me")) == 1  # asked once per publisher
    assert post.likes == likes + 1


def test_hide_works_on_replies_to_the_brands_own_posts_only(sandbox: Sandbox, publisher: x.XPublisher) -> None:  # noqa: F811
    world = sandbox.world
    own = world.add_post("x", "Skylark Air now flies to Lisbon!")
    rude = world.add_post("x", "Skylark Air is the worst, everyone should know", author=world.author_for("x", 5),
                          parent_id=own.id)
    publisher.moderate(Target("x", rude.id), "hide")
    [sent] = sandbox.requests("x", "PUT", "/2/tweets/{id}/hidden")
    assert sent.path == f"/2/tweets/{rude.id}/hidden" and json.loads(sent.body) == {"hidden": True}
    assert rude.extra["hidden"] is True

    elsewhere = next(p for p in world.posts("x") if p.parent_id and not world.get("x", p.root_id).author.brand)
    with pytest.raises(ActionUnsupported, match="conversations you authored"):
        publisher.moderate(Target("x", elsewhere.id), "hide")
    with pytest.raises(ActionUnsupported, match="hide"):
        publisher.moderate(Target("x", rude.id), "remove")


def test_missing_user_keys_are_a_config_error_naming_the_key() -> None:
    config = XSource(platform="x", name="brand-x", consumer_key="ck", consumer_secret=SecretStr("cs"),
                     access_token=SecretStr("1-at"))
    with pytest.raises(ConfigError, match=r"sources\.brand-x\.access_token_secret: missing.*X_ACCESS_TOKEN_SECRET"):
        x.build(config)
