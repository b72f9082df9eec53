"""Builds a `Source` from its configuration: one module per platform, loaded on first use.

Each platform module `listener/<platform>.py` exposes `build(config, matcher, *, timeout) -> Source`. Importing lazily
keeps `earful stats` from loading eight client libraries it does not need.
"""

from __future__ import annotations

import importlib

from core.config import SourceBase
from core.errors import ConfigError
from listener.base import Source
from listener.enrich import BrandMatcher


def build_source(config: SourceBase, matcher: BrandMatcher | None = None) -> Source:
    """`matcher` carries the brand queries each platform translates into its own search syntax."""
    platform = getattr(config, "platform")
    try:
        module = importlib.import_module(f"listener.{platform}")
    except ModuleNotFoundError as exc:
        if exc.name == f"listener.{platform}":
            raise ConfigError(f"platform {platform!r} has no source module yet", key=f"sources.{config.name}") from None
        raise
    return module.build(config, matcher, timeout=config.timeout_seconds)
