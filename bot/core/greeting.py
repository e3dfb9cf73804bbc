"""The first words in a room: which language and time zone the bot assumed, and how to change them.

Said once per room, when the bot joins on an invite; the room's row records it (rooms the bot
was in before this existed count as greeted), and the send's transaction id is derived from
the room, so a retry after a crash is not a second greeting. The assumed language and zone are
written down at the same time, so a later change of the configured defaults never silently
changes what the room was told.
"""

from __future__ import annotations

import logging
import sqlite3

from bot.core.broadcast import Broadcaster
from bot.core.i18n import Phrasebook, language_name
from bot.core.rooms import Rooms
from bot.core.storage import rooms as store
from bot.core.storage.database import Database

log = logging.getLogger(__name__)


class Greeter:
    def __init__(
        self, db: Database, rooms: Rooms, phrases: Phrasebook, broadcast: Broadcaster
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.phrases = phrases
        self.broadcast = broadcast

    def text(self, room_id: str) -> str:
        lang = self.rooms.language(room_id)
        zone = self.rooms.timezone(room_id).key
        phrases = self.phrases
        return phrases.text(
            lang,
            "Hello! I am Liaison. In this room I answer in {language} ({code}) and read and show times in {zone}. A room admin can change them with {lang_command} and {tz_command}. Type {help} to see what I can do.",
            language=language_name(lang, lang),
            code=lang,
            zone=zone,
            lang_command=phrases.command("room lang fr"),
            tz_command=phrases.command("room tz Africa/Tunis"),
            help=phrases.command("help"),
        )

    async def greet(self, room_id: str) -> None:
        """Say once what the room starts with; a room greeted before is left alone."""
        try:
            if store.greeted(self.db, room_id):
                return
            settings = self.rooms.settings(room_id)
            if settings.language is None:
                self.rooms.set_language(room_id, self.rooms.language(room_id))
            if settings.timezone is None:
                self.rooms.set_timezone(room_id, self.rooms.timezone(room_id).key)
        except sqlite3.Error as exc:
            log.warning("could not greet %s: %s", room_id, exc)
            return
        sent = await self.broadcast.send(
            room_id, self.text(room_id), txn_key=f"greeting:{room_id}", kind="greeting"
        )
        if sent is not None:
            store.mark_greeted(self.db, room_id)
            log.info("greeted %s", room_id)
