"""Language detection: confident answers on real sentences, None on noise."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from listener.language import DEFAULT_LANGUAGES, Detector, default_detector, detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My flight was delayed again and nobody at the gate could tell us why", "en"),
        ("@SkylarkAir lost my bag, great service as always https://t.co/abc123", "en"),
        ("Mi vuelo se retrasó otra vez y perdieron mi maleta", "es"),
        ("Mein Flug hatte wieder Verspätung und das Gepäck ist weg", "de"),
        ("Mon vol a encore été retardé et mes bagages sont perdus", "fr"),
        ("Il mio volo è stato cancellato senza preavviso", "it"),
        ("Meu voo atrasou de novo, péssimo atendimento", "pt"),
        ("Mijn vlucht is weer vertraagd, wat een gedoe", "nl"),
        ("我的航班又延误了，太糟糕了", "zh"),
        ("フライトがまた遅れました", "ja"),
        ("비행기가 또 지연되었어요", "ko"),
        ("Мой рейс снова задержали на три часа", "ru"),
        ("تأخرت رحلتي مرة أخرى", "ar"),
    ],
)
def test_detects_common_languages(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "lol 👍",
        "👍🔥🔥",
        "ok",
        "skylark",  # one word: a guess, not a detection
        "Verspätung!",
        "https://t.co/abc123 https://example.com/a/very/long/path",
        "@skylarkair @otheraccount #FlySkylark #travel https://t.co/x",
        ":blobcat: :blobheart:",
        "+1 !!! 100%",
    ],
)
def test_unsure_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_handles_and_links_do_not_count_as_words() -> None:
    """The letters of @handles, #tags and URLs would otherwise pass the minimum on their own."""
    assert detect_language("@skylarkairlines #flyskylarkairlines lol") is None


def test_default_detector_is_built_once() -> None:
    assert default_detector() is default_detector()
    assert default_detector().languages == DEFAULT_LANGUAGES


def test_detector_is_restricted_to_its_languages() -> None:
    detector = Detector(("en", "es"))
    assert detector.languages == ("en", "es")
    assert detector.detect("Mein Flug hatte wieder Verspätung und das Gepäck ist weg") in (
        "en",
        "es",
        None,
    )
    assert detector.detect("Mi vuelo se retrasó otra vez y perdieron mi maleta") == "es"


def test_detector_normalises_codes() -> None:
    assert Detector((" EN", "es", "en")).languages == ("en", "es")


@pytest.mark.parametrize(
    ("languages", "problem"),
    [(("en", "xx"), "'xx' is not an ISO 639-1 code"), ((), "empty")],
)
def test_detector_rejects_bad_language_lists(languages: tuple[str, ...], problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        Detector(languages)


def test_detector_rejects_unknown_accuracy() -> None:
    with pytest.raises(InvalidInput, match="'low' or 'high'"):
        Detector(accuracy="best")  # type: ignore[arg-type]


def test_detect_many_matches_detect() -> None:
    texts = [
        "My flight was delayed again and nobody could tell us why",
        "lol 👍",
        "Mi vuelo se retrasó otra vez y perdieron mi maleta",
        "",
        "Mon vol a encore été retardé et mes bagages sont perdus",
    ]
    detector = default_detector()
    assert detector.detect_many(texts) == [detector.detect(t) for t in texts]
    assert detector.detect_many(texts) == ["en", None, "es", None, "fr"]
    assert detector.detect_many([]) == []
