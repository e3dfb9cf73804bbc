"""The container the composition root fills and hands to commands and listeners."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.core.command import Permission
from bot.core.config import Config
from bot.core.i18n import Catalogs
from bot.core.matrix.client import MatrixClient
from bot.core.metrics import Metrics
from bot.core.scheduler import Scheduler
from bot.core.storage import rooms
from bot.core.storage.database import Database
from bot.core.tasks import TaskSpawner
from bot.core.web import WebServer

if TYPE_CHECKING:
    from bot.aid.service import MutualAid
    from bot.core.command import CommandFamily
    from bot.gatherings.service import Gatherings
    from bot.relay import Relay
    from bot.schedules.service import Announcements
    from bot.translation.service import TranslationService


@dataclass
class Services:
    config: Config
    db: Database
    matrix: MatrixClient
    catalogs: Catalogs
    tasks: TaskSpawner
    scheduler: Scheduler
    metrics: Metrics
    translation: TranslationService | None = None
    web: WebServer | None = None
    relay: Relay | None = None
    gatherings: Gatherings | None = None
    aid: MutualAid | None = None
    announcements: Announcements | None = None
    families: dict[str, CommandFamily] = field(default_factory=dict)

    def room_language(self, room_id: str) -> str:
        """The room's declared language (``!room lang``), else the configured default."""
        return rooms.settings(self.db, room_id).language or self.config.bot.default_language

    def room_timezone(self, room_id: str) -> ZoneInfo:
        name = rooms.settings(self.db, room_id).timezone or self.config.bot.default_timezone
        return ZoneInfo(name)

    def is_bot_admin(self, user_id: str) -> bool:
        return user_id in self.config.bot.admins

    def is_room_admin(self, room_id: str, user_id: str) -> bool:
        if self.is_bot_admin(user_id):
            return True
        return self.matrix.power_level(room_id, user_id) >= self.config.bot.admin_power_level

    def may_use(self, permission: Permission, room_id: str, user_id: str) -> bool:
        if permission == Permission.BOT_ADMIN:
            return self.is_bot_admin(user_id)
        if permission == Permission.ROOM_ADMIN:
            return self.is_room_admin(room_id, user_id)
        return True

    def command(self, text: str) -> str:
        """A command for members to type, in code style with this bot's prefix: `!event list`."""
        return f"`{self.config.bot.command_prefix}{text}`"

    def text(self, lang: str, message: str, **params: object) -> str:
        """A catalog message in ``lang`` (for messages not answering a command)."""
        return self.catalogs.translate(lang, message, **params)
