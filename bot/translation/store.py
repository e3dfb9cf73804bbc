"""Translations already made, so a text is sent to an engine once per language pair.

Only a hash of the source text is stored, never the text itself; the translation is, so a
cached entry is personal data: it expires after ``translation.cache_days``, and who wrote the
original is noted beside it (``translation_cache_authors``) so ``!forget me`` can erase it.
Private aid requests and what is written in direct chats are never cached at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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


@migrations()
def m002_cache_authors(db: SqliteUtilsDatabase) -> None:
    db.execute(
        """
        CREATE TABLE translation_cache_authors (
            text_hash TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (text_hash, author)
        )
        """
    )
    db.execute(
        "CREATE INDEX translation_cache_authors_author ON translation_cache_authors (author)"
    )
    db.execute("CREATE TABLE maintenance_runs (job TEXT PRIMARY KEY, last_run_at TEXT NOT NULL)")


@dataclass(frozen=True)
class CachedTranslation:
    translation: str
    pivot: str | None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_entry(
    db: Database,
    text: str,
    source: str,
    target: str,
    engine: str,
    not_before: datetime | None = None,
) -> CachedTranslation | None:
    """The cached translation, unless it was made before ``not_before`` (expired)."""
    row = db.query_one(
        "SELECT translation, pivot FROM translation_cache"
        " WHERE text_hash = ? AND source = ? AND target = ? AND engine = ? AND created_at >= ?",
        (text_hash(text), source, target, engine, iso(not_before) if not_before else ""),
    )
    return CachedTranslation(row["translation"], row["pivot"]) if row else None


def get_cached(db: Database, text: str, source: str, target: str, engine: str) -> str | None:
    entry = get_entry(db, text, source, target, engine)
    return entry.translation if entry else None


def put_many(
    db: Database,
    rows: list[tuple[str, str, str, str, str, str | None]],
    authors: Iterable[tuple[str, str]] = (),
) -> None:
    """Store several translations in one transaction: (text, source, target, engine,
    translation, pivot), and who wrote which text: (text, author)."""
    now = iso(utcnow())
    with db.transaction():
        for text, source, target, engine, translation, pivot in rows:
            db.execute(
                "INSERT OR REPLACE INTO translation_cache"
                " (text_hash, source, target, engine, translation, pivot, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (text_hash(text), source, target, engine, translation, pivot, now),
            )
        for text, author in authors:
            db.execute(
                "INSERT OR REPLACE INTO translation_cache_authors (text_hash, author, created_at)"
                " VALUES (?, ?, ?)",
                (text_hash(text), author, now),
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
    with db.transaction():
        cursor = db.execute(
            "DELETE FROM translation_cache WHERE created_at < ?", (iso(older_than),)
        )
        db.execute("DELETE FROM translation_cache_authors WHERE created_at < ?", (iso(older_than),))
    return cursor.rowcount


def forget_author(db: Database, author: str) -> int:
    """Erase the cached translations of every text ``author`` wrote; how many."""
    with db.transaction():
        cursor = db.execute(
            "DELETE FROM translation_cache WHERE text_hash IN"
            " (SELECT text_hash FROM translation_cache_authors WHERE author = ?)",
            (author,),
        )
        db.execute("DELETE FROM translation_cache_authors WHERE author = ?", (author,))
    return cursor.rowcount


def forget_texts(db: Database, texts: Iterable[str]) -> int:
    """Erase the cached translations of these texts (and who wrote them); how many."""
    hashes = [(text_hash(t),) for t in texts if t]
    removed = 0
    with db.transaction():
        for (digest,) in hashes:
            removed += db.execute(
                "DELETE FROM translation_cache WHERE text_hash = ?", (digest,)
            ).rowcount
            db.execute("DELETE FROM translation_cache_authors WHERE text_hash = ?", (digest,))
    return removed


def last_run(db: Database, job: str) -> datetime | None:
    row = db.query_one("SELECT last_run_at FROM maintenance_runs WHERE job = ?", (job,))
    return datetime.fromisoformat(row["last_run_at"]) if row else None


def record_run(db: Database, job: str, when: datetime) -> None:
    db.execute(
        "INSERT INTO maintenance_runs (job, last_run_at) VALUES (?, ?)"
        " ON CONFLICT (job) DO UPDATE SET last_run_at = excluded.last_run_at",
        (job, iso(when)),
    )
