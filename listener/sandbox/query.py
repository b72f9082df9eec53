"""A small search-query language shared by the fakes: words, "phrases", OR, -exclusions, key:value.

Enough of each platform's syntax for Earful's configured queries (``"Skylark Air" OR @skylarkair
-is:retweet lang:en`` on X, ``skylark after:2025-03-01 order:latest`` on Discourse). Matching is
case-insensitive substring matching; operators are returned for the platform module to apply, and
unknown operators are ignored the way search engines ignore them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r'-?"[^"]*"|\(|\)|[^\s()]+')
_OPERATOR = re.compile(r"^(-?)([A-Za-z_]+):(.+)$")


@dataclass(frozen=True, slots=True)
class Query:
    groups: tuple[tuple[str, ...], ...]  # every group must match; a group matches if any term does
    excluded: tuple[str, ...]
    operators: tuple[tuple[str, str, bool], ...]  # (key, value, negated)

    def values(self, key: str) -> list[str]:
        """Values of a non-negated operator, e.g. ``lang`` -> ["en"]."""
        return [v for k, v, neg in self.operators if k == key and not neg]

    def negated(self, key: str) -> list[str]:
        return [v for k, v, neg in self.operators if k == key and neg]

    @property
    def is_empty(self) -> bool:
        return not self.groups and not self.excluded

    def matches(self, *texts: str | None) -> bool:
        haystack = " ".join(t for t in texts if t).lower()
        if any(term in haystack for term in self.excluded):
            return False
        return all(any(term in haystack for term in group) for group in self.groups)


def parse(query: str) -> Query:
    groups: list[list[str]] = []
    excluded: list[str] = []
    operators: list[tuple[str, str, bool]] = []
    join_next = False
    for token in _TOKEN.findall(query or ""):
        if token in ("(", ")"):
            continue
        if token == "OR":
            join_next = bool(groups)
            continue
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        op = _OPERATOR.match(token) if not body.startswith('"') else None
        if op and "//" not in token:
            operators.append((op.group(2).lower(), op.group(3).strip('"'), bool(op.group(1))))
            join_next = False
            continue
        term = body.strip('"').lower()
        if not term:
            continue
        if negated:
            excluded.append(term)
        elif join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    return Query(tuple(tuple(g) for g in groups), tuple(excluded), tuple(operators))
