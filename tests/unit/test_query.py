"""The brand query language: parsing, local matching and translation to each platform's search."""

from __future__ import annotations

import re
import time

import pytest

from core.errors import InvalidInput
from listener.query import (
    And,
    BrandQuery,
    Handle,
    Hashtag,
    Keyword,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    match_brands,
    parse,
    to_bluesky,
    to_discourse,
    to_hackernews,
    to_mastodon,
    to_reddit,
    to_x,
    to_youtube,
)

K, P, H, T = Keyword, Phrase, Handle, Hashtag
SKYLARK = (
    '"skylark air" OR @skylarkair OR #flyskylark OR (skylark AND (flight OR baggage)) '
    'NOT "skylark bird"'
)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("expr", "tree"),
    [
        ("skylark", K("skylark")),
        ('"skylark  air"', P("skylark air")),
        ("“skylark air”", P("skylark air")),  # curly quotes pasted from a document
        ("@skylarkair", H("skylarkair")),
        ("@skylarkair@mastodon.social", H("skylarkair", "mastodon.social")),
        ("@skylark.bsky.social", H("skylark.bsky.social")),
        ("#FlySkylark", T("FlySkylark")),
        ("a b", And((K("a"), K("b")))),
        ("a AND b", And((K("a"), K("b")))),
        ("a OR b", Or((K("a"), K("b")))),
        ("a OR b c", Or((K("a"), And((K("b"), K("c")))))),  # AND binds tighter than OR
        ("a b OR c", Or((And((K("a"), K("b"))), K("c")))),
        ("(a OR b) c", And((Or((K("a"), K("b"))), K("c")))),
        ("a NOT b", And((K("a"), Not(K("b"))))),  # NOT binds tighter than AND
        ("a -b", And((K("a"), Not(K("b"))))),
        ("a -(b OR c)", And((K("a"), Not(Or((K("b"), K("c"))))))),
        ("a NOT b OR c", Or((And((K("a"), Not(K("b")))), K("c")))),
        ("a NOT NOT b", And((K("a"), Not(Not(K("b")))))),
        ("a OR (b OR c)", Or((K("a"), K("b"), K("c")))),  # flattened
        ("a (b c)", And((K("a"), K("b"), K("c")))),
        ("e-mail c++ skylark.com", And((K("e-mail"), K("c++"), K("skylark.com")))),
        ("and or not", And((K("and"), K("or"), K("not")))),  # operators are upper case only
        ('"AND" b', And((P("AND"), K("b")))),
        (
            SKYLARK,
            Or(
                (
                    P("skylark air"),
                    H("skylarkair"),
                    T("flyskylark"),
                    And(
                        (
                            K("skylark"),
                            Or((K("flight"), K("baggage"))),
                            Not(P("skylark bird")),
                        )
                    ),
                )
            ),
        ),
    ],
)
def test_parse_builds_the_tree(expr: str, tree: object) -> None:
    assert parse(expr) == tree


