"""Where the public pages live: one unguessable address per group (or lone room), and who may
change it.

Gatherings and places ask here for the address of what they publish (through their
``GatheringPages`` and ``PlacePages`` protocols); the web handlers ask which group an address
belongs to. A group's name never appears in an address, so nobody finds an agenda by trying
names.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.agenda import store
from bot.core.rooms import Rooms
from bot.core.storage.database import Database
from bot.core.web import WebServer
from bot.relay.groups import RelayGroups

PREFIX = "/agenda"
SLUG_BYTES = 16  # 22 URL-safe characters: not guessable, not enumerable


@dataclass(frozen=True)
class Scope:
    """What one agenda shows: the gatherings created in these rooms."""

    key: str  # "group:<name>" or "room:<id>"
    room_ids: list[str]
    glossary: list[str]


class AgendaAddresses:
    def __init__(
        self, db: Database, rooms: Rooms, groups: RelayGroups, web: WebServer | None
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.groups = groups
        self.web = web

    # ---- scopes ---------------------------------------------------------------------------

    def scope_key(self, room_id: str) -> str:
        """The room's relay group, else the room alone (as the calendar feed does)."""
        link = self.groups.link_of(room_id)
        return f"group:{link.group}" if link is not None else f"room:{room_id}"

    def scope(self, key: str) -> Scope:
        kind, _, name = key.partition(":")
        if kind == "group":
            rooms = [member.room_id for member in self.groups.members(name)]
            return Scope(key, rooms, self.groups.glossary(name))
        return Scope(key, [name], [])

    def resolve(self, slug: str) -> Scope | None:
        """The scope an address shows; None for an unknown or rotated slug."""
        key = store.scope_of(self.db, slug)
        return self.scope(key) if key is not None else None

    # ---- who may change the address -------------------------------------------------------

    def may_rotate(self, room_id: str, user_id: str) -> bool:
        """A steward of the room's group (an admin of one of its steward rooms, or a bot
        admin); for a room in no group, an admin of that room."""
        link = self.groups.link_of(room_id)
        if link is None:
            return self.rooms.is_room_admin(room_id, user_id)
        return self.groups.is_steward(link.group, user_id)

    # ---- addresses ------------------------------------------------------------------------

    @property
    def serving(self) -> bool:
        return self.web is not None

    def slug(self, room_id: str) -> str:
        return store.slug_for(self.db, self.scope_key(room_id), secrets.token_urlsafe(SLUG_BYTES))

    def rotate(self, room_id: str) -> str:
        return store.rotate(self.db, self.scope_key(room_id), secrets.token_urlsafe(SLUG_BYTES))

    def base(self) -> str | None:
        return self.web.base_url + PREFIX if self.web is not None else None

    def agenda_url(self, room_id: str) -> str | None:
        base = self.base()
        return f"{base}/{self.slug(room_id)}" if base is not None else None

    def gathering_url(self, room_id: str, gathering_id: str) -> str | None:
        agenda = self.agenda_url(room_id)
        if agenda is None:
            return None
        return f"{agenda}/gathering/{gathering_id}" if gathering_id else agenda

    def place_url(self, room_id: str, place_id: str) -> str | None:
        agenda = self.agenda_url(room_id)
        if agenda is None:
            return None
        return f"{agenda}/places" + (f"#place-{place_id}" if place_id else "")
