"""Fake Hacker News Search API (hn.algolia.com/api/v1): search, search_by_date, items.

Hits carry Algolia's fields (``objectID`` as a string, ``created_at_i``, ``_tags``, ``story_id``,
``parent_id``) and the envelope's ``page`` / ``nbPages`` / ``hitsPerPage``. ``tags`` is a comma AND-list
whose parenthesised groups are ORs; ``numericFilters`` supports ``<, <=, =, >=, >`` on
``created_at_i``, ``points`` and ``num_comments``. No key, as on the real API.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlencode

from listener.sandbox.common import iso_s
from listener.sandbox.faults import ErrorStyle, Fault
from listener.sandbox.query import parse
from listener.sandbox.server import FakeServer, Request, Response
from listener.sandbox.world import Post, World

_NUMERIC = re.compile(r"^\s*(created_at_i|points|num_comments|story_id)\s*(<=|>=|!=|<|>|=)\s*(-?\d+)\s*$")
_OPS = {"<": int.__lt__, "<=": int.__le__, "=": int.__eq__, "!=": int.__ne__, ">": int.__gt__, ">=": int.__ge__}


class HackerNewsErrors(ErrorStyle):
    required_fields = (("objectID",), ("created_at_i",))

    def rate_limited(self, fault: Fault, now: Any) -> Response:
        headers = {"Retry-After": str(fault.retry_after_s)} if fault.with_reset else {}
        return Response.json({"message": "Too many requests", "status": 429}, 429, headers)

    def server_error(self, status: int) -> Response:
        return Response.json({"message": "Internal error", "status": status}, status)

    def not_found(self) -> Response:
        return Response.json({"message": "Not Found", "status": 404}, 404)


class HackerNewsApi:
    def __init__(self, world: World) -> None:
        self.world = world

    def install(self, server: FakeServer) -> None:
        server.style = HackerNewsErrors()
        server.route("GET", "/api/v1/search", self.search)
        server.route("GET", "/api/v1/search_by_date", self.search_by_date)
        server.route("GET", "/api/v1/items/{id}", self.item)

    def search(self, req: Request) -> Response:
        return self._search(req, by_date=False)

    def search_by_date(self, req: Request) -> Response:
        return self._search(req, by_date=True)

    def _search(self, req: Request, by_date: bool) -> Response:
        tag_groups = _tag_groups(req.arg("tags", "") or "")
        numeric = []
        for clause in (req.arg("numericFilters", "") or "").split(","):
            if not clause.strip():
                continue
            match = _NUMERIC.match(clause)
            if match is None:
                return Response.json({"message": f"invalid numeric filter: {clause}", "status": 400}, 400)
            numeric.append((match.group(1), _OPS[match.group(2)], int(match.group(3))))
        try:
            page = max(0, int(req.arg("page", "0") or 0))
            per_page = max(0, min(int(req.arg("hitsPerPage", "20") or 20), 1000))
        except ValueError:
            return Response.json({"message": "invalid page or hitsPerPage", "status": 400}, 400)
        query = req.arg("query", "") or ""
        q = parse(query)
        hits = []
        for post in reversed(self.world.posts("hackernews")):
            if not q.matches(post.title, post.text, post.extra.get("url"), post.author.handle):
                continue
            hit = self._hit(post, q)
            if not all(any(tag in hit["_tags"] for tag in group) for group in tag_groups):
                continue
            if not all(op(int(hit.get(field) or 0), value) for field, op, value in numeric):
                continue
            hits.append(hit)
        if not by_date:
            hits.sort(key=lambda h: -(h.get("points") or 0))
        pages = (len(hits) + per_page - 1) // per_page if per_page else 0
        chunk = hits[page * per_page:(page + 1) * per_page]
        return Response.json({
            "exhaustive": {"nbHits": True, "typo": True}, "exhaustiveNbHits": True, "exhaustiveTypo": True,
            "hits": chunk, "hitsPerPage": per_page, "nbHits": len(hits), "nbPages": pages, "page": page,
            "params": urlencode([(k, v) for k, vs in req.query.items() for v in vs] + [("advancedSyntax", "true")]),
            "processingTimeMS": 1, "query": query, "serverTimeMS": 2})

    def item(self, req: Request) -> Response:
        post = self.world.get("hackernews", req.params["id"])
        if post is None:
            return HackerNewsErrors().not_found()
        return Response.json(self._item(post))

    # --- rendering ------------------------------------------------------------------------
    def _story(self, post: Post) -> Post:
        return self.world.get("hackernews", post.root_id) or post

    def _hit(self, post: Post, q: Any) -> dict[str, Any]:
        story = self._story(post)
        tags = [post.kind, f"author_{post.author.handle}", f"story_{story.id}"]
        if post.kind == "story":
            if (post.title or "").startswith("Ask HN"):
                tags.append("ask_hn")
            if (post.title or "").startswith("Show HN"):
                tags.append("show_hn")
        hit: dict[str, Any] = {"_tags": tags, "author": post.author.handle,
                               "created_at": iso_s(post.created_at), "created_at_i": int(post.created_at.timestamp()),
                               "objectID": post.id, "story_id": int(story.id), "updated_at": iso_s(post.created_at)}
        if post.kind == "story":
            children = self.world.children("hackernews", post.id)
            hit.update({"title": post.title, "url": post.extra.get("url"), "points": post.likes,
                        "num_comments": post.extra.get("thread_size", 0), "children": [int(c.id) for c in children]})
            if not post.extra.get("url"):
                hit["story_text"] = _html(post.text)
            text_key, text = "title", post.title or ""
        else:
            hit.update({"comment_text": _html(post.text), "parent_id": int(post.parent_id or 0),
                        "story_title": story.title, "story_url": story.extra.get("url")})
            text_key, text = "comment_text", post.text
        words = [t for t in q.terms() if t in text.lower()]
        hit["_highlightResult"] = {
            "author": {"value": post.author.handle, "matchLevel": "none", "matchedWords": []},
            text_key: {"value": _highlight(_html(text) if text_key == "comment_text" else text, words),
                       "matchLevel": "full" if words else "none", "fullyHighlighted": False, "matchedWords": words}}
        return hit

    def _item(self, post: Post) -> dict[str, Any]:
        story = self._story(post)
        return {"id": int(post.id), "created_at": iso_s(post.created_at).replace("Z", ".000Z"),
                "created_at_i": int(post.created_at.timestamp()), "type": post.kind, "author": post.author.handle,
                "title": post.title, "url": post.extra.get("url"), "text": _html(post.text) if post.kind == "comment"
                or not post.extra.get("url") else None, "points": post.likes if post.kind == "story" else None,
                "parent_id": int(post.parent_id) if post.parent_id else None, "story_id": int(story.id),
                "options": [], "children": [self._item(c) for c in self.world.children("hackernews", post.id)]}


def _tag_groups(tags: str) -> list[list[str]]:
    """``story,(author_pg,author_sama)`` -> [["story"], ["author_pg", "author_sama"]]."""
    groups: list[list[str]] = []
    for match in re.finditer(r"\(([^)]*)\)|([^,()]+)", tags):
        if match.group(1) is not None:
            groups.append([t.strip() for t in match.group(1).split(",") if t.strip()])
        elif match.group(2).strip():
            groups.append([match.group(2).strip()])
    return [g for g in groups if g]


def _html(text: str) -> str:
    return html.escape(text).replace("\n\n", "<p>")


def _highlight(text: str, words: list[str]) -> str:
    for word in set(words):
        text = re.sub(re.escape(word), lambda m: f"<em>{m.group(0)}</em>", text, flags=re.IGNORECASE)
    return text


def install(server: FakeServer, world: World) -> HackerNewsApi:
    api = HackerNewsApi(world)
    api.install(server)
    return api
