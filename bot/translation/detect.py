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
# lingua loads a language's model the first time a text may be in it (seconds), so a text
# is detected inline only in a script whose models are all loaded: the first text in a
# script goes to a thread, which then loads the rest of that script's models with a text
# every language of it may be written in (words long enough for every n-gram model)
WARM_UP_TEXTS = {"latin": "several longer words together", "arabic": "الكلمات الطويلة والقصيرة"}


class LanguageDetector:
    """A lingua detector over a limited set of languages, built once, lazily, in a thread."""

    def __init__(
        self, languages: Sequence[str] = DEFAULT_LANGUAGES, min_confidence: float = 0.9
    ) -> None:
        self.languages = tuple(languages)
        self.min_confidence = min_confidence
        self._detector: Any = None
        self._lock = asyncio.Lock()
        # scripts whose models are all loaded (see WARM_UP_TEXTS)
        self._warm: set[str] = set()

    def _build(self) -> Any:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        isos = [getattr(IsoCode639_1, code.upper()) for code in self.languages]
        return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()

    async def _get(self) -> Any:
        async with self._lock:
            if self._detector is None:
                self._detector = await asyncio.to_thread(self._build)
            return self._detector

    def answers_inline(self, text: str) -> bool:
        """Whether :meth:`detect_inline` may answer for ``text``: a short text, too short
        to detect, or in one script whose models are all loaded."""
        if len(text) > INLINE_CHARS:
            return False
        if sum(c.isalpha() for c in text) < MIN_LETTERS:
            return True
        return self._detector is not None and _script(text) in self._warm

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
        values = await asyncio.to_thread(self._detect_and_warm, detector, text)
        return self._best(values)

    def _detect_and_warm(self, detector: Any, text: str) -> Any:
        """In a worker thread: detect, then load the rest of the text's script's models."""
        values = detector.compute_language_confidence_values(text)
        script = _script(text)
        if script is not None and script not in self._warm:
            detector.compute_language_confidence_values(WARM_UP_TEXTS[script])
            self._warm.add(script)
        return values

    def _best(self, values: Any) -> tuple[str, float] | None:
        if not values:
            return None
        best = values[0]
        if best.value < self.min_confidence:
            return None
        return best.language.iso_code_639_1.name.lower(), float(best.value)


def _script(text: str) -> str | None:
    """``latin`` or ``arabic`` when every letter is in that script; None otherwise."""
    found: str | None = None
    for c in text:
        if not c.isalpha():
            continue
        if c < "\u0250":
            script = "latin"
        elif "\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff":
            script = "arabic"
        else:
            return None
        if found is not None and script != found:
            return None
        found = script
    return found