def test_tree_is_immutable_and_remembers_columns() -> None:
    tree = parse('skylark "skylark air"')
    assert isinstance(tree, And)
    assert [op.column for op in tree.operands] == [1, 9]
    with pytest.raises(AttributeError):
        tree.operands = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expr", "column", "problem"),
    [
        ("", 1, "empty query"),
        ("   ", 1, "empty query"),
        ("(skylark", 1, "'(' is never closed"),
        ("a OR (b", 6, "'(' is never closed"),
        ("skylark)", 8, "')' has no matching '('"),
        ("((a) OR b))", 11, "')' has no matching '('"),
        ("a ()", 3, "empty parentheses"),
        ("a OR", 3, "'OR' has no term after it"),
        ("a AND", 3, "'AND' has no term after it"),
        ("a AND OR b", 3, "'AND' has no term after it"),
        ("a (b OR) c", 6, "'OR' has no term after it"),
        ("OR a", 1, "'OR' has no term before it"),
        ("AND a", 1, "'AND' has no term before it"),
        ("a NOT", 3, "'NOT' has no term after it"),
        ("a - b", 3, "dangling '-'"),
        ("a -", 3, "dangling '-'"),
        ('a "skylark air', 3, "unterminated quote"),
        ('a ""', 3, "empty phrase"),
        ("@", 1, "is not an account"),
        ("a @@b", 3, "is not an account"),
        ("#", 1, "is not a hashtag"),
        ("#fly-skylark", 1, "is not a hashtag"),
        ("NOT bird", 1, "no positive term"),
        ("-bird", 1, "no positive term"),
        ("skylark OR -bird", 12, "no positive term"),
        ("skylark OR (NOT bird)", 13, "no positive term"),
    ],
)
def test_parse_errors_say_what_and_where(expr: str, column: int, problem: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(expr)
    err = caught.value
    assert isinstance(err, InvalidInput)
    assert err.column == column
    assert problem in str(err)
    if expr.strip():
        assert f"(column {column})" in str(err)
        caret_line = str(err).splitlines()[-1]
        assert caret_line.index("^") - 2 == column - 1  # caret under the culprit


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("expr", "text", "expected"),
    [
        # whole words, case-insensitive
        ("skylark", "Flying Skylark today", True),
        ("skylark", "SKYLARK!", True),
        ("skylark", "skylarks everywhere", False),  # no stemming: add skylarks explicitly
        ("skylark", "skylarking", False),
        ("skylark", "theskylark", False),
        ("skylark", "skylark_air", False),  # _ is part of a word
        ("skylark", "skylark2", False),
        ("skylark", "Skylark's crew", True),  # apostrophe ends the word
        ("skylark", "(skylark)", True),
        ("skylark", "skylark.com is down", True),
        ("skylark", "#skylark", True),  # keywords also match inside tags and mentions
        ("skylark", "@skylark", True),
        ("skylark", "sky lark", False),
        ("c++", "I love c++ so much", True),
        ("c++", "c++x", False),
        ("e-mail", "send an E-Mail", True),
        # Unicode: case folding, NFKC, accents kept, scripts without spaces
        ("straße", "STRASSE closed", True),
        ("skylark", "𝐒𝐤𝐲𝐥𝐚𝐫𝐤 is great", True),  # styled "mathematical bold" letters
        ("skylark", "ｓｋｙｌａｒｋ", True),  # full-width
        ("café", "Café Skylark", True),
        ("café", "cafe skylark", False),
        ("mañana", "MAÑANA", True),
        ("mañana", "mañanas", False),
        ("天空航空", "我喜欢天空航空的服务", True),
        ("スカイラーク", "スカイラークの便が遅れた", True),
        ("скайларк", "Летал Скайларк вчера", True),
        ("скайларк", "скайларки", False),
        ("skylark", "我坐skylark去东京", True),  # a Latin brand inside Chinese text
        # phrases: words in order, any spacing or punctuation between them
        ('"skylark air"', "Skylark Air", True),
        ('"skylark air"', "skylark   air", True),
        ('"skylark air"', "skylark\nair", True),
        ('"skylark air"', "Skylark-Air", True),
        ('"skylark air"', "skylark, air", True),
        ('"skylark air"', "air skylark", False),
        ('"skylark air"', "skylark airlines", False),
        ('"skylark air"', "skylark fresh air", False),
        # handles
        ("@skylarkair", "@SkylarkAir help!", True),
        ("@skylarkair", "thanks @skylarkair.", True),
        ("@skylarkair", "@skylarkair@mastodon.social hi", True),
        ("@skylarkair", "@skylarkair.bsky.social hi", True),
        ("@skylarkair", "u/skylarkair replied", True),
        ("@skylarkair", "see /u/skylarkair", True),
        ("@skylarkair", "@skylarkairlines", False),
        ("@skylarkair", "mail ops@skylarkair.com", False),  # an e-mail address
        ("@skylarkair", "skylarkair", False),
        ("@skylarkair@mastodon.social", "@skylarkair@mastodon.social", True),
        ("@skylarkair@mastodon.social", "@skylarkair hi", True),  # how its server shows it
        ("@skylarkair@mastodon.social", "@skylarkair@other.social", False),
        ("@skylarkair@mastodon.social", "@skylarkair@mastodon.socialx", False),
        ("@skylarkair@mastodon.social", "@support@skylarkair", False),
        # hashtags
        ("#flyskylark", "Off we go #FlySkylark!", True),
        ("#flyskylark", "#flyskylark2024", False),
        ("#flyskylark", "flyskylark", False),
        ("#flyskylark", "a#flyskylark", False),
        ("#flyskylark", "&#flyskylark", False),
        # booleans
        ("skylark flight", "flight on skylark", True),
        ("skylark flight", "skylark only", False),
        ("skylark OR flight", "a flight", True),
        ("skylark -bird", "skylark flight", True),
        ("skylark -bird", "skylark bird song", False),
        ("skylark NOT (bird OR song)", "skylark song", False),
        ("skylark NOT (bird song)", "skylark song", True),
        ("skylark NOT NOT bird", "skylark", False),
        (SKYLARK, "Flew Skylark Air today", True),
        (SKYLARK, "skylark baggage lost", True),
        (SKYLARK, "skylark bird baggage", False),  # NOT binds to the last branch
        (SKYLARK, "skylark air: skylark bird mascot", True),  # ...so other branches still match
        (SKYLARK, "skylark song", False),
    ],
)
def test_matches(expr: str, text: str, expected: bool) -> None:
    assert BrandQuery.compile(expr).matches(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skylark flight delayed", True),
        ("skylark flight, a skylark bird on the wing", False),  # phrase exclusion
        ("Skylark flight for BIRDWATCHING", False),  # keyword exclusion
        ("@skylarkair flight #ad", False),  # hashtag exclusion
        ("skylark flight ad", True),
        ("skylark flight @competitor", False),  # handle exclusion
    ],
)
def test_exclusions_veto_every_branch(text: str, expected: bool) -> None:
    q = BrandQuery.compile(
        "(skylark flight) OR @skylarkair",
        exclude=['"skylark bird"', "birdwatching", "#ad", "@competitor"],
    )
    assert q.matches(text) is expected


