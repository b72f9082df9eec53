"""Platform-native identifiers, so Earful's parsing and cursors meet the id types it will see live.

X and Mastodon ids are time-ordered integers sent as strings (since_id / max_id depend on that), Reddit
ids are base36, Bluesky records are AT URIs with a TID record key and a real CIDv1, YouTube ids are
opaque strings. Everything here is pure and derived from a hash, never from Python's ``hash()``.
"""

from __future__ import annotations

import base64
import hashlib
import string
from datetime import datetime

X_EPOCH_MS = 1288834974657
_B36 = string.digits + string.ascii_lowercase
_B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_YT_ALPHABET = string.ascii_letters + string.digits + "-_"


def digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).digest()


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def x_snowflake(at: datetime, sequence: int) -> int:
    """X's snowflake: milliseconds since the Twitter epoch, shifted, plus a sequence."""
    return ((_ms(at) - X_EPOCH_MS) << 22) | (sequence & 0x3FFFFF)


def mastodon_id(at: datetime, sequence: int) -> int:
    """Mastodon's snowflake: milliseconds since the Unix epoch shifted by 16 bits, plus a sequence."""
    return (_ms(at) << 16) | (sequence & 0xFFFF)


def base36(number: int) -> str:
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = _B36[rem] + out
        if number == 0:
            return out


def bluesky_tid(at: datetime, clock_id: int) -> str:
    """A TID: 53 bits of microseconds and 10 bits of clock id, base32-sortable, 13 characters."""
    value = (int(at.timestamp() * 1_000_000) << 10) | (clock_id & 0x3FF)
    out = ""
    for _ in range(13):
        value, rem = divmod(value, 32)
        out = _B32_SORTABLE[rem] + out
    return out


def bluesky_cid(*parts: object) -> str:
    """A CIDv1 (dag-cbor, sha2-256) in base32: the ``bafyrei...`` form the AppView returns."""
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + digest("cid", *parts)
    return "b" + base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def plc_did(*parts: object) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "did:plc:" + "".join(alphabet[b % 32] for b in digest("did", *parts)[:24])


def opaque(length: int, *parts: object, alphabet: str = _YT_ALPHABET) -> str:
    data = digest("opaque", *parts)
    while len(data) < length:
        data += digest("more", data)
    return "".join(alphabet[b % len(alphabet)] for b in data[:length])


def youtube_channel_id(*parts: object) -> str:
    return "UC" + opaque(22, "channel", *parts)


def youtube_video_id(*parts: object) -> str:
    return opaque(11, "video", *parts)


def youtube_comment_id(*parts: object) -> str:
    return "Ugz" + opaque(20, "comment", *parts, alphabet=string.ascii_letters + string.digits) + "4AaABAg"


def youtube_reply_id(parent_id: str, *parts: object) -> str:
    return f"{parent_id}.{opaque(22, 'reply', *parts)}"


def etag(*parts: object) -> str:
    return opaque(27, "etag", *parts)


def numeric_id(digits: int, *parts: object) -> str:
    """A stable decimal id of about ``digits`` digits (user ids on X, accounts on Mastodon)."""
    value = int.from_bytes(digest("num", *parts)[:8], "big")
    return str(10 ** (digits - 1) + value % (9 * 10 ** (digits - 1)))
