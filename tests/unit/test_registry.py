"""listener.registry: a source's configuration reaches the client it builds."""

from __future__ import annotations

import pytest

from core.config import HackerNewsSource, RssSource
from listener.registry import build_source


@pytest.mark.parametrize("config", [
    HackerNewsSource(name="hn", platform="hackernews", timeout_seconds=3.5),
    RssSource(name="feeds", platform="rss", feeds=("https://a.example/feed",), timeout_seconds=3.5),
])
def test_a_source_polls_with_its_configured_timeout(config) -> None:
    source = build_source(config)
    try:
        assert source.client.timeout.read == 3.5
    finally:
        source.close()


def test_the_timeout_defaults_to_20_s() -> None:
    source = build_source(HackerNewsSource(name="hn", platform="hackernews"))
    try:
        assert source.client.timeout.read == 20.0
    finally:
        source.close()
