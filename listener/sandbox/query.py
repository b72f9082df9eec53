"""A small search-query language shared by the fakes: words, "phrases", OR, -exclusions, key:value.

Enough of each platform's syntax for Earful's configured queries (``("skylark air" OR skylark
(flight OR app)) -is:retweet lang:en`` on X, ``skylark AND flight`` on Reddit, ``skylark
after:2025-03-01 order:latest`` on Discourse): AND (explicit or by adjacency), OR, NOT / ``-``,
parentheses. Matching is case-insensitive substring matching; operators are returned for the
platform module to apply, and unknown operators are ignored the way search engines ignore them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r'-?"[^"]*"|-?\(|\)|[^\s()]+')
_OPERATOR = re.compile(r"^(-?)([A-Za-z_]+):(.+)$")


# An expression: ("term", text) | ("not", node) | ("and", nodes) | ("or", nodes) | ("any",) for an operator.
Node = tuple


@dataclass(frozen=True, slots=True)
class Query:
    root: Node | None
    operators: tuple[tuple[str, str, bool], ...]  # (key, value, negated)

    def values(self, key: str) -> list[str]:
        """Values of a non-negated operator, e.g. ``lang`` -> ["en"]."""
        return [v for k, v, neg in self.operators if k == key and not neg]

    def negated(self, key: str) -> list[str]:
        return [v for k, v, neg in self.operators if k == key and neg]

    def terms(self) -> list[str]:
        """The positive terms, in order (for highlighting and blurbs)."""
        found: list[str] = []

        def walk(node: Node, negated: bool) -> None:
            if node[0] == "term" and not negated:
                found.append(node[1])
            elif node[0] == "not":
                walk(node[1], not negated)
            elif node[0] in ("and", "or"):
                for child in node[1]:
                    walk(child, negated)

        if self.root is not None:
            walk(self.root, False)
        return found

    @property
    def is_empty(self) -> bool:
        return self.root is None

    def matches(self, *texts: str | None) -> bool:
        haystack = " ".join(t for t in texts if t).lower()
        return self.root is None or _eval(self.root, haystack)


def _eval(node: Node, haystack: str) -> bool:
    kind = node[0]
    if kind == "term":
        return node[1] in haystack
    if kind == "not":
        return not _eval(node[1], haystack)
    if kind == "and":
        return all(_eval(n, haystack) for n in node[1])
    if kind == "or":
        return any(_eval(n, haystack) for n in node[1])
    return True  # an operator (lang:, is:, after:) is applied by the platform module


class _Parser:
    """OR binds loosest; AND is explicit or implied by adjacency; ``-`` and NOT negate; parentheses
    group. Lenient like search engines: a stray operator or parenthesis is ignored, never an error."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0
        self.operators: list[tuple[str, str, bool]] = []

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse_or(self) -> Node | None:
        items = [n for n in [self.parse_and()] if n is not None]
        while self.peek() == "OR":
            self.i += 1
            node = self.parse_and()
            if node is not None:
                items.append(node)
        return None if not items else items[0] if len(items) == 1 else ("or", tuple(items))

    def parse_and(self) -> Node | None:
        items: list[Node] = []
        while (token := self.peek()) is not None and token not in ("OR", ")"):
            if token == "AND":
                self.i += 1
                continue
            node = self.parse_unary()
            if node is not None:
                items.append(node)
        return None if not items else items[0] if len(items) == 1 else ("and", tuple(items))

    def parse_unary(self) -> Node | None:
        token = self.tokens[self.i]
        self.i += 1
        if token == "NOT":
            inner = self.parse_unary() if self.peek() not in (None, "OR", ")") else None
            return ("not", inner) if inner is not None else None
        if token == "(":
            node = self.parse_or()
            if self.peek() == ")":
                self.i += 1
            return node
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        if body == "(":
            node = self.parse_or()
            if self.peek() == ")":
                self.i += 1
            return ("not", node) if node is not None else None
        op = _OPERATOR.match(token) if not body.startswith('"') else None
        if op and "//" not in token:
            self.operators.append((op.group(2).lower(), op.group(3).strip('"'), bool(op.group(1))))
            return ("any",)
        term = body.strip('"').lower()
        if not term:
            return None
        return ("not", ("term", term)) if negated else ("term", term)


def parse(query: str) -> Query:
    parser = _Parser(_TOKEN.findall(query or ""))
    root = parser.parse_or()
    while parser.peek() is not None:  # a stray ")": skip it and read on
        parser.i += 1
        more = parser.parse_or()
        if more is not None:
            root = more if root is None else ("and", (root, more))
    if root is not None and _only_operators(root):
        root = None
    return Query(root, tuple(parser.operators))


def _only_operators(node: Node) -> bool:
    if node[0] == "any":
        return True
    if node[0] in ("and", "or"):
        return all(_only_operators(n) for n in node[1])
    return False
