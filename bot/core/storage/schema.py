"""The core's own migration sets (event ledger, rooms, operations), applied before the features'."""

from __future__ import annotations

from sqlite_utils import Migrations

from bot.core.storage import ledger, operations, rooms

CORE_MIGRATIONS: tuple[Migrations, ...] = (
    ledger.migrations,
    operations.migrations,
    rooms.migrations,
)
