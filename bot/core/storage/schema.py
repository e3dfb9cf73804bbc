"""The core's own migration sets (event ledger, rooms, room state, operations), applied first."""

from __future__ import annotations

from sqlite_utils import Migrations

from bot.core.storage import ledger, operations, rooms, roomstate

CORE_MIGRATIONS: tuple[Migrations, ...] = (
    ledger.migrations,
    operations.migrations,
    rooms.migrations,
    roomstate.migrations,
)
