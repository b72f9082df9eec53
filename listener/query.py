"""Brand queries: one boolean language, matched locally and translated for each platform's search.

A brand's query is written once, in config, for every platform::

    "skylark air" OR @skylarkair OR #flyskylark OR (skylark AND (flight OR baggage))

Syntax
    skylark          keyword: case-insensitive, whole word (see "Matching")
    "skylark air"    phrase: the words in this order, separated by spaces or punctuation
    @skylarkair      account mention (also @skylarkair@mastodon.social, @skylarkair.bsky.social,
                     u/skylarkair); @user@domain names one fediverse account
    #flyskylark      hashtag, case-insensitive, exact tag (#flyskylark does not match #flyskylarks)
    a AND b, a b     both (adjacent terms are ANDed)
    a OR b           either
    NOT a, -a        not
    ( ... )          grouping
Operators are recognised in upper case only (as on X, Reddit and Lucene); a lower-case "or" is
a keyword. Precedence is NOT > AND > OR, so ``a OR b NOT c`` means ``a OR (b AND NOT c)``: to
veto a term for the whole brand, use the brand's ``exclude`` list, which applies to every branch.
A query must contain a positive term on every branch: ``NOT bird`` or ``a OR -b`` would match
posts that mention nothing of the brand, so they are rejected.

Matching (``BrandQuery.matches``)
    Text and terms are NFKC-normalised and case-folded, so "SKYLARK", "Skylark", full-width and
    "mathematical bold" styled letters all match ``skylark``. Accents are kept: ``café`` does not
    match "cafe". Keywords match whole words only: ``skylark`` matches "Skylark's", "#skylark",
    "skylark.com" and "@skylark", but not "skylarks" or "skylark_air"; write ``skylarks`` as
    another OR term when plurals matter. Letters of scripts written without spaces (Chinese,
    Japanese, Korean, Thai, ...) need no word boundary, so ``天空航空`` matches inside a sentence.

Translation to platform search: always a superset
    Every collected item is re-checked locally with ``matches``, so a platform query may return
    too much (we drop it) but must never return too little (a mention would be lost for good).
    Each ``to_*`` function therefore sends the widest form that the platform can express:

    * negations are pushed only to X, whose keyword matching is exact-token like ours, and only
      for ASCII terms (X folds accents, so ``-café`` would also drop "cafe"). Elsewhere they are
      dropped: Mastodon and Discourse stem terms (``-flight`` would drop "flights", which we
      keep) and Reddit and Bluesky do not document their analysis;
    * platforms without OR (Bluesky, Mastodon, Discourse, Hacker News) get several search
      strings, one per OR branch, whose results together are a superset; YouTube gets one word
      that every match must contain, or nothing;
    * language filters are pushed only to X, together with ``lang:und``, because locally an
      item of unknown language passes the filter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence, Union

from core.errors import InvalidInput

__all__ = [
    "And",
    "BrandQuery",
    "Handle",
    "Hashtag",
    "Keyword",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "QuerySyntaxError",
    "Term",
    "match_brands",
    "parse",
    "to_bluesky",
    "to_discourse",
    "to_hackernews",
    "to_mastodon",
    "to_reddit",
    "to_x",
    "to_youtube",
]


class QuerySyntaxError(InvalidInput):
    """A query expression cannot be parsed; ``column`` (1-based) points at the culprit.

    The message repeats the expression with a caret under that column, so the CLI and the
    dashboard can show it as is.
    """

    def __init__(self, expression: str, column: int, problem: str) -> None:
        self.expression = expression
        self.column = column
        self.problem = problem
        if not expression.strip():
            super().__init__(problem)
            return
        caret = " " * (column - 1) + "^"
        super().__init__(f"{problem} (column {column})\n  {expression}\n  {caret}")


# --------------------------------------------------------------------------- the syntax tree
# Columns are kept for error messages but ignored by ==, so trees compare by meaning.


@dataclass(frozen=True, slots=True)
class Keyword:
    text: str
    column: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # words separated by single spaces
    column: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Handle:
    user: str
    domain: str | None = None  # set for a fediverse account written @user@domain
    column: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Hashtag:
    tag: str
    column: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    column: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]
    column: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]
    column: int = field(default=0, compare=False, repr=False)


Term = Union[Keyword, Phrase, Handle, Hashtag]
Node = Union[Keyword, Phrase, Handle, Hashtag, Not, And, Or]
_TERM_TYPES = (Keyword, Phrase, Handle, Hashtag)

# --------------------------------------------------------------------------- lexer

_OPEN_QUOTES = '"\u201c\u201e'  # " “ „ (copied from documents)
_CLOSE_QUOTES = '"\u201d\u201c'  # " ” “
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_NAME = r"\w(?:[\w.-]*\w)?"
_HANDLE_RE = re.compile(rf"({_NAME})(?:@({_NAME}))?")
_HASHTAG_RE = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "term", "(", ")", "AND", "OR", "NOT" ("-" shorthand is a NOT)
    column: int
    text: str
    term: Term | None = None


def _tokenize(expr: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(expr)
    while i < n:
        ch = expr[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, col, ch))
            i += 1
        elif ch in _OPEN_QUOTES:
            end = next((j for j in range(i + 1, n) if expr[j] in _CLOSE_QUOTES), -1)
            if end < 0:
                raise QuerySyntaxError(expr, col, 'unterminated quote: no closing " after it')
            words = expr[i + 1 : end].split()
            if not words:
                raise QuerySyntaxError(expr, col, "empty phrase \"\": put words between the quotes")
            tokens.append(_Token("term", col, expr[i : end + 1], Phrase(" ".join(words), col)))
            i = end + 1
        elif ch == "-" and (i + 1 == n or expr[i + 1].isspace() or expr[i + 1] == ")"):
            raise QuerySyntaxError(
                expr, col, "dangling '-': write it directly before a term, as in -bird"
            )
        elif ch == "-":
            tokens.append(_Token("NOT", col, "-"))
            i += 1
        else:
            j = i
            while j < n and not (expr[j].isspace() or expr[j] in "()" or expr[j] in _OPEN_QUOTES):
                j += 1
            word = expr[i:j]
            if word in _OPERATORS:
                tokens.append(_Token(word, col, word))
            else:
                tokens.append(_Token("term", col, word, _word_term(word, expr, col)))
            i = j
    return tokens


def _word_term(word: str, expr: str, col: int) -> Term:
    """Classify an unquoted word as a handle, a hashtag or a keyword."""
    if word.startswith("@"):
        m = _HANDLE_RE.fullmatch(word[1:])
        if not m:
            raise QuerySyntaxError(
                expr, col, f"'{word}' is not an account: write @name or @name@server"
            )
        return Handle(m.group(1), m.group(2), col)
    if word.startswith("#"):
        if not _HASHTAG_RE.fullmatch(word[1:]):
            raise QuerySyntaxError(
                expr, col, f"'{word}' is not a hashtag: use letters, digits and _ after #"
            )
        return Hashtag(word[1:], col)
    return Keyword(word, col)


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent, one method per precedence level.

    or := and (OR and)*;  and := not ((AND)? not)*;  not := NOT not | atom;  atom := term | (or)
    """

    _STARTS_OPERAND = frozenset({"term", "(", "NOT"})

    def __init__(self, expr: str, tokens: list[_Token]) -> None:
        self.expr = expr
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def fail(self, column: int, problem: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.expr, column, problem)

    def operand_must_follow(self, op: _Token) -> None:
        nxt = self.peek()
        if nxt is None or nxt.kind not in self._STARTS_OPERAND:
            raise self.fail(op.column, f"dangling operator: '{op.text}' has no term after it")

    def parse(self) -> Node:
        node = self.parse_or()
        tok = self.peek()
        if tok is not None:  # only a stray ")" can stop parse_or early
            raise self.fail(tok.column, "unbalanced parenthesis: this ')' has no matching '('")
        return node

    def parse_or(self) -> Node:
        first = self.parse_and()
        operands = [first]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.pos += 1
            self.operand_must_follow(tok)
            operands.append(self.parse_and())
        return first if len(operands) == 1 else Or(_flatten(Or, operands), first.column)

    def parse_and(self) -> Node:
        first = self.parse_not()
        operands = [first]
        while (tok := self.peek()) is not None:
            if tok.kind == "AND":
                self.pos += 1
                self.operand_must_follow(tok)
            elif tok.kind not in self._STARTS_OPERAND:
                break
            operands.append(self.parse_not())
        return first if len(operands) == 1 else And(_flatten(And, operands), first.column)

    def parse_not(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "NOT":
            self.pos += 1
            self.operand_must_follow(tok)
            return Not(self.parse_not(), tok.column)
        return self.parse_atom()

    def parse_atom(self) -> Node:
        tok = self.peek()
        if tok is None:  # unreachable after operand_must_follow; kept for safety
            raise self.fail(len(self.expr) + 1, "the query ends where a term was expected")
        if tok.kind == "term":
            self.pos += 1
            assert tok.term is not None
            return tok.term
        if tok.kind == "(":
            self.pos += 1
            nxt = self.peek()
            if nxt is not None and nxt.kind == ")":
                raise self.fail(tok.column, "empty parentheses: put terms inside or remove them")
            if nxt is None:
                raise self.fail(tok.column, "unbalanced parenthesis: this '(' is never closed")
            inner = self.parse_or()
            close = self.peek()
            if close is None or close.kind != ")":
                raise self.fail(tok.column, "unbalanced parenthesis: this '(' is never closed")
            self.pos += 1
            return inner
        if tok.kind == ")":
            raise self.fail(tok.column, "unbalanced parenthesis: this ')' has no matching '('")
        raise self.fail(tok.column, f"dangling operator: '{tok.text}' has no term before it")


def _flatten(kind: type[And] | type[Or], operands: Iterable[Node]) -> tuple[Node, ...]:
    """Merge nested nodes of the same kind: (a OR (b OR c)) is a OR b OR c."""
    out: list[Node] = []
    for op in operands:
        out.extend(op.operands if isinstance(op, kind) else (op,))
    return tuple(out)


def _anchored(node: Node) -> bool:
    """True when every post the node matches contains one of its non-negated terms."""
    if isinstance(node, _TERM_TYPES):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_anchored(op) for op in node.operands)
    return all(_anchored(op) for op in node.operands)


