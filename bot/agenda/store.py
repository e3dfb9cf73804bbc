"""The public agenda's own table: the unguessable address (slug) of each group's agenda."""

from __future__ import annotations

from typing import Any

from bot.core.storage.database import Database, iso, migration_set, utcnow

migrations = migration_set("agenda")


@migrations()
def m001_agenda_slugs(db: Any) -> None:
    db.execute(
        """CREATE TABLE agenda_slugs (
            scope TEXT PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )"""
    )


def slug_for(db: Database, scope: str, new_slug: str) -> str:
    """The scope's slug, created with ``new_slug`` the first time."""
    db.execute(
        "INSERT OR IGNORE INTO agenda_slugs (scope, slug, created_at) VALUES (?, ?, ?)",
        (scope, new_slug, iso(utcnow())),
    )
    row = db.query_one("SELECT slug FROM agenda_slugs WHERE scope = ?", (scope,))
    assert row is not None
    return str(row["slug"])


def scope_of(db: Database, slug: str) -> str | None:
    row = db.query_one("SELECT scope FROM agenda_slugs WHERE slug = ?", (slug,))
    return str(row["scope"]) if row else None


def rotate(db: Database, scope: str, new_slug: str) -> str:
    """Give the scope ``new_slug``; the old one stops working at once."""
    db.execute(
        """INSERT INTO agenda_slugs (scope, slug, created_at) VALUES (?, ?, ?)
           ON CONFLICT (scope) DO UPDATE SET slug = excluded.slug, created_at = excluded.created_at""",
        (scope, new_slug, iso(utcnow())),
    )
    return new_slug
