"""The sandbox, driven by the real client libraries Earful uses (tweepy, praw, Mastodon.py, atproto,
google-api-python-client, httpx + feedparser), on a frozen clock."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import feedparser
import httpx
import prawcore
import pytest
import tweepy
from atproto import models
from atproto_client.exceptions import BadRequestError, RateLimitExceededError, UnauthorizedError
from googleapiclient.errors import HttpError
from mastodon import MastodonRatelimitError, MastodonUnauthorizedError

from listener.sandbox import FakeServer, Response, Sandbox, World
from tests.fakes.sandbox_fixtures import (START, FrozenClock, bluesky_client, clock, mastodon_client,  # noqa: F401
                                          praw_client, sandbox, tweepy_client, youtube_client)

REPO = Path(__file__).resolve().parents[2]


# --- the world --------------------------------------------------------------------------------
def _snapshot(world: World) -> list[tuple[str, str, str]]:
    return [(p.platform, p.id, p.text) for name in ("x", "reddit", "bluesky", "rss") for p in world.posts(name)]


def test_world_is_deterministic_whatever_the_tick_granularity() -> None:
    one, two = FrozenClock(), FrozenClock()
    coarse, fine = World(seed=3, clock=one, rate_per_min=20), World(seed=3, clock=two, rate_per_min=20)
    coarse.tick(START + timedelta(minutes=30))
    for minute in range(1, 31):
        fine.tick(START + timedelta(minutes=minute))
    assert _snapshot(coarse) == _snapshot(fine)
    assert _snapshot(World(seed=4, clock=one, rate_per_min=20)) != _snapshot(World(seed=3, clock=one, rate_per_min=20))


def test_world_is_varied_like_real_chatter(clock: FrozenClock) -> None:
    world = World(seed=11, clock=clock, rate_per_min=30, backlog=timedelta(hours=2))
    posts = [p for name in ("x", "reddit", "mastodon", "bluesky", "youtube", "hackernews", "discourse", "rss")
             for p in world.posts(name)]
    assert all(world.posts(name) for name in ("x", "reddit", "mastodon", "bluesky", "youtube", "hackernews",
                                               "discourse", "rss"))
    assert {p.lang for p in posts} >= {"en", "es", "de", "fr"}
    assert {p.brand for p in posts} == {"skylark", "nimbus", None}
    assert {"lost_luggage", "delay", "refund", "crew_praise", "baggage_question"} <= {p.topic for p in posts}
    assert {"negative", "positive", "neutral"} <= {p.sentiment for p in posts}
    assert sum(p.parent_id is not None for p in world.posts("x")) > 5
    followers = sorted(p.author.followers for p in world.posts("x"))
    assert followers[0] < 100 and followers[-1] > 10_000
    replies = [p for p in world.posts("x") if p.parent_id and p.text.startswith("@")]
    parents = [world.get("x", p.parent_id) for p in replies]
    assert replies and all(parent is not None and p.root_id == parent.root_id for p, parent in zip(replies, parents))


def test_spike_is_a_burst_of_angry_posts_about_one_topic(clock: FrozenClock) -> None:
    world = World(seed=5, clock=clock, rate_per_min=4, backlog=timedelta(0))
    spike = world.schedule_spike(START + timedelta(minutes=10), duration=timedelta(minutes=10), rate_per_min=30)
    quiet = world.tick(START + timedelta(minutes=10))
    burst = world.tick(START + timedelta(minutes=20))
    outage = [p for p in burst if p.topic == "app_outage"]
    assert len(outage) > 150 and spike.count == len(outage)
    assert all(p.sentiment == "negative" and p.brand == "skylark" for p in outage)
    assert not [p for p in quiet if p.topic == "app_outage"]
    assert {"hackernews", "rss", "x", "bluesky"} <= {p.platform for p in outage}


def test_posts_carry_platform_native_ids(sandbox: Sandbox) -> None:
    world = sandbox.world
    assert all(p.id.isdigit() and len(p.id) >= 18 for p in world.posts("x"))
    assert all(re.fullmatch(r"[0-9a-z]{7}", p.id) for p in world.posts("reddit"))
    assert all(re.fullmatch(r"at://did:plc:[a-z2-7]{24}/app\.bsky\.feed\.post/[2-7a-z]{13}", p.id)
               and p.extra["cid"].startswith("bafyrei") for p in world.posts("bluesky"))
    assert all(re.fullmatch(r"Ugz[\w]{20}4AaABAg(\.[\w-]{22})?", p.id) for p in world.posts("youtube"))
    xs = world.posts("x")
    assert [int(p.id) for p in xs] == sorted(int(p.id) for p in xs)


# --- the server -------------------------------------------------------------------------------
def test_fake_server_matches_slashes_records_and_honours_connection_close() -> None:
    with FakeServer("t") as server:
        server.route("GET", "/items/{item_id}", lambda req: Response.json({"id": req.params["item_id"],
                                                                            "q": req.arg("q")}))
        assert httpx.get(f"{server.base_url}/items/7/?q=a").json() == {"id": "7", "q": "a"}
        assert httpx.get(f"{server.base_url}/items/7").status_code == 200
        assert httpx.get(f"{server.base_url}/nothing").status_code == 404
        assert httpx.post(f"{server.base_url}/items/7").status_code == 405
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/items/8", headers={"Connection": "close", "X-Probe": "1"})
        response = conn.getresponse()
        assert response.getheader("Connection") == "close" and json.loads(response.read())["id"] == "8"
        recorded = server.requests(path="/items/{item_id}")
        assert [r.path for r in recorded] == ["/items/7/", "/items/7", "/items/8"]
        assert recorded[-1].headers["x-probe"] == "1" and recorded[0].query == {"q": ["a"]}


def test_one_port_serves_every_platform_under_its_prefix(sandbox: Sandbox) -> None:
    base = sandbox.base_url
    assert sandbox.base_urls["mastodon"] == f"{base}/mastodon"
    assert httpx.get(f"{base}/hackernews/api/v1/search_by_date").json()["nbHits"] > 0
    # urljoin-style clients drop the prefix when the base URL has no trailing slash: the one platform
    # that serves the path still gets it (here praw's /r/<sub>/new), recorded without a prefix
    assert httpx.get(f"{base}/r/travel/new").status_code == 401
    assert sandbox.requests("reddit")[-1].prefix == "" and sandbox.requests("hackernews")[-1].prefix == "/hackernews"
    assert httpx.get(f"{base}//mastodon//api/v2/instance").json()["version"] == "4.3.0"
    assert httpx.get(f"{base}/mastodon/api/v9/nothing").json() == {"error": "Record not found"}
    assert httpx.get(f"{base}/nowhere").status_code == 404


def test_ports_layout_gives_each_platform_its_own_port(clock: FrozenClock) -> None:
    with Sandbox(seed=2, clock=clock, layout="ports") as sb:
        urls = sb.base_urls
        assert len({u.rsplit(":", 1)[1] for u in urls.values()}) == 8 and not urls["x"].endswith("/x")
        twitter, reddit, bsky = tweepy_client(sb), praw_client(sb), bluesky_client(sb)
        assert twitter.search_recent_tweets("skylark").data
        assert list(reddit.subreddit("all").search("skylark", limit=3))
        assert bsky.me.did == sb.accounts()["bluesky"]["id"]
        twitter.session.close()
        reddit._core.close()
        bsky.request.close()
        with pytest.raises(AttributeError):
            sb.base_url
        assert sb.handler_errors() == {}


def test_from_config_builds_a_live_ticking_sandbox() -> None:
    class Config:
        host, port, seed, rate_per_minute, spike_after_minutes = "127.0.0.1", 0, 7, 30.0, 5.0

    sb = Sandbox.from_config(Config())
    with sb:
        assert sb.base_url.startswith("http://127.0.0.1:") and sb.world.spikes[0].rate_per_min == 150
        assert httpx.get(sb.rss_feeds["reviews"]).status_code == 200
    assert sb._ticker is None


def test_sandbox_only_binds_to_loopback() -> None:
    with pytest.raises(ValueError, match="127.0.0.1"):
        FakeServer("t", host="0.0.0.0")
    with pytest.raises(ValueError):
        Sandbox(host="192.168.1.10")


def test_injected_faults_reach_the_client(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_urls['hackernews']}/api/v1/search_by_date"
    sandbox.inject("hackernews", "delay", delay_s=3, route="/api/v1/search_by_date")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, params={"query": "skylark"}, timeout=0.2)
    sandbox.inject("hackernews", "malformed")
    with pytest.raises(json.JSONDecodeError):
        httpx.get(url, params={"query": "skylark"}).json()
    sandbox.inject("hackernews", "missing_fields")
    hits = httpx.get(url, params={"query": "skylark"}).json()["hits"]
    assert "objectID" not in hits[0] and "objectID" in hits[1]
    sandbox.inject("hackernews", "disconnect")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, params={"query": "skylark"})
    sandbox.inject("hackernews", "server_error", status=503, times=2)
    assert [httpx.get(url).status_code for _ in range(3)] == [503, 503, 200]
    faults = [r.fault for r in sandbox.requests("hackernews")]
    assert faults.count(None) == 1 and len(faults) == 7


# --- X (tweepy) -------------------------------------------------------------------------------
def test_x_search_paginates_and_expands_authors(sandbox: Sandbox) -> None:
    client = tweepy_client(sandbox)
    fields = dict(expansions=["author_id"], user_fields=["public_metrics", "created_at"],
                  tweet_fields=["conversation_id", "public_metrics", "referenced_tweets", "created_at", "lang"])
    first = client.search_recent_tweets("skylark -is:retweet", max_results=10, **fields)
    assert len(first.data) == 10 and first.meta["next_token"]
    assert isinstance(first.data[0].id, int) and first.data[0].edit_history_tweet_ids == [first.data[0].id]
    authors = {u.id: u for u in first.includes["users"]}
    assert all(t.author_id in authors and "followers_count" in authors[t.author_id].public_metrics
               for t in first.data)
    expected = [p for p in sandbox.world.posts("x") if "skylark" in p.text.lower()]
    pages = list(tweepy.Paginator(client.search_recent_tweets, "skylark", max_results=25))
    assert [t.id for page in pages for t in page.data] == [int(p.id) for p in reversed(expected)]
    newest = pages[0].meta["newest_id"]
    sandbox.world.add_post("x", "Skylark Air lost my bag again", at=sandbox.world.now() + timedelta(seconds=1))
    fresh = client.search_recent_tweets("skylark", since_id=newest)
    assert [t.text for t in fresh.data] == ["Skylark Air lost my bag again"]
    with pytest.raises(tweepy.BadRequest):
        client.search_recent_tweets("skylark", tweet_fields=["not_a_field"])


def test_x_mentions_and_exactly_one_reply(sandbox: Sandbox) -> None:
    client = tweepy_client(sandbox)
    me = client.get_me(user_auth=True).data
    assert me.username == "skylarkair"
    mentions = client.get_users_mentions(me.id, max_results=5, tweet_fields=["conversation_id"])
    assert mentions.data and all("@skylarkair" in t.text.lower() or t.conversation_id for t in mentions.data)
    target = mentions.data[0]
    created = client.create_tweet(text="So sorry, please DM us your booking code.", in_reply_to_tweet_id=target.id)
    assert isinstance(created.data["id"], str)
    replies = sandbox.world.api_posts("x")
    assert [(p.id, p.parent_id) for p in replies] == [(created.data["id"], str(target.id))]
    with pytest.raises(tweepy.Forbidden, match="duplicate"):
        client.create_tweet(text="So sorry, please DM us your booking code.", in_reply_to_tweet_id=target.id)
    with pytest.raises(tweepy.Forbidden, match="Application-Only"):
        client.create_tweet(text="app-only cannot post", user_auth=False)
    with pytest.raises(tweepy.Unauthorized):
        tweepy_client(sandbox, consumer_secret="wrong").create_tweet(text="bad signature")
    assert len(sandbox.world.api_posts("x")) == 1
    assert sandbox.requests("x", "POST", "/2/tweets")[0].headers["authorization"].startswith("OAuth ")


def test_x_errors_map_to_tweepy_exceptions(sandbox: Sandbox) -> None:
    client = tweepy_client(sandbox)
    sandbox.inject("x", "rate_limit", route="/2/tweets/search/recent", retry_after_s=120)
    with pytest.raises(tweepy.TooManyRequests) as limited:
        client.search_recent_tweets("skylark")
    assert limited.value.reset_time == int((START + timedelta(seconds=120)).timestamp())
    sandbox.inject("x", "rate_limit", with_reset=False)
    with pytest.raises(tweepy.TooManyRequests) as bare:
        client.search_recent_tweets("skylark")
    assert bare.value.reset_time is None
    sandbox.inject("x", "server_error")
    with pytest.raises(tweepy.TwitterServerError):
        client.search_recent_tweets("skylark")
    sandbox.inject("x", "missing_fields")
    with pytest.raises(KeyError):
        client.search_recent_tweets("skylark")
    with pytest.raises(tweepy.Unauthorized):
        tweepy_client(sandbox, bearer_token="wrong").search_recent_tweets("skylark")
    assert client.search_recent_tweets("skylark").data


# --- Reddit (praw) ----------------------------------------------------------------------------
def test_reddit_search_listings_inbox_and_reply(sandbox: Sandbox) -> None:
    reddit = praw_client(sandbox)
    found = list(reddit.subreddit("all").search("skylark", sort="new", limit=None))
    expected = [p for p in sandbox.world.posts("reddit") if p.kind == "t3"
                and "skylark" in f"{p.title} {p.text}".lower()]
    assert [s.id for s in found] == [p.id for p in reversed(expected)] and len(found) > 25
    assert found[0].title and found[0].author.name and found[0].created_utc
    assert all(s.subreddit.display_name.lower() in {"travel", "skylarkair"}
               for s in reddit.subreddit("travel+SkylarkAir").new(limit=10))
    comments = list(reddit.subreddit("all").comments(limit=5))
    assert all(c.link_id.startswith("t3_") and c.parent_id[:3] in ("t1_", "t3_") for c in comments)
    mentions = list(reddit.inbox.mentions(limit=None))
    assert mentions and all("u/skylarkair" in m.body.lower() for m in mentions)
    reply = found[0].reply("Sorry to hear this. Please message us your booking reference.")
    assert reply.parent_id == f"t3_{found[0].id}" and reply.author.name == "skylarkair"
    nested = mentions[0].reply("Thanks for flagging, we are looking into it.")
    assert nested.parent_id == f"t1_{mentions[0].id}"
    assert [p.id for p in sandbox.world.api_posts("reddit")] == [reply.id, nested.id]
    assert reddit.user.me().name == "skylarkair"


def test_reddit_auth_and_rate_limit_errors(sandbox: Sandbox) -> None:
    with pytest.raises(prawcore.OAuthException):
        list(praw_client(sandbox, password="wrong").subreddit("travel").new(limit=1))
    with pytest.raises(prawcore.ResponseException):
        list(praw_client(sandbox, client_secret="wrong").subreddit("travel").new(limit=1))
    refused = httpx.get(f"{sandbox.base_urls['reddit']}/r/travel/new", headers={"Authorization": "bearer nope"})
    assert refused.status_code == 401 and "www-authenticate" in refused.headers
    sandbox.inject("reddit", "rate_limit", route="/r/{sub}/new", retry_after_s=1)
    with pytest.raises(prawcore.TooManyRequests) as limited:
        list(praw_client(sandbox).subreddit("travel").new(limit=1))
    assert limited.value.retry_after == "1"


# --- Mastodon (Mastodon.py) -------------------------------------------------------------------
def test_mastodon_search_notifications_and_idempotent_reply(sandbox: Sandbox) -> None:
    api = mastodon_client(sandbox)
    page = api.search_v2("skylark", result_type="statuses")
    assert len(page.statuses) == 20 and page.statuses[0].content.startswith("<p>")
    following = api.fetch_next(page)
    assert following.statuses and following.statuses[0].id < page.statuses[-1].id
    notes = api.notifications(types=["mention"], limit=5)
    assert len(notes) == 5 and all(n.type == "mention" for n in notes)
    assert all(re.search(r"@skylarkair(?![\w.])", n.status.content.replace("<span>", "").replace("</span>", ""))
               for n in notes)
    older = api.fetch_next(notes)
    assert older and older[0].id < notes[-1].id
    target = notes[0].status
    first = api.status_post("Sorry about that, please DM us.", in_reply_to_id=target.id, idempotency_key="k1")
    again = api.status_post("Sorry about that, please DM us.", in_reply_to_id=target.id, idempotency_key="k1")
    assert first.id == again.id and first.in_reply_to_id == target.id
    assert len(sandbox.world.api_posts("mastodon")) == 1
    sandbox.inject("mastodon", "rate_limit")
    with pytest.raises(MastodonRatelimitError):
        api.notifications(types=["mention"])
    with pytest.raises(MastodonUnauthorizedError):
        mastodon_client(sandbox, access_token="wrong").notifications()


# --- Bluesky (atproto) ------------------------------------------------------------------------
def test_bluesky_login_search_notifications_and_reply(sandbox: Sandbox) -> None:
    client = bluesky_client(sandbox)
    assert client.me.handle == "skylarkair.bsky.social" and client.me.followers_count > 0
    since = (START - timedelta(minutes=20)).isoformat().replace("+00:00", "Z")
    params = models.AppBskyFeedSearchPosts.Params(q="skylark", sort="latest", since=since, limit=10)
    first = client.app.bsky.feed.search_posts(params)
    assert len(first.posts) == 10 and first.cursor
    second = client.app.bsky.feed.search_posts(models.AppBskyFeedSearchPosts.Params(
        q="skylark", sort="latest", since=since, limit=10, cursor=first.cursor))
    assert second.posts and second.posts[0].indexed_at <= first.posts[-1].indexed_at
    assert not {p.uri for p in first.posts} & {p.uri for p in second.posts}
    notes = client.app.bsky.notification.list_notifications(
        models.AppBskyNotificationListNotifications.Params(limit=20))
    assert notes.notifications and {n.reason for n in notes.notifications} <= {"mention", "reply"}
    target = first.posts[0]
    root = target.record.reply.root if target.record.reply else models.create_strong_ref(target)
    sent = client.send_post("Sorry about that! Please DM us.", reply_to=models.AppBskyFeedPost.ReplyRef(
        root=root, parent=models.create_strong_ref(target)))
    stored = sandbox.world.api_posts("bluesky")
    assert [(p.id, p.parent_id) for p in stored] == [(sent.uri, target.uri)] and sent.cid.startswith("bafyrei")
    bogus = models.ComAtprotoRepoStrongRef.Main(uri=target.uri, cid=sent.cid)
    with pytest.raises(BadRequestError):
        client.send_post("wrong refs", reply_to=models.AppBskyFeedPost.ReplyRef(root=bogus, parent=bogus))
    sandbox.inject("bluesky", "rate_limit", retry_after_s=30)
    with pytest.raises(RateLimitExceededError) as limited:
        client.app.bsky.feed.search_posts(params)
    assert limited.value.reset_at == START + timedelta(seconds=30)
    stranger = bluesky_client(sandbox, login=False)
    with pytest.raises(UnauthorizedError):
        stranger.login("skylarkair.bsky.social", "wrong")
    stranger.request.close()
    client.request.close()


# --- YouTube (google-api-python-client) -------------------------------------------------------
def test_youtube_threads_reply_and_moderation(sandbox: Sandbox) -> None:
    channel = sandbox.accounts()["youtube"]["id"]
    reader, owner = youtube_client(sandbox), youtube_client(sandbox, owner=True)
    first = reader.commentThreads().list(part="snippet,replies", allThreadsRelatedToChannelId=channel,
                                         maxResults=5).execute()
    assert first["kind"] == "youtube#commentThreadListResponse" and len(first["items"]) == 5
    second = reader.commentThreads().list(part="snippet", allThreadsRelatedToChannelId=channel, maxResults=5,
                                          pageToken=first["nextPageToken"]).execute()
    assert not {t["id"] for t in first["items"]} & {t["id"] for t in second["items"]}
    searched = reader.commentThreads().list(part="snippet", allThreadsRelatedToChannelId=channel,
                                            searchTerms="crew").execute()
    assert all("crew" in t["snippet"]["topLevelComment"]["snippet"]["textOriginal"].lower()
               or t["snippet"]["totalReplyCount"] for t in searched["items"])
    thread = first["items"][0]
    with pytest.raises(HttpError) as refused:
        reader.comments().insert(part="snippet", body={"snippet": {"parentId": thread["id"],
                                                                   "textOriginal": "Sorry!"}}).execute()
    assert refused.value.resp.status == 401
    reply = owner.comments().insert(part="snippet", body={"snippet": {"parentId": thread["id"],
                                                                      "textOriginal": "Sorry! DM us."}}).execute()
    assert reply["snippet"]["parentId"] == thread["id"] and reply["id"].startswith(thread["id"] + ".")
    assert [p.id for p in sandbox.world.api_posts("youtube")] == [reply["id"]]
    hidden = first["items"][1]["id"]
    owner.comments().setModerationStatus(id=hidden, moderationStatus="heldForReview").execute()
    ids = {t["id"] for t in reader.commentThreads().list(part="snippet", allThreadsRelatedToChannelId=channel,
                                                          maxResults=100).execute()["items"]}
    assert hidden not in ids and thread["id"] in ids
    sandbox.inject("youtube", "rate_limit")
    with pytest.raises(HttpError) as quota:
        reader.commentThreads().list(part="snippet", allThreadsRelatedToChannelId=channel).execute()
    assert quota.value.resp.status == 403 and quota.value.error_details[0]["reason"] == "quotaExceeded"
    with youtube_client(sandbox, api_key="wrong") as wrong, pytest.raises(HttpError) as bad_key:
        wrong.commentThreads().list(part="snippet", allThreadsRelatedToChannelId=channel).execute()
    assert bad_key.value.resp.status == 400
    assert sandbox.apis["youtube"].quota_used >= 104
    reader.close()
    owner.close()


# --- Hacker News, Discourse, RSS (httpx) ------------------------------------------------------
def test_hackernews_algolia_search_by_date(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_urls['hackernews']}/api/v1/search_by_date"
    since = int((START - timedelta(minutes=30)).timestamp())
    params: dict[str, str | int] = {"query": "skylark", "tags": "(story,comment)",
                                    "numericFilters": f"created_at_i>{since}", "hitsPerPage": 3}
    body = httpx.get(url, params=params).json()
    assert body["page"] == 0 and body["nbPages"] == -(-body["nbHits"] // 3) and len(body["hits"]) <= 3
    hits = [h for page in range(body["nbPages"]) for h in httpx.get(url, params={**params, "page": page}).json()["hits"]]
    assert len(hits) == body["nbHits"] > 0
    assert all(h["created_at_i"] > since and h["_tags"][0] in ("story", "comment") for h in hits)
    assert [h["created_at_i"] for h in hits] == sorted((h["created_at_i"] for h in hits), reverse=True)
    comment = next(h for h in hits if "comment" in h["_tags"])
    assert isinstance(comment["objectID"], str) and isinstance(comment["story_id"], int) and comment["story_title"]
    item = httpx.get(f"{sandbox.base_urls['hackernews']}/api/v1/items/{comment['story_id']}").json()
    assert item["type"] == "story" and item["children"]
    stories = httpx.get(url, params={"tags": "story", "hitsPerPage": 1000}).json()["hits"]
    assert stories and all(h["_tags"][0] == "story" and "title" in h for h in stories)


def test_discourse_search_latest_and_reply(sandbox: Sandbox) -> None:
    base, c = sandbox.base_urls["discourse"], sandbox.credentials.discourse
    auth = {"Api-Key": c.api_key, "Api-Username": c.api_username}
    after = (START - timedelta(minutes=40)).date().isoformat()
    found = httpx.get(f"{base}/search.json", params={"q": f"skylark after:{after} order:latest"}).json()
    posts = found["posts"]
    assert posts and len({p["topic_id"] for p in posts}) == len(posts)
    assert [p["created_at"] for p in posts] == sorted((p["created_at"] for p in posts), reverse=True)
    assert {t["id"] for t in found["topics"]} == {p["topic_id"] for p in posts}
    latest = httpx.get(f"{base}/posts.json", headers=auth).json()["latest_posts"]
    assert latest and latest[0]["raw"] and latest[0]["id"] > latest[-1]["id"]
    older = httpx.get(f"{base}/posts.json", params={"before": latest[-1]["id"]}).json()["latest_posts"]
    assert all(p["id"] < latest[-1]["id"] for p in older)
    target = latest[0]
    body = {"topic_id": target["topic_id"], "raw": "Sorry to hear this, our team will reach out today.",
            "reply_to_post_number": target["post_number"]}
    created = httpx.post(f"{base}/posts.json", json=body, headers=auth)
    assert created.status_code == 200 and created.json()["reply_to_post_number"] == target["post_number"]
    assert httpx.post(f"{base}/posts.json", json=body, headers=auth).status_code == 422
    assert httpx.post(f"{base}/posts.json", json={**body, "raw": "Too short"}, headers=auth).status_code == 422
    refused = httpx.post(f"{base}/posts.json", json=body, headers={**auth, "Api-Key": "wrong"})
    assert refused.status_code == 403 and refused.json()["error_type"] == "invalid_access"
    assert [p.id for p in sandbox.world.api_posts("discourse")] == [str(created.json()["id"])]


def test_rss_and_atom_with_conditional_get(sandbox: Sandbox, clock: FrozenClock) -> None:
    feeds = sandbox.rss_feeds
    assert set(feeds) == {"reviews", "blog"}
    with httpx.Client(timeout=5) as http:
        first = http.get(feeds["reviews"])
        parsed = feedparser.parse(first.content, response_headers=dict(first.headers))
        assert not parsed.bozo and parsed.version == "rss20" and parsed.entries[0].title
        validators = {"If-None-Match": first.headers["etag"], "If-Modified-Since": first.headers["last-modified"]}
        assert http.get(feeds["reviews"], headers=validators).status_code == 304
        assert http.get(feeds["reviews"],
                        headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
        atom = feedparser.parse(http.get(feeds["blog"]).content)
        assert atom.version == "atom10" and all(e.link.startswith("https://") for e in atom.entries)
        clock.advance(minutes=5)
        sandbox.world.add_post("rss", "The airline apologised for the outage.", place="reviews",
                               title="Skylark Air restores booking app after outage")
        changed = http.get(feeds["reviews"], headers=validators)
        assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
        assert feedparser.parse(changed.content).entries[0].title == "Skylark Air restores booking app after outage"


# --- the command line -------------------------------------------------------------------------
def test_cli_prints_urls_serves_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "listener.sandbox", "--port", "0", "--rate", "60", "--spike-after-min", "1"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            described = json.loads(process.stdout.readline())  # type: ignore[union-attr]
            assert set(described["base_urls"]) == {"x", "reddit", "mastodon", "bluesky", "youtube", "hackernews",
                                                   "discourse", "rss"}
            assert all(u.startswith("http://127.0.0.1:") for u in described["base_urls"].values())
            hits = httpx.get(f"{described['base_urls']['hackernews']}/api/v1/search_by_date").json()["nbHits"]
            assert hits > 0
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
    refused = subprocess.run([sys.executable, "-m", "listener.sandbox", "--host", "0.0.0.0"], cwd=REPO,
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "127.0.0.1" in refused.stderr


def test_sandbox_stops_promptly_even_with_a_pending_delay(sandbox: Sandbox) -> None:
    sandbox.inject("rss", "delay", delay_s=30)
    url = sandbox.rss_feeds["reviews"]
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, timeout=0.3)
    began = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - began < 3
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1)


def test_a_lost_answer_lands_the_post_and_is_released_when_the_sandbox_stops(sandbox: Sandbox) -> None:
    """LOST_ANSWER: the platform accepts and stores the write, and its answer never comes: held, then dropped."""
    url = f"{sandbox.base_urls['mastodon']}/api/v1/statuses"
    auth = {"Authorization": f"Bearer {sandbox.credentials.mastodon.access_token}"}
    parent = sandbox.world.posts("mastodon")[-1]
    sandbox.inject("mastodon", "lost_answer", route="/api/v1/statuses", delay_s=0)
    with pytest.raises(httpx.RemoteProtocolError):  # dropped at once, after the status was stored
        httpx.post(url, data={"status": "Sorry about that.", "in_reply_to_id": parent.id}, headers=auth)
    sandbox.inject("mastodon", "lost_answer", route="/api/v1/statuses", delay_s=30)
    with pytest.raises(httpx.ReadTimeout):  # held past the caller's patience
        httpx.post(url, data={"status": "We're on it.", "in_reply_to_id": parent.id}, headers=auth, timeout=0.3)
    assert [p.text for p in sandbox.world.api_posts()] == ["Sorry about that.", "We're on it."]
    held = sandbox.requests("mastodon", "POST", "/api/v1/statuses")
    assert [(r.fault, r.status) for r in held] == [("lost_answer", 200)] * 2  # what the platform did, unheard
    began = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - began < 3


@pytest.mark.parametrize(
    "query, text, hit",
    [
        ('skylark AND (flight OR app)', "skylark app is down", True),
        ('skylark AND (flight OR app)', "a skylark sang", False),
        ('("skylark air" OR skylarkair) -"skylark bird" -is:retweet lang:en', "Skylark Air lost my bag", True),
        ('("skylark air" OR skylarkair) -"skylark bird" -is:retweet lang:en', "skylark air skylark bird", False),
        ("skylark NOT refund", "skylark refund please", False),
        ("skylark -(refund OR delay)", "skylark delay again", False),
        ("lang:en", "anything", True),
    ],
)
def test_sandbox_search_understands_the_boolean_queries_earful_sends(query: str, text: str, hit: bool) -> None:
    from listener.sandbox.query import parse

    assert parse(query).matches(text) is hit
