"""Pure mapping and error translation of X and Reddit, with payloads shaped like the documented answers."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import prawcore
import pytest
import requests
import tweepy

from core.errors import AuthFailed, PlatformError, RateLimited, Unavailable
from listener.base import map_each
from listener.reddit import PacedByPoller, Position, listing_children, map_thing, streams_for, unseen
from listener.reddit import translate_error as reddit_error
from listener.x import map_tweet, read_cost, users_by_id
from listener.x import translate_error as x_error

# --- X ------------------------------------------------------------------------------------------

X_SEARCH = {  # GET /2/tweets/search/recent?expansions=author_id&tweet.fields=...&user.fields=...
    "data": [
        {
            "id": "1900517205720695503",
            "text": "@skylarkair my bag is still in Denver, day 3",
            "edit_history_tweet_ids": ["1900517205720695503"],
            "created_at": "2026-03-02T11:58:07.000Z",
            "author_id": "445334819281093128",
            "conversation_id": "1900517000000000000",
            "in_reply_to_user_id": "1234567890",
            "referenced_tweets": [{"type": "replied_to", "id": "1900517100000000000"}],
            "lang": "en",
            "public_metrics": {"retweet_count": 3, "reply_count": 1, "like_count": 9, "quote_count": 0},
        },
        {
            "id": "1900517205720695000",
            "text": "Skylark Air now flies to Lisbon",
            "edit_history_tweet_ids": ["1900517205720695000"],
            "created_at": "2026-03-02T11:50:00.000Z",
            "author_id": "1234567890",
            "conversation_id": "1900517205720695000",
            "lang": "und",
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0},
        },
        {  # malformed: no created_at
            "id": "1900517205720694000",
            "text": "skylark?",
            "edit_history_tweet_ids": ["1900517205720694000"],
            "author_id": "445334819281093128",
        },
    ],
    "includes": {
        "users": [
            {"id": "445334819281093128", "name": "Maria Dubois", "username": "mariadflies", "verified": False,
             "url": "", "public_metrics": {"followers_count": 62, "following_count": 830, "tweet_count": 219}},
            {"id": "1234567890", "name": "Skylark Air", "username": "skylarkair", "verified": True,
             "public_metrics": {"followers_count": 184000}},
        ]
    },
    "meta": {"newest_id": "1900517205720695503", "oldest_id": "1900517205720694000", "result_count": 3,
             "next_token": "b26v89c19zqg8o3fpzbkk7b1e4t1rz9a"},
}


def _map_x(payload=X_SEARCH, owned=frozenset()):
    users = users_by_id(payload)
    return map_each(payload["data"], lambda t: map_tweet(t, users, owned=owned), source="test")


def test_x_tweet_with_author_reach_and_thread() -> None:
    (reply, _), skipped = _map_x()
    assert reply.native_id == "1900517205720695503" and reply.platform == "x"
    assert reply.created_at == datetime(2026, 3, 2, 11, 58, 7, tzinfo=timezone.utc)
    assert reply.url == "https://x.com/mariadflies/status/1900517205720695503"
    assert reply.parent_id == "1900517100000000000" and reply.conversation_id == "1900517000000000000"
    assert (reply.likes, reply.reposts, reply.replies) == (9, 3, 1)
    assert reply.language == "en" and not reply.is_own
    assert reply.author.handle == "@mariadflies" and reply.author.native_id == "445334819281093128"
    assert reply.author.followers == 62 and reply.author.name == "Maria Dubois"
    assert reply.raw["tweet"]["id"] == reply.native_id and reply.raw["author"]["username"] == "mariadflies"


def test_x_own_post_and_unclassified_language() -> None:
    (_, own), _ = _map_x(owned=frozenset({"1234567890"}))
    assert own.is_own and own.parent_id is None and own.conversation_id == own.native_id
    assert own.language is None  # "und": left for Earful's detector


def test_x_malformed_tweet_is_skipped_not_fatal() -> None:
    mapped, skipped = _map_x()
    assert skipped == 1 and len(mapped) == 2


def test_x_author_missing_from_includes_keeps_the_id() -> None:
    payload = {**X_SEARCH, "includes": {}}
    (reply, _), _ = _map_x(payload)
    assert reply.author.native_id == "445334819281093128" and reply.author.followers is None
    assert reply.url == "https://x.com/i/web/status/1900517205720695503"


def test_x_read_cost_meters_posts_and_users() -> None:
    assert read_cost(100, 40, post_price=0.005, user_price=0.010) == pytest.approx(0.9)
    assert read_cost(0, 0, post_price=0.005, user_price=0.010) == 0


def _response(status: int, body: dict | None = None, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal"}.get(status, "")
    response.headers.update(headers or {})
    response._content = json.dumps(body or {"title": "Error", "detail": "Error"}).encode()
    return response


def test_x_errors_translate_once() -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    limited = x_error(tweepy.TooManyRequests(_response(429), reset_time=int(now.timestamp()) + 90), now=now)
    assert isinstance(limited, RateLimited) and limited.retry_after == 90
    bare = x_error(tweepy.TooManyRequests(_response(429), reset_time=None), now=now)
    assert isinstance(bare, RateLimited) and bare.retry_after is None
    refused = x_error(tweepy.Unauthorized(_response(401)))
    assert isinstance(refused, AuthFailed) and "bearer_token" in str(refused)
    assert isinstance(x_error(tweepy.Forbidden(_response(403))), AuthFailed)
    assert isinstance(x_error(tweepy.TwitterServerError(_response(500))), Unavailable)
    timed_out = x_error(requests.ReadTimeout("slow"), timeout=5)
    assert isinstance(timed_out, Unavailable) and "timed out after 5 s" in str(timed_out)
    assert isinstance(x_error(requests.ConnectionError("refused")), Unavailable)
    assert type(x_error(tweepy.BadRequest(_response(400)))) is PlatformError


# --- Reddit -------------------------------------------------------------------------------------

REDDIT_LISTING = {  # GET /r/travel+SkylarkAir/new (and /comments, /search, /message/mentions)
    "kind": "Listing",
    "data": {
        "after": "t1_lq30010",
        "before": None,
        "children": [
            {"kind": "t3", "data": {
                "id": "1j8k018", "name": "t3_1j8k018", "author": "hannahm", "author_fullname": "t2_fnoakmay",
                "subreddit": "travel", "created_utc": 1772452687.0, "score": 21, "num_comments": 4,
                "num_crossposts": 1, "title": "Is there any way to reach a human at Skylark Air?",
                "selftext": "The chat bot keeps sending me back to the FAQ.",
                "permalink": "/r/travel/comments/1j8k018/is_there_any_way_to_reach_a_human_at/"}},
            {"kind": "t3", "data": {  # a link post: no self-text
                "id": "1j8k017", "name": "t3_1j8k017", "author": "[deleted]", "subreddit": "travel",
                "created_utc": 1772452600.0, "score": 3, "num_comments": 0, "title": "Skylark Air adds Lisbon",
                "selftext": "", "url": "https://news.example/skylark-lisbon",
                "permalink": "/r/travel/comments/1j8k017/skylark_air_adds_lisbon/"}},
            {"kind": "t1", "data": {
                "id": "lq3002d", "name": "t1_lq3002d", "author": "SkylarkAir", "author_fullname": "t2_brand",
                "subreddit": "SkylarkAir", "created_utc": 1772452500.0, "score": 32,
                "body": "Sorry to hear that, please DM us.", "link_id": "t3_1j8k013", "parent_id": "t1_lq30029",
                "permalink": "/r/SkylarkAir/comments/1j8k013/delays/lq3002d/"}},
            {"kind": "t1", "data": {  # malformed: no created_utc
                "id": "lq3002c", "name": "t1_lq3002c", "author": "samr", "body": "skylark",
                "link_id": "t3_1j8k013", "parent_id": "t3_1j8k013"}},
            {"kind": "t1", "data": {
                "id": "lq30010", "name": "t1_lq30010", "author": "gracep2", "created_utc": 1772452000.0,
                "body": "old", "link_id": "t3_1j8k001", "parent_id": "t3_1j8k001",
                "permalink": "/r/travel/comments/1j8k001/x/lq30010/"}},
        ],
    },
}


def _children():
    return listing_children(REDDIT_LISTING)[0]


def test_reddit_submission_and_comment() -> None:
    mapped, skipped = map_each(_children(), lambda t: map_thing(t, owned=frozenset({"skylarkair"})), source="test")
    post, link, comment, _ = mapped
    assert skipped == 1
    assert post.native_id == "t3_1j8k018" and post.title == "Is there any way to reach a human at Skylark Air?"
    assert post.text == "The chat bot keeps sending me back to the FAQ."
    assert post.created_at == datetime.fromtimestamp(1772452687, tz=timezone.utc)
    assert post.url == "https://www.reddit.com/r/travel/comments/1j8k018/is_there_any_way_to_reach_a_human_at/"
    assert post.conversation_id == "t3_1j8k018" and post.parent_id is None
    assert (post.likes, post.replies, post.reposts) == (21, 4, 1)
    assert post.author.handle == "u/hannahm" and post.author.native_id == "t2_fnoakmay"
    assert post.author.followers is None  # karma is not an audience
    assert link.text == "Skylark Air adds Lisbon" and link.author is None
    assert comment.parent_id == "t1_lq30029" and comment.conversation_id == "t3_1j8k013"
    assert comment.title is None and comment.is_own and not post.is_own


def test_reddit_inbox_mention_without_link_id_uses_its_context() -> None:
    message = {"kind": "t1", "data": {
        "id": "lq30023", "name": "t1_lq30023", "author": "samr", "created_utc": 1772452000.0,
        "body": "u/skylarkair any news on my refund?", "parent_id": "t3_1j8k013", "was_comment": True,
        "type": "username_mention", "context": "/r/travel/comments/1j8k013/_/lq30023/?context=3"}}
    mention = map_thing(message)
    assert mention.conversation_id == "t3_1j8k013"
    assert mention.url == "https://www.reddit.com/r/travel/comments/1j8k013/_/lq30023/?context=3"


def test_reddit_other_kinds_are_not_mentions() -> None:
    assert map_thing({"kind": "t5", "data": {"display_name": "travel"}}) is None
    with pytest.raises(ValueError):
        listing_children({"error": 404})


def test_reddit_cursor_stops_at_the_stored_item_or_an_older_one() -> None:
    children = _children()
    cursor = Position(1772452500.0, "t1_lq3002d")
    fresh, reached = unseen(children, cursor)
    assert [c["data"]["name"] for c in fresh] == ["t3_1j8k018", "t3_1j8k017"] and reached
    deleted = Position(1772452550.0, "t1_gone")  # the cursor's item was deleted meanwhile
    assert [c["data"]["name"] for c in unseen(children, deleted)[0]] == ["t3_1j8k018", "t3_1j8k017"]
    assert unseen(children, None) == (children, False)
    assert Position.decode(cursor.encode()) == cursor and Position.decode("junk") is None


def test_reddit_streams() -> None:
    sitewide = streams_for(["skylark"], ["r/travel", "SkylarkAir"], sitewide=True, inbox=True)
    assert [s.path for s in sitewide] == ["r/all/search", "r/travel+SkylarkAir/new", "r/travel+SkylarkAir/comments",
                                          "message/mentions"]
    assert sitewide[0].params == {"q": "skylark", "sort": "new", "t": "all"}
    local = streams_for(["skylark"], ["travel"], sitewide=False, inbox=False)
    assert local[0].path == "r/travel/search" and local[0].params["restrict_sr"] == "on"
    assert len({s.key for s in sitewide + local}) == len(sitewide + local)


def test_reddit_errors_translate_once() -> None:
    limited = reddit_error(prawcore.TooManyRequests(_response(429, headers={"retry-after": "7"})))
    assert isinstance(limited, RateLimited) and limited.retry_after == 7.0
    assert reddit_error(prawcore.TooManyRequests(_response(429))).retry_after is None
    assert isinstance(reddit_error(prawcore.ServerError(_response(500))), Unavailable)
    timed_out = reddit_error(prawcore.RequestException(requests.ReadTimeout("slow"), (), {}))
    assert isinstance(timed_out, Unavailable) and "timed out" in str(timed_out)
    login = reddit_error(prawcore.OAuthException(_response(200), "invalid_grant", None))
    assert isinstance(login, AuthFailed) and "password" in str(login)
    assert isinstance(reddit_error(prawcore.ResponseException(_response(401))), AuthFailed)
    assert isinstance(reddit_error(prawcore.Forbidden(_response(403))), AuthFailed)


def test_reddit_used_up_window_raises_instead_of_sleeping() -> None:
    now = [datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)]
    limiter = PacedByPoller(window_size=600, clock=lambda: now[0])
    limiter.update(response_headers={"x-ratelimit-remaining": "12.0", "x-ratelimit-used": "988",
                                     "x-ratelimit-reset": "400"})
    limiter.delay()  # budget left: no pacing sleep, no error
    limiter.update(response_headers={"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "1000",
                                     "x-ratelimit-reset": "42"})
    with pytest.raises(RateLimited) as limited:
        limiter.delay()
    assert limited.value.retry_after == 42
    now[0] = now[0].replace(minute=1)
    limiter.delay()
