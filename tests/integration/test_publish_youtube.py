"""The YouTube publisher on the wire: real google-api-python-client and google-auth against the sandbox."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from core.db import Database
from core.errors import AuthFailed, ConfigError
from listener.sandbox import Sandbox
from responder.publishers import youtube
from responder.publishers.base import ActionUnsupported, Target
from tests.fakes.publishing import KITS, thread_target
from tests.fakes.sandbox_fixtures import FrozenClock, clock, sandbox  # noqa: F401  (fixtures)

KIT = KITS["youtube"]
TEXT = "Sorry about your bag! Please email care@skylark.example with your file reference."
INSERT = "/youtube/v3/comments"


@pytest.fixture
def publisher(sandbox: Sandbox) -> Iterator[youtube.YouTubePublisher]:  # noqa: F811
    publisher = KIT.publisher(sandbox)
    yield publisher
    publisher.close()


def live(sb: Sandbox, **overrides: Any) -> dict[str, Any]:
    """A non-sandbox configuration against the fake: client, refresh token and token endpoint."""
    c = sb.credentials.youtube
    return {"sandbox": False, "client_id": c.client_id, "client_secret": c.client_secret,
            "oauth_refresh_token": c.refresh_token, "token_uri": f"{sb.base_urls['youtube']}/token", **overrides}


def test_a_reply_to_a_reply_goes_to_the_threads_top_comment(sqlite_db: Database, sandbox: Sandbox,  # noqa: F811
                                                            clock: FrozenClock,
                                                            publisher: youtube.YouTubePublisher) -> None:
    target, top, reply = thread_target(sqlite_db, sandbox, KIT)
    assert target.native_id == reply.id != top.id
    quota = sandbox.apis["youtube"].quota_used
    published = publisher.publish(target, TEXT)
    [sent] = sandbox.requests("youtube", "POST", INSERT)
    assert sent.query["part"] == ["snippet"]
    assert sent.json() == {"snippet": {"parentId": top.id, "textOriginal": TEXT}}
    assert sent.headers["authorization"] == "Bearer sandbox-youtube-oauth-token"
    [landed] = sandbox.world.api_posts("youtube")
    assert published.platform_id == landed.id and landed.parent_id == top.id
    assert published.url == f"https://www.youtube.com/watch?v={top.place}&lc={landed.id}"
    assert sandbox.apis["youtube"].quota_used == quota + 50

    found = publisher.find(target, TEXT, clock())
    assert found is not None and found.platform_id == landed.id
    listed = sandbox.requests("youtube", "GET", INSERT)[-1]
    assert listed.query["parentId"] == [top.id]
    assert sandbox.requests("youtube", "GET", "/youtube/v3/channels")[0].query["mine"] == ["true"]


def test_moderation_rejects_or_holds_comments_on_the_channels_videos(sandbox: Sandbox,  # noqa: F811
                                                                     publisher: youtube.YouTubePublisher) -> None:
    world = sandbox.world
    brand_video, vlog = world.catalog.videos[0], world.catalog.videos[-1]
    spam = world.add_post("youtube", "Skylark Air refunds here: totally-legit.example", place=brand_video.id,
                          author=world.author_for("youtube", 7))
    publisher.moderate(Target("youtube", spam.id), "reject")
    publisher.moderate(Target("youtube", spam.id), "hold")
    calls = sandbox.requests("youtube", "POST", "/youtube/v3/comments/setModerationStatus")
    assert [c.query["moderationStatus"] for c in calls] == [["rejected"], ["heldForReview"]]
    assert calls[0].query["id"] == [spam.id] and spam.extra["moderation"] == "heldForReview"

    theirs = world.add_post("youtube", "Skylark Air or Nimbus?", place=vlog.id, author=world.author_for("youtube", 8))
    with pytest.raises(ActionUnsupported, match="not on a video of the authorized channel"):
        publisher.moderate(Target("youtube", theirs.id), "reject")
    with pytest.raises(ActionUnsupported, match="reject"):
        publisher.moderate(Target("youtube", spam.id), "remove")
    with pytest.raises(ActionUnsupported, match="cannot like"):
        publisher.like(Target("youtube", spam.id))


def test_outside_the_sandbox_the_refresh_token_is_exchanged_first(sandbox: Sandbox) -> None:  # noqa: F811
    post = next(p for p in sandbox.world.posts("youtube") if p.parent_id is None)
    publisher = youtube.build(KIT.config(sandbox, **live(sandbox)), timeout=2.0)
    try:
        publisher.publish(Target("youtube", post.id), TEXT)
    finally:
        publisher.close()
    [exchange] = sandbox.requests("youtube", "POST", "/token")
    assert exchange.form()["grant_type"] == "refresh_token"
    assert sandbox.requests("youtube", "POST", INSERT)[0].headers["authorization"] == "Bearer sandbox-youtube-oauth-token"


def test_a_revoked_refresh_token_is_auth_failed_with_what_to_check(sandbox: Sandbox) -> None:  # noqa: F811
    publisher = youtube.build(KIT.config(sandbox, **live(sandbox, oauth_refresh_token="revoked")), timeout=2.0)
    try:
        with pytest.raises(AuthFailed, match="oauth_refresh_token"):
            publisher.publish(Target("youtube", sandbox.world.posts("youtube")[-1].id), TEXT)
    finally:
        publisher.close()
    assert sandbox.requests("youtube", "POST", INSERT) == []


def test_replying_outside_the_sandbox_needs_an_oauth_client_and_refresh_token(sandbox: Sandbox) -> None:  # noqa: F811
    config = KIT.config(sandbox, **live(sandbox, oauth_refresh_token=None))
    with pytest.raises(ConfigError, match=r"sources\.youtube-test\.oauth_refresh_token: missing.*youtube\.force-ssl"):
        youtube.build(config)
