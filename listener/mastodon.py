"""Mastodon: status search, and mentions of the brand's own account, through Mastodon.py.

Full-text search on Mastodon only covers posts of accounts that opted in, so mentions of the owned
account (notifications) are read too when the source has an access token.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from core.config import MastodonSource
from core.errors import AuthFailed, PlatformError, RateLimited, Unavailable
from core.mention import AuthorIn, MentionIn
from listener.base import Batch, map_each
from listener.enrich import BrandMatcher
from listener.query import to_mastodon
from listener.sandbox.credentials import MastodonCredentials
from listener.text import html_to_text, parse_timestamp, query_key

PLATFORM = "mastodon"
PAGE = 40


def map_status(status: Mapping[str, Any], *, owned: frozenset[str] = frozenset(), direct: bool = False) -> MentionIn:
    """A Mastodon Status entity (GET /api/v1/statuses/:id shape) as a mention."""
    account = status["account"]
    acct = str(account["acct"])
    handle = "@" + acct if "@" in acct else f"@{acct}"
    text = html_to_text(status.get("content"))
    if status.get("spoiler_text"):
        text = f"[CW: {status['spoiler_text']}] {text}"
    return MentionIn(
        platform=PLATFORM,
        native_id=str(status["id"]),
        text=text,
        created_at=parse_timestamp(status["created_at"]),
        url=status.get("url") or status.get("uri"),
        author=AuthorIn(
            platform=PLATFORM,
            handle=handle,
            native_id=str(account["id"]),
            name=account.get("display_name") or None,
            followers=account.get("followers_count"),
            url=account.get("url"),
            verified_domain=verified_domain(account),
        ),
        language=status.get("language"),
        parent_id=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
        likes=int(status.get("favourites_count") or 0),
        reposts=int(status.get("reblogs_count") or 0),
        replies=int(status.get("replies_count") or 0),
        is_own=acct.lower().lstrip("@") in owned or handle.lower().lstrip("@") in owned,
        direct=direct,
        raw=_plain(status),
    )


def verified_domain(account: Mapping[str, Any]) -> str | None:
    """The host of the first profile link the instance verified (rel="me"), if any."""
    from urllib.parse import urlsplit

    for field in account.get("fields") or ():
        if field.get("verified_at"):
            value = html_to_text(field.get("value"))
            host = urlsplit(value if "://" in value else f"https://{value}").hostname
            if host:
                return host.lower().removeprefix("www.")
    return None


def _plain(value: Any) -> Any:
    """Mastodon.py hands back attribute dicts with datetimes; keep JSON-friendly data as raw."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def translate_error(exc: Exception, api: Mastodon | None = None) -> PlatformError:
    if isinstance(exc, MastodonRatelimitError):
        reset = getattr(api, "ratelimit_reset", None) if api else None
        import time

        retry = max(0.0, float(reset) - time.time()) if reset else None
        return RateLimited(PLATFORM, "rate limit reached (300 requests per 5 minutes)", status=429, retry_after=retry)
    if isinstance(exc, MastodonUnauthorizedError):
        return AuthFailed(PLATFORM, "the access token was refused; create a new one with read and write scopes", status=401)
    if isinstance(exc, MastodonNotFoundError):
        return Unavailable(PLATFORM, "the instance answered 404; check base_url", status=404)
    if isinstance(exc, MastodonServerError):
        return Unavailable(PLATFORM, f"server error: {exc.args[2] if len(exc.args) > 2 else exc}", status=_status(exc))
    if isinstance(exc, MastodonNetworkError):
        return Unavailable(PLATFORM, f"network error: {type(exc).__name__}")
    if isinstance(exc, MastodonAPIError):
        status = _status(exc)
        if status == 403:
            return AuthFailed(PLATFORM, "forbidden: the token lacks a scope (read:search, read:notifications)", status=403)
        return Unavailable(PLATFORM, f"API error: {exc.args[-1] if exc.args else exc}", status=status)
    return Unavailable(PLATFORM, f"{type(exc).__name__}: {exc}")


