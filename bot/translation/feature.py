"""The translation cache as the rest of the bot sees it: its retention and ``!forget me``.

The cache keeps translations (under a hash of the original) for ``translation.cache_days``;
the core's retention job (``bot/core/retention.py``) erases older entries a batch at a time.
"""

from __future__ import annotations

from bot.core.feature import Core, Feature
from bot.core.i18n import N_
from bot.core.retention import Pruner
from bot.translation.service import TranslationService

FORGET_KEEPS = (
    N_(
        "Cached translations of gatherings, places and scheduled posts stay while those stay, and expire after the cache's retention."
    ),
)


class CacheKeeping:
    def __init__(self, translation: TranslationService) -> None:
        self.translation = translation

    def pruner(self) -> Pruner:
        return Pruner(
            "translation_cache",
            self.translation.retention,
            self.translation.prune,
        )

    def forget(self, user_id: str) -> dict[str, int]:
        return {N_("cached translations of your messages"): self.translation.forget_author(user_id)}


def build(core: Core) -> Feature | None:
    """Built even with the cache turned off: rows kept before still expire and are forgotten."""
    translation = core.translation
    if translation is None:
        return None
    keeping = CacheKeeping(translation)
    return Feature(
        name="translation",
        forget=keeping.forget,
        forget_keeps=FORGET_KEEPS,
        pruners=[keeping.pruner()],
        service=keeping,
    )
