"""Fake YouTube Data API v3: commentThreads.list, comments.list/insert/setModerationStatus, videos.list,
channels.list, and Google's OAuth token endpoint (``POST /token``, refresh grant only).

Resources follow developers.google.com/youtube/v3 (``kind``, ``etag``, ``pageInfo``,
``nextPageToken``); errors use Google's ``{"error": {"code", "message", "errors": [{"reason"}]}}``.
Reads accept the API key (``key=``) or the OAuth token; writes need the token, as on YouTube. A
rate-limit fault answers 403 ``quotaExceeded`` because that is how YouTube says "slow down". Quota
units are counted in ``quota_used`` (list 1, insert 50, setModerationStatus 50) so Earful's quota
metering can be checked.
"""

from __future__ import annotations

import html
import threading
from typing import Any

from listener.sandbox.common import bearer, decode_cursor, encode_cursor, iso_s
from listener.sandbox.credentials import YouTubeCredentials
from listener.sandbox.faults import ErrorStyle, Fault
from listener.sandbox.ids import etag
from listener.sandbox.query import parse
from listener.sandbox.server import FakeServer, Request, Response
from listener.sandbox.world import Post, World

_FILTERS = ("allThreadsRelatedToChannelId", "channelId", "id", "videoId")
_STATUSES = ("heldForReview", "published", "rejected")


def google_error(code: int, message: str, reason: str, domain: str = "youtube.commentThread",
                 status: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message,
                             "errors": [{"message": message, "domain": domain, "reason": reason}]}
    if status:
        error["status"] = status
    return Response.json({"error": error}, code)


class YouTubeErrors(ErrorStyle):
    required_fields = (("id",), ("snippet",))

    def rate_limited(self, fault: Fault, now: Any) -> Response:
        return google_error(403, 'The request cannot be completed because you have exceeded your '
                            '<a href="/youtube/v3/getting-started#quota">quota</a>.', "quotaExceeded",
                            "youtube.quota")

    def server_error(self, status: int) -> Response:
        return google_error(status, "Internal error encountered.", "backendError", "global",
                            "INTERNAL" if status == 500 else "UNAVAILABLE")

    def unauthorized(self) -> Response:
        return google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                            "token, login cookie or other valid authentication credential.", "authError",
                            "global", "UNAUTHENTICATED")

    def not_found(self) -> Response:
        return google_error(404, "Not Found", "notFound", "global", "NOT_FOUND")


