"""responder.limits: each platform's reply length, counted by hand on made-up strings."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.mention import PLATFORMS
from responder.limits import (
    LIMITS,
    NO_REPLY_API,
    Measure,
    check_reply,
    graphemes,
    is_emoji,
    mastodon_length,
    measure,
    platform_name,
    url_spans,
    x_length,
)

FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"  # 👨‍👩‍👧‍👦: 7 code points, 25 bytes
THUMBS_UP_MEDIUM = "\U0001F44D\U0001F3FD"  # 👍🏽
FLAG_GB = "\U0001F1EC\U0001F1E7"  # 🇬🇧
FLAG_FR = "\U0001F1EB\U0001F1F7"  # 🇫🇷
FLAG_SCOTLAND = "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"
KEYCAP_HASH = "#\uFE0F\u20E3"  # #️⃣
RED_HEART = "\u2764\uFE0F"  # ❤️
LONG_URL = "https://example.com/" + "a" * 200


# --- every platform is accounted for ----------------------------------------------------------


def test_every_platform_either_has_a_limit_or_says_why_not() -> None:
    assert set(LIMITS) | set(NO_REPLY_API) == set(PLATFORMS)
    assert not set(LIMITS) & set(NO_REPLY_API)


def test_limits_table_for_the_dashboard() -> None:
    shown = {platform: (rule.limit, rule.unit) for platform, rule in LIMITS.items()}
    assert shown == {
        "x": (280, "characters"),
        "bluesky": (300, "characters"),
        "mastodon": (500, "characters"),
        "reddit": (10_000, "characters"),
        "youtube": (10_000, "characters"),
        "discourse": (32_000, "characters"),
    }
    assert LIMITS["discourse"].minimum == 20


# --- X: weighted length -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("hello", 5),
        ("日本語", 6),  # CJK weighs 2
        ("한국어", 6),  # Hangul syllables (U+AC00...) weigh 2
        ("привет", 6),  # Cyrillic is below U+10FF
        ("caf\u00e9", 4),
        ("cafe\u0301", 4),  # decomposed é is normalised to one code point first
        ("\u201cquoted\u201d \u2014 ok", 13),  # curly quotes and em dash are light
        ("\u2026", 2),  # the ellipsis is outside the light ranges
        ("\u2032", 1),  # prime is inside them
        ("\U0001F600", 2),
        (FAMILY, 2),
        (THUMBS_UP_MEDIUM, 2),
        (FLAG_GB, 2),
        (FLAG_GB + FLAG_FR, 4),
        (FLAG_SCOTLAND, 2),
        (KEYCAP_HASH, 2),
        (RED_HEART, 2),
        ("\u00a9", 1),  # © alone is text
        ("\u00a9\uFE0F", 2),  # ©️ is an emoji
        ("hi " + FAMILY + THUMBS_UP_MEDIUM, 7),
    ],
)
def test_x_weights(text: str, weight: int) -> None:
    assert x_length(text) == weight


def test_x_counts_every_url_as_23() -> None:
    assert x_length(LONG_URL) == 23
    assert x_length("http://t.co") == 23
    assert x_length("see example.com/some/long/path/to/a/page here") == 4 + 23 + 5
    assert x_length("two: https://a.example/x https://b.example/y") == 5 + 23 + 1 + 23


def test_x_leaves_trailing_punctuation_out_of_the_url() -> None:
    # "(" + "see " + URL + ")." = 1 + 4 + 23 + 2
    assert x_length("(see https://example.com/x).") == 30
    # A closing parenthesis that the URL opened stays part of it.
    assert x_length("https://en.wikipedia.org/wiki/Bank_(geography)") == 23


def test_x_bare_names_count_as_urls_only_with_a_real_top_level_domain() -> None:
    assert x_length("config.yaml") == len("config.yaml")
    assert x_length("e.g. this") == len("e.g. this")
    assert x_length("mail jo@example.com") == len("mail jo@example.com")
    assert x_length("Visit example.com.") == len("Visit ") + 23 + 1


def test_url_spans() -> None:
    text = "go to https://example.com/a, or example.org!"
    spans = url_spans(text, bare_domains=True)
    assert [text[a:b] for a, b in spans] == ["https://example.com/a", "example.org"]
    assert [text[a:b] for a, b in url_spans(text, bare_domains=False)] == ["https://example.com/a"]


def test_x_exactly_at_the_limit_and_one_over() -> None:
    check_reply("x", "a" * 280)
    check_reply("x", "日" * 140)
    check_reply("x", "a" * 256 + " " + LONG_URL)
    check_reply("x", "\U0001F600" * 140)
    with pytest.raises(InvalidInput, match="cut 1$"):
        check_reply("x", "a" * 281)
    with pytest.raises(InvalidInput, match="has 282: cut 2$"):
        check_reply("x", "日" * 141)


def test_x_message_says_how_x_counts_and_how_much_to_cut() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_reply("x", "a" * 273 + " " + LONG_URL)
    assert str(refused.value) == (
        "X allows 280 characters (URLs count 23, emoji 2, CJK characters 2); this reply has 297: cut 17"
    )


def test_is_emoji() -> None:
    assert is_emoji(FAMILY) and is_emoji(FLAG_GB) and is_emoji(KEYCAP_HASH) and is_emoji(RED_HEART)
    assert not is_emoji("1") and not is_emoji("#") and not is_emoji("\u00a9") and not is_emoji("a")


# --- Bluesky: graphemes and bytes ----------------------------------------------------------------


def test_bluesky_counts_graphemes() -> None:
    assert graphemes(FAMILY + THUMBS_UP_MEDIUM + FLAG_GB + FLAG_FR + "e\u0301") == 5
    check_reply("bluesky", "a" * 300)
    check_reply("bluesky", "e\u0301" * 300)  # 600 code points, 300 graphemes
    check_reply("bluesky", FLAG_GB * 300)  # 2400 bytes
    with pytest.raises(InvalidInput, match=r"Bluesky allows 300 characters .*has 301: cut 1$"):
        check_reply("bluesky", "a" * 301)


def test_bluesky_byte_limit() -> None:
    assert len(FAMILY.encode("utf-8")) == 25
    # 120 families are 120 graphemes but exactly 3000 bytes: the byte limit is the fuller one.
    assert measure("bluesky", FAMILY * 120) == Measure(3000, 3000, "bytes")
    check_reply("bluesky", FAMILY * 120)
    with pytest.raises(InvalidInput, match=r"Bluesky allows 3000 bytes .*has 3025: cut 25 bytes$"):
        check_reply("bluesky", FAMILY * 121)


def test_bluesky_measure_is_in_graphemes_for_ordinary_text() -> None:
    assert measure("bluesky", "héllo " + FAMILY) == Measure(7, 300, "characters")


# --- Mastodon -----------------------------------------------------------------------------------


def test_mastodon_counts_urls_as_23_and_remote_mentions_as_local() -> None:
    assert mastodon_length(LONG_URL) == 23
    assert mastodon_length("@alice@mastodon.social thanks") == len("@alice thanks")
    assert mastodon_length("@bob hi") == len("@bob hi")
    assert mastodon_length("write to bob@example.com") == len("write to bob@example.com")
    # Only links with a scheme are shortened; a bare domain counts as typed.
    assert mastodon_length("example.com/" + "a" * 30) == 42
    assert mastodon_length(FAMILY * 3) == 3


def test_mastodon_exactly_at_the_limit_and_one_over() -> None:
    check_reply("mastodon", "a" * 500)
    check_reply("mastodon", "a" * 476 + " " + LONG_URL)
    check_reply("mastodon", "@alice@an.extremely.long.instance.example " + "a" * 493)
    with pytest.raises(InvalidInput, match=r"Mastodon allows 500 characters \(URLs count 23.*has 501: cut 1$"):
        check_reply("mastodon", "a" * 477 + " " + LONG_URL)


# --- Reddit, YouTube, Discourse -----------------------------------------------------------------


@pytest.mark.parametrize("platform", ["reddit", "youtube"])
def test_ten_thousand_characters(platform: str) -> None:
    check_reply(platform, "a" * 10_000)
    check_reply(platform, "日" * 10_000)  # characters, not weighted
    with pytest.raises(InvalidInput, match="allows 10000 characters; this reply has 10001: cut 1$"):
        check_reply(platform, "a" * 10_001)


def test_discourse_minimum_and_maximum() -> None:
    check_reply("discourse", "a" * 20)
    check_reply("discourse", "  " + "a" * 20 + "\n")
    check_reply("discourse", "a" * 32_000)
    with pytest.raises(InvalidInput, match="needs at least 20 characters .*has 19: add 1$"):
        check_reply("discourse", "   " + "a" * 19 + "   ")
    with pytest.raises(InvalidInput, match="allows 32000 characters .*cut 1$"):
        check_reply("discourse", "a" * 32_001)


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", sorted(LIMITS))
@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_replies_are_refused_everywhere(platform: str, text: str) -> None:
    with pytest.raises(InvalidInput, match="the reply is empty"):
        check_reply(platform, text)


@pytest.mark.parametrize("platform", ["hackernews", "rss", "import"])
def test_platforms_without_a_reply_api_say_what_to_do(platform: str) -> None:
    with pytest.raises(InvalidInput, match="link|came from") as refused:
        check_reply(platform, "Thanks for the feedback!")
    assert "mark the case handled" in str(refused.value)
    with pytest.raises(InvalidInput, match="mark the case handled"):
        measure(platform, "Thanks")


def test_unknown_platform() -> None:
    with pytest.raises(InvalidInput, match="unknown platform 'myspace'; replies can be posted on x, bluesky"):
        check_reply("myspace", "hello")


def test_measure_and_its_properties() -> None:
    counted = measure("x", "日本")
    assert counted == Measure(4, 280, "characters")
    assert counted.fits and counted.left == 276
    over = measure("x", "a" * 290)
    assert not over.fits and over.left == -10


def test_platform_names() -> None:
    assert platform_name("x") == "X"
    assert platform_name("hackernews") == "Hacker News"
    assert platform_name("youtube") == "YouTube"
