"""Fake Reddit OAuth API: token endpoint, search, listings, inbox, commenting, voting and removing.

Answers are ``Listing`` things with ``t3`` (submission) / ``t1`` (comment) children and ``after``
fullnames, as documented at reddit.com/dev/api. A script app gets a user token with
``grant_type=password``; ``client_credentials`` gives a read-only token that is refused on the inbox
and on commenting. The brand account moderates its own subreddit (``MODERATED``), so removing a
thing elsewhere is refused with 403, as on Reddit. 401s carry ``www-authenticate`` (prawcore needs
it); rate headers follow Reddit's ``x-ratelimit-*`` (seconds-to-reset, not epoch).
"""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import timedelta
from typing import Any

from listener.sandbox.common import RateWindow, bearer
from listener.sandbox.credentials import RedditCredentials
from listener.sandbox.faults import ErrorStyle, Fault
from listener.sandbox.query import parse
from listener.sandbox.server import FakeServer, Request, Response
from listener.sandbox.world import Author, Post, World

_TIME_FILTERS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7),
                 "month": timedelta(days=30), "year": timedelta(days=365)}
_TRUE = {"1", "true", "on", "yes"}
# Subreddits (lower case) and the brand whose account moderates them.
MODERATED = {"skylarkair": "skylark", "nimbusairways": "nimbus"}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response.json({"message": message, "error": status}, status, headers)