def _unanchored_part(node: Node) -> Node:
    if isinstance(node, Or):
        return next(op for op in node.operands if not _anchored(op))
    if isinstance(node, And):
        return node.operands[0]
    return node


def parse(expr: str) -> Node:
    """Parse a query expression into an immutable tree, or raise ``QuerySyntaxError``.

    Rejects, with the column: an empty query, unbalanced parentheses, empty parentheses, an
    unterminated quote, an operator with no term before or after it, a malformed @handle or
    #hashtag, and a query whose match need not contain any of its terms (``NOT bird``).
    """
    tokens = _tokenize(expr)
    if not tokens:
        raise QuerySyntaxError(expr, 1, "empty query: write at least one term, e.g. skylark")
    node = _Parser(expr, tokens).parse()
    if not _anchored(node):
        part = _unanchored_part(node)
        raise QuerySyntaxError(
            expr,
            max(part.column, 1),
            "this part has no positive term, so it would match posts that do not mention the "
            "brand; combine it with one (skylark NOT bird) or move the term to 'exclude'",
        )
    return node


# --------------------------------------------------------------------------- local matching

# Scripts written without spaces between words: no word boundary is required next to them.
_UNSPACED = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff\u31f0-\u31ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"  # Hangul (particles attach to nouns)
    "\U00020000-\U0002fa1f"  # Han extensions
)
_UNSPACED_RE = re.compile(f"[{_UNSPACED}]")
_SPACED_WORD = rf"[^\W{_UNSPACED}]"  # a word character of a script that separates words
_UNKNOWN_LANGUAGES = frozenset({"", "und", "zxx", "mul", "xx"})
_LANGUAGE_RE = re.compile(r"[a-z]{2}")


