"""Fake Discourse forum ("Frequent Flyers"): search.json, posts.json (latest and create), topics, likes.

Shapes follow docs.discourse.org. Full-page search returns one post per topic (the latest matching
post with ``order:latest``), 50 per ``page``, with ``after:`` / ``before:`` dates. The ``Api-Key`` /
``Api-Username`` pair is checked like Discourse does: a wrong pair gets 403 ``invalid_access`` (Discourse
does not use 401 for API keys); anonymous reads are allowed as on a public forum. Creating a post
enforces the default minimum length (20) and refuses a body identical to the same user's post in
the same topic within 24 hours, as Discourse's duplicate check does.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from listener.sandbox.common import iso_ms, parse_time
from listener.sandbox.credentials import DiscourseCredentials
from listener.sandbox.faults import ErrorStyle, Fault
from listener.sandbox.query import parse
from listener.sandbox.server import FakeServer, Request, Response
from listener.sandbox.world import Author, Post, World

SITE = "forum.frequentflyers.example"
PAGE_SIZE = 50
MIN_POST_LENGTH = 20
TOPIC_CHUNK = 20  # posts a topic answer carries; the rest are listed by id in post_stream.stream
LIKE = 2  # post_action_type_id of a like


def _errors(status: int, errors: list[str], error_type: str, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    return Response.json({"errors": errors, "error_type": error_type, **extra}, status, headers)


def _forbidden() -> Response:
    return _errors(403, ["You are not permitted to view the requested resource. The API username or key is invalid."],
                   "invalid_access")


class DiscourseErrors(ErrorStyle):
    required_fields = (("id",), ("topic_id",))

    def rate_limited(self, fault: Fault, now: Any) -> Response:
        wait = fault.retry_after_s
        headers = {"Retry-After": str(wait), "Discourse-Rate-Limit-Error-Code": "admin_api_key_rate_limit"} \
            if fault.with_reset else {}
        return _errors(429, [f"You’ve performed this action too many times. Please wait {wait} seconds before "
                             "trying again."], "rate_limit", headers,
                       extras={"wait_seconds": wait, "time_left": f"{wait} seconds"})

    def server_error(self, status: int) -> Response:
        return _errors(status, ["Oops! That page doesn’t exist or is private."] if status == 404 else
                       ["Something went wrong. Please try again later."], "server_error")

    def unauthorized(self) -> Response:
        return _forbidden()

    def not_found(self) -> Response:
        return _errors(404, ["The requested URL or resource could not be found."], "not_found")


class DiscourseApi:
    def __init__(self, world: World, creds: DiscourseCredentials) -> None:
        self.world = world
        self.creds = creds
        self.likes: set[tuple[str, str]] = set()  # (user id, post id)

    def install(self, server: FakeServer) -> None:
        server.style = DiscourseErrors()
        server.route("GET", "/search.json", self.search)
        server.route("GET", "/posts.json", self.latest_posts)
        server.route("POST", "/posts.json", self.create_post)
        server.route("GET", "/posts/{id}.json", self.post)
        server.route("GET", "/t/{id}.json", self.topic)
        server.route("GET", "/t/{id}/posts.json", self.topic_posts)
        server.route("POST", "/post_actions.json", self.post_action)
        server.route("GET", "/t/{slug}/{id}.json", self.topic)
        server.route("GET", "/latest.json", self.latest_topics)

    def _user(self, req: Request) -> Author | None | Response:
        """The acting user: None for anonymous, a Response when the key pair is refused."""
        key, username = req.headers.get("api-key"), req.headers.get("api-username")
        if key is None and username is None:
            return None
        if key != self.creds.api_key or not username:
            return _forbidden()
        brand = self.world.account("discourse")
        if username.lower() == brand.handle.lower():
            return brand
        found = self.world.find_author("discourse", username)
        return found if found is not None else _forbidden()

    # --- reads ----------------------------------------------------------------------------
    def search(self, req: Request) -> Response:
        user = self._user(req)
        if isinstance(user, Response):
            return user
        q = parse(req.arg("q", "") or req.arg("term", "") or "")
        try:
            page = max(1, int(req.arg("page", "1") or 1))
        except ValueError:
            page = 1
        after = parse_time(next(iter(q.values("after")), None))
        before = parse_time(next(iter(q.values("before")), None))
        order = next(iter(q.values("order")), None)
        latest = order in ("latest", "latest_topic")
        by_topic: dict[str, Post] = {}
        for post in self.world.posts("discourse"):
            topic = self._topic_post(post)
            if q.is_empty or not q.matches(post.text, topic.title):
                continue
            if after and post.created_at < after or before and post.created_at >= before:
                continue
            if any(post.author.handle.lower() != u.lower().lstrip("@") for u in q.values("user")):
                continue
            if post.place not in by_topic or latest:
                by_topic[post.place or ""] = post
        posts = sorted(by_topic.values(), key=lambda p: p.created_at, reverse=True) if latest \
            else sorted(by_topic.values(), key=lambda p: -p.likes)
        chunk = posts[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
        more = len(posts) > page * PAGE_SIZE
        topics = {p.place: self._topic_summary(self._topic_post(p)) for p in chunk}
        term = " ".join(q.terms())
        return Response.json({
            "posts": [self._search_post(p, term) for p in chunk], "topics": list(topics.values()), "users": [],
            "categories": [], "tags": [], "groups": [],
            "grouped_search_result": {
                "more_posts": None, "more_users": None, "more_categories": None, "term": req.arg("q", ""),
                "search_log_id": 4711, "more_full_page_results": True if more else None,
                "can_create_topic": user is not None, "error": None, "extra": {},
                "post_ids": [p.id for p in chunk], "user_ids": [], "category_ids": [], "tag_ids": [],
                "group_ids": []}})

    def latest_posts(self, req: Request) -> Response:
        user = self._user(req)
        if isinstance(user, Response):
            return user
        before = req.arg("before")
        posts = sorted(self.world.posts("discourse"), key=lambda p: int(p.id), reverse=True)
        if before and before.isdigit():
            posts = [p for p in posts if int(p.id) < int(before)]
        return Response.json({"latest_posts": [self._post_json(p, raw=True, title=True) for p in posts[:PAGE_SIZE]]})

    def post(self, req: Request) -> Response:
        user = self._user(req)
        if isinstance(user, Response):
            return user
        post = self.world.get("discourse", req.params["id"])
        return Response.json(self._post_json(post, raw=True)) if post else DiscourseErrors().not_found()

    def topic(self, req: Request) -> Response:
        user = self._user(req)
        if isinstance(user, Response):
            return user
        posts = [p for p in self.world.posts("discourse") if p.place == req.params["id"]]
        if not posts:
            return DiscourseErrors().not_found()
        first = self._topic_post(posts[0])
        summary = self._topic_summary(first)
        summary["post_stream"] = {"posts": [self._post_json(p) for p in posts[:TOPIC_CHUNK]],
                                  "stream": [int(p.id) for p in posts]}
        summary["details"] = {"can_create_post": user is not None, "participants": []}
        return Response.json(summary)

    def topic_posts(self, req: Request) -> Response:
        """GET /t/:id/posts.json?post_ids[]=..: the posts of a topic a topic answer only listed by id."""
        user = self._user(req)
        if isinstance(user, Response):
            return user
        wanted = set(req.args("post_ids[]") or req.args("post_ids"))
        posts = [p for p in self.world.posts("discourse") if p.place == req.params["id"]]
        if not posts:
            return DiscourseErrors().not_found()
        chosen = [p for p in posts if p.id in wanted] if wanted else posts[:TOPIC_CHUNK]
        return Response.json({"post_stream": {"posts": [self._post_json(p) for p in chosen]},
                              "id": int(req.params["id"])})

    def latest_topics(self, req: Request) -> Response:
        user = self._user(req)
        if isinstance(user, Response):
            return user
        firsts = [p for p in self.world.posts("discourse") if p.kind == "topic"]
        topics = sorted((self._topic_summary(p) for p in firsts), key=lambda t: t["bumped_at"], reverse=True)
        return Response.json({"users": [], "topic_list": {"can_create_topic": user is not None, "per_page": 30,
                                                          "topics": topics[:30]}})

    # --- writes ---------------------------------------------------------------------------
    def create_post(self, req: Request) -> Response:
        user = self._user(req)
        if isinstance(user, Response):
            return user
        if user is None:
            return _errors(403, ["You are not permitted to view the requested resource."], "invalid_access")
        form = req.form()
        raw = str(form.get("raw") or "")
        if len(raw.strip()) < MIN_POST_LENGTH:
            return Response.json({"action": "create_post", "errors": [
                f"Body is too short (minimum is {MIN_POST_LENGTH} characters)"]}, 422)
        topic_id = str(form.get("topic_id") or "")
        if not topic_id:
            title = str(form.get("title") or "")
            if len(title) < 15:
                return Response.json({"action": "create_post", "errors": ["Title is too short (minimum is 15 characters)"]}, 422)
            category = int(form.get("category") or 5)
            post = self.world.add_post("discourse", raw, author=user, title=title, via_api=True,
                                       extra={"category_id": category})
            return Response.json(self._post_json(post, raw=True))
        in_topic = [p for p in self.world.posts("discourse") if p.place == topic_id]
        if not in_topic:
            return DiscourseErrors().not_found()
        since = self.world.now() - timedelta(hours=24)
        if any(p.author.id == user.id and p.text.strip() == raw.strip() and p.created_at >= since for p in in_topic):
            return Response.json({"action": "create_post", "errors": ["Body is too similar to what you recently posted"]},
                                 422)
        number = form.get("reply_to_post_number")
        parent = next((p for p in in_topic if str(p.extra.get("post_number")) == str(number)), None) if number else None
        parent = parent or in_topic[0]
        post = self.world.add_post("discourse", raw, author=user, parent_id=parent.id, via_api=True,
                                   extra={"reply_to_post_number": int(number) if number else None})
        return Response.json(self._post_json(post, raw=True))

    def post_action(self, req: Request) -> Response:
        """POST /post_actions.json: ``id`` and ``post_action_type_id`` (2: like); answers the post."""
        user = self._user(req)
        if isinstance(user, Response):
            return user
        if user is None:
            return _errors(403, ["You are not permitted to view the requested resource."], "invalid_access")
        form = req.form()
        post = self.world.get("discourse", str(form.get("id") or ""))
        if post is None:
            return DiscourseErrors().not_found()
        if str(form.get("post_action_type_id")) != str(LIKE):
            return _errors(422, ["The sandbox only knows likes (post_action_type_id 2)."], "invalid_parameters")
        if (user.id, post.id) in self.likes:
            return _errors(403, ["You are not permitted to view the requested resource."], "invalid_access")
        self.likes.add((user.id, post.id))
        post.likes += 1
        return Response.json(self._post_json(post))

    # --- rendering ------------------------------------------------------------------------
    def _topic_post(self, post: Post) -> Post:
        return self.world.get("discourse", post.root_id) or post

    def _slug(self, title: str | None) -> str:
        return "-".join(re.sub(r"[^a-z0-9 ]", "", (title or "topic").lower()).split()[:8]) or "topic"

    def _avatar(self, author: Author) -> str:
        return f"/user_avatar/{SITE}/{author.handle.lower()}/{{size}}/{author.id}_2.png"

    def _post_json(self, post: Post, raw: bool = False, title: bool = False) -> dict[str, Any]:
        topic = self._topic_post(post)
        slug = self._slug(topic.title)
        data: dict[str, Any] = {
            "id": int(post.id), "name": post.author.name, "username": post.author.handle,
            "avatar_template": self._avatar(post.author), "created_at": iso_ms(post.created_at),
            "cooked": f"<p>{html.escape(post.text)}</p>", "post_number": post.extra["post_number"], "post_type": 1,
            "updated_at": iso_ms(post.created_at), "reply_count": post.replies,
            "reply_to_post_number": post.extra.get("reply_to_post_number"), "quote_count": 0,
            "incoming_link_count": 0, "reads": 3 + post.likes, "readers_count": 2 + post.likes,
            "score": float(post.likes * 5), "yours": False, "topic_id": int(post.place or 0), "topic_slug": slug,
            "display_username": post.author.name, "primary_group_name": None, "flair_name": None, "version": 1,
            "user_id": int(post.author.id) if post.author.id.isdigit() else 0, "moderator": bool(post.author.brand),
            "admin": False, "staff": bool(post.author.brand), "trust_level": 4 if post.author.brand else 1,
            "hidden": False, "deleted_at": None, "user_deleted": False, "wiki": False,
            "category_id": topic.extra.get("category_id"), "post_url": f"/t/{slug}/{post.place}/{post.extra['post_number']}",
            "actions_summary": [{"id": 2, "count": post.likes}] if post.likes else []}
        if raw:
            data["raw"] = post.text
        if title:
            data["topic_title"] = topic.title
            data["topic_html_title"] = html.escape(topic.title or "")
        return data

    def _search_post(self, post: Post, term: str) -> dict[str, Any]:
        topic = self._topic_post(post)
        text = post.text
        at = text.lower().find(term.split()[0]) if term else -1
        blurb = text if len(text) <= 200 else ("..." if at > 60 else "") + text[max(0, at - 60):max(0, at - 60) + 200] + "..."
        return {"id": int(post.id), "name": post.author.name, "username": post.author.handle,
                "avatar_template": self._avatar(post.author), "created_at": iso_ms(post.created_at),
                "like_count": post.likes, "blurb": html.escape(blurb), "post_number": post.extra["post_number"],
                "topic_title_headline": html.escape(topic.title or ""), "topic_id": int(post.place or 0)}

    def _topic_summary(self, first: Post) -> dict[str, Any]:
        posts = [p for p in self.world.posts("discourse") if p.place == first.place]
        last = posts[-1] if posts else first
        return {"id": int(first.place or 0), "title": first.title, "fancy_title": html.escape(first.title or ""),
                "slug": self._slug(first.title), "posts_count": len(posts), "reply_count": max(len(posts) - 1, 0),
                "highest_post_number": last.extra.get("post_number", 1), "created_at": iso_ms(first.created_at),
                "last_posted_at": iso_ms(last.created_at), "bumped": True, "bumped_at": iso_ms(last.created_at),
                "archetype": "regular", "unseen": False, "pinned": False, "unpinned": None, "visible": True,
                "closed": False, "archived": False, "bookmarked": None, "liked": None, "tags": [],
                "tags_descriptions": {}, "category_id": first.extra.get("category_id"), "has_accepted_answer": False,
                "views": 40 + 17 * len(posts), "like_count": sum(p.likes for p in posts)}


def install(server: FakeServer, world: World, creds: DiscourseCredentials) -> DiscourseApi:
    api = DiscourseApi(world, creds)
    api.install(server)
    return api