def test_exclude_entries_without_quotes_are_phrases() -> None:
    q = BrandQuery.compile("skylark", exclude=["skylark bird"])
    assert q.exclusions == (P("skylark bird"),)
    assert not q.matches("a skylark bird")
    assert q.matches("skylark and a bird")


@pytest.mark.parametrize(
    ("exclude", "problem"),
    [
        (["  "], "exclude[0]: empty"),
        (["ok", '""'], "exclude[1]: empty"),
        (['say "hi'], "quote inside"),
        (["#a-b"], "is not a hashtag"),
        ([3], "expected a string"),
    ],
)
def test_bad_exclusions(exclude: list[object], problem: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(problem)):
        BrandQuery.compile("skylark", exclude=exclude)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("item_language", "expected"),
    [
        ("en", True),
        ("ES", True),
        ("en-US", True),
        ("pt_BR", False),
        ("fr", False),
        (None, True),  # unknown language passes
        ("", True),
        ("und", True),
    ],
)
def test_language_filter(item_language: str | None, expected: bool) -> None:
    q = BrandQuery.compile("skylark", languages=["en", "es"])
    assert q.matches("skylark", item_language) is expected


def test_no_language_filter_accepts_every_language() -> None:
    assert BrandQuery.compile("skylark").matches("skylark", "ja")


@pytest.mark.parametrize(
    ("languages", "problem"),
    [(["english"], "'english' is not an ISO 639-1 code"), (["pt-BR"], "did you mean 'pt'")],
)
def test_bad_languages(languages: list[str], problem: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(problem)):
        BrandQuery.compile("skylark", languages=languages)


def test_brand_query_is_a_normalised_hashable_value() -> None:
    a = BrandQuery.compile("skylark", exclude=["bird"], languages=["EN", "en", "es"])
    b = BrandQuery.compile("skylark", exclude=("bird",), languages=("en", "es"))
    assert a == b and hash(a) == hash(b)
    assert a.languages == ("en", "es")
    with pytest.raises(AttributeError):
        a.expression = "other"  # type: ignore[misc]


def test_compile_rejects_a_bad_expression() -> None:
    with pytest.raises(InvalidInput, match="column 9"):
        BrandQuery.compile("skylark (flight")


def test_match_brands_returns_names_in_config_order() -> None:
    brands = {
        "skylark": [BrandQuery.compile("skylark"), BrandQuery.compile("@skylarkair")],
        "acme": [BrandQuery.compile("acme", languages=["en"])],
        "bluejet": [BrandQuery.compile('"blue jet"')],
    }
    assert match_brands("acme vs skylark", "en", brands) == ("skylark", "acme")
    assert match_brands("acme vs @SkylarkAir", "fr", brands) == ("skylark",)
    assert match_brands("Blue Jet and ACME", None, brands) == ("acme", "bluejet")
    assert match_brands("nothing here", "en", brands) == ()