def _fold(text: str) -> str:
    """The form both text and terms are compared in: NFKC (styled letters) and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _bounded(literal_pattern: str, folded: str) -> str:
    """Require a word boundary on each side whose edge letter belongs to a spaced script."""
    left = "" if _UNSPACED_RE.match(folded[0]) else f"(?<!{_SPACED_WORD})"
    right = "" if _UNSPACED_RE.match(folded[-1]) else f"(?!{_SPACED_WORD})"
    return left + literal_pattern + right


def _term_pattern(term: Term) -> tuple[str, str]:
    """Return (a literal that must occur in folded text, the regex that confirms the match)."""
    if isinstance(term, Keyword):
        folded = _fold(term.text)
        return folded, _bounded(re.escape(folded), folded)
    if isinstance(term, Phrase):
        words = [_fold(w) for w in term.text.split(" ")]
        pattern = r"[\W_]+".join(re.escape(w) for w in words)
        joined = " ".join(words)
        return max(words, key=len), _bounded(pattern, joined)
    if isinstance(term, Hashtag):
        folded = _fold(term.tag)
        return "#" + folded, rf"(?<![\w#&])#{re.escape(folded)}(?!\w)"
    user = re.escape(_fold(term.user))
    if term.domain is None:
        # @user, @user@any.server, @user.bsky.social and Reddit's u/user all mention the name.
        return _fold(term.user), rf"(?:(?<!\w)@|(?<!\w)u/){user}(?!\w)"
    domain = re.escape(_fold(term.domain))
    # @user@domain, or the short @user a server shows for its local accounts; not @user@other.
    return _fold(term.user), rf"(?<!\w)@{user}(?:@{domain})?(?![\w@])"


_Predicate = Callable[[str], bool]


def _compile_term(term: Term) -> _Predicate:
    literal, pattern = _term_pattern(term)
    search = re.compile(pattern).search
    return lambda text: literal in text and search(text) is not None


def _compile(node: Node) -> _Predicate:
    """Turn the tree into nested closures once, so matching does no tree walking or dispatch."""
    if isinstance(node, _TERM_TYPES):
        return _compile_term(node)
    if isinstance(node, Not):
        inner = _compile(node.operand)
        return lambda text: not inner(text)
    parts = tuple(_compile(op) for op in node.operands)
    if isinstance(node, And):
        if len(parts) == 2:
            a, b = parts
            return lambda text: a(text) and b(text)
        return lambda text: all(p(text) for p in parts)
    if len(parts) == 2:
        a, b = parts
        return lambda text: a(text) or b(text)
    return lambda text: any(p(text) for p in parts)


def _exclude_term(entry: str, index: int) -> Term:
    """Read one ``exclude`` entry: "@x", "#x", a word, or words (a phrase, quotes optional)."""
    where = f"exclude[{index}]"
    if not isinstance(entry, str):
        raise InvalidInput(f"{where}: expected a string, got {type(entry).__name__}")
    text = entry.strip()
    if len(text) >= 2 and text[0] in _OPEN_QUOTES and text[-1] in _CLOSE_QUOTES:
        text = text[1:-1].strip()
    if not text:
        raise InvalidInput(f"{where}: empty; remove it or write a word to exclude")
    if any(q in text for q in _OPEN_QUOTES + _CLOSE_QUOTES):
        raise InvalidInput(f"{where}: {entry!r} has a quote inside; write the words without it")
    words = text.split()
    if len(words) > 1:
        return Phrase(" ".join(words))
    try:
        return _word_term(text, text, 1)
    except QuerySyntaxError as exc:
        raise InvalidInput(f"{where}: {exc.problem}") from None


def _normalize_language(code: str | None) -> str | None:
    """Reduce a platform's language tag (en, en-US, pt_BR, und) to ISO 639-1, or None if unknown."""
    if not code:
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return None if primary in _UNKNOWN_LANGUAGES else primary


