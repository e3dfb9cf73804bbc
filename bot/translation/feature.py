"""The translation cache as the rest of the bot sees it: a daily pruning job and ``!forget me``.

The cache keeps translations (under a hash of the original) for ``translation.cache_days``.
A daily job erases older entries; when it last ran is kept in ``maintenance_runs``, so a bot
restarted every night still prunes (APScheduler only fires the job).
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

from bot.core.feature import Core, Feature
from bot.core.i18n import N_
from bot.core.storage.database import Database, utcnow
from bot.translation import store
from bot.translation.service import TranslationService

log = logging.getLogger(__name__)

PRUNE_JOB = "translation:prune-cache"
PRUNE_EVERY = timedelta(days=1)

FORGET_KEEPS = (
    N_(
        "Cached translations of gatherings, places and scheduled posts stay while those stay, and expire after the cache's retention."
    ),
)


class CacheKeeping:
    def __init__(self, db: Database, translation: TranslationService) -> None:
        self.db = db
        self.translation = translation

    async def prune(self) -> int:
        """Erase what is past the retention and record the run; how many entries went."""
        try:
            removed = self.translation.prune()
            store.record_run(self.db, PRUNE_JOB, utcnow())
        except sqlite3.Error as exc:
            log.warning("the translation cache was not pruned: %s", exc)
            return 0
        if removed:
            self.db.checkpoint()
        log.info("pruned %d cached translation(s) past the retention", removed)
        return removed

    def forget(self, user_id: str) -> dict[str, int]:
        return {N_("cached translations of your messages"): self.translation.forget_author(user_id)}


def build(core: Core) -> Feature | None:
    translation = core.translation
    if translation is None or not translation.cache:
        return None
    keeping = CacheKeeping(core.db, translation)
    db = core.db

    async def prune() -> None:
        await keeping.prune()

    async def load() -> None:
        last = store.last_run(db, PRUNE_JOB)
        due = utcnow() if last is None else max(utcnow(), last + PRUNE_EVERY)
        core.scheduler.every(PRUNE_JOB, PRUNE_EVERY.total_seconds(), prune, first=due)

    return Feature(
        name="translation",
        loaders=[load],
        forget=keeping.forget,
        forget_keeps=FORGET_KEEPS,
        service=keeping,
    )