class RedditErrors(ErrorStyle):
    required_fields = (("data", "id"), ("data", "name"))

    def rate_limited(self, fault: Fault, now: Any) -> Response:
        headers = {}
        if fault.with_reset:
            headers = {"retry-after": str(fault.retry_after_s), "x-ratelimit-remaining": "0",
                       "x-ratelimit-used": "1000", "x-ratelimit-reset": str(fault.retry_after_s)}
        return _error(429, "Too Many Requests", headers)

    def server_error(self, status: int) -> Response:
        return _error(status, "Internal Server Error" if status == 500 else "Service Unavailable")

    def unauthorized(self) -> Response:
        return _error(401, "Unauthorized", {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'})

    def not_found(self) -> Response:
        return _error(404, "Not Found")


class RedditApi:
    def __init__(self, world: World, creds: RedditCredentials) -> None:
        self.world = world
        self.creds = creds
        self._tokens: dict[str, str] = {}  # token -> "user" | "app"
        self._read: set[str] = set()  # fullnames marked read in the inbox
        self.votes: dict[str, int] = {}  # fullname -> the brand account's vote (1, 0, -1)
        # While set, commenting answers Reddit's RATELIMIT error ("take a break for N seconds"), which
        # Reddit sends in a 200 answer's json.errors, not as a 429.
        self.comment_ratelimit_s: int | None = None
        self._lock = threading.Lock()
        self.window = RateWindow(1000, 600)
        # prawcore paces (sleeps) from x-ratelimit-* headers; off by default so tests and the demo run
        # at full speed, on to exercise Earful's handling of them.
        self.send_rate_headers = False

    def install(self, server: FakeServer) -> None:
        server.style = RedditErrors()
        server.route("POST", "/api/v1/access_token", self.access_token)
        server.route("GET", "/api/v1/me", self.me)
        server.route("GET", "/search", self.search)
        server.route("GET", "/r/{sub}/search", self.search)
        server.route("GET", "/r/{sub}/new", self.new)
        server.route("GET", "/r/{sub}/comments", self.subreddit_comments)
        server.route("GET", "/comments/{id}", self.submission)
        server.route("GET", "/comments/{id}/{slug}", self.submission)
        server.route("GET", "/api/info", self.info)
        server.route("GET", "/user/{name}/about", self.user_about)
        server.route("GET", "/user/{name}/comments", self.user_comments)
        for box in ("mentions", "inbox", "unread", "comments"):
            server.route("GET", f"/message/{box}", self.inbox)
        server.route("POST", "/api/read_message", self.read_message)
        server.route("POST", "/api/comment", self.comment)
        server.route("POST", "/api/vote", self.vote)
        server.route("POST", "/api/remove", self.remove)
        server.before_response.append(self._rate_headers)

    # --- auth -----------------------------------------------------------------------------
    def access_token(self, req: Request) -> Response:
        scheme, _, encoded = req.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            client_id, secret = "", ""
        if scheme.lower() != "basic" or (client_id, secret) != (self.creds.client_id, self.creds.client_secret):
            return RedditErrors().unauthorized()
        form = req.form()
        grant = form.get("grant_type", "")
        if grant == "password":
            if (form.get("username"), form.get("password")) != (self.creds.username, self.creds.password):
                return Response.json({"error": "invalid_grant"})  # Reddit answers 200 here
            context = "user"
        elif grant in ("client_credentials", "https://oauth.reddit.com/grants/installed_client"):
            context = "app"
        else:
            return Response.json({"error": "unsupported_grant_type"})
        token = f"sandbox-reddit-{context}-{secrets.token_hex(8)}"
        with self._lock:
            self._tokens[token] = context
        return Response.json({"access_token": token, "token_type": "bearer", "expires_in": 86400,
                              "scope": "*"})

    def _context(self, req: Request) -> str | None:
        with self._lock:
            return self._tokens.get(bearer(req) or "")

    def _rate_headers(self, req: Request, response: Response) -> None:
        if not self.send_rate_headers or req.path.startswith("/api/v1/access_token") or response.status == 429:
            return
        used, remaining, reset = self.window.hit(bearer(req) or "-", self.world.now())
        now = int(self.world.now().timestamp())
        response.headers.update({"x-ratelimit-used": str(used), "x-ratelimit-remaining": f"{remaining}.0",
                                 "x-ratelimit-reset": str(max(reset - now, 1))})

    # --- reads ----------------------------------------------------------------------------
    def me(self, req: Request) -> Response:
        if self._context(req) != "user":
            return RedditErrors().unauthorized() if self._context(req) is None else _error(403, "Forbidden")
        return Response.json(self._account(self.world.account("reddit")))

    def user_about(self, req: Request) -> Response:
        if self._context(req) is None:
            return RedditErrors().unauthorized()
        author = self.world.find_author("reddit", req.params["name"])
        if author is None:
            return _error(404, "Not Found")
        return Response.json({"kind": "t2", "data": self._account(author)})

    def user_comments(self, req: Request) -> Response:
        """GET /user/:name/comments: a user's comments, newest first (where a reply can be looked up)."""
        if self._context(req) is None:
            return RedditErrors().unauthorized()
        author = self.world.find_author("reddit", req.params["name"])
        if author is None:
            return _error(404, "Not Found")
        posts = [p for p in self.world.posts("reddit") if p.kind == "t1" and p.author.id == author.id]
        return self._listing(req, posts, lambda p: self._thing(p, with_link=True))

    def search(self, req: Request) -> Response:
        if self._context(req) is None:
            return RedditErrors().unauthorized()
        q = parse(req.arg("q", "") or "")
        subs = self._subs(req.params.get("sub"))
        restrict = (req.arg("restrict_sr", "") or "").lower() in _TRUE
        window = _TIME_FILTERS.get(req.arg("t", "all") or "all")
        now = self.world.now()
        found = []
        for post in self.world.posts("reddit"):
            if post.kind != "t3" or not q.matches(post.title, post.text):
                continue
            if restrict and subs and post.place.lower() not in subs:  # type: ignore[union-attr]
                continue
            if any(post.place.lower() != s.lower() for s in q.values("subreddit")):  # type: ignore[union-attr]
                continue
            if any(post.author.handle.lower() != a.lower() for a in q.values("author")):
                continue
            if window and post.created_at < now - window:
                continue
            found.append(post)
        if (req.arg("sort") or "relevance") == "top":
            found.sort(key=lambda p: p.likes)
        return self._listing(req, found, self._thing)

    def new(self, req: Request) -> Response:
        if self._context(req) is None:
            return RedditErrors().unauthorized()
        subs = self._subs(req.params["sub"])
        posts = [p for p in self.world.posts("reddit") if p.kind == "t3" and (not subs or p.place.lower() in subs)]  # type: ignore[union-attr]
        return self._listing(req, posts, self._thing)

    def subreddit_comments(self, req: Request) -> Response:
        if self._context(req) is None:
            return RedditErrors().unauthorized()
        subs = self._subs(req.params["sub"])
        posts = [p for p in self.world.posts("reddit") if p.kind == "t1" and (not subs or p.place.lower() in subs)]  # type: ignore[union-attr]
        return self._listing(req, posts, lambda p: self._thing(p, with_link=True))

    def info(self, req: Request) -> Response:
        if self._context(req) is None:
            return RedditErrors().unauthorized()
        posts = [p for name in req.args("id") if (p := self._by_fullname(name)) is not None]
        return self._listing(req, list(reversed(posts)), self._thing)

    def submission(self, req: Request) -> Response:
        if self._context(req) is None:
            return RedditErrors().unauthorized()
        post = self.world.get("reddit", req.params["id"])
        if post is None or post.kind != "t3":
            return _error(404, "Not Found")
        tree = self._tree(post.id, depth=0)
        return Response.json([_listing_json([self._thing(post)], None, None),
                              _listing_json(tree, None, None)])

    def inbox(self, req: Request) -> Response:
        context = self._context(req)
        if context != "user":
            return RedditErrors().unauthorized() if context is None else _error(403, "Forbidden")
        box = req.path.rstrip("/").rsplit("/", 1)[-1]
        brand = self.world.account("reddit")
        tag = f"u/{brand.handle}".lower()
        items = []
        for post in self.world.posts("reddit"):
            if post.author.id == brand.id or post.kind != "t1":
                continue
            parent = self.world.get("reddit", post.parent_id)
            kind = "username_mention" if tag in post.text.lower() else None
            if parent is not None and parent.author.id == brand.id:
                kind = "post_reply" if parent.kind == "t3" else "comment_reply"
            if kind is None or (box == "mentions" and kind != "username_mention"):
                continue
            if box == "comments" and kind == "username_mention":
                continue
            if box == "unread" and "t1_" + post.id in self._read:
                continue
            items.append((post, kind))
        with self._lock:
            read = set(self._read)
        return self._listing(req, items, lambda item: self._message(item[0], item[1], read),
                             name=lambda item: "t1_" + item[0].id)

    # --- writes ---------------------------------------------------------------------------
    def read_message(self, req: Request) -> Response:
        if self._context(req) != "user":
            return RedditErrors().unauthorized()
        with self._lock:
            self._read.update(n for n in req.form().get("id", "").split(",") if n)
        return Response.json({})

    def comment(self, req: Request) -> Response:
        context = self._context(req)
        if context != "user":
            return RedditErrors().unauthorized() if context is None else _error(403, "Forbidden")
        form = req.form()
        text, thing_id = form.get("text", ""), form.get("thing_id", "")
        if not thing_id:
            return Response.json({"json": {"errors": [["NO_THING_ID", "no thing id", "parent"]]}})
        if not text.strip():
            return Response.json({"json": {"errors": [["NO_TEXT", "we need something here", "text"]]}})
        if len(text) > 10_000:
            return Response.json({"json": {"errors": [["TOO_LONG", "this is too long (max: 10000)", "text"]]}})
        if self.comment_ratelimit_s:
            return Response.json({"json": {"errors": [[
                "RATELIMIT", f"Looks like you've been doing that a lot. Take a break for "
                f"{self.comment_ratelimit_s} seconds before trying again.", "ratelimit"]]}})
        parent = self._by_fullname(thing_id)
        if parent is None:
            error = ["DELETED_LINK", "the link you are commenting on has been deleted", "parent"] \
                if thing_id.startswith("t3_") else ["DELETED_COMMENT", "that comment has been deleted", "parent"]
            return Response.json({"json": {"errors": [error]}})
        post = self.world.reply("reddit", parent.id, text)
        return Response.json({"json": {"errors": [], "data": {"things": [self._thing(post)]}}})

    def vote(self, req: Request) -> Response:
        """POST /api/vote: dir 1, 0 or -1 on a thing; voting again replaces the vote."""
        context = self._context(req)
        if context != "user":
            return RedditErrors().unauthorized() if context is None else _error(403, "Forbidden")
        form = req.form()
        name, direction = form.get("id", ""), form.get("dir", "")
        if direction not in ("1", "0", "-1"):
            return _error(400, "Bad Request")
        post = self._by_fullname(name)
        if post is None:
            return _error(400, "Bad Request")
        with self._lock:
            before = self.votes.get(name, 0)
            self.votes[name] = int(direction)
        post.likes += int(direction) - before
        return Response.json({})

    def remove(self, req: Request) -> Response:
        """POST /api/remove: only a moderator of the thing's subreddit may remove it."""
        context = self._context(req)
        if context != "user":
            return RedditErrors().unauthorized() if context is None else _error(403, "Forbidden")
        form = req.form()
        post = self._by_fullname(form.get("id", ""))
        if post is None:
            return _error(400, "Bad Request")
        if MODERATED.get((post.place or "").lower()) != "skylark":
            return _error(403, "Forbidden")
        post.extra["removed"] = True
        post.extra["spam"] = (form.get("spam") or "").lower() in _TRUE
        return Response.json({})

    # --- rendering ------------------------------------------------------------------------
    def _subs(self, sub: str | None) -> set[str]:
        if not sub or sub.lower() in ("all", "popular"):
            return set()
        return {s.lower() for s in sub.split("+")}

    def _by_fullname(self, name: str) -> Post | None:
        prefix, _, bare = name.partition("_")
        post = self.world.get("reddit", bare)
        return post if post is not None and post.kind == prefix else None

    def _listing(self, req: Request, items: list[Any], render: Any, name: Any = None) -> Response:
        """Newest first, ``limit`` items, ``after``/``before`` fullnames."""
        name = name or (lambda p: f"{p.kind}_{p.id}")
        ordered = list(reversed(items))
        try:
            limit = max(1, min(int(req.arg("limit", "25") or 25), 100))
        except ValueError:
            limit = 25
        after, before = req.arg("after"), req.arg("before")
        names = [name(i) for i in ordered]
        if after and after in names:
            ordered = ordered[names.index(after) + 1:]
        elif before and before in names:
            ordered = ordered[:names.index(before)][-limit:]
        page = ordered[:limit]
        next_after = name(page[-1]) if len(ordered) > limit else None
        prev = name(page[0]) if page and (after or before) else None
        return Response.json(_listing_json([render(i) for i in page], next_after, prev))

    def _tree(self, parent_id: str, depth: int) -> list[dict[str, Any]]:
        things = []
        for child in self.world.children("reddit", parent_id):
            thing = self._thing(child)
            replies = self._tree(child.id, depth + 1)
            thing["data"]["depth"] = depth
            thing["data"]["replies"] = _listing_json(replies, None, None) if replies else ""
            things.append(thing)
        return things

    def _thing(self, post: Post, with_link: bool = False) -> dict[str, Any]:
        sub = self.world.catalog.subreddit(post.place or "")
        root = self.world.get("reddit", post.root_id) or post
        slug = "_".join("".join(c for c in w if c.isalnum()) for w in (root.title or "").lower().split()[:9])
        link_permalink = f"/r/{post.place}/comments/{root.id}/{slug}/"
        common: dict[str, Any] = {
            "id": post.id, "name": f"{post.kind}_{post.id}", "author": post.author.handle,
            "author_fullname": post.author.id, "subreddit": post.place,
            "subreddit_id": sub.id if sub else "t5_2qh1o", "subreddit_name_prefixed": f"r/{post.place}",
            "subreddit_type": "public", "created": post.created_at.timestamp(),
            "created_utc": post.created_at.timestamp(), "score": post.likes, "ups": post.likes, "downs": 0,
            "likes": None, "saved": False, "archived": False, "locked": False, "stickied": False,
            "distinguished": "moderator" if post.author.brand else None, "edited": False, "gilded": 0,
            "gildings": {}, "all_awardings": [], "total_awards_received": 0, "send_replies": True,
            "can_mod_post": MODERATED.get((post.place or "").lower()) == "skylark",
            "removed": bool(post.extra.get("removed")), "author_flair_text": None, "author_premium": False,
            "author_is_blocked": False, "approved_at_utc": None, "banned_at_utc": None,
            "user_reports": [], "mod_reports": [], "num_reports": None, "report_reasons": None,
        }
        if post.kind == "t3":
            common.update({
                "title": post.title, "selftext": post.text, "selftext_html": _html(post.text),
                "is_self": True, "domain": f"self.{post.place}", "url": f"https://www.reddit.com{link_permalink}",
                "permalink": link_permalink, "num_comments": post.extra.get("thread_size", 0),
                "upvote_ratio": 0.93, "over_18": False, "spoiler": False, "is_video": False,
                "thumbnail": "self", "link_flair_text": None, "num_crossposts": 0, "media": None,
                "subreddit_subscribers": sub.subscribers if sub else 0, "pinned": False, "hidden": False,
                "quarantine": False, "is_original_content": False,
                "removed_by_category": "moderator" if post.extra.get("removed") else None,
            })
            return {"kind": "t3", "data": common}
        parent = self.world.get("reddit", post.parent_id)
        common.update({
            "body": post.text, "body_html": _html(post.text), "link_id": f"t3_{root.id}",
            "parent_id": f"{parent.kind}_{parent.id}" if parent else f"t3_{root.id}",
            "permalink": f"{link_permalink}{post.id}/", "is_submitter": post.author.id == root.author.id,
            "controversiality": 0, "score_hidden": False, "collapsed": False, "replies": "",
            "collapsed_reason": None, "comment_type": None, "no_follow": True,
        })
        if with_link:
            common.update({"link_title": root.title, "link_author": root.author.handle,
                           "link_permalink": f"https://www.reddit.com{link_permalink}",
                           "link_url": f"https://www.reddit.com{link_permalink}",
                           "num_comments": root.extra.get("thread_size", 0), "over_18": False,
                           "quarantine": False})
        return {"kind": "t1", "data": common}

    def _message(self, post: Post, kind: str, read: set[str]) -> dict[str, Any]:
        thing = self._thing(post, with_link=True)["data"]
        subject = {"username_mention": "username mention", "post_reply": "post reply",
                   "comment_reply": "comment reply"}[kind]
        root_id = thing["link_id"].split("_", 1)[1]
        thing.update({"subject": subject, "type": kind, "was_comment": True, "new": f"t1_{post.id}" not in read,
                      "dest": self.world.account("reddit").handle, "first_message": None,
                      "first_message_name": None, "associated_awarding_id": None,
                      "context": f"/r/{post.place}/comments/{root_id}/_/{post.id}/?context=3"})
        return {"kind": "t1", "data": thing}

    def _account(self, author: Author) -> dict[str, Any]:
        return {"name": author.handle, "id": author.id.removeprefix("t2_"), "created": author.created_at.timestamp(),
                "created_utc": author.created_at.timestamp(), "link_karma": author.followers // 3,
                "comment_karma": author.followers - author.followers // 3, "total_karma": author.followers,
                "is_employee": False, "is_mod": bool(author.brand), "verified": True,
                "has_verified_email": True, "icon_img": "", "is_suspended": False}


def _listing_json(children: list[dict[str, Any]], after: str | None, before: str | None) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"after": after, "dist": len(children), "modhash": "",
                                        "geo_filter": "", "children": children, "before": before}}


def _html(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<div class="md"><p>{escaped}</p>\n</div>'  # unescaped, as with raw_json=1


def install(server: FakeServer, world: World, creds: RedditCredentials) -> RedditApi:
    api = RedditApi(world, creds)
    api.install(server)
    return api
