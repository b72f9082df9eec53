"""Point a client that hard-codes its host (tweepy: ``https://api.twitter.com``) at the sandbox.

tweepy builds every URL from a constant, so the only seam is its ``requests.Session``: a transport
adapter mounted for the real host rewrites each prepared request to the fake before it is sent.
OAuth 1.0a signatures were computed for the original URL; the X fake accepts either.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

X_HOSTS = ("https://api.twitter.com/", "https://api.x.com/")


class RedirectAdapter(HTTPAdapter):
    """Sends every request it is mounted for to ``target_base_url`` instead, keeping path and query."""

    def __init__(self, target_base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = urlsplit(target_base_url)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        original = urlsplit(request.url or "")
        request.url = urlunsplit((self.target.scheme, self.target.netloc,
                                  self.target.path.rstrip("/") + original.path, original.query, ""))
        return super().send(request, *args, **kwargs)


def redirect_session(session: requests.Session, target_base_url: str, hosts: tuple[str, ...] = X_HOSTS) -> None:
    """Mount the redirect on ``session`` for each of ``hosts`` (by default X's API hosts)."""
    adapter = RedirectAdapter(target_base_url)
    for host in hosts:
        session.mount(host, adapter)