def _status(exc: Exception) -> int | None:
    return exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None


class MastodonListener:
    def __init__(self, name: str, api: Mastodon, queries: Sequence[str], owned: Sequence[str], read_mentions: bool) -> None:
        self.name = name
        self.platform = PLATFORM
        self.api = api
        self.queries = list(dict.fromkeys(q for q in queries if q))
        self.owned = frozenset(o.lower().lstrip("@") for o in owned)
        self.read_mentions = read_mentions
        self._own_account: Mapping[str, Any] | None = None

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        mentions: list[MentionIn] = []
        new_cursors: dict[str, str] = {}
        skipped = 0
        more = False
        try:
            for query in self.queries:
                key = query_key("search", query)
                result = self.api.search_v2(query, result_type="statuses", min_id=cursors.get(key), limit=PAGE, resolve=False)
                statuses = list(result["statuses"])
                got, bad = map_each(statuses, lambda s: map_status(s, owned=self.owned), source=self.name)
                mentions += got
                skipped += bad
                newest = _max_id([s.get("id") for s in statuses], cursors.get(key))
                if newest:
                    new_cursors[key] = newest
                more = more or len(statuses) >= PAGE
            if self.read_mentions:
                notes = list(self.api.notifications(types=["mention"], min_id=cursors.get("mentions"), limit=PAGE))
                statuses = [n["status"] for n in notes if n.get("status")]
                got, bad = map_each(statuses, lambda s: map_status(s, owned=self.owned, direct=True), source=self.name)
                mentions += got
                skipped += bad
                newest = _max_id([n.get("id") for n in notes], cursors.get("mentions"))
                if newest:
                    new_cursors["mentions"] = newest
                more = more or len(notes) >= PAGE
                # The brand's own posts, so a case shows both sides of the exchange.
                if self._own_account is None:
                    self._own_account = self.api.me()
                own_id = self._own_account["id"]
                owned = self.owned | {str(self._own_account["acct"]).lower()}
                own = list(self.api.account_statuses(own_id, min_id=cursors.get("own"), limit=PAGE))
                got, bad = map_each(own, lambda s: map_status(s, owned=owned), source=self.name)
                mentions += got
                skipped += bad
                newest = _max_id([s.get("id") for s in own], cursors.get("own"))
                if newest:
                    new_cursors["own"] = newest
                more = more or len(own) >= PAGE
        except Exception as exc:
            if isinstance(exc, (MastodonRatelimitError, MastodonAPIError, MastodonNetworkError)):
                raise translate_error(exc, self.api) from exc
            raise
        return Batch(mentions, new_cursors, skipped=skipped, more=more)

    def close(self) -> None:
        session = getattr(self.api, "session", None)
        if session is not None:
            session.close()


def _max_id(ids: Sequence[Any], current: str | None) -> str | None:
    """Mastodon ids are numeric strings (snowflake-like): compare as integers."""
    values = [int(str(i)) for i in ids if i is not None and str(i).isdigit()]
    if current and current.isdigit():
        values.append(int(current))
    return str(max(values)) if values else current


def build(config: MastodonSource, matcher: BrandMatcher | None = None, *, timeout: float = 20.0) -> MastodonListener:
    token = MastodonCredentials().access_token if config.sandbox else (config.access_token.get_secret_value() if config.access_token else None)
    api = Mastodon(
        api_base_url=config.base_url,
        access_token=token,
        mastodon_version="4.3.0",
        version_check_mode="created",  # with mastodon_version given: checks locally, no /api/v1/instance call
        ratelimit_method="throw",
        request_timeout=timeout,
    )
    queries = [s for qs in (matcher.queries.values() if matcher else ()) for q in qs for s in to_mastodon(q)]
    return MastodonListener(config.name, api, queries, config.owned_accounts, read_mentions=bool(token))