class YouTubeApi:
    def __init__(self, world: World, creds: YouTubeCredentials) -> None:
        self.world = world
        self.creds = creds
        self.quota_used = 0
        self._lock = threading.Lock()

    def install(self, server: FakeServer) -> None:
        server.style = YouTubeErrors()
        server.route("GET", "/youtube/v3/commentThreads", self.list_threads)
        server.route("GET", "/youtube/v3/comments", self.list_comments)
        server.route("POST", "/youtube/v3/comments", self.insert_comment)
        server.route("POST", "/youtube/v3/comments/setModerationStatus", self.set_moderation_status)
        server.route("GET", "/youtube/v3/videos", self.list_videos)
        server.route("GET", "/youtube/v3/channels", self.list_channels)
        server.route("POST", "/token", self.token)

    # --- auth & quota ---------------------------------------------------------------------
    def _auth(self, req: Request, write: bool = False) -> str | Response:
        """"owner" (OAuth token), "public" (API key) or the error YouTube gives."""
        token = bearer(req)
        if token is not None:
            return "owner" if token == self.creds.oauth_token else YouTubeErrors().unauthorized()
        if write:
            return google_error(401, "Login Required.", "required", "global", "UNAUTHENTICATED")
        key = req.arg("key")
        if key is None:
            return google_error(403, "The request is missing a valid API key.", "forbidden", "global",
                                "PERMISSION_DENIED")
        if key != self.creds.api_key:
            return google_error(400, "API key not valid. Please pass a valid API key.", "badRequest", "global",
                                "INVALID_ARGUMENT")
        return "public"

    def token(self, req: Request) -> Response:
        """oauth2.googleapis.com/token with ``grant_type=refresh_token``: the refresh token of the brand's
        channel, issued to the sandbox's client, gives the channel's access token."""
        form = req.form()
        if form.get("grant_type") != "refresh_token":
            return Response.json({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400)
        if (form.get("client_id"), form.get("client_secret")) != (self.creds.client_id, self.creds.client_secret):
            return Response.json({"error": "invalid_client", "error_description": "The OAuth client was not found."},
                                 401)
        if form.get("refresh_token") != self.creds.refresh_token:
            return Response.json({"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                                 400)
        return Response.json({"access_token": self.creds.oauth_token, "expires_in": 3599, "token_type": "Bearer",
                              "scope": "https://www.googleapis.com/auth/youtube.force-ssl"})

    def _charge(self, units: int) -> None:
        with self._lock:
            self.quota_used += units

    # --- reads ----------------------------------------------------------------------------
    def list_threads(self, req: Request) -> Response:
        auth = self._auth(req)
        if isinstance(auth, Response):
            return auth
        parts = set(req.args("part"))
        if not parts:
            return google_error(400, "No filter selected. Expected one of: part", "required", "global")
        given = [f for f in _FILTERS if req.arg(f)]
        if len(given) != 1:
            reason = "missingRequiredParameter" if not given else "incompatibleParameters"
            return google_error(400, f"No filter selected. Expected one of: {', '.join(_FILTERS)}"
                                if not given else "Incompatible parameters specified in the request.", reason)
        moderation = req.arg("moderationStatus", "published")
        if moderation != "published" and auth != "owner":
            return google_error(403, "The request is not properly authorized to retrieve the specified "
                                "comment threads.", "forbidden")
        self._charge(1)
        tops = [p for p in reversed(self.world.posts("youtube")) if p.parent_id is None
                and p.extra.get("moderation") == moderation]
        flt, value = given[0], req.arg(given[0]) or ""
        if flt == "allThreadsRelatedToChannelId":
            tops = [p for p in tops if p.extra.get("channel_id") == value]
        elif flt == "videoId":
            tops = [p for p in tops if p.place == value]
        elif flt == "id":
            wanted = set(req.args("id"))
            tops = [p for p in tops if p.id in wanted]
        else:  # channelId: comments about the channel itself; the sandbox has none
            tops = []
        terms = req.arg("searchTerms")
        if terms:
            q = parse(terms)
            tops = [p for p in tops if q.matches(p.text, *(c.text for c in self.world.children("youtube", p.id)))]
        by_time = req.arg("order") != "relevance"
        if not by_time:
            tops.sort(key=lambda p: -p.likes)
        page, token, size = self._page(req, tops, 20, anchored=by_time)
        if isinstance(page, Response):
            return page
        plain = req.arg("textFormat") == "plainText"
        items = [self._thread(p, "replies" in parts, plain, moderation != "published") for p in page]
        return self._list("youtube#commentThreadListResponse", items, token, size)

    def list_comments(self, req: Request) -> Response:
        auth = self._auth(req)
        if isinstance(auth, Response):
            return auth
        self._charge(1)
        if req.arg("id"):
            wanted = set(req.args("id"))
            found = [p for p in self.world.posts("youtube") if p.id in wanted]
        elif req.arg("parentId"):
            found = list(self.world.children("youtube", req.arg("parentId") or ""))
        else:
            return google_error(400, "No filter selected. Expected one of: id, parentId",
                                "missingRequiredParameter", "youtube.comment")
        page, token, size = self._page(req, [p for p in found if p.extra.get("moderation") == "published"], 20)
        if isinstance(page, Response):
            return page
        plain = req.arg("textFormat") == "plainText"
        return self._list("youtube#commentListResponse", [self._comment(p, plain) for p in page], token, size)

    def list_videos(self, req: Request) -> Response:
        auth = self._auth(req)
        if isinstance(auth, Response):
            return auth
        self._charge(1)
        wanted = set(req.args("id"))
        items = []
        for video in self.world.catalog.videos:
            if video.id not in wanted:
                continue
            comments = [p for p in self.world.posts("youtube") if p.place == video.id]
            items.append({"kind": "youtube#video", "etag": etag("video", video.id), "id": video.id,
                          "snippet": {"publishedAt": iso_s(video.published_at), "channelId": video.channel_id,
                                      "title": video.title, "description": "", "channelTitle": video.channel_title,
                                      "thumbnails": {}, "tags": [], "categoryId": "19",
                                      "liveBroadcastContent": "none", "defaultLanguage": "en"},
                          "statistics": {"viewCount": str(1200 + 97 * len(comments)),
                                         "likeCount": str(40 + 3 * len(comments)), "favoriteCount": "0",
                                         "commentCount": str(len(comments))}})
        return self._list("youtube#videoListResponse", items, None, len(items))

    def list_channels(self, req: Request) -> Response:
        """channels.list with ``mine=true`` (the OAuth token's own channel) or ``id``; part id/snippet."""
        auth = self._auth(req)
        if isinstance(auth, Response):
            return auth
        if not req.args("part"):
            return google_error(400, "No filter selected. Expected one of: part", "required", "global")
        self._charge(1)
        if req.arg("mine") == "true":
            if auth != "owner":
                return google_error(401, "Login Required.", "required", "global", "UNAUTHENTICATED")
            channels = [self.world.account("youtube")]
        elif req.arg("id"):
            wanted = set(req.args("id"))
            channels = [a for (p, _), a in self.world.accounts.items() if p == "youtube" and a.id in wanted]
        else:
            return google_error(400, "No filter selected. Expected one of: mine, id, forHandle",
                                "missingRequiredParameter", "youtube.parameter")
        items = [{"kind": "youtube#channel", "etag": etag("channel", c.id), "id": c.id,
                  "snippet": {"title": c.name, "customUrl": c.handle.lower(), "description": "",
                              "publishedAt": iso_s(c.created_at)}} for c in channels]
        return self._list("youtube#channelListResponse", items, None, len(items))

    # --- writes ---------------------------------------------------------------------------
    def insert_comment(self, req: Request) -> Response:
        auth = self._auth(req, write=True)
        if isinstance(auth, Response):
            return auth
        self._charge(50)
        try:
            snippet = (req.json() or {}).get("snippet") or {}
        except ValueError:
            return google_error(400, "Invalid JSON payload received.", "parseError", "global")
        text, parent_id = snippet.get("textOriginal"), snippet.get("parentId")
        if not parent_id:
            return google_error(400, "The API request must specify a parentId.", "parentIdMissing", "youtube.comment")
        if not text:
            return google_error(400, "The comment text is required.", "commentTextRequired", "youtube.comment")
        if len(text) > 10_000:
            return google_error(400, "The comment text is too long.", "commentTextTooLong", "youtube.comment")
        if self.world.get("youtube", parent_id) is None:
            return google_error(404, "The specified parent comment could not be found.", "parentCommentNotFound",
                                "youtube.comment")
        post = self.world.reply("youtube", parent_id, text)
        return Response.json(self._comment(post, plain=False))

    def set_moderation_status(self, req: Request) -> Response:
        auth = self._auth(req, write=True)
        if isinstance(auth, Response):
            return auth
        self._charge(50)
        status = req.arg("moderationStatus")
        if status not in _STATUSES:
            return google_error(400, "Invalid moderation status.", "invalidModerationStatus", "youtube.comment")
        if req.arg("banAuthor") == "true" and status != "rejected":
            return google_error(400, "banAuthor can only be used with moderationStatus=rejected.",
                                "banWithoutReject", "youtube.comment")
        brand = self.world.account("youtube")
        posts = [self.world.get("youtube", i) for i in req.args("id")]
        if not posts or any(p is None for p in posts):
            return google_error(404, "The specified comment could not be found.", "commentNotFound", "youtube.comment")
        if any(p.extra.get("channel_id") != brand.id for p in posts if p is not None):
            return google_error(403, "The comment is not on a video of the authorized channel.", "forbidden",
                                "youtube.comment")
        for post in posts:
            assert post is not None
            post.extra["moderation"] = status
        return Response.empty(204)

    # --- rendering ------------------------------------------------------------------------
    def _page(self, req: Request, items: list[Post], default: int,
              anchored: bool = False) -> tuple[list[Post] | Response, str | None, int]:
        """Time-ordered pages are pinned to the last item (arrivals do not shift them); others use offsets."""
        try:
            size = int(req.arg("maxResults") or default)
        except ValueError:
            size = -1
        if not 1 <= size <= 100:
            return google_error(400, "Invalid value for maxResults.", "invalidValue", "global"), None, 0
        cursor = decode_cursor(req.arg("pageToken"))
        if req.arg("pageToken") and cursor is None:
            return google_error(400, "The request specifies an invalid page token.", "invalidPageToken",
                                "global"), None, 0
        offset = int((cursor or {}).get("offset", 0))
        if cursor and "before" in cursor:
            items = [p for p in items if p.seq < int(cursor["before"])]
        items = items[offset:]
        page = items[:size]
        if len(items) <= size or not page:
            return page, None, size
        token = encode_cursor("b64", before=page[-1].seq) if anchored else encode_cursor("b64", offset=offset + size)
        return page, token, size

    def _list(self, kind: str, items: list[dict[str, Any]], token: str | None, size: int) -> Response:
        payload: dict[str, Any] = {"kind": kind, "etag": etag(kind, len(items), token)}
        if token:
            payload["nextPageToken"] = token
        payload["pageInfo"] = {"totalResults": len(items), "resultsPerPage": size}
        payload["items"] = items
        return Response.json(payload)

    def _thread(self, top: Post, with_replies: bool, plain: bool, show_status: bool) -> dict[str, Any]:
        replies = [c for c in self.world.children("youtube", top.id) if c.extra.get("moderation") == "published"]
        thread: dict[str, Any] = {
            "kind": "youtube#commentThread", "etag": etag("thread", top.id, top.replies), "id": top.id,
            "snippet": {"channelId": top.extra.get("channel_id"), "videoId": top.place,
                        "topLevelComment": self._comment(top, plain, show_status), "canReply": True,
                        "totalReplyCount": len(replies), "isPublic": True}}
        if with_replies and replies:
            thread["replies"] = {"comments": [self._comment(c, plain) for c in replies[-5:]]}
        return thread

    def _comment(self, post: Post, plain: bool, show_status: bool = False) -> dict[str, Any]:
        author = post.author
        display = post.text if plain else html.escape(post.text).replace("\n", "<br>")
        snippet: dict[str, Any] = {
            "channelId": post.extra.get("channel_id"), "videoId": post.place, "textDisplay": display,
            "textOriginal": post.text, "authorDisplayName": author.handle,
            "authorProfileImageUrl": f"https://yt3.ggpht.example/{author.id}=s48-c-k-c0x00ffffff-no-rj",
            "authorChannelUrl": f"http://www.youtube.com/{author.handle}",
            "authorChannelId": {"value": author.id}, "canRate": True, "viewerRating": "none",
            "likeCount": post.likes, "publishedAt": iso_s(post.created_at), "updatedAt": iso_s(post.created_at)}
        if post.parent_id:
            snippet["parentId"] = post.parent_id
        if show_status:
            snippet["moderationStatus"] = post.extra.get("moderation", "published")
        return {"kind": "youtube#comment", "etag": etag("comment", post.id), "id": post.id, "snippet": snippet}


def install(server: FakeServer, world: World, creds: YouTubeCredentials) -> YouTubeApi:
    api = YouTubeApi(world, creds)
    api.install(server)
    return api
