"""Language detection, as a second opinion after the room's declared language.

Detectors know no Kurdish and guess wrong on short text, so this answers only for text
with enough letters and a confident guess.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_LANGUAGES = ("en", "fr", "es", "pt", "ar", "fa", "tr", "de", "it", "ca")
MIN_LETTERS = 20
# Up to this many characters lingua answers in well under a millisecond: it runs inline,
# since a worker thread's hand-off costs more than that (the thread waits for the
# interpreter lock while the loop is busy). Longer texts go to a thread.
INLINE_CHARS = 400
# lingua loads a language's model the first time a text may be in it (seconds): texts that
# make it consider every Latin-script, then every Arabic-script language, in the thread
# that builds the detector, so no inline detection ever waits for a model
WARM_UP_TEXTS = ("several longer words together", "الكلمات الطويلة والقصيرة")


class LanguageDetector:
    """A lingua detector over a limited set of languages, built once, lazily, in a thread."""

    def __init__(
        self, languages: Sequence[str] = DEFAULT_LANGUAGES, min_confidence: float = 0.9
    ) -> None:
        self.languages = tuple(languages)
        self.min_confidence = min_confidence
        self._detector: Any = None
        self._lock = asyncio.Lock()

    def _build(self) -> Any:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        isos = [getattr(IsoCode639_1, code.upper()) for code in self.languages]
        return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()

    def _build_warm(self) -> Any:
        detector = self._build()
        for text in WARM_UP_TEXTS:
            detector.compute_language_confidence_values(text)
        return detector

    async def _get(self) -> Any:
        async with self._lock:
            if self._detector is None:
                self._detector = await asyncio.to_thread(self._build_warm)
            return self._detector

    def answers_inline(self, text: str) -> bool:
        """Whether :meth:`detect_inline` may answer for ``text``: the detector is built and
        warm, the text is short and written in scripts whose models are loaded."""
        return self._detector is not None and len(text) <= INLINE_CHARS and _warm_script(text)

    def detect_inline(self, text: str) -> tuple[str, float] | None:
        """:meth:`detect` without leaving the event loop, for a short text."""
        if sum(c.isalpha() for c in text) < MIN_LETTERS:
            return None
        return self._best(self._detector.compute_language_confidence_values(text))

    async def detect(self, text: str) -> tuple[str, float] | None:
        """(ISO 639-1 code, confidence), or None when unsure or the text is too short."""
        if sum(c.isalpha() for c in text) < MIN_LETTERS:
            return None
        detector = await self._get()
        if self.answers_inline(text):
            return self._best(detector.compute_language_confidence_values(text))
        values = await asyncio.to_thread(detector.compute_language_confidence_values, text)
        return self._best(values)

    def _best(self, values: Any) -> tuple[str, float] | None:
        if not values:
            return None
        best = values[0]
        if best.value < self.min_confidence:
            return None
        return best.language.iso_code_639_1.name.lower(), float(best.value)


def _warm_script(text: str) -> bool:
    """Every letter in Latin or Arabic script (the scripts the warm-up loads models for)."""
    return all(
        c < "\u0250" or "\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff"
        for c in text
        if c.isalpha()
    )
