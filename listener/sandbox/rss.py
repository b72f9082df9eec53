"""Fake feeds: an RSS 2.0 feed of airline news and reviews (``/reviews.xml``) and an Atom feed of a
travel blog with brand alerts (``/blog.atom``), with ``ETag`` / ``Last-Modified`` and 304 on a
conditional GET.

Polling feeds cheaply depends on conditional requests, so the validators change exactly when the
feed's content changes and ``If-None-Match`` takes precedence over ``If-Modified-Since`` (RFC 9110).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from listener.sandbox.catalog import Feed
from listener.sandbox.common import http_date, iso_s, parse_http_date
from listener.sandbox.faults import ErrorStyle, Fault
from listener.sandbox.server import FakeServer, Request, Response
from listener.sandbox.world import Post, World

ITEMS_PER_FEED = 50
_CONTENT_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}


class FeedErrors(ErrorStyle):
    def rate_limited(self, fault: Fault, now: Any) -> Response:
        headers = {"Retry-After": str(fault.retry_after_s)} if fault.with_reset else {}
        return Response.text("Too Many Requests", "text/plain; charset=utf-8", 429, headers)

    def server_error(self, status: int) -> Response:
        return Response.text("<html><body><h1>Service error</h1></body></html>", "text/html; charset=utf-8", status)

    def unauthorized(self) -> Response:
        return Response.text("Unauthorized", "text/plain; charset=utf-8", 401)

    def not_found(self) -> Response:
        return Response.text("<html><body><h1>Not Found</h1></body></html>", "text/html; charset=utf-8", 404)

    def corrupt(self, body: bytes, content_type: str) -> bytes:
        """Drop the title, link and id of the first item or entry."""
        text = body.decode("utf-8")
        match = re.search(r"<(item|entry)>.*?</\1>", text, re.S)
        if match is None:
            return body
        block = re.sub(r"<title[^>]*>.*?</title>|<link[^>]*/>|<link>.*?</link>|<guid[^>]*>.*?</guid>|<id>.*?</id>",
                       "", match.group(0), flags=re.S)
        return (text[:match.start()] + block + text[match.end():]).encode("utf-8")


class FeedsApi:
    def __init__(self, world: World) -> None:
        self.world = world

    def install(self, server: FakeServer) -> None:
        server.style = FeedErrors()
        server.route("GET", "/{name}", self.feed)

    def feed(self, req: Request) -> Response:
        name, _, ext = req.params["name"].rpartition(".")
        wanted = {"xml": "rss", "rss": "rss", "atom": "atom"}.get(ext)
        feed = next((f for f in self.world.catalog.feeds if f.name == name and f.format == wanted), None)
        if feed is None:
            return FeedErrors().not_found()
        items = [p for p in reversed(self.world.posts("rss")) if p.place == feed.name][:ITEMS_PER_FEED]
        updated = items[0].created_at if items else self.world.started_at
        self_url = f"{req.base_url}{req.path}"
        body = (_rss(feed, items, updated, self_url) if feed.format == "rss" else _atom(feed, items, updated, self_url))
        raw = body.encode("utf-8")
        tag = '"' + hashlib.sha1(raw).hexdigest()[:20] + '"'
        headers = {"ETag": tag, "Last-Modified": http_date(updated), "Cache-Control": "max-age=300"}
        if_none_match = req.headers.get("if-none-match")
        if if_none_match is not None:
            candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
            if tag in candidates or "*" in candidates:
                return Response.empty(304, headers)
        else:
            since = parse_http_date(req.headers.get("if-modified-since"))
            if since is not None and int(updated.timestamp()) <= int(since.timestamp()):
                return Response.empty(304, headers)
        return Response(200, raw, _CONTENT_TYPES[feed.format], headers)


def _rss(feed: Feed, items: list[Post], updated: Any, self_url: str) -> str:
    entries = "".join(
        f"<item><title>{escape(p.title or '')}</title><link>{escape(p.id)}</link>"
        f'<guid isPermaLink="true">{escape(p.id)}</guid><pubDate>{http_date(p.created_at)}</pubDate>'
        f"<dc:creator>{escape(p.author.name)}</dc:creator><category>Airlines</category>"
        f"<description>{escape(p.text)}</description></item>" for p in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>{escape(feed.title)}</title><link>https://{feed.site}/</link>"
            f"<description>{escape(feed.description)}</description><language>en</language>"
            f"<lastBuildDate>{http_date(updated)}</lastBuildDate>"
            f'<atom:link href={quoteattr(self_url)} rel="self" type="application/rss+xml"/>'
            f"{entries}</channel></rss>\n")


def _atom(feed: Feed, items: list[Post], updated: Any, self_url: str) -> str:
    entries = "".join(
        f"<entry><id>tag:{feed.site},{p.created_at:%Y}:{escape(p.id)}</id>"
        f'<title type="html">{escape(p.title or "")}</title><link href={quoteattr(p.id)}/>'
        f"<published>{iso_s(p.created_at)}</published><updated>{iso_s(p.created_at)}</updated>"
        f'<content type="html">{escape(p.text)}</content><author><name>{escape(p.author.name)}</name></author>'
        f"</entry>" for p in items)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>tag:{feed.site},2005:feed/{feed.name}</id><title>{escape(feed.title)}</title>"
            f'<link href="https://{feed.site}/" rel="alternate"/><link href={quoteattr(self_url)} rel="self"/>'
            f"<updated>{iso_s(updated)}</updated>{entries}</feed>\n")


def install(server: FakeServer, world: World) -> FeedsApi:
    api = FeedsApi(world)
    api.install(server)
    return api
