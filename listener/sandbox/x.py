"""Fake X API v2: recent search, mentions timeline, user lookup, posting a reply, likes and hidden replies.

Shapes follow docs.x.com (v2): ids are strings, ``edit_history_tweet_ids`` is always present, only the
requested ``tweet.fields`` / ``user.fields`` are returned, expansions fill ``includes``, pages chain
through ``meta.next_token``. Field names are validated like the real API so a typo in Earful's request
fails here, not in production. Writes need user context: OAuth 1.0a (signature checked) or an OAuth
2.0 user token; the app-only bearer gets X's 403 "Unsupported Authentication".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote, urlencode

from oauthlib.oauth1.rfc5849 import signature as oauth_signature

from listener.sandbox.common import (RateWindow, bearer, clamp_int, decode_cursor, encode_cursor,
                                     iso_ms, parse_time)
from listener.sandbox.credentials import XCredentials
from listener.sandbox.faults import ErrorStyle, Fault
from listener.sandbox.query import Query, parse
from listener.sandbox.server import FakeServer, Request, Response
from listener.sandbox.world import Author, Post, World

CANONICAL_HOST = "https://api.twitter.com"
RECENT_WINDOW = timedelta(days=7)
TWEET_FIELDS = frozenset("""article attachments author_id card_uri community_id context_annotations
    conversation_id created_at display_text_range edit_controls edit_history_tweet_ids entities geo id
    in_reply_to_user_id lang media_metadata non_public_metrics note_tweet organic_metrics
    possibly_sensitive promoted_metrics public_metrics referenced_tweets reply_settings scopes source
    suggested_source_links text withheld""".split())
USER_FIELDS = frozenset("""affiliation connection_status created_at description entities id
    is_identity_verified location most_recent_tweet_id name parody pinned_tweet_id profile_banner_url
    profile_image_url protected public_metrics receives_your_dm subscription subscription_type url
    username verified verified_followers_count verified_type withheld""".split())
EXPANSIONS = frozenset("""article.cover_media article.media_entities attachments.media_keys
    attachments.media_source_tweet attachments.poll_ids author_id edit_history_tweet_ids
    entities.mentions.username geo.place_id in_reply_to_user_id entities.note.mentions.username
    referenced_tweets.id referenced_tweets.id.attachments.media_keys
    referenced_tweets.id.author_id""".split())
_MENTION = re.compile(r"@(\w{1,15})")
_HASHTAG = re.compile(r"#(\w+)")


def _problem(title: str, detail: str, status: int, kind: str = "about:blank",
             headers: dict[str, str] | None = None) -> Response:
    return Response.json({"title": title, "detail": detail, "type": kind, "status": status}, status, headers)


def _invalid(parameter: str, value: str, message: str) -> Response:
    return Response.json({
        "errors": [{"parameters": {parameter: [value]}, "message": message}],
        "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request"}, 400)


class XErrors(ErrorStyle):
    required_fields = (("id",),)

    def rate_limited(self, fault: Fault, now: Any) -> Response:
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0"}
        if fault.with_reset:
            headers["x-rate-limit-reset"] = str(int(now.timestamp()) + fault.retry_after_s)
        return _problem("Too Many Requests", "Too Many Requests", 429, headers=headers)

    def server_error(self, status: int) -> Response:
        return _problem("Service Unavailable" if status == 503 else "Internal Server Error",
                        "The service is temporarily unavailable.", status)

    def unauthorized(self) -> Response:
        return _problem("Unauthorized", "Unauthorized", 401)

    def not_found(self) -> Response:
        return Response.json({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}, 404)


class XApi:
    def __init__(self, world: World, creds: XCredentials) -> None:
        self.world = world
        self.creds = creds
        self.windows = {"search": RateWindow(450, 900), "mentions": RateWindow(450, 900),
                        "post": RateWindow(100, 900), "users": RateWindow(300, 900),
                        "likes": RateWindow(1000, 86400), "hide": RateWindow(50, 900)}
        self.liked: set[tuple[str, str]] = set()  # (user id, tweet id)

    def install(self, server: FakeServer) -> None:
        server.style = XErrors()
        server.route("GET", "/2/tweets/search/recent", self.search_recent)
        server.route("GET", "/2/users/{id}/mentions", self.mentions)
        server.route("GET", "/2/tweets/{id}", self.tweet_by_id)
        server.route("GET", "/2/users/me", self.me)
        server.route("GET", "/2/users/by/username/{username}", self.user_by_username)
        server.route("POST", "/2/tweets", self.create_tweet)
        server.route("POST", "/2/users/{id}/likes", self.like)
        server.route("PUT", "/2/tweets/{id}/hidden", self.hide_reply)

    # --- auth -----------------------------------------------------------------------------
    def _context(self, req: Request) -> str | None:
        """"app", "user" or None (refused)."""
        token = bearer(req)
        if token == self.creds.bearer_token:
            return "app"
        if token == self.creds.user_bearer_token:
            return "user"
        header = req.headers.get("authorization", "")
        if header.startswith("OAuth ") and self._oauth1_valid(req, header):
            return "user"
        return None

    def _oauth1_valid(self, req: Request, header: str) -> bool:
        params = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
        if params.get("oauth_consumer_key") != self.creds.consumer_key:
            return False
        if params.get("oauth_token") != self.creds.access_token:
            return False
        query = urlencode([(k, v) for k, vs in req.query.items() for v in vs], quote_via=quote)
        collected = oauth_signature.collect_parameters(
            uri_query=query, headers={"Authorization": header}, exclude_oauth_signature=True)
        normalized = oauth_signature.normalize_parameters(collected)
        for base in (CANONICAL_HOST, req.base_url):  # signed before or after a host rewrite
            base_string = oauth_signature.signature_base_string(
                req.method, oauth_signature.base_string_uri(base + req.path), normalized)
            key = f"{quote(self.creds.consumer_secret, safe='~')}&{quote(self.creds.access_token_secret, safe='~')}"
            digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()
            if hmac.compare_digest(base64.b64encode(digest).decode(), params.get("oauth_signature", "")):
                return True
        return False

    def _rate(self, name: str, req: Request) -> dict[str, str]:
        _, remaining, reset = self.windows[name].hit(req.headers.get("authorization", "")[:40],
                                                      self.world.now())
        return {"x-rate-limit-limit": str(self.windows[name].limit),
                "x-rate-limit-remaining": str(remaining), "x-rate-limit-reset": str(reset)}

    # --- reads ----------------------------------------------------------------------------
    def search_recent(self, req: Request) -> Response:
        if self._context(req) is None:
            return XErrors().unauthorized()
        query = req.arg("query")
        if not query:
            return _invalid("query", "", "The `query` query parameter can not be empty")
        if len(query) > 512:
            return _invalid("query", query, "The `query` query parameter must be at most 512 characters")
        max_results = clamp_int(req.arg("max_results"), 10, 10, 100)
        if max_results is None:
            value = req.arg("max_results") or ""
            return _invalid("max_results", value,
                            f"The `max_results` query parameter value [{value}] is not between 10 and 100")
        now = self.world.now()
        start = parse_time(req.arg("start_time"))
        if start is not None and start < now - RECENT_WINDOW:
            return _invalid("start_time", req.arg("start_time") or "",
                            f"Invalid 'start_time':'{req.arg('start_time')}'. 'start_time' must be on or "
                            f"after {iso_ms(now - RECENT_WINDOW)}")
        q = parse(query)
        posts = [p for p in self.world.posts("x") if p.created_at >= now - RECENT_WINDOW
                 and self._matches(q, p)]
        return self._page(req, posts, max_results, "next_token", self._rate("search", req))

    def mentions(self, req: Request) -> Response:
        if self._context(req) is None:
            return XErrors().unauthorized()
        user = self._user(req.params["id"])
        if user is None:
            return _problem("Not Found Error", f"Could not find user with id: [{req.params['id']}].", 404,
                            "https://api.twitter.com/2/problems/resource-not-found")
        max_results = clamp_int(req.arg("max_results"), 10, 5, 100)
        if max_results is None:
            value = req.arg("max_results") or ""
            return _invalid("max_results", value,
                            f"The `max_results` query parameter value [{value}] is not between 5 and 100")
        handle = "@" + user.handle.lower()
        posts = []
        for post in self.world.posts("x"):
            if post.author.id == user.id:
                continue
            parent = self.world.get("x", post.parent_id)
            if handle in post.text.lower() or (parent is not None and parent.author.id == user.id):
                posts.append(post)
        return self._page(req, posts[-800:], max_results, "pagination_token", self._rate("mentions", req))

    def tweet_by_id(self, req: Request) -> Response:
        if self._context(req) is None:
            return XErrors().unauthorized()
        post = self.world.get("x", req.params["id"])
        if post is None:
            return Response.json({"errors": [{
                "value": req.params["id"], "detail": f"Could not find tweet with id: [{req.params['id']}].",
                "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
                "resource_id": req.params["id"], "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
        rendered = self._render(req, [post])
        if isinstance(rendered, Response):
            return rendered
        data, includes = rendered
        payload: dict[str, Any] = {"data": data[0]}
        if includes:
            payload["includes"] = includes
        return Response.json(payload)

    def me(self, req: Request) -> Response:
        if self._context(req) != "user":
            return _problem("Unsupported Authentication", "Authenticating with OAuth 2.0 Application-Only "
                            "is forbidden for this endpoint.  Supported authentication types are "
                            "[OAuth 1.0a User Context, OAuth 2.0 User Context].", 403,
                            "https://api.twitter.com/2/problems/unsupported-authentication")
        return Response.json({"data": self._user_json(self.world.account("x"), self._fields(req, "user.fields"))},
                             headers=self._rate("users", req))

    def user_by_username(self, req: Request) -> Response:
        if self._context(req) is None:
            return XErrors().unauthorized()
        name = req.params["username"]
        user = self.world.find_author("x", name)
        if user is None:
            return Response.json({"errors": [{
                "value": name, "detail": f"Could not find user with username: [{name}].",
                "title": "Not Found Error", "resource_type": "user", "parameter": "username",
                "resource_id": name, "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
        return Response.json({"data": self._user_json(user, self._fields(req, "user.fields"))},
                             headers=self._rate("users", req))

    # --- writes ---------------------------------------------------------------------------
    def create_tweet(self, req: Request) -> Response:
        context = self._context(req)
        if context is None:
            return XErrors().unauthorized()
        if context != "user":
            return _problem("Unsupported Authentication", "Authenticating with OAuth 2.0 Application-Only "
                            "is forbidden for this endpoint.  Supported authentication types are "
                            "[OAuth 1.0a User Context, OAuth 2.0 User Context].", 403,
                            "https://api.twitter.com/2/problems/unsupported-authentication")
        try:
            body = req.json() or {}
        except ValueError:
            return _problem("Invalid Request", "The request body is not valid JSON.", 400)
        text = str(body.get("text") or "")
        if not text.strip():
            return _invalid("text", "", "The `text` field can not be empty")
        if len(text) > 280:
            return _problem("Invalid Request", "Your Tweet text is too long.", 400)
        brand = self.world.account("x")
        since = self.world.now() - timedelta(hours=24)
        if any(p.author.id == brand.id and p.text == text and p.created_at >= since
               for p in self.world.posts("x")):
            return _problem("Forbidden", "You are not allowed to create a Tweet with duplicate content.", 403)
        parent_id = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if parent_id is not None and self.world.get("x", str(parent_id)) is None:
            return _problem("Forbidden", "You attempted to reply to a Tweet that is deleted or not visible "
                            "to you.", 403)
        post = self.world.add_post("x", text, author=brand, parent_id=str(parent_id) if parent_id else None,
                                   via_api=True)
        return Response.json({"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}},
                             201, self._rate("post", req))

    def like(self, req: Request) -> Response:
        """POST /2/users/:id/likes: only as the authenticated user; liking twice changes nothing."""
        refused = self._user_context_refused(req)
        if refused:
            return refused
        brand = self.world.account("x")
        if req.params["id"] != brand.id:
            return _problem("Forbidden", "You are not permitted to perform this action.", 403)
        try:
            tweet_id = str((req.json() or {}).get("tweet_id") or "")
        except ValueError:
            return _problem("Invalid Request", "The request body is not valid JSON.", 400)
        post = self.world.get("x", tweet_id)
        if post is None:
            return _problem("Forbidden", "You attempted to like a Tweet that is deleted or not visible to you.", 403)
        if (brand.id, post.id) not in self.liked:
            self.liked.add((brand.id, post.id))
            post.likes += 1
        return Response.json({"data": {"liked": True}}, headers=self._rate("likes", req))

    def hide_reply(self, req: Request) -> Response:
        """PUT /2/tweets/:id/hidden: only replies in a conversation the authenticated user started."""
        refused = self._user_context_refused(req)
        if refused:
            return refused
        post = self.world.get("x", req.params["id"])
        if post is None:
            return _problem("Not Found Error", f"Could not find tweet with id: [{req.params['id']}].", 404,
                            "https://api.twitter.com/2/problems/resource-not-found")
        root = self.world.get("x", post.root_id)
        if post.parent_id is None or root is None or root.author.id != self.world.account("x").id:
            return _problem("Forbidden", "You can only hide or unhide replies to conversations you authored.", 403)
        try:
            hidden = bool((req.json() or {}).get("hidden"))
        except ValueError:
            return _problem("Invalid Request", "The request body is not valid JSON.", 400)
        post.extra["hidden"] = hidden
        return Response.json({"data": {"hidden": hidden}}, headers=self._rate("hide", req))

    def _user_context_refused(self, req: Request) -> Response | None:
        context = self._context(req)
        if context is None:
            return XErrors().unauthorized()
        if context != "user":
            return _problem("Unsupported Authentication", "Authenticating with OAuth 2.0 Application-Only "
                            "is forbidden for this endpoint.  Supported authentication types are "
                            "[OAuth 1.0a User Context, OAuth 2.0 User Context].", 403,
                            "https://api.twitter.com/2/problems/unsupported-authentication")
        return None

    # --- rendering ------------------------------------------------------------------------
    def _matches(self, q: Query, post: Post) -> bool:
        """Words plus the operators Earful uses: lang:, from:, to:, conversation_id:, is:reply."""
        if not q.matches(post.text):
            return False
        parent = self.world.get("x", post.parent_id)
        for key, value, negated in q.operators:
            value = value.lower().lstrip("@")
            if key == "lang":
                hit = post.lang == value
            elif key == "from":
                hit = post.author.handle.lower() == value
            elif key == "to":
                hit = parent is not None and parent.author.handle.lower() == value
            elif key == "conversation_id":
                hit = post.root_id == value
            elif key == "is":
                hit = (value == "reply" and parent is not None) or (value == "verified" and bool(post.author.brand))
            else:  # has:, place:, ... are accepted and ignored
                continue
            if hit == negated:
                return False
        return True

    def _page(self, req: Request, posts: list[Post], size: int, token_param: str,
              headers: dict[str, str]) -> Response:
        since_id, until_id = req.arg("since_id"), req.arg("until_id")
        start, end = parse_time(req.arg("start_time")), parse_time(req.arg("end_time"))
        for name in ("since_id", "until_id"):
            value = req.arg(name)
            if value is not None and not value.isdigit():
                return _invalid(name, value, f"The `{name}` query parameter value [{value}] is not valid")
        cursor = decode_cursor(req.arg(token_param))
        if req.arg(token_param) and cursor is None:
            return _invalid(token_param, req.arg(token_param) or "",
                            f"The `{token_param}` query parameter value is not valid")
        selected = []
        for post in reversed(posts):  # newest first
            pid = int(post.id)
            if since_id and pid <= int(since_id) or until_id and pid >= int(until_id):
                continue
            if start and post.created_at < start or end and post.created_at >= end:
                continue
            if cursor and pid >= int(cursor["before"]):
                continue
            selected.append(post)
        page, more = selected[:size], len(selected) > size
        rendered = self._render(req, page)
        if isinstance(rendered, Response):
            return rendered
        data, includes = rendered
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta = {"newest_id": page[0].id, "oldest_id": page[-1].id, "result_count": len(page)}
        if more:
            meta["next_token"] = encode_cursor(before=page[-1].id)
        payload: dict[str, Any] = {}
        if data:
            payload["data"] = data
        if includes:
            payload["includes"] = includes
        payload["meta"] = meta
        return Response.json(payload, headers=headers)

    def _fields(self, req: Request, name: str) -> set[str] | Response:
        allowed = {"tweet.fields": TWEET_FIELDS, "user.fields": USER_FIELDS, "expansions": EXPANSIONS}[name]
        values = set(req.args(name))
        unknown = sorted(values - allowed)
        if unknown:
            return _invalid(name, unknown[0], f"The `{name}` query parameter value [{unknown[0]}] is not one "
                            f"of [{','.join(sorted(allowed))}]")
        return values

    def _render(self, req: Request, posts: list[Post]) -> tuple[list[dict[str, Any]], dict[str, Any]] | Response:
        tweet_fields, user_fields = self._fields(req, "tweet.fields"), self._fields(req, "user.fields")
        expansions = self._fields(req, "expansions")
        for checked in (tweet_fields, user_fields, expansions):
            if isinstance(checked, Response):
                return checked
        assert isinstance(tweet_fields, set) and isinstance(user_fields, set) and isinstance(expansions, set)
        implied = {"author_id": "author_id", "referenced_tweets.id": "referenced_tweets",
                   "in_reply_to_user_id": "in_reply_to_user_id", "entities.mentions.username": "entities"}
        tweet_fields = tweet_fields | {field for exp, field in implied.items() if exp in expansions}
        users: dict[str, Author] = {}
        tweets: dict[str, Post] = {}
        for post in posts:
            parent = self.world.get("x", post.parent_id)
            if "author_id" in expansions:
                users.setdefault(post.author.id, post.author)
            if "in_reply_to_user_id" in expansions and parent is not None:
                users.setdefault(parent.author.id, parent.author)
            if "entities.mentions.username" in expansions:
                for handle in _MENTION.findall(post.text):
                    found = self.world.find_author("x", handle)
                    if found is not None:
                        users.setdefault(found.id, found)
            if "referenced_tweets.id" in expansions and parent is not None:
                tweets.setdefault(parent.id, parent)
                if "referenced_tweets.id.author_id" in expansions:
                    users.setdefault(parent.author.id, parent.author)
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = [self._user_json(u, user_fields) for u in users.values()]
        if tweets:
            includes["tweets"] = [self._tweet_json(t, tweet_fields) for t in tweets.values()]
        return [self._tweet_json(p, tweet_fields) for p in posts], includes

    def _tweet_json(self, post: Post, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}
        parent = self.world.get("x", post.parent_id)
        if "created_at" in fields:
            data["created_at"] = iso_ms(post.created_at)
        if "author_id" in fields:
            data["author_id"] = post.author.id
        if "conversation_id" in fields:
            data["conversation_id"] = post.root_id
        if "lang" in fields:
            data["lang"] = post.lang
        if "public_metrics" in fields:
            data["public_metrics"] = {"retweet_count": post.reposts, "reply_count": post.replies,
                                      "like_count": post.likes, "quote_count": post.quotes,
                                      "bookmark_count": post.likes // 12, "impression_count": post.views}
        if "referenced_tweets" in fields and parent is not None:
            data["referenced_tweets"] = [{"type": "replied_to", "id": parent.id}]
        if "in_reply_to_user_id" in fields and parent is not None:
            data["in_reply_to_user_id"] = parent.author.id
        if "entities" in fields:
            data["entities"] = self._entities(post.text)
        if "possibly_sensitive" in fields:
            data["possibly_sensitive"] = False
        if "reply_settings" in fields:
            data["reply_settings"] = "everyone"
        if "edit_controls" in fields:
            data["edit_controls"] = {"edits_remaining": 5, "is_edit_eligible": True,
                                     "editable_until": iso_ms(post.created_at + timedelta(hours=1))}
        return data

    def _entities(self, text: str) -> dict[str, Any]:
        entities: dict[str, Any] = {}
        mentions = []
        for match in _MENTION.finditer(text):
            item: dict[str, Any] = {"start": match.start(), "end": match.end(), "username": match.group(1)}
            found = self.world.find_author("x", match.group(1))
            if found is not None:
                item["id"] = found.id
            mentions.append(item)
        if mentions:
            entities["mentions"] = mentions
        tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)]
        if tags:
            entities["hashtags"] = tags
        return entities

    def _user_json(self, author: Author, fields: set[str] | Response) -> dict[str, Any]:
        fields = fields if isinstance(fields, set) else set()
        data: dict[str, Any] = {"id": author.id, "name": author.name, "username": author.handle}
        if "created_at" in fields:
            data["created_at"] = iso_ms(author.created_at)
        if "description" in fields:
            data["description"] = "Official account of Skylark Air" if author.brand else "Travel, coffee, window seats."
        if "public_metrics" in fields:
            data["public_metrics"] = {"followers_count": author.followers, "following_count": author.following,
                                      "tweet_count": author.posts_count, "listed_count": author.followers // 150,
                                      "like_count": author.posts_count * 3, "media_count": author.posts_count // 9}
        if "verified" in fields:
            data["verified"] = author.brand is not None
        if "verified_type" in fields:
            data["verified_type"] = "business" if author.brand else "none"
        if "profile_image_url" in fields:
            data["profile_image_url"] = f"https://pbs.twimg.com/profile_images/{author.id}/avatar_normal.jpg"
        if "protected" in fields:
            data["protected"] = False
        if "location" in fields and author.brand:
            data["location"] = "Denver, CO"
        if "url" in fields:
            data["url"] = ""
        return data

    def _user(self, user_id: str) -> Author | None:
        return self.world.find_author("x", user_id)


def install(server: FakeServer, world: World, creds: XCredentials) -> XApi:
    api = XApi(world, creds)
    api.install(server)
    return api