def test_matching_is_fast() -> None:
    """Runs on every collected item; the target is well over 50,000 matches a second."""
    q = BrandQuery.compile(SKYLARK, exclude=["birdwatching"], languages=["en"])
    texts = [
        "Just landed in Lisbon, the crew was lovely and the coffee was terrible. Never again",
        "@SkylarkAir my baggage is lost again, third time this month!! #fail",
        "Skylark flight 202 delayed by three hours, no information at the gate",
        "Lovely morning, heard a skylark bird singing over the fields",
    ] * 5000
    start = time.perf_counter()
    for text in texts:
        q.matches(text, "en")
    rate = len(texts) / (time.perf_counter() - start)
    assert rate > 50_000, f"{rate:,.0f} matches/s"


# --------------------------------------------------------------------------- translation


def _q(expr: str, **kw: object) -> BrandQuery:
    return BrandQuery.compile(expr, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expr", "kw", "expected"),
    [
        ("skylark", {}, "skylark -is:retweet"),
        ("skylark flight", {}, "skylark flight -is:retweet"),
        ("a OR b", {}, "(a OR b) -is:retweet"),
        ("a (b OR c)", {}, "a (b OR c) -is:retweet"),
        ("a OR b c", {}, "(a OR (b c)) -is:retweet"),
        (
            '"skylark air" OR #FlySkylark OR @SkylarkAir',
            {},
            '("skylark air" OR #FlySkylark OR @SkylarkAir) -is:retweet',
        ),
        ("skylark -bird", {}, "skylark -bird -is:retweet"),
        ('skylark -"skylark bird"', {}, 'skylark -"skylark bird" -is:retweet'),
        ("skylark -(bird OR song)", {}, "skylark -bird -song -is:retweet"),  # X refuses -( )
        ("skylark -(bird song)", {}, "skylark -is:retweet"),  # not expressible: dropped
        ("skylark -café", {}, "skylark -is:retweet"),  # X folds accents: would drop "cafe"
        ("skylark -@skylark.bsky.social", {}, "skylark -is:retweet"),
        ("c++ OR skylark.com", {}, '("c++" OR "skylark.com") -is:retweet'),
        ("@skylark.bsky.social", {}, '"skylark.bsky.social" -is:retweet'),
        ("@skylarkair@mastodon.social", {}, "@skylarkair -is:retweet"),
        (
            "skylark",
            {"exclude": ["bird", "skylark bird"]},
            'skylark -bird -"skylark bird" -is:retweet',
        ),
        ("skylark", {"languages": ["en"]}, "skylark (lang:en OR lang:und) -is:retweet"),
        (
            "a OR b",
            {"languages": ["en", "es"]},
            "(a OR b) (lang:en OR lang:es OR lang:und) -is:retweet",
        ),
        (
            SKYLARK,
            {},
            '("skylark air" OR @skylarkair OR #flyskylark OR (skylark (flight OR baggage) '
            '-"skylark bird")) -is:retweet',
        ),
    ],
)
def test_to_x(expr: str, kw: dict[str, object], expected: str) -> None:
    assert to_x(_q(expr, **kw)) == expected


def test_to_x_enforces_512_characters() -> None:
    long = " OR ".join(f"brandterm{i:03d}" for i in range(25))
    assert len(to_x(_q(long))) <= 512
    longer = " OR ".join(f"brandterm{i:03d}" for i in range(60))
    with pytest.raises(InvalidInput, match=r"over X's limit of 512"):
        to_x(_q(longer))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("skylark", "skylark"),
        ("skylark flight", "skylark AND flight"),
        (SKYLARK, '"skylark air" OR skylarkair OR flyskylark OR (skylark AND (flight OR baggage))'),
        ("skylark -bird", "skylark"),
        ("(a OR b) (c OR d)", "(a OR b) AND (c OR d)"),
        ("c++", '"c++"'),
    ],
)
def test_to_reddit(expr: str, expected: str) -> None:
    assert to_reddit(_q(expr)) == expected


def test_to_reddit_enforces_512_characters() -> None:
    with pytest.raises(InvalidInput, match="Reddit"):
        to_reddit(_q(" OR ".join(f"brandterm{i:03d}" for i in range(60))))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("skylark", ("skylark",)),
        ("skylark flight", ("skylark flight",)),
        (
            SKYLARK,
            ('"skylark air"', '"skylarkair"', "#flyskylark", "skylark flight", "skylark baggage"),
        ),
        ("skylark OR (skylark flight)", ("skylark",)),  # the narrower search is covered
        ("skylark -bird", ("skylark",)),
    ],
)
def test_to_bluesky(expr: str, expected: tuple[str, ...]) -> None:
    assert to_bluesky(_q(expr)) == expected


