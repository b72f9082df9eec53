"""The Bluesky publisher on the wire: the real atproto client against the sandbox's PDS and AppView."""

from __future__ import annotations

import base64
import json
from typing import Iterator

import pytest

from core.db import Database
from core.errors import Rejected
from listener.sandbox import Sandbox
from responder.publishers import bluesky
from responder.publishers.base import ActionUnsupported, Target
from tests.fakes.publishing import KITS, collect, customer_thread, stored_target, thread_target
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

KIT = KITS["bluesky"]
TEXT = "Sorry about your bag! Please DM us your file reference and we will chase it today."
CREATE = "/xrpc/com.atproto.repo.createRecord"


@pytest.fixture
def publisher(sandbox: Sandbox) -> Iterator[bluesky.BlueskyPublisher]:  # noqa: F811
    publisher = KIT.publisher(sandbox)
    yield publisher
    publisher.close()


def refs(reply: dict) -> dict:
    """The strong refs of a record's reply (or a like's subject), without the ``$type`` atproto adds."""
    return {k: {"uri": v["uri"], "cid": v["cid"]} for k, v in reply.items() if k != "$type"}


def claims(authorization: str) -> dict:
    token = authorization.removeprefix("Bearer ").split(".")[1]
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def test_a_reply_in_a_thread_points_at_the_thread_root_and_its_parent(  # noqa: F811
        sqlite_db: Database, sandbox: Sandbox, clock: FrozenClock, publisher: bluesky.BlueskyPublisher) -> None:
    target, root, reply = thread_target(sqlite_db, sandbox, KIT)
    published = publisher.publish(target, TEXT)
    [sent] = sandbox.requests("bluesky", "POST", CREATE)
    body = sent.json()
    brand = sandbox.accounts()["bluesky"]["id"]
    assert (body["repo"], body["collection"], body["record"]["text"]) == (brand, "app.bsky.feed.post", TEXT)
    assert refs(body["record"]["reply"]) == {"root": {"uri": root.id, "cid": root.extra["cid"]},
                                             "parent": {"uri": reply.id, "cid": reply.extra["cid"]}}
    session = claims(sent.headers["authorization"])
    assert session["sub"] == brand and session["scope"] == "com.atproto.appPass"
    [landed] = sandbox.world.api_posts("bluesky")
    assert published.platform_id == landed.id and landed.root_id == root.id
    assert published.url == f"https://bsky.app/profile/skylarkair.bsky.social/post/{landed.id.rsplit('/', 1)[-1]}"

    found = publisher.find(target, TEXT, clock())
    assert found is not None and found.platform_id == landed.id
    [thread] = sandbox.requests("bluesky", "GET", "/xrpc/app.bsky.feed.getPostThread")
    assert thread.query["uri"] == [reply.id]
    publisher.like(target)
    assert len(sandbox.requests("bluesky", "POST", "/xrpc/com.atproto.server.createSession")) == 2  # listener + publisher


def test_a_reply_to_a_thread_start_uses_it_as_root_and_parent(sqlite_db: Database, sandbox: Sandbox,  # noqa: F811
                                                               publisher: bluesky.BlueskyPublisher) -> None:
    root, _ = customer_thread(sandbox, "bluesky")
    collect(sqlite_db, sandbox, KIT)
    publisher.publish(stored_target(sqlite_db, sandbox, KIT, root), TEXT)
    ref = {"uri": root.id, "cid": root.extra["cid"]}
    assert refs(sandbox.requests("bluesky", "POST", CREATE)[0].json()["record"]["reply"]) == {"root": ref, "parent": ref}


def test_like_is_a_like_record_of_the_post(sandbox: Sandbox, publisher: bluesky.BlueskyPublisher) -> None:  # noqa: F811
    post = next(p for p in reversed(sandbox.world.posts("bluesky")) if not p.author.brand)
    likes = post.likes
    publisher.like(Target("bluesky", post.id, raw={"uri": post.id, "cid": post.extra["cid"]}))
    [sent] = sandbox.requests("bluesky", "POST", CREATE)
    body = sent.json()
    assert body["collection"] == "app.bsky.feed.like"
    assert refs({"subject": body["record"]["subject"]}) == {"subject": {"uri": post.id, "cid": post.extra["cid"]}}
    assert post.likes == likes + 1
    assert len(sandbox.requests("bluesky", "POST", "/xrpc/com.atproto.server.createSession")) == 1


def test_a_post_without_cid_cannot_be_answered_and_nothing_is_sent(sandbox: Sandbox,  # noqa: F811
                                                                   publisher: bluesky.BlueskyPublisher) -> None:
    post = sandbox.world.posts("bluesky")[-1]
    with pytest.raises(Rejected, match="no cid"):
        publisher.publish(Target("bluesky", post.id, raw={"uri": post.id}), TEXT)
    with pytest.raises(ActionUnsupported, match="bsky.app"):
        publisher.moderate(Target("bluesky", post.id), "hide")
    assert sandbox.requests("bluesky") == []
