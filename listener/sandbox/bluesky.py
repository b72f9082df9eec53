"""Fake Bluesky PDS + AppView (XRPC): sessions, profiles, search, threads, notifications, posts and likes.

Lexicon shapes from docs.bsky.app: posts are AT URIs with real CIDs, records carry ``$type``, facets
use UTF-8 byte offsets, replies carry ``root`` / ``parent`` strong refs. ``createSession`` returns
HS256 JWTs with ``exp`` (the atproto client decodes but does not verify them; the fake does) and no
``didDoc``, so the client keeps talking to this host. Token expiry follows the real clock because the
client checks it against the real clock. A reply whose parent the fake does not know is refused
(the real PDS would store an orphan), which catches wrong refs early.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from typing import Any

from listener.sandbox import ids
from listener.sandbox.common import RateWindow, bearer, decode_cursor, encode_cursor, iso_ms, parse_time
from listener.sandbox.credentials import BlueskyCredentials
from listener.sandbox.faults import ErrorStyle, Fault
from listener.sandbox.query import parse
from listener.sandbox.server import FakeServer, Request, Response
from listener.sandbox.world import Author, Post, World

_MENTION = re.compile(r"@([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)")
_TAG = re.compile(r"#(\w+)")
ACCESS_TTL_S = 2 * 3600
REFRESH_TTL_S = 60 * 86400


def _xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response.json({"error": error, "message": message}, status, headers)


class BlueskyErrors(ErrorStyle):
    required_fields = (("uri",), ("cid",))

    def rate_limited(self, fault: Fault, now: Any) -> Response:
        headers = {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-policy": "3000;w=300"}
        if fault.with_reset:
            headers["ratelimit-reset"] = str(int(now.timestamp()) + fault.retry_after_s)
        return _xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)

    def server_error(self, status: int) -> Response:
        return _xrpc_error(status, "InternalServerError", "Internal Server Error")

    def unauthorized(self) -> Response:
        return _xrpc_error(401, "InvalidToken", "Token could not be verified")

    def not_found(self) -> Response:
        return _xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")


class BlueskyApi:
    def __init__(self, world: World, creds: BlueskyCredentials) -> None:
        self.world = world
        self.creds = creds
        self._secret = secrets.token_bytes(32)
        self.window = RateWindow(3000, 300)
        self._seen_at: str | None = None
        self.likes: dict[str, dict[str, Any]] = {}  # like record uri -> the app.bsky.feed.like record
        self._lock = threading.Lock()

    def install(self, server: FakeServer) -> None:
        server.style = BlueskyErrors()
        routes = {
            ("POST", "com.atproto.server.createSession"): self.create_session,
            ("POST", "com.atproto.server.refreshSession"): self.refresh_session,
            ("GET", "com.atproto.server.getSession"): self.get_session,
            ("GET", "com.atproto.identity.resolveHandle"): self.resolve_handle,
            ("GET", "app.bsky.actor.getProfile"): self.get_profile,
            ("GET", "app.bsky.feed.searchPosts"): self.search_posts,
            ("GET", "app.bsky.feed.getPosts"): self.get_posts,
            ("GET", "app.bsky.feed.getPostThread"): self.get_post_thread,
            ("GET", "app.bsky.notification.listNotifications"): self.list_notifications,
            ("POST", "app.bsky.notification.updateSeen"): self.update_seen,
            ("POST", "com.atproto.repo.createRecord"): self.create_record,
        }
        for (method, nsid), handler in routes.items():
            server.route(method, f"/xrpc/{nsid}", handler)
        server.before_response.append(self._rate_headers)

    # --- tokens ---------------------------------------------------------------------------
    def _jwt(self, scope: str, ttl_s: int) -> str:
        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

        now = int(time.time())
        brand = self.world.account("bluesky")
        head = part({"typ": "at+jwt" if scope != "com.atproto.refresh" else "refresh+jwt", "alg": "HS256"})
        body = part({"scope": scope, "sub": brand.id, "aud": "did:web:bsky.sandbox", "iat": now,
                     "exp": now + ttl_s, "jti": secrets.token_hex(8)})
        sig = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"

    def _claims(self, req: Request) -> dict[str, Any] | Response:
        token = bearer(req)
        if not token:
            return _xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        try:
            head, body, sig = token.split(".")
            expected = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)), expected):
                raise ValueError("bad signature")
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return BlueskyErrors().unauthorized()
        if claims.get("exp", 0) < time.time():
            return _xrpc_error(400, "ExpiredToken", "Token has expired")
        return dict(claims)

    def _access(self, req: Request) -> Response | None:
        claims = self._claims(req)
        if isinstance(claims, Response):
            return claims
        if claims.get("scope") == "com.atproto.refresh":
            return _xrpc_error(400, "InvalidToken", "Bad token scope")
        return None

    def _session(self) -> dict[str, Any]:
        brand = self.world.account("bluesky")
        return {"accessJwt": self._jwt("com.atproto.appPass", ACCESS_TTL_S),
                "refreshJwt": self._jwt("com.atproto.refresh", REFRESH_TTL_S),
                "handle": brand.handle, "did": brand.id, "email": "social@skylark.example",
                "emailConfirmed": True, "emailAuthFactor": False, "active": True}

    def _rate_headers(self, req: Request, response: Response) -> None:
        if response.status != 429:
            _, remaining, reset = self.window.hit("ip", self.world.now())
            response.headers.update({"ratelimit-limit": "3000", "ratelimit-remaining": str(remaining),
                                     "ratelimit-reset": str(reset), "ratelimit-policy": "3000;w=300"})

    # --- server / identity ----------------------------------------------------------------
    def create_session(self, req: Request) -> Response:
        try:
            body = req.json() or {}
        except ValueError:
            return _xrpc_error(400, "InvalidRequest", "Invalid JSON body")
        brand = self.world.account("bluesky")
        if body.get("identifier") not in (self.creds.identifier, brand.id) or body.get("password") != self.creds.password:
            return _xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        return Response.json(self._session())

    def refresh_session(self, req: Request) -> Response:
        claims = self._claims(req)
        if isinstance(claims, Response):
            return claims
        if claims.get("scope") != "com.atproto.refresh":
            return _xrpc_error(400, "InvalidToken", "Invalid token type")
        session = self._session()
        return Response.json({k: session[k] for k in ("accessJwt", "refreshJwt", "handle", "did", "active")})

    def get_session(self, req: Request) -> Response:
        refused = self._access(req)
        if refused:
            return refused
        session = self._session()
        return Response.json({k: session[k] for k in ("handle", "did", "email", "emailConfirmed", "active")})

    def resolve_handle(self, req: Request) -> Response:
        author = self.world.find_author("bluesky", req.arg("handle", "") or "")
        if author is None:
            return _xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
        return Response.json({"did": author.id})

    def get_profile(self, req: Request) -> Response:
        refused = self._access(req)
        if refused:
            return refused
        author = self.world.find_author("bluesky", req.arg("actor", "") or "")
        if author is None:
            return _xrpc_error(400, "InvalidRequest", "Profile not found")
        profile = self._profile(author)
        profile.update({"description": "Official Skylark Air account." if author.brand else "Travel notes.",
                        "followersCount": author.followers, "followsCount": author.following,
                        "postsCount": author.posts_count, "indexedAt": iso_ms(author.created_at),
                        "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False}})
        return Response.json(profile)

    # --- feed -----------------------------------------------------------------------------
    def search_posts(self, req: Request) -> Response:
        refused = self._access(req)
        if refused:
            return refused
        query = req.arg("q")
        if not query:
            return _xrpc_error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        limit = _limit(req.arg("limit"), 25)
        if limit is None:
            return _xrpc_error(400, "InvalidRequest", "Error: limit must be between 1 and 100")
        q = parse(query)
        since = parse_time(req.arg("since") or next(iter(q.values("since")), None))
        until = parse_time(req.arg("until") or next(iter(q.values("until")), None))
        langs = set(req.args("lang") + q.values("lang"))
        author = req.arg("author") or next(iter(q.values("from")), None)
        found = []
        for post in reversed(self.world.posts("bluesky")):
            if not q.matches(post.text) or (langs and post.lang not in langs):
                continue
            if since and post.created_at < since or until and post.created_at >= until:
                continue
            if author and author.lstrip("@").lower() not in (post.author.handle.lower(), post.author.id):
                continue
            found.append(post)
        if req.arg("sort") == "top":
            found.sort(key=lambda p: -p.likes)
            offset = int((decode_cursor(req.arg("cursor")) or {}).get("offset", 0))
            page = found[offset:offset + limit]
            cursor = encode_cursor(offset=offset + limit) if len(found) > offset + limit else None
        else:
            page, cursor = _page(found, req.arg("cursor"), limit)
        payload: dict[str, Any] = {"posts": [self._post_view(p) for p in page], "hitsTotal": len(found)}
        if cursor:
            payload["cursor"] = cursor
        return Response.json(payload)

    def get_posts(self, req: Request) -> Response:
        refused = self._access(req)
        if refused:
            return refused
        posts = [p for uri in req.args("uris") if (p := self.world.get("bluesky", uri)) is not None]
        return Response.json({"posts": [self._post_view(p) for p in posts]})

    def get_post_thread(self, req: Request) -> Response:
        """A threadViewPost with ``replies`` to ``depth`` levels (default 6) and ``parent`` above it."""
        refused = self._access(req)
        if refused:
            return refused
        post = self.world.get("bluesky", req.arg("uri"))
        if post is None:
            return _xrpc_error(400, "NotFound", f"Post not found: {req.arg('uri')}")
        try:
            depth, height = int(req.arg("depth") or 6), int(req.arg("parentHeight") or 80)
        except ValueError:
            depth = height = -1
        if not (0 <= depth <= 1000 and 0 <= height <= 1000):
            return _xrpc_error(400, "InvalidRequest", "Error: depth and parentHeight must be between 0 and 1000")
        thread = self._thread(post, depth)
        node, parent = thread, self.world.get("bluesky", post.parent_id)
        for _ in range(height):
            if parent is None:
                break
            node["parent"] = {"$type": "app.bsky.feed.defs#threadViewPost", "post": self._post_view(parent)}
            node, parent = node["parent"], self.world.get("bluesky", parent.parent_id)
        return Response.json({"thread": thread})

    def _thread(self, post: Post, depth: int) -> dict[str, Any]:
        node: dict[str, Any] = {"$type": "app.bsky.feed.defs#threadViewPost", "post": self._post_view(post)}
        if depth > 0:
            node["replies"] = [self._thread(child, depth - 1) for child in self.world.children("bluesky", post.id)]
        return node

    def list_notifications(self, req: Request) -> Response:
        refused = self._access(req)
        if refused:
            return refused
        limit = _limit(req.arg("limit"), 50)
        if limit is None:
            return _xrpc_error(400, "InvalidRequest", "Error: limit must be between 1 and 100")
        reasons = set(req.args("reasons"))
        brand = self.world.account("bluesky")
        with self._lock:
            seen_at = parse_time(self._seen_at)
        items = []
        for post in reversed(self.world.posts("bluesky")):
            if post.author.id == brand.id:
                continue
            parent = self.world.get("bluesky", post.parent_id)
            reason = "reply" if parent is not None and parent.author.id == brand.id else (
                "mention" if ("@" + brand.handle).lower() in post.text.lower() else None)
            if reason is None or (reasons and reason not in reasons):
                continue
            items.append((post, reason, parent))
        page, cursor = _page(items, req.arg("cursor"), limit, key=lambda item: item[0].seq)
        notes = []
        for post, reason, parent in page:
            note: dict[str, Any] = {
                "uri": post.id, "cid": post.extra["cid"], "author": self._profile(post.author),
                "reason": reason, "record": self._record(post), "isRead": bool(seen_at and post.created_at <= seen_at),
                "indexedAt": iso_ms(post.created_at), "labels": []}
            if reason == "reply" and parent is not None:
                note["reasonSubject"] = parent.id
            notes.append(note)
        payload: dict[str, Any] = {"notifications": notes, "priority": False}
        if cursor:
            payload["cursor"] = cursor
        if self._seen_at:
            payload["seenAt"] = self._seen_at
        return Response.json(payload)

    def update_seen(self, req: Request) -> Response:
        refused = self._access(req)
        if refused:
            return refused
        with self._lock:
            self._seen_at = (req.json() or {}).get("seenAt")
        return Response.empty(200)

    # --- repo -----------------------------------------------------------------------------
    def create_record(self, req: Request) -> Response:
        refused = self._access(req)
        if refused:
            return refused
        try:
            body = req.json() or {}
        except ValueError:
            return _xrpc_error(400, "InvalidRequest", "Invalid JSON body")
        brand = self.world.account("bluesky")
        if body.get("repo") not in (brand.id, brand.handle):
            return _xrpc_error(400, "InvalidRequest", "Can not create records in another repo")
        if body.get("collection") == "app.bsky.feed.like":
            return self._create_like(body.get("record") or {})
        if body.get("collection") != "app.bsky.feed.post":
            return _xrpc_error(400, "InvalidRequest", "The sandbox only stores app.bsky.feed.post and "
                               "app.bsky.feed.like records")
        record = body.get("record") or {}
        text = record.get("text")
        if not isinstance(text, str) or "createdAt" not in record:
            return _xrpc_error(400, "InvalidRequest", "Invalid app.bsky.feed.post record: Record must have the "
                               "properties \"text\" and \"createdAt\"")
        if len(text) > 300:
            return _xrpc_error(400, "InvalidRequest", "Invalid app.bsky.feed.post record: Record/text must not "
                               "be longer than 300 graphemes")
        parent_id = None
        if record.get("reply"):
            parent_ref, root_ref = record["reply"].get("parent") or {}, record["reply"].get("root") or {}
            parent = self.world.get("bluesky", parent_ref.get("uri"))
            root = self.world.get("bluesky", root_ref.get("uri"))
            if parent is None or root is None or parent.extra["cid"] != parent_ref.get("cid") \
                    or root.extra["cid"] != root_ref.get("cid"):
                return _xrpc_error(400, "InvalidRequest", "Reply refs do not match a known post (uri + cid)")
            parent_id = parent.id
        langs = record.get("langs") or ["en"]
        post = self.world.add_post("bluesky", text, author=brand, parent_id=parent_id, lang=langs[0],
                                   via_api=True, extra={"record": record})
        return Response.json({"uri": post.id, "cid": post.extra["cid"],
                              "commit": {"cid": post.extra["cid"], "rev": post.id.rsplit("/", 1)[-1]},
                              "validationStatus": "valid"})

    def _create_like(self, record: dict[str, Any]) -> Response:
        subject = record.get("subject") or {}
        post = self.world.get("bluesky", subject.get("uri"))
        if "createdAt" not in record or post is None or post.extra["cid"] != subject.get("cid"):
            return _xrpc_error(400, "InvalidRequest", "Invalid app.bsky.feed.like record: subject must be a "
                               "strong ref (uri + cid) to a known post")
        brand = self.world.account("bluesky")
        with self._lock:
            seq = len(self.likes) + 1
            uri = f"at://{brand.id}/app.bsky.feed.like/{ids.bluesky_tid(self.world.now(), seq)}"
            self.likes[uri] = dict(record)
        post.likes += 1
        cid = ids.bluesky_cid(uri, post.id)
        return Response.json({"uri": uri, "cid": cid, "commit": {"cid": cid, "rev": uri.rsplit("/", 1)[-1]},
                              "validationStatus": "valid"})

    # --- rendering ------------------------------------------------------------------------
    def _profile(self, author: Author) -> dict[str, Any]:
        return {"did": author.id, "handle": author.handle, "displayName": author.name,
                "avatar": f"https://cdn.bsky.app/img/avatar/plain/{author.id}/avatar@jpeg",
                "viewer": {"muted": False, "blockedBy": False}, "labels": [],
                "createdAt": iso_ms(author.created_at)}

    def _record(self, post: Post) -> dict[str, Any]:
        if "record" in post.extra:
            return dict(post.extra["record"])
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": iso_ms(post.created_at),
                                  "langs": [post.lang], "text": post.text}
        facets = self._facets(post.text)
        if facets:
            record["facets"] = facets
        parent = self.world.get("bluesky", post.parent_id)
        root = self.world.get("bluesky", post.root_id)
        if parent is not None and root is not None:
            record["reply"] = {"root": {"uri": root.id, "cid": root.extra["cid"]},
                               "parent": {"uri": parent.id, "cid": parent.extra["cid"]}}
        return record

    def _facets(self, text: str) -> list[dict[str, Any]]:
        facets = []
        for match in _MENTION.finditer(text):
            author = self.world.find_author("bluesky", match.group(1))
            if author is not None:
                facets.append(_facet(text, match, {"$type": "app.bsky.richtext.facet#mention", "did": author.id}))
        for match in _TAG.finditer(text):
            facets.append(_facet(text, match, {"$type": "app.bsky.richtext.facet#tag", "tag": match.group(1)}))
        return facets

    def _post_view(self, post: Post) -> dict[str, Any]:
        return {"uri": post.id, "cid": post.extra["cid"], "author": self._profile(post.author),
                "record": self._record(post), "replyCount": post.replies, "repostCount": post.reposts,
                "likeCount": post.likes, "quoteCount": post.quotes, "indexedAt": iso_ms(post.created_at),
                "viewer": {"threadMuted": False, "embeddingDisabled": False}, "labels": []}


def _facet(text: str, match: re.Match[str], feature: dict[str, Any]) -> dict[str, Any]:
    start = len(text[:match.start()].encode("utf-8"))
    end = start + len(match.group(0).encode("utf-8"))
    return {"$type": "app.bsky.richtext.facet", "index": {"byteStart": start, "byteEnd": end}, "features": [feature]}


def _limit(value: str | None, default: int) -> int | None:
    try:
        number = int(value) if value else default
    except ValueError:
        return None
    return number if 1 <= number <= 100 else None


def _page(newest_first: list[Any], token: str | None, limit: int, key: Any = None) -> tuple[list[Any], str | None]:
    """Cursor pinned to the last item's sequence, so arrivals between pages do not shift it."""
    key = key or (lambda p: p.seq)
    cursor = decode_cursor(token)
    if cursor is not None and "before" in cursor:
        newest_first = [i for i in newest_first if key(i) < cursor["before"]]
    page = newest_first[:limit]
    more = len(newest_first) > limit
    return page, (encode_cursor(before=key(page[-1])) if more and page else None)


def install(server: FakeServer, world: World, creds: BlueskyCredentials) -> BlueskyApi:
    api = BlueskyApi(world, creds)
    api.install(server)
    return api
