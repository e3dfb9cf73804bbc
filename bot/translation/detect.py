"""Language detection, as a second opinion after the room's declared language.

Detectors know no Kurdish and guess wrong on short text, so this answers only for text
with enough letters and a confident guess.

Only the languages the linked rooms use are loaded (and any the operator adds), in lingua's
low-accuracy mode by default: each language's models cost memory for as long as the bot
runs (measured with five languages: about 20 MB in low-accuracy mode against about 130 MB in
high-accuracy mode, and ten languages twice that), and on short chat lines low accuracy was as
right as high accuracy and less often unsure (see README, "Language detection"). A language
no room uses is not recognised: a text in it reads as the closest loaded one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

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


def known_to_detector(codes: Iterable[str]) -> frozenset[str]:
    """The ISO 639-1 codes among ``codes`` (``pt``, ``pt-BR``) that lingua can detect."""
    from lingua import IsoCode639_1

    found = set()
    for code in codes:
        base = code.split("-")[0].split("_")[0].lower()
        if hasattr(IsoCode639_1, base.upper()):
            found.add(base)
    return frozenset(found)


class LanguageDetector:
    """A lingua detector over the languages in use, rebuilt (in a thread) when one is added."""

    def __init__(
        self,
        min_confidence: float = 0.9,
        *,
        low_accuracy: bool = True,
        always: Sequence[str] = (),
    ) -> None:
        self.min_confidence = min_confidence
        self.low_accuracy = low_accuracy
        self.always = known_to_detector(always)
        self.loaded: frozenset[str] = frozenset()
        self.builds = 0
        self._detector: Any = None
        self._lock = asyncio.Lock()
        # scripts whose models are all loaded (see WARM_UP_TEXTS)
        self._warm: set[str] = set()

    def _build(self, languages: frozenset[str]) -> Any:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        isos = [getattr(IsoCode639_1, code.upper()) for code in sorted(languages)]
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*isos)
        if self.low_accuracy:
            builder = builder.with_low_accuracy_mode()
        return builder.build()

    async def _get(self, languages: Iterable[str]) -> Any:
        """The detector, grown to ``languages`` if one of them is new; None for fewer than two
        (one language leaves nothing to tell apart)."""
        wanted = known_to_detector(languages) | self.always
        async with self._lock:
            if not wanted <= self.loaded or self._detector is None:
                grown = self.loaded | wanted
                if len(grown) < 2:
                    return None
                self._detector = await asyncio.to_thread(self._build, grown)
                self.loaded = grown
                self._warm.clear()  # a new detector loads its models anew
                self.builds += 1
                log.info(
                    "language detection among %s (%s accuracy)",
                    ", ".join(sorted(grown)),
                    "low" if self.low_accuracy else "high",
                )
            return self._detector

    def answers_inline(self, text: str, languages: Iterable[str] = ()) -> bool:
        """Whether :meth:`detect_inline` may answer for ``text``: a short text, too short
        to detect, or in one script whose models are all loaded, among detector languages
        that already include ``languages`` (the rooms of its group)."""
        if len(text) > INLINE_CHARS:
            return False
        if sum(c.isalpha() for c in text) < MIN_LETTERS:
            return True
        if self._detector is None or not known_to_detector(languages) <= self.loaded:
            return False
        return _script(text) in self._warm

    def detect_inline(self, text: str) -> tuple[str, float] | None:
        """:meth:`detect` without leaving the event loop, for a short text."""
        if sum(c.isalpha() for c in text) < MIN_LETTERS or self._detector is None:
            return None
        return self._best(self._detector.compute_language_confidence_values(text))

    async def detect(self, text: str, languages: Iterable[str] = ()) -> tuple[str, float] | None:
        """(ISO 639-1 code, confidence), or None when unsure or the text is too short.

        ``languages``: those the text may be in (the rooms of its group); added to the loaded
        ones when new.
        """
        if sum(c.isalpha() for c in text) < MIN_LETTERS:
            return None
        detector = await self._get(languages)
        if detector is None:
            return None
        if self.answers_inline(text, languages):
            return self._best(detector.compute_language_confidence_values(text))
        values = await asyncio.to_thread(self._detect_and_warm, detector, text)
        return self._best(values)

    def _detect_and_warm(self, detector: Any, text: str) -> Any:
        """In a worker thread: detect, then load the rest of the text's script's models."""
        values = detector.compute_language_confidence_values(text)
        script = _script(text)
        if script is not None and script not in self._warm:
            detector.compute_language_confidence_values(WARM_UP_TEXTS[script])
            if detector is self._detector:  # not a detector replaced meanwhile
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
