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

    async def _get(self) -> Any:
        async with self._lock:
            if self._detector is None:
                self._detector = await asyncio.to_thread(self._build)
            return self._detector

    async def detect(self, text: str) -> tuple[str, float] | None:
        """(ISO 639-1 code, confidence), or None when unsure or the text is too short."""
        if sum(c.isalpha() for c in text) < MIN_LETTERS:
            return None
        detector = await self._get()
        values = await asyncio.to_thread(detector.compute_language_confidence_values, text)
        if not values:
            return None
        best = values[0]
        if best.value < self.min_confidence:
            return None
        return best.language.iso_code_639_1.name.lower(), float(best.value)
