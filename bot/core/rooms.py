"""A room's declared language and time zone, and who may do what in it.

Every feature reads a room's language and zone here (one source), and every permission check
(member, room admin, bot admin) is answered here from the room's power levels.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from bot.core.commands import Permission
from bot.core.config import BotConfig
from bot.core.errors import CommandError
from bot.core.matrix.client import MatrixClient
from bot.core.storage import rooms as store
from bot.core.storage.database import Database
from bot.core.storage.rooms import RoomSettings
from bot.core.text.echo import echo


class Rooms:
    def __init__(self, db: Database, matrix: MatrixClient, config: BotConfig) -> None:
        self.db = db
        self.matrix = matrix
        self.config = config

    # ---- language and zone ------------------------------------------------------------------

    def settings(self, room_id: str) -> RoomSettings:
        """What the room declared (None where it declared nothing)."""
        return store.settings(self.db, room_id)

    def language(self, room_id: str) -> str:
        """The room's declared language (``!room lang``), else the configured default."""
        return self.settings(room_id).language or self.config.default_language

    def timezone(self, room_id: str) -> ZoneInfo:
        return ZoneInfo(self.settings(room_id).timezone or self.config.default_timezone)

    def set_language(self, room_id: str, code: str) -> None:
        store.set_language(self.db, room_id, code)

    def set_timezone(self, room_id: str, zone: str) -> None:
        store.set_timezone(self.db, room_id, zone)

    def name(self, room_id: str) -> str:
        """How members know the room: its name (or alias), else its id."""
        return self.matrix.room_name(room_id)

    def names(self, room_ids: list[str]) -> str:
        """Rooms as members know them, for a sentence: **Kitchen**, **Assembly**."""
        return ", ".join(f"**{self.name(r)}**" for r in room_ids)

    # ---- permissions ------------------------------------------------------------------------

    def is_bot_admin(self, user_id: str) -> bool:
        return user_id in self.config.admins

    def is_room_admin(self, room_id: str, user_id: str) -> bool:
        if self.is_bot_admin(user_id):
            return True
        return self.matrix.power_level(room_id, user_id) >= self.config.admin_power_level

    def may_use(self, permission: Permission, room_id: str, user_id: str) -> bool:
        if permission == Permission.BOT_ADMIN:
            return self.is_bot_admin(user_id)
        if permission == Permission.ROOM_ADMIN:
            return self.is_room_admin(room_id, user_id)
        return True

    def is_private_with(self, room_id: str, user_id: str) -> bool:
        """A room where only ``user_id`` and the bot are (a direct chat)."""
        members = set(self.matrix.members(room_id))
        return user_id in members and members <= {user_id, self.matrix.user_id}


def valid_language(code: str) -> str:
    """Normalise an ISO 639 code; CommandError if nobody knows it."""
    cleaned = code.strip().lower().replace("_", "-")
    try:
        Locale.parse(cleaned.split("-")[0])
    except (UnknownLocaleError, ValueError):
        raise CommandError(
            "{code} is not a language code I know. Use a two-letter ISO 639-1 code such as fr, ar, en, es, ku, fa.",
            code=echo(code),
        ) from None
    return cleaned.split("-")[0]


def is_language(word: str) -> bool:
    try:
        valid_language(word)
    except CommandError:
        return False
    return True


def valid_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name too long for a file name, looked up on disk all the same
        raise CommandError(
            "{zone} is not a time zone I know. Use a name such as Europe/Paris, Africa/Tunis or America/Bogota.",
            zone=echo(name),
        ) from None
    return name
