"""Pure mapping and error translation of the Bluesky, YouTube and Discourse sources, with payloads
shaped like each platform's documented responses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httplib2
import pytest
from atproto_client.exceptions import (
    BadRequestError,
    InvokeTimeoutError,
    RateLimitExceededError,
    RequestException,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.request import Response as XrpcResponse
from googleapiclient.errors import HttpError

from core.errors import AuthFailed, PlatformError, RateLimited, Unavailable
from listener import bluesky, discourse, youtube
from listener.base import map_each

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)

# --- Bluesky ----------------------------------------------------------------------------------
BSKY_POST = {  # app.bsky.feed.defs#postView, as in app.bsky.feed.searchPosts "posts"
    "uri": "at://did:plc:jo4k2a/app.bsky.feed.post/3lbfxq2qzrc2b",
    "cid": "bafyreih4x3pqsvbd6ytjqkqgnp2ij2hhg6c5hbsy4yvvzjrwvxh5ff5mzm",
    "author": {"did": "did:plc:jo4k2a", "handle": "jo.bsky.social", "displayName": "Jo", "avatar": "https://cdn.bsky.app/a.jpg",
               "labels": []},
    "record": {
        "$type": "app.bsky.feed.post",
        "text": "@skylarkair.bsky.social my bag is still in Lisbon",
        "createdAt": "2026-03-02T11:58:07.120Z",
        "langs": ["pt", "en"],
        "reply": {"root": {"uri": "at://did:plc:sky/app.bsky.feed.post/3root", "cid": "bafyroot"},
                  "parent": {"uri": "at://did:plc:sky/app.bsky.feed.post/3parent", "cid": "bafyparent"}},
    },
    "replyCount": 2, "repostCount": 3, "likeCount": 11, "quoteCount": 1,
    "indexedAt": "2026-03-02T11:58:09.000Z",
    "labels": [],
}


def test_bluesky_post_view() -> None:
    m = bluesky.map_post(BSKY_POST)
    assert m.native_id == BSKY_POST["uri"] and m.platform == "bluesky"
    assert m.text == "@skylarkair.bsky.social my bag is still in Lisbon"
    assert m.created_at == datetime(2026, 3, 2, 11, 58, 7, 120000, tzinfo=timezone.utc)
    assert m.url == "https://bsky.app/profile/jo.bsky.social/post/3lbfxq2qzrc2b"
    assert m.parent_id == "at://did:plc:sky/app.bsky.feed.post/3parent"
    assert m.conversation_id == "at://did:plc:sky/app.bsky.feed.post/3root"
    assert (m.likes, m.reposts, m.replies) == (11, 3, 2)
    assert m.author.handle == "@jo.bsky.social" and m.author.native_id == "did:plc:jo4k2a"
    assert m.author.name == "Jo" and m.author.followers is None
    assert m.language == "pt"
    assert m.raw["uri"] == BSKY_POST["uri"] and m.raw["cid"] == BSKY_POST["cid"]  # a reply needs both
    assert not m.is_own and bluesky.map_post(BSKY_POST, own_did="did:plc:jo4k2a").is_own


def test_bluesky_root_post_is_its_own_conversation() -> None:
    record = {k: v for k, v in BSKY_POST["record"].items() if k not in ("reply", "langs")}
    m = bluesky.map_post({**BSKY_POST, "record": record})
    assert m.parent_id is None and m.conversation_id == BSKY_POST["uri"] and m.language is None


def test_bluesky_malformed_posts_are_skipped_not_fatal() -> None:
    no_cid = {k: v for k, v in BSKY_POST.items() if k != "cid"}
    no_text = {**BSKY_POST, "uri": "at://did:plc:x/app.bsky.feed.post/2", "record": {"createdAt": "2026-03-02T11:00:00Z"}}
    not_a_post = {**BSKY_POST, "uri": "at://did:plc:x/app.bsky.feed.like/3"}
    mapped, skipped = map_each([no_cid, BSKY_POST, no_text, not_a_post, None], bluesky.map_post, source="b")
    assert [m.native_id for m in mapped] == [BSKY_POST["uri"]] and skipped == 4


def test_bluesky_sort_time_and_wanted_notifications() -> None:
    assert bluesky.sort_time(BSKY_POST) == datetime(2026, 3, 2, 11, 58, 7, 120000, tzinfo=timezone.utc)
    backdated = {**BSKY_POST, "indexedAt": "2026-03-01T00:00:00Z"}
    assert bluesky.sort_time(backdated) == datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert bluesky.sort_time({"record": {}}) is None
    notes = [  # app.bsky.notification.listNotifications "notifications"
        {"uri": "at://a/app.bsky.feed.post/1", "reason": "mention", "indexedAt": "2026-03-02T11:00:00Z"},
        {"uri": "at://a/app.bsky.feed.post/1", "reason": "mention", "indexedAt": "2026-03-02T11:00:00Z"},
        {"uri": "at://b/app.bsky.feed.like/2", "reason": "like", "indexedAt": "2026-03-02T11:00:00Z"},
        {"uri": "at://c/app.bsky.feed.post/3", "reason": "quote", "indexedAt": "2026-03-02T10:00:00Z"},
        {"reason": "reply"},
    ]
    assert bluesky.wanted_notifications(notes, None) == ["at://a/app.bsky.feed.post/1", "at://c/app.bsky.feed.post/3"]
    assert bluesky.wanted_notifications(notes, datetime(2026, 3, 2, 10, tzinfo=timezone.utc)) == ["at://a/app.bsky.feed.post/1"]


def _xrpc(status: int, error: str, headers: dict[str, str] | None = None) -> XrpcResponse:
    return XrpcResponse(success=False, status_code=status, content=XrpcError(error=error, message=error), headers=headers or {})


def test_bluesky_error_translation() -> None:
    reset = str(int((NOW + timedelta(seconds=90)).timestamp()))
    limited = bluesky.translate_error(RateLimitExceededError(_xrpc(429, "RateLimitExceeded", {"ratelimit-reset": reset})), NOW)
    assert isinstance(limited, RateLimited) and limited.retry_after == 90
    bare = bluesky.translate_error(RateLimitExceededError(_xrpc(429, "RateLimitExceeded")), NOW)
    assert isinstance(bare, RateLimited) and bare.retry_after is None
    assert isinstance(bluesky.translate_error(UnauthorizedError(_xrpc(401, "AuthenticationRequired")), NOW), AuthFailed)
    assert isinstance(bluesky.translate_error(BadRequestError(_xrpc(400, "ExpiredToken")), NOW), AuthFailed)
    assert type(bluesky.translate_error(BadRequestError(_xrpc(400, "InvalidRequest")), NOW)) is PlatformError
    assert isinstance(bluesky.translate_error(InvokeTimeoutError(), NOW), Unavailable)
    server = bluesky.translate_error(RequestException(_xrpc(500, "InternalServerError")), NOW)
    assert isinstance(server, Unavailable) and server.status == 500


# --- YouTube ----------------------------------------------------------------------------------
OWN_CHANNEL = "UCskylark0000000000000000"
YT_THREAD = {  # youtube#commentThread from commentThreads.list(part="snippet,replies", textFormat="plainText")
    "kind": "youtube#commentThread",
    "id": "UgzTop0000000000000004AaABAg",
    "snippet": {
        "channelId": OWN_CHANNEL,
        "videoId": "dQw4w9WgXcQ",
        "topLevelComment": {
            "kind": "youtube#comment",
            "id": "UgzTop0000000000000004AaABAg",
            "snippet": {
                "channelId": OWN_CHANNEL, "videoId": "dQw4w9WgXcQ",
                "textDisplay": "Skylark lost my bag & nobody answers <3 hours on hold>",
                "textOriginal": "Skylark lost my bag & nobody answers <3 hours on hold>",
                "authorDisplayName": "@MariaMeyer", "authorChannelUrl": "http://www.youtube.com/@MariaMeyer",
                "authorChannelId": {"value": "UCmaria"}, "likeCount": 4,
                "publishedAt": "2026-03-02T10:00:00Z", "updatedAt": "2026-03-02T10:00:00Z",
            },
        },
        "canReply": True, "totalReplyCount": 1, "isPublic": True,
    },
    "replies": {"comments": [{
        "kind": "youtube#comment",
        "id": "UgzTop0000000000000004AaABAg.reply0000000000000000",
        "snippet": {
            "channelId": OWN_CHANNEL, "videoId": "dQw4w9WgXcQ", "parentId": "UgzTop0000000000000004AaABAg",
            "textDisplay": "Sorry Maria, please DM us your file reference.", "textOriginal": "Sorry Maria, please DM us your file reference.",
            "authorDisplayName": "@SkylarkAir", "authorChannelId": {"value": OWN_CHANNEL}, "likeCount": 0,
            "publishedAt": "2026-03-02T10:30:00Z",
        },
    }]},
}


def _thread_mentions(thread, owned=frozenset({OWN_CHANNEL})):
    pairs = youtube.thread_comments(thread)
    return map_each(pairs, lambda pair: youtube.map_comment(pair[0], pair[1], owned=owned), source="yt")


def test_youtube_thread_gives_the_top_level_comment_and_its_replies() -> None:
    (top, reply), skipped = _thread_mentions(YT_THREAD)
    assert skipped == 0
    assert top.native_id == YT_THREAD["id"] and top.parent_id is None and top.conversation_id == YT_THREAD["id"]
    assert top.text == "Skylark lost my bag & nobody answers <3 hours on hold>"  # plain text, kept verbatim
    assert top.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzTop0000000000000004AaABAg"
    assert (top.likes, top.replies) == (4, 1) and top.created_at == datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
    assert top.author.handle == "@MariaMeyer" and top.author.native_id == "UCmaria" and not top.is_own
    assert top.raw["videoId"] == "dQw4w9WgXcQ" and top.raw["threadId"] == YT_THREAD["id"]
    assert reply.parent_id == YT_THREAD["id"] and reply.conversation_id == YT_THREAD["id"]
    assert reply.is_own and reply.replies == 0


def test_youtube_malformed_thread_and_comment_are_skipped() -> None:
    broken_thread = {"kind": "youtube#commentThread", "id": "Ugzbroken"}  # no snippet
    assert _thread_mentions(broken_thread) == ([], 1)
    no_date = json.loads(json.dumps(YT_THREAD))
    del no_date["snippet"]["topLevelComment"]["snippet"]["publishedAt"]
    mapped, skipped = _thread_mentions(no_date)
    assert [m.native_id for m in mapped] == [YT_THREAD["id"] + ".reply0000000000000000"] and skipped == 1
    assert youtube.thread_time(YT_THREAD) == datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
    assert youtube.thread_time(broken_thread) is None


def test_youtube_search_terms_only_when_every_query_shares_a_word() -> None:
    assert youtube.search_terms(["skylark", "skylark"]) == "skylark"
    assert youtube.search_terms(["skylark", ""]) == ""
    assert youtube.search_terms(["skylark", "nimbus"]) == ""
    assert youtube.search_terms(["skylark"], enabled=False) == ""


def test_youtube_quota_resets_at_midnight_pacific() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)  # 05:00 PDT (UTC-7)
    winter = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)  # 04:00 PST (UTC-8)
    assert youtube.seconds_until_quota_reset(summer) == 19 * 3600
    assert youtube.seconds_until_quota_reset(winter) == 20 * 3600


def _http_error(status: int, reason: str, message: str = "error") -> HttpError:
    body = {"error": {"code": status, "message": message, "errors": [{"message": message, "domain": "youtube", "reason": reason}]}}
    return HttpError(httplib2.Response({"status": status}), json.dumps(body).encode())


def test_youtube_error_translation() -> None:
    quota = youtube.translate_error(_http_error(403, "quotaExceeded"), NOW)
    assert isinstance(quota, RateLimited) and quota.retry_after == youtube.seconds_until_quota_reset(NOW)
    assert isinstance(youtube.translate_error(_http_error(429, "rateLimitExceeded"), NOW), RateLimited)
    assert youtube.translate_error(_http_error(429, "rateLimitExceeded"), NOW).retry_after is None
    assert isinstance(youtube.translate_error(_http_error(403, "forbidden"), NOW), AuthFailed)
    assert isinstance(youtube.translate_error(_http_error(400, "badRequest", "API key not valid. Please pass a valid API key."), NOW), AuthFailed)
    assert isinstance(youtube.translate_error(_http_error(503, "backendError"), NOW), Unavailable)
    not_found = youtube.translate_error(_http_error(404, "channelNotFound"), NOW)
    assert type(not_found) is PlatformError and "channel_ids" in str(not_found)
    assert isinstance(youtube.translate_error(TimeoutError("timed out"), NOW), Unavailable)
    assert isinstance(youtube.translate_error(ConnectionRefusedError(), NOW), Unavailable)


# --- Discourse --------------------------------------------------------------------------------
BASE = "https://forum.example.org"
LATEST_POST = {  # an entry of GET /posts.json "latest_posts"
    "id": 4711, "name": "Ingrid Khan", "username": "Ingrid_K", "user_id": 105,
    "created_at": "2026-03-02T09:15:00.000Z", "cooked": "<p>Skylark <b>lost</b> my bag</p>",
    "raw": "Skylark **lost** my bag", "post_number": 3, "reply_to_post_number": 2, "reply_count": 1,
    "topic_id": 305, "topic_slug": "skylark-lost-my-bag", "topic_title": "Skylark lost my bag",
    "actions_summary": [{"id": 2, "count": 6}],
}
SEARCH = {  # GET /search.json: one post per topic with a blurb, and the topics beside them
    "posts": [{"id": 4690, "name": "Lee", "username": "lee", "created_at": "2026-03-01T18:00:00.000Z", "like_count": 2,
               "blurb": "…the Skylark app &amp; its refund form keep failing…", "post_number": 1, "topic_id": 300}],
    "topics": [{"id": 300, "title": "Skylark app refunds", "slug": "skylark-app-refunds"}],
}


def test_discourse_latest_post() -> None:
    m = discourse.map_post(LATEST_POST, base_url=BASE)
    assert m.native_id == "forum.example.org:4711" and m.platform == "discourse"
    assert m.text == "Skylark **lost** my bag" and m.title == "Skylark lost my bag"
    assert m.url == "https://forum.example.org/t/skylark-lost-my-bag/305/3"
    assert m.conversation_id == "forum.example.org:topic:305" and m.parent_id is None
    assert (m.likes, m.replies) == (6, 1) and m.created_at == datetime(2026, 3, 2, 9, 15, tzinfo=timezone.utc)
    assert m.author.handle == "Ingrid_K" and m.author.native_id == "forum.example.org:ingrid_k"
    assert m.raw["reply_to_post_number"] == 2 and m.raw["topic_id"] == 305  # what a reply needs
    assert discourse.map_post(LATEST_POST, base_url=BASE, owned=frozenset({"ingrid_k"})).is_own


def test_discourse_search_hit_uses_the_topic_and_blurb() -> None:
    topics = {t["id"]: t for t in SEARCH["topics"]}
    m = discourse.map_post(SEARCH["posts"][0], base_url=BASE + "/community/", topics=topics)
    assert m.native_id == "forum.example.org/community:4690"  # a forum in a sub-folder keeps its path
    assert m.text == "…the Skylark app & its refund form keep failing…" and m.title == "Skylark app refunds"
    assert m.url == "https://forum.example.org/community/t/skylark-app-refunds/300/1" and m.likes == 2


def test_discourse_cooked_only_and_malformed_posts() -> None:
    cooked = {k: v for k, v in LATEST_POST.items() if k not in ("raw", "topic_slug")}
    m = discourse.map_post(cooked, base_url=BASE)
    assert m.text == "Skylark lost my bag" and m.url == "https://forum.example.org/t/305/3"
    broken = [{k: v for k, v in LATEST_POST.items() if k != "topic_id"}, {**LATEST_POST, "raw": "", "cooked": ""}, "x"]
    mapped, skipped = map_each([*broken, LATEST_POST], lambda p: discourse.map_post(p, base_url=BASE), source="d")
    assert len(mapped) == 1 and skipped == 3


def test_discourse_search_query_overlaps_a_day() -> None:
    assert discourse.search_query("skylark app", None) == "skylark app order:latest"
    since = datetime(2026, 3, 2, 0, 30, tzinfo=timezone.utc)
    assert discourse.search_query("skylark app", since) == "skylark app order:latest after:2026-03-01"
