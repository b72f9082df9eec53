"""Pure mapping of platform payloads (shaped like each platform's documented responses)."""

from datetime import datetime, timezone

import feedparser
import pytest

from listener.hackernews import map_hit
from listener.mastodon import map_status
from listener.rss import map_entry
from listener.text import html_to_text

MASTODON_STATUS = {  # GET /api/v1/statuses/:id, trimmed to the fields Earful reads
    "id": "113456789012345678",
    "created_at": "2026-03-02T11:58:07.000Z",
    "in_reply_to_id": "113456789012340000",
    "in_reply_to_account_id": "1",
    "sensitive": False,
    "spoiler_text": "",
    "visibility": "public",
    "language": "en",
    "uri": "https://mastodon.example/users/jo/statuses/113456789012345678",
    "url": "https://mastodon.example/@jo/113456789012345678",
    "replies_count": 2,
    "reblogs_count": 5,
    "favourites_count": 7,
    "content": "<p>My bag never arrived &amp; <a href=\"https://mastodon.example/tags/FlySkylark\" class=\"mention hashtag\">#<span>FlySkylark</span></a> support is silent<br>day 3</p>",
    "account": {
        "id": "109876",
        "username": "jo",
        "acct": "jo@other.example",
        "display_name": "Jo <script>",
        "followers_count": 1234,
        "url": "https://other.example/@jo",
    },
}


def test_mastodon_status() -> None:
    m = map_status(MASTODON_STATUS)
    assert m.native_id == "113456789012345678"
    assert m.text == "My bag never arrived & #FlySkylark support is silent\nday 3"
    assert m.created_at == datetime(2026, 3, 2, 11, 58, 7, tzinfo=timezone.utc)
    assert m.parent_id == "113456789012340000"
    assert (m.likes, m.reposts, m.replies) == (7, 5, 2)
    assert m.author.handle == "@jo@other.example" and m.author.followers == 1234
    assert m.author.name == "Jo <script>"  # kept verbatim: rendering as text is the dashboard's job
    assert not m.is_own
    assert map_status(MASTODON_STATUS, owned=frozenset({"jo@other.example"})).is_own


def test_mastodon_status_without_account_is_malformed() -> None:
    broken = {k: v for k, v in MASTODON_STATUS.items() if k != "account"}
    with pytest.raises(KeyError):
        map_status(broken)


HN_COMMENT = {  # Algolia /api/v1/search_by_date hit
    "created_at": "2026-03-02T10:00:00Z",
    "created_at_i": 1772445600,
    "author": "pg_fan",
    "comment_text": "Skylark Air&#x27;s app is down again. <i>Third time</i> this week.",
    "story_id": 43000000,
    "story_title": "Skylark Air outage",
    "parent_id": 43000001,
    "objectID": "43000002",
    "_tags": ["comment", "author_pg_fan", "story_43000000"],
}


def test_hackernews_comment_and_story() -> None:
    m = map_hit(HN_COMMENT)
    assert m.text == "Skylark Air's app is down again. Third time this week."
    assert (m.parent_id, m.conversation_id) == ("43000001", "43000000")
    assert m.url == "https://news.ycombinator.com/item?id=43000002"
    assert m.created_at == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    story = map_hit({"objectID": "1", "created_at_i": 1772445600, "author": "a", "title": "Ask HN: Skylark Air refunds?",
                     "url": None, "story_text": None, "points": 12, "num_comments": 3, "_tags": ["story"]})
    assert story.text == "Ask HN: Skylark Air refunds?" and story.likes == 12 and story.conversation_id == "1"


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Reviews</title>
<item><guid>urn:review:1</guid><title>Skylark Air: great crew</title><link>https://reviews.example/1</link>
<description>&lt;p&gt;Lovely &lt;b&gt;crew&lt;/b&gt;&lt;/p&gt;</description><author>ann@example.com (Ann)</author>
<pubDate>Mon, 02 Mar 2026 09:30:00 GMT</pubDate></item>
<item><title>No date</title><link>https://reviews.example/2</link></item>
</channel></rss>"""


def test_rss_entry() -> None:
    parsed = feedparser.parse(RSS)
    m = map_entry(parsed.entries[0], feed_url="https://reviews.example/feed", feed_title="Reviews")
    assert (m.native_id, m.text, m.title) == ("urn:review:1", "Lovely crew", "Skylark Air: great crew")
    assert m.created_at == datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="no date"):
        map_entry(parsed.entries[1], feed_url="x")


@pytest.mark.parametrize(
    "markup, text",
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("x &lt;img src=x onerror=alert(1)&gt;", "x <img src=x onerror=alert(1)>"),
        ("<script>alert(1)</script>ok", "ok"),
        ("plain **bold**", "plain **bold**"),
        ("", ""),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_mastodon_verified_profile_link_gives_the_domain() -> None:
    account = dict(MASTODON_STATUS["account"], fields=[
        {"name": "blog", "value": '<a href="https://www.jo.example/">jo.example</a>', "verified_at": None},
        {"name": "site", "value": '<a href="https://www.Jo.Example/about" rel="me">https://www.Jo.Example/about</a>',
         "verified_at": "2025-01-01T00:00:00.000+00:00"},
    ])
    assert map_status(dict(MASTODON_STATUS, account=account)).author.verified_domain == "jo.example"
    assert map_status(MASTODON_STATUS).author.verified_domain is None
