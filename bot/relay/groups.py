"""Relay groups as the rest of the bot sees them: which rooms read each other, in which
language and mode, and the group's glossary.

Gatherings, scheduled posts and the like ask :meth:`RelayGroups.audience` which rooms a
room's group reaches, and nothing else about the relay's tables.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from bot.core.errors import CommandError
from bot.core.rooms import Rooms
from bot.core.storage.database import Database
from bot.relay import store
from bot.relay.render import space_markdown
from bot.relay.store import RoomLink

GROUP_NAME = re.compile(r"^[^\W][\w.-]{0,63}$")


@dataclass(frozen=True)
class Audience:
    """Where a room's group is heard: the room itself first, then the rooms that receive."""

    group: str
    room_ids: list[str]
    glossary: list[str]


class RelayGroups:
    def __init__(self, db: Database, rooms: Rooms) -> None:
        self.db = db
        self.rooms = rooms

    # ---- what other features may ask ----------------------------------------------------------

    def link_of(self, room_id: str) -> RoomLink | None:
        """The room's link, in the room's language (one source: ``!room lang``)."""
        link = store.room_link(self.db, room_id)
        return self._in_room_language(link) if link is not None else None

    def members(self, group: str) -> list[RoomLink]:
        return [self._in_room_language(link) for link in store.group_rooms(self.db, group)]

    def glossary(self, group: str) -> list[str]:
        return store.glossary(self.db, group)

    def audience(self, room_id: str) -> Audience | None:
        """The room's group as heard from ``room_id``; None when the room is in no group.

        The room itself comes first (it may be paused or send-only: it still sees what it
        posts), then every other room that receives the group's messages.
        """
        link = store.room_link(self.db, room_id)
        if link is None:
            return None
        others = [
            member.room_id
            for member in store.group_rooms(self.db, link.group)
            if member.room_id != room_id and member.receives
        ]
        return Audience(link.group, [room_id, *others], self.glossary(link.group))

    def space_link(self, group: str) -> str | None:
        """The group's Matrix space as a Markdown link, when it has one (``!relay space``)."""
        space = store.space_of(self.db, group)
        if space is None:
            return None
        return space_markdown(space.name or group, space.space_id)

    def counterpart(self, event_id: str, room_id: str) -> str | None:
        """The relayed event matching ``event_id`` in ``room_id`` (a thread's root, say)."""
        return store.counterpart(self.db, event_id, room_id)

    def _in_room_language(self, link: RoomLink) -> RoomLink:
        return dataclasses.replace(link, language=self.rooms.language(link.room_id))


def valid_group(name: str) -> str:
    if any(c.isspace() for c in name):
        suggestion = "-".join(name.split())
        raise CommandError(
            "A group name is one word (letters, digits, - or _): {name} has a space. Try {example}.",
            name=f"`{name}`",
            example=f"`{suggestion}`",
        )
    if not GROUP_NAME.match(name):
        raise CommandError(
            "{name} is not a group name I can use: one word of letters, digits, - or _ (at most 64 characters).",
            name=f"`{name}`",
        )
    return name.lower()
