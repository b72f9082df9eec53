"""Fake Mastodon API (4.3): search v2, mention notifications, timelines, threads, posting and favouriting.

Entities follow docs.joinmastodon.org: ids are strings of time-ordered integers, ``content`` is HTML
with h-card mentions, lists page through ``Link`` headers with ``max_id`` / ``min_id`` (search pages by
``offset``). ``Idempotency-Key`` is honoured like Mastodon does, so a retried post is not doubled.
The fake's instance is ``mastodon.example``; authors on other instances have ``user@domain`` accts.
"""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from listener.sandbox.catalog import MASTODON_DOMAIN
from listener.sandbox.common import RateWindow, bearer, iso_ms, parse_time
from listener.sandbox.credentials import MastodonCredentials
from listener.sandbox.faults import ErrorStyle, Fault
from listener.sandbox.ids import numeric_id
from listener.sandbox.query import parse
from listener.sandbox.server import FakeServer, Request, Response
from listener.sandbox.world import Author, Post, World

VERSION = "4.3.0"
_MENTION = re.compile(r"@(\w+)(?:@([\w.-]+\w))?")
_HASHTAG = re.compile(r"#(\w+)")
_NOTIFICATION_BASE = 30_000_000
VISIBILITIES = ("public", "unlisted", "private", "direct")


class MastodonErrors(ErrorStyle):
    required_fields = (("id",), ("content",))

    def rate_limited(self, fault: Fault, now: Any) -> Response:
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0"}
        if fault.with_reset:
            headers["X-RateLimit-Reset"] = iso_ms(now + timedelta(seconds=fault.retry_after_s))
        return Response.json({"error": "Too many requests"}, 429, headers)

    def server_error(self, status: int) -> Response:
        return Response.json({"error": "We're sorry, but something went wrong on our end."}, status)

    def unauthorized(self) -> Response:
        return Response.json({"error": "The access token is invalid"}, 401)

    def not_found(self) -> Response:
        return Response.json({"error": "Record not found"}, 404)


