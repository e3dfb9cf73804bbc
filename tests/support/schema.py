"""Every migration set, for tests that want a whole database without building the bot."""

from __future__ import annotations

from sqlite_utils import Migrations

from bot.agenda import store as agenda
from bot.aid import store as aid
from bot.core.storage.schema import CORE_MIGRATIONS
from bot.gatherings import store as gatherings
from bot.places import store as places
from bot.relay import store as relay
from bot.schedules import store as schedules
from bot.translation import store as translation

ALL_MIGRATIONS: tuple[Migrations, ...] = (
    *CORE_MIGRATIONS,
    agenda.migrations,
    aid.migrations,
    gatherings.migrations,
    places.migrations,
    relay.migrations,
    schedules.migrations,
    translation.migrations,
)
