"""Translations already made, so a text is sent to an engine once per language pair.

Only a hash of the source text is stored, never the text itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database as SqliteUtilsDatabase

from bot.core.storage.database import Database, iso, migration_set, utcnow

migrations = migration_set("translation")


@migrations()
def m001_translation_cache(db: SqliteUtilsDatabase) -> None:
    db.execute(
        """
        CREATE TABLE translation_cache (
            text_hash TEXT NOT NULL,
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            engine TEXT NOT NULL,
            translation TEXT NOT NULL,
            pivot TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (text_hash, source, target, engine)
        )
        """
    )
    db.execute("CREATE INDEX translation_cache_created ON translation_cache (created_at)")


@dataclass(frozen=True)
class CachedTranslation:
    translation: str
    pivot: str | None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_entry(
    db: Database, text: str, source: str, target: str, engine: str
) -> CachedTranslation | None:
    row = db.query_one(
        "SELECT translation, pivot FROM translation_cache"
        " WHERE text_hash = ? AND source = ? AND target = ? AND engine = ?",
        (text_hash(text), source, target, engine),
    )
    return CachedTranslation(row["translation"], row["pivot"]) if row else None


def get_cached(db: Database, text: str, source: str, target: str, engine: str) -> str | None:
    entry = get_entry(db, text, source, target, engine)
    return entry.translation if entry else None


def put_many(db: Database, rows: list[tuple[str, str, str, str, str, str | None]]) -> None:
    """Store several translations in one transaction: (text, source, target, engine, translation, pivot)."""
    now = iso(utcnow())
    with db.transaction():
        for text, source, target, engine, translation, pivot in rows:
            db.execute(
                "INSERT OR REPLACE INTO translation_cache"
                " (text_hash, source, target, engine, translation, pivot, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (text_hash(text), source, target, engine, translation, pivot, now),
            )


def put_cached(
    db: Database,
    text: str,
    source: str,
    target: str,
    engine: str,
    translation: str,
    pivot: str | None = None,
) -> None:
    db.execute(
        "INSERT OR REPLACE INTO translation_cache"
        " (text_hash, source, target, engine, translation, pivot, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (text_hash(text), source, target, engine, translation, pivot, iso(utcnow())),
    )


def prune_cache(db: Database, older_than: datetime) -> int:
    """Forget translations made before ``older_than``; return how many were removed."""
    cursor = db.execute("DELETE FROM translation_cache WHERE created_at < ?", (iso(older_than),))
    return cursor.rowcount