class MastodonApi:
    def __init__(self, world: World, creds: MastodonCredentials) -> None:
        self.world = world
        self.creds = creds
        self.window = RateWindow(300, 300)
        self._idempotent: dict[str, dict[str, Any]] = {}
        self.favourited: set[str] = set()  # status ids the brand account favourited
        self._lock = threading.Lock()

    def install(self, server: FakeServer) -> None:
        server.style = MastodonErrors()
        server.route("GET", "/api/v1/instance", self.instance_v1)
        server.route("GET", "/api/v2/instance", self.instance_v2)
        server.route("GET", "/api/v1/accounts/verify_credentials", self.verify_credentials)
        server.route("GET", "/api/v2/search", self.search)
        server.route("GET", "/api/v1/notifications", self.notifications)
        server.route("GET", "/api/v1/timelines/tag/{tag}", self.tag_timeline)
        server.route("GET", "/api/v1/accounts/{id}/statuses", self.account_statuses)
        server.route("GET", "/api/v1/statuses/{id}", self.status)
        server.route("GET", "/api/v1/statuses/{id}/context", self.context)
        server.route("POST", "/api/v1/statuses", self.post_status)
        server.route("POST", "/api/v1/statuses/{id}/favourite", self.favourite)
        server.before_response.append(self._rate_headers)

    def _authorized(self, req: Request) -> bool:
        return bearer(req) == self.creds.access_token

    def _rate_headers(self, req: Request, response: Response) -> None:
        if response.status == 429:
            return
        now = self.world.now()
        _, remaining, reset = self.window.hit(bearer(req) or "-", now)
        response.headers.update({"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(remaining),
                                 "X-RateLimit-Reset": iso_ms(now.fromtimestamp(reset, now.tzinfo))})

    # --- instance & account ---------------------------------------------------------------
    def instance_v1(self, req: Request) -> Response:
        return Response.json({
            "uri": MASTODON_DOMAIN, "title": "Mastodon Example", "short_description": "A sandbox instance.",
            "description": "", "email": "admin@mastodon.example", "version": VERSION, "urls": {},
            "stats": {"user_count": 1200, "status_count": 98000, "domain_count": 4100}, "thumbnail": None,
            "languages": ["en"], "registrations": False, "approval_required": False,
            "invites_enabled": False, "contact_account": None, "rules": [],
            "configuration": {"statuses": {"max_characters": 500, "max_media_attachments": 4,
                                           "characters_reserved_per_url": 23}}})

    def instance_v2(self, req: Request) -> Response:
        return Response.json({
            "domain": MASTODON_DOMAIN, "title": "Mastodon Example", "version": VERSION,
            "source_url": "https://github.com/mastodon/mastodon", "description": "A sandbox instance.",
            "usage": {"users": {"active_month": 640}}, "thumbnail": {"url": ""}, "languages": ["en"],
            "configuration": {"statuses": {"max_characters": 500, "max_media_attachments": 4,
                                           "characters_reserved_per_url": 23}},
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": "admin@mastodon.example", "account": None}, "rules": []})

    def verify_credentials(self, req: Request) -> Response:
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        account = self._account(self.world.account("mastodon"))
        account["source"] = {"privacy": "public", "sensitive": False, "language": "en", "note": "",
                             "fields": [], "follow_requests_count": 0}
        return Response.json(account)

    # --- reads ----------------------------------------------------------------------------
    def search(self, req: Request) -> Response:
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        q = parse(req.arg("q", "") or "")
        kind = req.arg("type")
        limit = _limit(req, 20, 40)
        statuses: list[dict[str, Any]] = []
        accounts: list[dict[str, Any]] = []
        if kind in (None, "statuses") and not q.is_empty:
            found = [p for p in reversed(self.world.posts("mastodon")) if self._search_match(q, p)]
            found = _id_window(found, req.arg("max_id"), req.arg("min_id"), None, limit * 100)
            offset = int(req.arg("offset", "0") or 0)
            statuses = [self._status(p) for p in found[offset:offset + limit]]
        if kind in (None, "accounts") and not q.is_empty:
            people = {p.author.id: p.author for p in self.world.posts("mastodon")}
            people.update({a.id: a for (pl, _), a in self.world.accounts.items() if pl == "mastodon"})
            accounts = [self._account(a) for a in people.values() if q.matches(a.handle, a.name)][:limit]
        return Response.json({"accounts": accounts, "statuses": statuses, "hashtags": []})

    def notifications(self, req: Request) -> Response:
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        types = set(req.args("types[]") or req.args("types"))
        excluded = set(req.args("exclude_types[]") or req.args("exclude_types"))
        if (types and "mention" not in types) or "mention" in excluded:
            return Response.json([])
        brand = self.world.account("mastodon")
        tag = "@" + brand.handle.lower()
        items = [p for p in reversed(self.world.posts("mastodon"))
                 if p.author.id != brand.id and _mentions(p.text.lower(), tag)]
        limit = _limit(req, 40, 80)
        page = _id_window(items, req.arg("max_id"), req.arg("min_id"), req.arg("since_id"), limit,
                          key=lambda p: _NOTIFICATION_BASE + p.seq)
        notes: list[dict[str, Any]] = [{"id": str(_NOTIFICATION_BASE + p.seq), "type": "mention", "created_at": iso_ms(p.created_at),
                  "group_key": f"ungrouped-{_NOTIFICATION_BASE + p.seq}", "account": self._account(p.author),
                  "status": self._status(p)} for p in page]
        keep = {k: v for k, v in req.query.items() if k in ("limit", "types[]", "exclude_types[]")}
        return Response.json(notes, headers=_link(req, [n["id"] for n in notes], keep))

    def tag_timeline(self, req: Request) -> Response:
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        tag = "#" + req.params["tag"].lower()
        items = [p for p in reversed(self.world.posts("mastodon")) if tag in p.text.lower()]
        page = _id_window(items, req.arg("max_id"), req.arg("min_id"), req.arg("since_id"), _limit(req, 20, 40))
        keep = {k: v for k, v in req.query.items() if k == "limit"}
        return Response.json([self._status(p) for p in page], headers=_link(req, [p.id for p in page], keep))

    def account_statuses(self, req: Request) -> Response:
        """GET /api/v1/accounts/:id/statuses: an account's own posts (the brand's replies included)."""
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        account_id = req.params["id"]
        items = [p for p in reversed(self.world.posts("mastodon")) if str(p.author.id) == account_id]
        page = _id_window(items, req.arg("max_id"), req.arg("min_id"), req.arg("since_id"), _limit(req, 20, 40))
        keep = {k: v for k, v in req.query.items() if k == "limit"}
        return Response.json([self._status(p) for p in page], headers=_link(req, [p.id for p in page], keep))

    def status(self, req: Request) -> Response:
        post = self.world.get("mastodon", req.params["id"])
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        return Response.json(self._status(post)) if post else MastodonErrors().not_found()

    def context(self, req: Request) -> Response:
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        post = self.world.get("mastodon", req.params["id"])
        if post is None:
            return MastodonErrors().not_found()
        ancestors: list[dict[str, Any]] = []
        cursor = self.world.get("mastodon", post.parent_id)
        while cursor is not None:
            ancestors.insert(0, self._status(cursor))
            cursor = self.world.get("mastodon", cursor.parent_id)
        descendants: list[dict[str, Any]] = []
        frontier = [post.id]
        while frontier:
            children = [c for f in frontier for c in self.world.children("mastodon", f)]
            descendants += [self._status(c) for c in children]
            frontier = [c.id for c in children]
        return Response.json({"ancestors": ancestors, "descendants": descendants})

    # --- writes ---------------------------------------------------------------------------
    def post_status(self, req: Request) -> Response:
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        key = req.headers.get("idempotency-key")
        with self._lock:
            if key and key in self._idempotent:
                return Response.json(self._idempotent[key])
            form = req.form()
            text = str(form.get("status") or "")
            if not text.strip():
                return Response.json({"error": "Validation failed: Text can't be blank"}, 422)
            if len(text) > 500:
                return Response.json({"error": "Validation failed: Text character limit of 500 exceeded"}, 422)
            visibility = str(form.get("visibility") or "public")
            if visibility not in VISIBILITIES:
                return Response.json({"error": f"Validation failed: Visibility '{visibility}' is not a valid "
                                      "visibility"}, 422)
            parent_id = form.get("in_reply_to_id") or None
            if parent_id and self.world.get("mastodon", str(parent_id)) is None:
                return Response.json({"error": "The post you are trying to reply to does not appear to exist."},
                                     404)
            post = self.world.add_post("mastodon", text, author=self.world.account("mastodon"),
                                       parent_id=str(parent_id) if parent_id else None,
                                       lang=str(form.get("language") or "en"), via_api=True,
                                       extra={"visibility": visibility})
            rendered = self._status(post)
            rendered["application"] = {"name": "Earful", "website": None}
            if key:
                self._idempotent[key] = rendered
        return Response.json(rendered)

    def favourite(self, req: Request) -> Response:
        """POST /api/v1/statuses/:id/favourite: idempotent, answers the status as the caller sees it."""
        if not self._authorized(req):
            return MastodonErrors().unauthorized()
        post = self.world.get("mastodon", req.params["id"])
        if post is None:
            return MastodonErrors().not_found()
        with self._lock:
            if post.id not in self.favourited:
                self.favourited.add(post.id)
                post.likes += 1
        return Response.json(self._status(post))

    # --- rendering ------------------------------------------------------------------------
    def _search_match(self, q: Any, post: Post) -> bool:
        if not q.matches(post.text):
            return False
        if q.values("language") and post.lang not in q.values("language"):
            return False
        if any(post.author.handle.lower() != v.lower().lstrip("@") for v in q.values("from")):
            return False
        after, before = parse_time(next(iter(q.values("after")), None)), parse_time(next(iter(q.values("before")), None))
        return not (after and post.created_at < after or before and post.created_at >= before)

    def _account(self, author: Author) -> dict[str, Any]:
        username, _, domain = author.handle.partition("@")
        domain = domain or MASTODON_DOMAIN
        return {
            "id": author.id, "username": username, "acct": author.handle, "display_name": author.name,
            "locked": False, "bot": False, "discoverable": True, "indexable": True, "group": False,
            "created_at": iso_ms(author.created_at.replace(hour=0, minute=0, second=0, microsecond=0)),
            "note": f"<p>{'Official account' if author.brand else 'Travel and coffee.'}</p>",
            "url": f"https://{domain}/@{username}", "uri": f"https://{domain}/users/{username}",
            "avatar": f"https://{MASTODON_DOMAIN}/avatars/original/missing.png",
            "avatar_static": f"https://{MASTODON_DOMAIN}/avatars/original/missing.png",
            "header": f"https://{MASTODON_DOMAIN}/headers/original/missing.png",
            "header_static": f"https://{MASTODON_DOMAIN}/headers/original/missing.png",
            "followers_count": author.followers, "following_count": author.following,
            "statuses_count": author.posts_count, "last_status_at": None, "hide_collections": False,
            "noindex": False, "emojis": [], "roles": [], "fields": []}

    def _status(self, post: Post) -> dict[str, Any]:
        parent = self.world.get("mastodon", post.parent_id)
        username, _, domain = post.author.handle.partition("@")
        domain = domain or MASTODON_DOMAIN
        mentions = []
        for match in _MENTION.finditer(post.text):
            acct = match.group(1) + (f"@{match.group(2)}" if match.group(2) else "")
            found = self.world.find_author("mastodon", acct)
            mention_domain = match.group(2) or MASTODON_DOMAIN
            mentions.append({"id": found.id if found else numeric_id(18, "mastodon", acct), "username": match.group(1),
                             "url": f"https://{mention_domain}/@{match.group(1)}", "acct": acct})
        tags = [{"name": t.lower(), "url": f"https://{MASTODON_DOMAIN}/tags/{t.lower()}"}
                for t in _HASHTAG.findall(post.text)]
        return {
            "id": post.id, "created_at": iso_ms(post.created_at),
            "in_reply_to_id": parent.id if parent else None,
            "in_reply_to_account_id": parent.author.id if parent else None, "sensitive": False,
            "spoiler_text": "", "visibility": post.extra.get("visibility", "public"), "language": post.lang,
            "uri": f"https://{domain}/users/{username}/statuses/{post.id}",
            "url": f"https://{domain}/@{username}/{post.id}", "replies_count": post.replies,
            "reblogs_count": post.reposts, "favourites_count": post.likes, "edited_at": None,
            "favourited": post.id in self.favourited, "reblogged": False, "muted": False, "bookmarked": False,
            "content": _content_html(post.text), "filtered": [], "reblog": None,
            "account": self._account(post.author), "media_attachments": [], "mentions": mentions,
            "tags": tags, "emojis": [], "card": None, "poll": None}


def _mentions(text: str, tag: str) -> bool:
    """``@skylarkair`` or ``@skylarkair@mastodon.example``, but not ``@skylarkair.bsky.social``."""
    return re.search(re.escape(tag) + rf"(?:@{re.escape(MASTODON_DOMAIN)})?(?![\w.@])", text) is not None


def _content_html(text: str) -> str:
    def mention(match: re.Match[str]) -> str:
        user, domain = match.group(1), match.group(2) or MASTODON_DOMAIN
        return (f'<span class="h-card" translate="no"><a href="https://{domain}/@{user}" class="u-url mention">'
                f"@<span>{user}</span></a></span>")

    escaped = html.escape(text, quote=False)
    linked = _MENTION.sub(mention, escaped)
    linked = _HASHTAG.sub(lambda m: f'<a href="https://{MASTODON_DOMAIN}/tags/{m.group(1).lower()}" '
                          f'class="mention hashtag" rel="tag">#<span>{m.group(1)}</span></a>', linked)
    return f"<p>{linked}</p>"


def _limit(req: Request, default: int, most: int) -> int:
    try:
        return max(1, min(int(req.arg("limit") or default), most))
    except ValueError:
        return default


def _id_window(newest_first: list[Post], max_id: str | None, min_id: str | None, since_id: str | None,
               limit: int, key: Any = None) -> list[Post]:
    """Mastodon's id pagination: max_id (older than), since_id (newer than, newest page),
    min_id (newer than, the page right after it)."""
    key = key or (lambda p: int(p.id))
    items = newest_first
    if max_id and max_id.isdigit():
        items = [p for p in items if key(p) < int(max_id)]
    if since_id and since_id.isdigit():
        items = [p for p in items if key(p) > int(since_id)]
    if min_id and min_id.isdigit():
        items = [p for p in items if key(p) > int(min_id)]
        return list(reversed(list(reversed(items))[:limit]))
    return items[:limit]


def _link(req: Request, ids: list[str], keep: dict[str, list[str]]) -> dict[str, str]:
    if not ids:
        return {}
    base = f"{req.base_url}{req.path.rstrip('/')}"
    pairs = [(k, v) for k, vs in keep.items() for v in vs]
    next_url = f"{base}?{urlencode(pairs + [('max_id', ids[-1])])}"
    prev_url = f"{base}?{urlencode(pairs + [('min_id', ids[0])])}"
    return {"Link": f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'}


def install(server: FakeServer, world: World, creds: MastodonCredentials) -> MastodonApi:
    api = MastodonApi(world, creds)
    api.install(server)
    return api