def test_and_only_platforms_fall_back_to_one_search_per_term() -> None:
    """(a OR b)(c OR d)... would need 2**5 searches; each positive term on its own covers it."""
    q = _q("(a1 OR b1) (a2 OR b2) (a3 OR b3) (a4 OR b4) (a5 OR b5)")
    assert to_bluesky(q) == ("a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4", "a5", "b5")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            SKYLARK,
            ('"skylark air"', "skylarkair", "flyskylark", "skylark flight", "skylark baggage"),
        ),
        ("skylark:air", ('"skylark:air"',)),  # word: would be read as an operator
        ("@skylarkair@mastodon.social", ("skylarkair",)),
    ],
)
def test_to_mastodon(expr: str, expected: tuple[str, ...]) -> None:
    assert to_mastodon(_q(expr)) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (SKYLARK, ("skylark air", "skylarkair", "flyskylark", "skylark flight", "skylark baggage")),
        ('"skylark air" OR skylark', ("skylark",)),  # words: "skylark" covers "skylark air"
        ("@skylarkair #flyskylark", ("skylarkair flyskylark",)),  # no @ (author) or # (category)
    ],
)
def test_to_discourse(expr: str, expected: tuple[str, ...]) -> None:
    assert to_discourse(_q(expr)) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (SKYLARK, ("skylark air", "skylarkair", "flyskylark", "skylark flight", "skylark baggage")),
        ("skylark -bird", ("skylark",)),
        ('"Skylark Air" OR @SkylarkAir', ("Skylark Air", "SkylarkAir")),
    ],
)
def test_to_hackernews(expr: str, expected: tuple[str, ...]) -> None:
    assert to_hackernews(_q(expr)) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("skylark", "skylark"),
        ("skylark (flight OR baggage)", "skylark"),
        ("(skylark flight) OR (skylark baggage)", "skylark"),  # shared by both branches
        ('"skylark airlines" delay', "airlines"),  # the longest required word
        ("skylark OR acme", ""),  # nothing required: fetch every comment thread
        (SKYLARK, ""),
    ],
)
def test_to_youtube(expr: str, expected: str) -> None:
    assert to_youtube(_q(expr)) == expected


# --------------------------------------------------------------------------- superset property
# Every text the query matches must be found by the platform search. A tiny model of each
# engine (each search ANDs its words, results of several searches are merged; YouTube needs
# its one word) checks it.

_WORDS = re.compile(r"\w+")


def _tokens(text: str) -> set[str]:
    return {w.casefold() for w in _WORDS.findall(text)}


def _engine_and(search: str, text: str) -> bool:
    """An AND-only engine that tokenises on punctuation; "#x", "@x" and quotes reduce to words."""
    return _tokens(search) <= _tokens(text)


SUPERSET_CASES = [
    (SKYLARK, ["Flew Skylark Air", "@skylarkair hi", "#FlySkylark", "skylark flight late",
               "skylark baggage", "skylark air: skylark bird mascot"]),
    ("(skylark OR skylarks) (delay OR late)", ["skylarks late again", "Skylark delay"]),
    ("skylark -bird", ["skylark flight"]),
    ("(a1 OR b1) (a2 OR b2) (a3 OR b3) (a4 OR b4) (a5 OR b5)", ["b1 a2 b3 a4 b5"]),
    ('acme OR "skylark air" NOT (bird OR song)', ["acme bird", "skylark air"]),
]


@pytest.mark.parametrize(("expr", "texts"), SUPERSET_CASES)
def test_translations_find_every_match(expr: str, texts: list[str]) -> None:
    q = _q(expr)
    for text in texts:
        assert q.matches(text), text  # the case itself must be a match
        for search_plan in (to_bluesky(q), to_mastodon(q), to_discourse(q), to_hackernews(q)):
            assert any(_engine_and(s, text) for s in search_plan), (search_plan, text)
        required = to_youtube(q)
        assert not required or required.casefold() in _tokens(text), text


@pytest.mark.parametrize(("expr", "texts"), SUPERSET_CASES)
def test_x_and_reddit_searches_find_every_match(expr: str, texts: list[str]) -> None:
    """X's and Reddit's syntax is a subset of ours, so their queries can be matched locally too."""
    q = _q(expr)
    x_query = re.sub(r" \(lang:[^)]*\)| -is:retweet", "", to_x(q))
    reddit_query = to_reddit(q)
    assert "NOT" not in reddit_query
    for text in texts:
        assert _q(x_query).matches(text), (x_query, text)
        assert _q(reddit_query).matches(text), (reddit_query, text)
