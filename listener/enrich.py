"""What happens to every collected item between mapping and storing: language and brand matching.

Shared by the pollers and `earful import`, so an imported row and a polled post are treated alike.
Platform searches are broader than the brand's expression (see listener.query), so every item is
re-checked here. The poller keeps an item only when it matches a brand, was posted by one of the
brand's own accounts (`is_own`), or was addressed to the brand (`direct`: notifications of its
account, comments on its channels), whatever its text says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from core.config import BrandConfig, QueryConfig
from core.mention import MentionIn
from listener.language import detect_language
from listener.query import BrandQuery, match_brands


def query_expression(query: QueryConfig) -> str:
    """One boolean expression from a query's expression, keywords and handles (OR-ed together)."""
    parts = []
    if query.expression.strip():
        parts.append(f"({query.expression.strip()})")
    for keyword in query.keywords:
        keyword = keyword.strip()
        if keyword:
            parts.append(f'"{keyword}"' if " " in keyword else keyword)
    for handle in query.handles:
        handle = handle.strip()
        if handle:
            parts.append(handle if handle.startswith("@") else f"@{handle}")
    return " OR ".join(parts)


@dataclass(frozen=True)
class BrandMatcher:
    queries: Mapping[str, tuple[BrandQuery, ...]]

    @classmethod
    def from_brands(cls, brands: Sequence[BrandConfig]) -> BrandMatcher:
        return cls(
            {
                brand.name: tuple(
                    BrandQuery.compile(query_expression(q), exclude=q.exclude, languages=q.languages)
                    for q in brand.queries
                )
                for brand in brands
            }
        )

    def match(self, text: str, language: str | None) -> tuple[str, ...]:
        return match_brands(text, language, self.queries)


def enrich(
    mentions: Sequence[MentionIn],
    matcher: BrandMatcher | None,
    *,
    detect: Callable[[str], str | None] = detect_language,
) -> list[MentionIn]:
    """Fill in language (when the platform gave none) and the brands each item matches."""
    out = []
    for mention in mentions:
        language = mention.language or detect(mention.text)
        brands = matcher.match(f"{mention.title or ''}\n{mention.text}", language) if matcher else ()
        out.append(dataclasses.replace(mention, language=language, brands=brands))
    return out
