"""When each maintenance job last ran, kept in our tables so a restart never skips one.

The table (``maintenance_runs``) was made by the translation cache's second migration, the
first job that needed it; migrations are history and are never moved, so the core only reads
and writes it (the translation migrations are always applied, see ``Application.migrations``).
"""

from __future__ import annotations

from datetime import datetime

from bot.core.storage.database import Database, iso


def last_run(db: Database, job: str) -> datetime | None:
    row = db.query_one("SELECT last_run_at FROM maintenance_runs WHERE job = ?", (job,))
    return datetime.fromisoformat(row["last_run_at"]) if row else None


def record_run(db: Database, job: str, when: datetime) -> None:
    db.execute(
        "INSERT INTO maintenance_runs (job, last_run_at) VALUES (?, ?)"
        " ON CONFLICT (job) DO UPDATE SET last_run_at = excluded.last_run_at",
        (job, iso(when)),
    )