def _validate_languages(languages: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for code in languages:
        norm = code.strip().lower() if isinstance(code, str) else ""
        if not _LANGUAGE_RE.fullmatch(norm):
            hint = f"; did you mean {norm[:2]!r}?" if "-" in norm or "_" in norm else ""
            raise InvalidInput(
                f"languages: {code!r} is not an ISO 639-1 code; use two letters such as 'en'{hint}"
            )
        if norm not in out:
            out.append(norm)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class BrandQuery:
    """One compiled brand query. Build it with ``BrandQuery.compile``; it is immutable and hashable.

    The expression is parsed and its regexes compiled once, here, because ``matches`` runs on
    every collected item.
    """

    expression: str
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    ast: Node = field(init=False, repr=False, compare=False)
    exclusions: tuple[Term, ...] = field(init=False, repr=False, compare=False)
    _match: _Predicate = field(init=False, repr=False, compare=False)
    _vetoes: tuple[_Predicate, ...] = field(init=False, repr=False, compare=False)
    _language_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ast = parse(self.expression)
        exclusions = tuple(_exclude_term(e, i) for i, e in enumerate(self.exclude))
        languages = _validate_languages(self.languages)
        object.__setattr__(self, "exclude", tuple(self.exclude))
        object.__setattr__(self, "languages", languages)
        object.__setattr__(self, "ast", ast)
        object.__setattr__(self, "exclusions", exclusions)
        object.__setattr__(self, "_match", _compile(ast))
        object.__setattr__(self, "_vetoes", tuple(_compile_term(t) for t in exclusions))
        object.__setattr__(self, "_language_set", frozenset(languages))

    @classmethod
    def compile(
        cls, expression: str, exclude: Sequence[str] = (), languages: Sequence[str] = ()
    ) -> BrandQuery:
        """Parse and compile; raises ``InvalidInput`` naming what is wrong and where."""
        return cls(expression, tuple(exclude), tuple(languages))

    def matches(self, text: str, language: str | None = None) -> bool:
        """Does this item mention the brand? ``language`` is the item's tag (en, pt-BR, und, None).

        An item of unknown language passes a language filter: dropping it would lose mentions
        that are too short or too mixed to classify.
        """
        return self._matches_folded(_fold(text), _normalize_language(language))

    def _matches_folded(self, folded: str, language: str | None) -> bool:
        if self._language_set and language is not None and language not in self._language_set:
            return False
        if not self._match(folded):
            return False
        return not any(veto(folded) for veto in self._vetoes)


def match_brands(
    text: str, language: str | None, brands: Mapping[str, Sequence[BrandQuery]]
) -> tuple[str, ...]:
    """Names of the brands any of whose queries match, in the mapping's (config) order.

    The text is normalised once for all brands.
    """
    folded = _fold(text)
    lang = _normalize_language(language)
    return tuple(
        name
        for name, queries in brands.items()
        if any(q._matches_folded(folded, lang) for q in queries)
    )


# --------------------------------------------------------------------------- translation helpers


def _positive(node: Node) -> Node | None:
    """The query without its negations (None means "anything"): a superset of the query."""
    if isinstance(node, _TERM_TYPES):
        return node
    if isinstance(node, Not):
        return None
    kept = [p for op in node.operands if (p := _positive(op)) is not None]
    if isinstance(node, Or) and len(kept) < len(node.operands):
        return None
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else type(node)(_flatten(type(node), kept), node.column)


def _positive_terms(node: Node) -> list[Term]:
    """Distinct non-negated terms in order of appearance; every match contains one of them."""
    out: list[Term] = []

    def walk(n: Node) -> None:
        if isinstance(n, _TERM_TYPES):
            if n not in out:
                out.append(n)
        elif isinstance(n, (And, Or)):
            for op in n.operands:
                walk(op)

    walk(node)
    return out


_MAX_SEARCHES = 16


def _disjuncts(node: Node) -> list[list[Term]]:
    """Term sets whose searches (each ANDing its terms) together return a superset of the query.

    The positive part is expanded to OR-of-ANDs; if that exceeds ``_MAX_SEARCHES`` searches,
    each positive term is searched on its own instead (still a superset, since every match
    contains one). Sets that contain a smaller set are dropped: the smaller search covers them.
    """
    positive = _positive(node)
    assert positive is not None, "parse() guarantees a positive term"
    order = _positive_terms(positive)

    def expand(n: Node) -> list[frozenset[Term]] | None:
        if isinstance(n, _TERM_TYPES):
            return [frozenset({n})]
        result: list[frozenset[Term]] = [] if isinstance(n, Or) else [frozenset()]
        for op in n.operands:  # type: ignore[union-attr]
            sub = expand(op)
            if sub is None:
                return None
            result = result + sub if isinstance(n, Or) else [a | b for a in result for b in sub]
            if len(result) > _MAX_SEARCHES:
                return None
        return result

    sets = expand(positive)
    if sets is None:
        sets = [frozenset({t}) for t in order]
    unique = list(dict.fromkeys(sets))
    minimal = [s for s in unique if not any(o < s for o in unique)]
    return [sorted(s, key=order.index) for s in minimal]


def _required_terms(node: Node) -> list[Term]:
    """Terms that every match must contain (empty when OR branches share none)."""
    if isinstance(node, _TERM_TYPES):
        return [node]
    if isinstance(node, Not):
        return []
    parts = [_required_terms(op) for op in node.operands]
    if isinstance(node, And):
        return list(dict.fromkeys(t for p in parts for t in p))
    return [t for t in parts[0] if all(t in p for p in parts[1:])]


def _words(term: Term) -> list[str]:
    """Plain words for engines that know no phrases, handles or hashtags."""
    if isinstance(term, Keyword):
        return [term.text]
    if isinstance(term, Phrase):
        return term.text.split(" ")
    if isinstance(term, Hashtag):
        return [term.tag]
    return [term.user]


_BARE_WORD = re.compile(r"\w+")


def _word_or_quoted(text: str) -> str:
    """A keyword as most engines read it: bare if plain letters and digits, else an exact phrase."""
    if _BARE_WORD.fullmatch(text) and text not in _OPERATORS:
        return text
    return f'"{text}"'


def _render(
    node: Node,
    term: Callable[[Term], str],
    negate: Callable[[Node], str | None],
    *,
    and_sep: str = " ",
) -> str:
    """Render with explicit parentheses around every nested group (precedence differs by site)."""

    def go(n: Node, nested: bool) -> str | None:
        if isinstance(n, _TERM_TYPES):
            return term(n)
        if isinstance(n, Not):
            return negate(n.operand)
        if isinstance(n, Or):
            inner = " OR ".join(s for op in n.operands if (s := go(op, True)) is not None)
        else:
            parts = [s for op in n.operands if (s := go(op, True)) is not None]
            if len(parts) == 1:
                return parts[0]
            inner = and_sep.join(parts)
        return f"({inner})" if nested else inner

    out = go(node, False)
    assert out is not None, "parse() guarantees a positive term"
    return out


def _check_length(platform: str, query: str, limit: int) -> str:
    if len(query) > limit:
        raise InvalidInput(
            f"the {platform} search query is {len(query)} characters, over {platform}'s limit of "
            f"{limit}; shorten the brand's query or split it into several queries "
            f"(it begins: {query[:60]}...)"
        )
    return query


# --------------------------------------------------------------------------- X

X_MAX_QUERY = 512
_X_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")


def _x_term(term: Term) -> str:
    if isinstance(term, Phrase):
        return f'"{term.text}"'
    if isinstance(term, Hashtag):
        return f"#{term.tag}"
    if isinstance(term, Handle):
        if _X_USERNAME.fullmatch(term.user):
            return f"@{term.user}"
        return f'"{term.user}"'  # a Bluesky-style name: search its text
    return _word_or_quoted(term.text)


def _x_negation(node: Node) -> str | None:
    """Negate on X only what X matches exactly like us; None drops the negation (broader)."""
    if isinstance(node, Or):
        parts = [p for op in node.operands if (p := _x_negation(op)) is not None]
        return " ".join(parts) if len(parts) == len(node.operands) else None
    if not isinstance(node, _TERM_TYPES) or not _x_term(node).isascii():
        return None
    if isinstance(node, Handle) and not _X_USERNAME.fullmatch(node.user):
        return None
    return f"-{_x_term(node)}"


def to_x(q: BrandQuery) -> str:
    """X API v2 recent search (``query``, at most 512 characters).

    X supports quotes, OR, ``-``, parentheses, @ and #; adjacency is AND and there is no AND
    keyword. A negated group is written term by term (X refuses ``-(a OR b)``); negations X
    cannot express exactly are dropped. Languages become ``(lang:en OR lang:und)`` so posts X
    could not classify are still collected. Retweets are excluded (``-is:retweet``): they repeat
    the original post, which is collected once.
    """
    body = _render(q.ast, _x_term, _x_negation)
    if isinstance(q.ast, Or):
        body = f"({body})"
    parts = [body]
    parts += [neg for t in q.exclusions if (neg := _x_negation(t)) is not None]
    if q.languages:
        parts.append("(" + " OR ".join(f"lang:{c}" for c in (*q.languages, "und")) + ")")
    parts.append("-is:retweet")
    return _check_length("X", " ".join(parts), X_MAX_QUERY)


# --------------------------------------------------------------------------- Reddit

REDDIT_MAX_QUERY = 512


def _reddit_term(term: Term) -> str:
    if isinstance(term, Phrase):
        return f'"{term.text}"'
    if isinstance(term, Keyword):
        return _word_or_quoted(term.text)
    return _word_or_quoted(_words(term)[0])  # no @ or # on Reddit: u/name and #tag are words


def to_reddit(q: BrandQuery) -> str:
    """Reddit search ``q`` (at most 512 characters): AND, OR, quotes and parentheses.

    Reddit also knows NOT, but how it stems and tokenises is undocumented, so a server-side
    NOT could drop posts we would keep; negations are left to the local check. Handles and
    hashtags become plain words (Reddit has neither). Search covers titles and self-text only;
    comments must be collected separately.
    """
    positive = _positive(q.ast)
    assert positive is not None, "parse() guarantees a positive term"
    text = _render(positive, _reddit_term, lambda _n: None, and_sep=" AND ")
    return _check_length("Reddit", text, REDDIT_MAX_QUERY)


# --------------------------------------------------------------------------- AND-only engines


def _bluesky_term(term: Term) -> str:
    if isinstance(term, Phrase):
        return f'"{term.text}"'
    if isinstance(term, Hashtag):
        return f"#{term.tag}"  # Bluesky filters on the post's tag facets
    if isinstance(term, Handle):
        # "@name.tld" would become a mention filter, or vanish when the handle does not resolve.
        return f'"{term.user}"'
    return _word_or_quoted(term.text)


def to_bluesky(q: BrandQuery) -> tuple[str, ...]:
    """Bluesky ``app.bsky.feed.searchPosts`` ``q`` values; run each and merge the results.

    Bluesky ANDs every term and has no OR (it reads "OR" as a word), so an OR query becomes
    several searches. Quoted phrases and #tags are supported. Handles are searched as text:
    ``@name`` would become a mention filter that silently matches everything when the handle
    does not resolve. Negations and ``lang:`` are not sent (see the module docstring).
    """
    return tuple(" ".join(_bluesky_term(t) for t in terms) for terms in _disjuncts(q.ast))


def _mastodon_term(term: Term) -> str:
    if isinstance(term, Phrase):
        return f'"{term.text}"'
    if isinstance(term, Keyword):
        return _word_or_quoted(term.text)
    return _word_or_quoted(_words(term)[0])


def to_mastodon(q: BrandQuery) -> tuple[str, ...]:
    """Mastodon ``/api/v2/search`` ``q`` values (``type=statuses``); run each and merge.

    Mastodon ANDs terms (``+``/no prefix), has no OR, stems words, and reads ``word:`` as an
    operator, so terms with a colon are quoted. Handles and hashtags are sent as plain words,
    which also match the mention and tag text. Full-text search covers only accounts that opted
    in to being indexed; hashtags are more complete through the tag timeline.
    """
    return tuple(" ".join(_mastodon_term(t) for t in terms) for terms in _disjuncts(q.ast))


def _word_searches(q: BrandQuery) -> tuple[str, ...]:
    """Searches of plain words, for engines that AND words and know no phrases, @ or #."""
    disjuncts = _disjuncts(q.ast)
    word_sets = [frozenset(w for t in terms for w in _words(t)) for terms in disjuncts]
    out: list[str] = []
    for terms, words in zip(disjuncts, word_sets):
        if any(other < words for other in word_sets):
            continue  # a search for fewer of these words already covers this one
        text = " ".join(dict.fromkeys(w for t in terms for w in _words(t)))
        if text not in out:
            out.append(text)
    return tuple(out)


def to_discourse(q: BrandQuery) -> tuple[str, ...]:
    """Discourse ``/search.json`` ``q`` values; run each and merge.

    Discourse ANDs words, stems them, and reads ``@name`` as an author filter and ``#name`` as a
    category, so every term is sent as plain words (a phrase as its words). Words shorter than
    the site's ``min_search_term_length`` (3 by default) are ignored by Discourse.
    """
    return _word_searches(q)


def to_hackernews(q: BrandQuery) -> tuple[str, ...]:
    """Hacker News (Algolia ``search_by_date``) ``query`` values; run each and merge.

    Algolia requires every word of a query (no OR, no NOT; phrases and ``-`` only with
    ``advancedSyntax``) and ignores @ and #, so each search is the plain words of one OR branch.
    Algolia also matches prefixes and typos, which only widens the result. (Sending all words
    once with ``optionalWords`` would save requests, but Algolia then requires more matching
    words after every 1,000 hits, and the HN API does not document the parameter.)
    """
    return _word_searches(q)


def to_youtube(q: BrandQuery) -> str:
    """YouTube ``commentThreads.list`` ``searchTerms``: one word every match contains, or "".

    ``searchTerms`` is plain text with no operators, so only a word that every matching comment
    must contain keeps the result a superset; the longest such word is the most selective.
    An empty string means "send no searchTerms": fetch all of the channel's comment threads.
    """
    required = [w for t in _required_terms(q.ast) for w in _words(t)]
    return max(required, key=len) if required else ""
