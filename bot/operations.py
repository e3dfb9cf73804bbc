"""Operator tasks that run beside the bot: backups."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.storage.db import Database


def backup(config: Config, target: Path | None = None) -> Path:
    """A consistent copy of the live database (SQLite's online backup API, safe while the bot writes)."""
    if target is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = config.storage.path / "backups" / f"liaison-{stamp}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    db = Database(config.storage.database)
    try:
        db.backup_to(target)
    finally:
        db.close()
    return target
