"""The Mastodon publisher on the wire: real Mastodon.py against the sandbox's Mastodon API."""

from __future__ import annotations

from typing import Iterator

import pytest

from core.db import Database
from core.errors import Rejected
from listener.sandbox import Sandbox
from responder.publishers import mastodon
from responder.publishers.base import ActionUnsupported, Target
from tests.fakes.publishing import KITS, thread_target
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

KIT = KITS["mastodon"]
TEXT = "@ingridk89 Sorry about your bag! Please DM us your file reference and we will chase it today."


@pytest.fixture
def publisher(sandbox: Sandbox) -> Iterator[mastodon.MastodonPublisher]:  # noqa: F811
    publisher = KIT.publisher(sandbox)
    yield publisher
    publisher.close()


def test_a_reply_keeps_the_parents_visibility_and_uses_the_token(sqlite_db: Database, sandbox: Sandbox,  # noqa: F811
                                                                 clock: FrozenClock,
                                                                 publisher: mastodon.MastodonPublisher) -> None:
    target, _, reply = thread_target(sqlite_db, sandbox, KIT)
    assert target.raw["visibility"] == "public"
    published = publisher.publish(target, TEXT)
    [sent] = sandbox.requests("mastodon", "POST", "/api/v1/statuses")
    form = sent.form()
    assert (form["status"], form["in_reply_to_id"], form["visibility"]) == (TEXT, reply.id, "public")
    assert sent.headers["authorization"] == "Bearer sandbox-mastodon-token"
    assert sent.headers["idempotency-key"] == mastodon.idempotency_key(target, TEXT)
    [landed] = sandbox.world.api_posts("mastodon")
    assert published.platform_id == landed.id and landed.parent_id == reply.id
    found = publisher.find(target, TEXT, clock())
    assert found is not None and found.platform_id == landed.id
    assert sandbox.requests("mastodon", "GET", "/api/v1/statuses/{id}/context")[0].path == \
        f"/api/v1/statuses/{reply.id}/context"


@pytest.mark.parametrize("visibility", ["unlisted", "private", "direct"])
def test_a_reply_is_never_more_public_than_its_parent(sandbox: Sandbox, visibility: str,  # noqa: F811
                                                      publisher: mastodon.MastodonPublisher) -> None:
    world = sandbox.world
    parent = world.add_post("mastodon", "@skylarkair my bag is lost", author=world.author_for("mastodon", 3),
                            extra={"visibility": visibility})
    publisher.publish(Target("mastodon", parent.id, raw={"visibility": visibility}), TEXT)
    assert world.api_posts("mastodon")[-1].extra["visibility"] == visibility


def test_without_a_stored_visibility_the_parent_is_asked(sandbox: Sandbox,  # noqa: F811
                                                         publisher: mastodon.MastodonPublisher) -> None:
    world = sandbox.world
    parent = world.add_post("mastodon", "@skylarkair my bag is lost", author=world.author_for("mastodon", 3),
                            extra={"visibility": "private"})
    publisher.publish(Target("mastodon", parent.id), TEXT)
    assert sandbox.requests("mastodon", "GET", "/api/v1/statuses/{id}")[0].path == f"/api/v1/statuses/{parent.id}"
    assert world.api_posts("mastodon")[-1].extra["visibility"] == "private"


def test_a_resend_of_an_accepted_reply_returns_it_instead_of_a_second(sandbox: Sandbox,  # noqa: F811
                                                                      publisher: mastodon.MastodonPublisher) -> None:
    post = sandbox.world.posts("mastodon")[-1]
    first = publisher.publish(Target("mastodon", post.id, raw={"visibility": "public"}), TEXT)
    again = publisher.publish(Target("mastodon", post.id, raw={"visibility": "public"}), TEXT)
    assert first.platform_id == again.platform_id and len(sandbox.world.api_posts("mastodon")) == 1


def test_a_deleted_parent_is_rejected_with_the_instances_reason(publisher: mastodon.MastodonPublisher) -> None:
    with pytest.raises(Rejected, match="does not appear to exist") as refused:
        publisher.publish(Target("mastodon", "109999999999999999", raw={"visibility": "public"}), TEXT)
    assert refused.value.status == 404


def test_like_favourites_and_moderation_is_unsupported(sandbox: Sandbox,  # noqa: F811
                                                       publisher: mastodon.MastodonPublisher) -> None:
    post = next(p for p in reversed(sandbox.world.posts("mastodon")) if not p.author.brand)
    likes = post.likes
    publisher.like(Target("mastodon", post.id))
    [sent] = sandbox.requests("mastodon", "POST", "/api/v1/statuses/{id}/favourite")
    assert sent.path == f"/api/v1/statuses/{post.id}/favourite" and post.likes == likes + 1
    with pytest.raises(ActionUnsupported, match="moderators"):
        publisher.moderate(Target("mastodon", post.id), "hide")
    assert sandbox.requests("mastodon", "POST") == [sent]
