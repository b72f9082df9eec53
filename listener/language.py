"""Language detection for items the platform did not label, with lingua.

One detector is built per set of languages and reused (building one loads its models). Low-accuracy
mode keeps memory and time small; on short social posts it is reliable for the common languages,
and an item that cannot be told apart confidently gets None, which brand language filters let pass.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Sequence

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

DEFAULT_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl", "sv", "pl", "tr", "ja", "ko", "zh", "ar", "ru", "hi")
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#][\w.@-]+")
MIN_LETTERS = 12


class Detector:
    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES, *, min_relative_distance: float = 0.1) -> None:
        codes = []
        for code in languages:
            try:
                codes.append(IsoCode639_1.from_str(code.lower()))
            except ValueError:
                raise ValueError(f"unknown ISO 639-1 language code {code!r}") from None
        self.languages = tuple(code.lower() for code in languages)
        self._detector: LanguageDetector = (
            LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            .with_low_accuracy_mode()
            .with_minimum_relative_distance(min_relative_distance)
            .build()
        )
        self._lock = threading.Lock()

    def detect(self, text: str) -> str | None:
        cleaned = _NOISE.sub(" ", text)
        if sum(ch.isalpha() for ch in cleaned) < MIN_LETTERS:
            return None
        language: Language | None = self._detector.detect_language_of(cleaned)
        return language.iso_code_639_1.name.lower() if language is not None else None


@lru_cache(maxsize=4)
def detector_for(languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> Detector:
    return Detector(languages)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text`, or None when it is too short or ambiguous."""
    return detector_for().detect(text)
