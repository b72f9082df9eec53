"""The pure halves of the six publishers: addressing a reply from a stored mention, recognising the brand's
own reply in a platform's documented answer, and reading a platform's refusal. Plain dicts shaped like
each platform's documentation; no client library does I/O here."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httplib2
import httpx
import pytest
import requests
import tweepy
from googleapiclient.errors import HttpError
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from core.errors import AuthFailed, OutcomeUnknown, RateLimited, Rejected, Unavailable
from responder.publishers import bluesky, discourse, mastodon, reddit, x, youtube
from responder.publishers.base import Target

SINCE = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)
TEXT = "Sorry about that & thanks for waiting: https://skylark.example/bags"


# --------------------------------------------------------------------------- X
def tweet(tweet_id: str, parent: str, text: str = TEXT, at: str = "2025-03-14T12:00:01.000Z") -> dict:
    return {"id": tweet_id, "text": text, "created_at": at, "edit_history_tweet_ids": [tweet_id],
            "referenced_tweets": [{"type": "replied_to", "id": parent}]}


def test_x_finds_the_reply_to_this_parent_with_this_text() -> None:
    payload = {"data": [tweet("30", "9"), tweet("20", "7", "Other words"),
                        tweet("10", "7", "Sorry about that &amp; thanks for waiting: https://t.co/xyz")],
               "meta": {"result_count": 3}}
    found = x.find_reply(payload, "7", TEXT, SINCE)
    assert found is not None and (found.platform_id, found.url) == ("10", "https://x.com/i/web/status/10")
    assert found.posted_at == datetime(2025, 3, 14, 12, 0, 1, tzinfo=timezone.utc)
    assert x.find_reply({"meta": {"result_count": 0}}, "7", TEXT, SINCE) is None
    assert x.find_reply({"data": [tweet("10", "7", at="2025-03-13T12:00:00.000Z")]}, "7", TEXT, SINCE) is None


def x_refusal(status: int, body: dict) -> tweepy.HTTPException:
    response = requests.Response()
    response.status_code, response.reason, response._content = status, "Forbidden", json.dumps(body).encode()
    return {403: tweepy.Forbidden, 400: tweepy.BadRequest}[status](response)


def test_x_tells_a_refused_reply_from_refused_keys() -> None:
    gone = x_refusal(403, {"detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
                           "type": "about:blank", "title": "Forbidden", "status": 403})
    assert isinstance(x.translate_error(gone), Rejected) and "deleted or not visible" in str(x.translate_error(gone))
    keys = x_refusal(403, {"detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
                           "type": "https://api.twitter.com/2/problems/unsupported-authentication", "status": 403})
    assert isinstance(x.translate_error(keys), AuthFailed)
    too_long = x_refusal(400, {"detail": "Your Tweet text is too long.", "title": "Invalid Request", "status": 400})
    assert isinstance(x.translate_error(too_long), Rejected)
    assert isinstance(x.translate_error(requests.JSONDecodeError("x", "", 0)), OutcomeUnknown)


# --------------------------------------------------------------------------- Reddit
def test_reddit_addresses_the_thing_by_fullname() -> None:
    assert reddit.fullname(Target("reddit", "t1_abc")) == "t1_abc"
    assert reddit.fullname(Target("reddit", "xyz", raw={"kind": "t3"})) == "t3_xyz"
    with pytest.raises(Rejected, match="post or a comment"):
        reddit.fullname(Target("reddit", "xyz"))


def comment(name: str, parent: str, body: str = TEXT, created: float = SINCE.timestamp() + 1) -> dict:
    return {"kind": "t1", "data": {"id": name, "name": f"t1_{name}", "parent_id": parent, "body": body,
                                   "created_utc": created, "permalink": f"/r/travel/comments/p/_/{name}/"}}


def test_reddit_finds_the_comment_in_the_accounts_history() -> None:
    listing = {"kind": "Listing", "data": {"after": None, "children": [
        comment("c3", "t1_other"), comment("c2", "t3_post", "Something else"), comment("c1", "t3_post")]}}
    found = reddit.find_comment(listing, "t3_post", TEXT, SINCE)
    assert found is not None and found.platform_id == "t1_c1"
    assert found.url == "https://www.reddit.com/r/travel/comments/p/_/c1/"
    assert reddit.find_comment(listing, "t1_nothing", TEXT, SINCE) is None
    with pytest.raises(ValueError):
        reddit.find_comment({"json": {}}, "t3_post", TEXT, SINCE)


@pytest.mark.parametrize(("message", "seconds"), [
    ("Looks like you've been doing that a lot. Take a break for 9 minutes before trying again.", 540.0),
    ("Take a break for 42 seconds before trying again.", 42.0),
    ("Take a break for 500 milliseconds before trying again.", 0.5),
    ("you are doing that too much", None),
])
def test_reddit_reads_how_long_to_wait(message: str, seconds: float | None) -> None:
    assert reddit.seconds_to_wait(message) == seconds


# --------------------------------------------------------------------------- Mastodon
def status(status_id: str, account: str, parent: str, content: str, at: str = "2025-03-14T12:00:02.000Z") -> dict:
    return {"id": status_id, "account": {"id": account}, "in_reply_to_id": parent, "content": content,
            "created_at": at, "url": f"https://mastodon.example/@skylarkair/{status_id}", "visibility": "public"}


def test_mastodon_finds_the_own_accounts_direct_reply() -> None:
    html = ('<p>Sorry about that &amp; thanks for waiting: <a href="https://skylark.example/bags">'
            '<span class="invisible">https://</span>skylark.example/bags</a></p>')
    descendants = [status("5", "99", "1", html), status("4", "7", "1", html), status("3", "99", "2", html)]
    found = mastodon.find_status(descendants, "99", "1", TEXT, SINCE)
    assert found is not None and found.platform_id == "5" and found.url.endswith("/5")
    assert mastodon.find_status(descendants, "99", "1", "Something else", SINCE) is None


def test_mastodon_keeps_the_parents_audience() -> None:
    assert [mastodon.reply_visibility({"visibility": v}) for v in mastodon.VISIBILITIES] == list(mastodon.VISIBILITIES)
    assert mastodon.reply_visibility({}) is None and mastodon.reply_visibility({"visibility": "limited"}) is None
    target = Target("mastodon", "1")
    assert mastodon.idempotency_key(target, TEXT) == mastodon.idempotency_key(target, TEXT)
    assert mastodon.idempotency_key(target, TEXT) != mastodon.idempotency_key(target, TEXT + "!")


def test_mastodon_refusals_carry_the_instances_words() -> None:
    refused = mastodon.translate_error(MastodonAPIError("Mastodon API returned error", 422, "Unprocessable Entity",
                                                        "Validation failed: Text character limit of 500 exceeded"))
    assert isinstance(refused, Rejected) and refused.status == 422 and "character limit" in str(refused)
    gone = mastodon.translate_error(MastodonNotFoundError("Mastodon API returned error", 404, "Not Found",
                                                          "Record not found"))
    assert isinstance(gone, Rejected) and "Record not found" in str(gone)
    scope = mastodon.translate_error(MastodonAPIError("Mastodon API returned error", 403, "Forbidden",
                                                      "This action is outside the authorized scopes"))
    assert isinstance(scope, AuthFailed)
    unreadable = MastodonAPIError("Could not parse response as JSON, response code was 200", "Exception was: x")
    assert isinstance(mastodon.translate_error(unreadable), OutcomeUnknown)


# --------------------------------------------------------------------------- Bluesky
POST_URI = "at://did:plc:jo/app.bsky.feed.post/3kb"
ROOT_URI = "at://did:plc:ann/app.bsky.feed.post/3ka"


def test_bluesky_replies_point_at_the_thread_root_and_the_post() -> None:
    reply = {"uri": POST_URI, "cid": "bafy-post", "record": {"text": "hi", "reply": {
        "root": {"uri": ROOT_URI, "cid": "bafy-root"}, "parent": {"uri": ROOT_URI, "cid": "bafy-root"}}}}
    assert bluesky.reply_refs(Target("bluesky", POST_URI, raw=reply)) == \
        ((ROOT_URI, "bafy-root"), (POST_URI, "bafy-post"))
    top = {"uri": ROOT_URI, "cid": "bafy-root", "record": {"text": "hi"}}
    assert bluesky.reply_refs(Target("bluesky", ROOT_URI, raw=top)) == ((ROOT_URI, "bafy-root"),) * 2
    with pytest.raises(Rejected, match="no cid"):
        bluesky.reply_refs(Target("bluesky", POST_URI, raw={"uri": POST_URI}))


def test_bluesky_finds_the_own_dids_reply_in_the_thread() -> None:
    def node(uri: str, did: str, text: str) -> dict:
        return {"$type": "app.bsky.feed.defs#threadViewPost", "post": {
            "uri": uri, "cid": "bafy", "author": {"did": did, "handle": "skylarkair.bsky.social"},
            "record": {"text": text, "createdAt": "2025-03-14T12:00:03.000Z"}}}

    mine = "at://did:plc:brand/app.bsky.feed.post/3kc"
    thread = {"thread": {"post": {"uri": POST_URI}, "replies": [
        node("at://did:plc:zed/app.bsky.feed.post/3kd", "did:plc:zed", TEXT), node(mine, "did:plc:brand", TEXT)]}}
    found = bluesky.find_reply(thread, "did:plc:brand", TEXT, SINCE)
    assert found is not None and found.platform_id == mine
    assert found.url == "https://bsky.app/profile/skylarkair.bsky.social/post/3kc"
    assert bluesky.find_reply({"thread": {"post": {}}}, "did:plc:brand", TEXT, SINCE) is None


# --------------------------------------------------------------------------- YouTube
def test_youtube_replies_go_to_the_threads_top_comment() -> None:
    assert youtube.thread_of(Target("youtube", "Ugx.r1", raw={"threadId": "Ugx"})) == "Ugx"
    assert youtube.thread_of(Target("youtube", "Ugx.r1", conversation_id="Ugx")) == "Ugx"
    assert youtube.thread_of(Target("youtube", "Ugy.r2")) == "Ugy"
    assert youtube.thread_of(Target("youtube", "Ugz")) == "Ugz"


def test_youtube_finds_the_channels_reply() -> None:
    def item(comment_id: str, channel: str) -> dict:
        return {"kind": "youtube#comment", "id": comment_id, "snippet": {
            "videoId": "vid", "textOriginal": TEXT, "authorChannelId": {"value": channel},
            "publishedAt": "2025-03-14T12:00:00Z", "parentId": "Ugx"}}

    found = youtube.find_comment([item("Ugx.a", "UCother"), item("Ugx.b", "UCbrand")], "UCbrand", TEXT, SINCE)
    assert found is not None and found.platform_id == "Ugx.b"
    assert found.url == "https://www.youtube.com/watch?v=vid&lc=Ugx.b"
    assert youtube.find_comment([item("Ugx.a", "UCother")], "UCbrand", TEXT, SINCE) is None


def google_error(status: int, reason: str, message: str) -> HttpError:
    body = {"error": {"code": status, "message": message, "errors": [{"reason": reason, "message": message}]}}
    return HttpError(httplib2.Response({"status": str(status)}), json.dumps(body).encode())


def test_youtube_errors_become_earfuls() -> None:
    assert isinstance(youtube.translate_error(google_error(403, "quotaExceeded", "quota"), SINCE), RateLimited)
    gone = youtube.translate_error(google_error(404, "parentCommentNotFound", "The parent comment was not found."), SINCE)
    assert isinstance(gone, Rejected) and "parentCommentNotFound" in str(gone)
    no_channel = youtube.translate_error(google_error(403, "ineligibleAccount", "The account has no channel."), SINCE)
    assert isinstance(no_channel, AuthFailed) and "youtube.force-ssl" in str(no_channel)
    assert isinstance(youtube.translate_error(google_error(503, "backendError", "Backend"), SINCE), Unavailable)


# --------------------------------------------------------------------------- Discourse
def test_discourse_addresses_topic_and_post_number() -> None:
    assert discourse.reply_fields(Target("discourse", "f:12", raw={"topic_id": 300, "post_number": 4})) == \
        {"topic_id": 300, "reply_to_post_number": 4}
    from_url = Target("discourse", "f:12", url="https://forum.example/t/lost-bag/300/4")
    assert discourse.reply_fields(from_url) == {"topic_id": 300, "reply_to_post_number": 4}
    with pytest.raises(Rejected, match="topic_id"):
        discourse.reply_fields(Target("discourse", "f:12", url="https://forum.example/latest"))
    assert discourse.post_id("forum.example/sub:1266") == 1266
    with pytest.raises(Rejected):
        discourse.post_id("forum.example:topic:300")


def test_discourse_candidates_are_the_users_replies_to_that_post() -> None:
    posts = [{"id": 5, "username": "Skylark_Support", "reply_to_post_number": 4, "created_at": "2025-03-14T12:00:00Z"},
             {"id": 6, "username": "skylark_support", "reply_to_post_number": 2, "created_at": "2025-03-14T12:00:00Z"},
             {"id": 7, "username": "jo", "reply_to_post_number": 4, "created_at": "2025-03-14T12:00:00Z"},
             {"id": 8, "username": "skylark_support", "reply_to_post_number": None, "created_at": "2025-03-14T12:01:00Z"},
             {"id": 3, "username": "skylark_support", "reply_to_post_number": 4, "created_at": "2025-03-13T09:00:00Z"}]
    assert discourse.candidates(posts, "skylark_support", 4, SINCE) == [5, 8]  # 8 names no post: its text decides
    assert discourse.candidates(posts, "skylark_support", 2, SINCE) == [6, 8]


def test_discourse_refusals_keep_discourses_words() -> None:
    def answer(status: int, body: dict, headers: dict | None = None) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    assert discourse.refusal(answer(200, {"id": 1})) is None
    short = discourse.refusal(answer(422, {"action": "create_post", "errors": ["Body is too short (minimum is 20)"]}))
    assert isinstance(short, Rejected) and "Body is too short" in str(short)
    slow = discourse.refusal(answer(429, {"errors": ["Slow down"], "extras": {"wait_seconds": 12}}))
    assert isinstance(slow, RateLimited) and slow.retry_after == 12
    assert discourse.refusal(answer(429, {}, {"Retry-After": "30"})).retry_after == 30  # type: ignore[union-attr]
    key = discourse.refusal(answer(403, {"errors": ["You are not permitted to view the requested resource. The API "
                                                    "username or key is invalid."], "error_type": "invalid_access"}))
    assert isinstance(key, AuthFailed) and "api_key" in str(key)
    closed = discourse.refusal(answer(403, {"errors": ["You are not permitted to view the requested resource."]}))
    assert isinstance(closed, Rejected)
    assert isinstance(discourse.refusal(answer(502, {})), Unavailable)
