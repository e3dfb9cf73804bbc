"""Relay groups as the rest of the bot sees them: which rooms read each other, in which
language and mode, the group's glossary, and who speaks for the group.

Gatherings, scheduled posts and the like ask :meth:`RelayGroups.audience` where a post by a
given member reaches, and nothing else about the relay's tables. Reaching the whole group is
a steward's power: a member who is not one reaches their own room only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.errors import CommandError
from bot.core.i18n import Phrasebook
from bot.core.rooms import Rooms
from bot.core.storage.database import Database
from bot.core.text.echo import echo
from bot.relay import store
from bot.relay.render import space_markdown
from bot.relay.store import RoomLink

GROUP_NAME = re.compile(r"^[^\W][\w.-]{0,63}$")
NOT_STEWARD = "not-steward"
RECEIVE_ONLY = "receive-only"
PAUSED = "paused"

# run when a room joins an existing group: how many of its public items it took off
JoinHook = Callable[[str], int]


@dataclass(frozen=True)
class Audience:
    """Where a post made in a room reaches: the room itself first, then (for a steward of its
    group, in a room whose messages go out) every other room that receives the group."""

    group: str | None  # the room's relay group, None when it is in none
    room_ids: list[str]
    glossary: list[str]
    # why the post stays in the room although the room is in a group (None: it reaches it all)
    limited: CommandError | None = None
    reason: str | None = None  # NOT_STEWARD, RECEIVE_ONLY or PAUSED

    @property
    def whole_group(self) -> bool:
        return self.group is not None and self.limited is None


class RelayGroups:
    def __init__(self, db: Database, rooms: Rooms, phrases: Phrasebook) -> None:
        self.db = db
        self.rooms = rooms
        self.phrases = phrases
        self._join_hooks: list[JoinHook] = []

    def when_a_room_joins(self, hook: JoinHook) -> None:
        """``hook(room_id)`` runs in the transaction that puts a room into an existing group.

        A group's public agenda is its stewards' to publish on: what the room had published
        on its own agenda is taken off, not carried onto the group's (the hook says how many).
        """
        self._join_hooks.append(hook)

    def room_joined(self, room_id: str) -> int:
        return sum(hook(room_id) for hook in self._join_hooks)

    # ---- what other features may ask ----------------------------------------------------------

    def link_of(self, room_id: str) -> RoomLink | None:
        """The room's link, in the room's language (one source: ``!room lang``)."""
        link = store.room_link(self.db, room_id)
        return self._in_room_language(link) if link is not None else None

    def members(self, group: str) -> list[RoomLink]:
        return [self._in_room_language(link) for link in store.group_rooms(self.db, group)]

    def glossary(self, group: str) -> list[str]:
        return store.glossary(self.db, group)

    def glossary_of(self, room_id: str) -> list[str]:
        """The glossary of the room's group ([] when it is in none): how member text is read."""
        link = store.room_link(self.db, room_id)
        return self.glossary(link.group) if link is not None else []

    def steward_rooms(self, group: str) -> list[str]:
        return store.steward_rooms(self.db, group)

    def is_steward(self, group: str, user_id: str) -> bool:
        """A bot admin, or an admin of one of the group's steward rooms, right now.

        Asked at every command, so a steward demoted in their room loses the powers at once.
        """
        if self.rooms.is_bot_admin(user_id):
            return True
        return any(
            self.rooms.is_room_admin(room_id, user_id)
            for room_id in store.steward_rooms(self.db, group)
        )

    def audience(self, room_id: str, asker: str, *, posting: bool = True) -> Audience:
        """Where a post ``asker`` makes from ``room_id`` reaches (with ``posting`` False: which
        rooms' gatherings, calendars and the like ``asker`` may look at from there).

        The whole group (the room first, then every other room that receives; for looking,
        every room of the group) only for a steward of the group, and posting only from a
        room whose messages go out (not receive-only, not paused); otherwise the room alone,
        with the reason in ``limited``.
        """
        link = store.room_link(self.db, room_id)
        if link is None:
            return Audience(None, [room_id], [])
        terms = self.glossary(link.group)
        group = f"`{link.group}`"
        if posting and not link.sends:
            reason = (
                CommandError(
                    "The relay is paused for this room, so what is posted here stays here.",
                )
                if link.paused
                else CommandError(
                    "This room only receives the relay group {group}: nothing posted here goes out to the group.",
                    group=group,
                )
            )
            return Audience(
                link.group, [room_id], terms, reason, PAUSED if link.paused else RECEIVE_ONLY
            )
        if not self.is_steward(link.group, asker):
            return Audience(
                link.group,
                [room_id],
                terms,
                CommandError(
                    "Only the stewards of the relay group {group} (admins of its steward rooms, listed by {command}) may post to all of its rooms or see all of their gatherings, so this stays in this room.",
                    group=group,
                    command=self.phrases.command("relay list"),
                ),
                NOT_STEWARD,
            )
        others = [
            member.room_id
            for member in store.group_rooms(self.db, link.group)
            if member.room_id != room_id and (member.receives or not posting)
        ]
        return Audience(link.group, [room_id, *others], terms)

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
            name=echo(name),
            example=echo(suggestion),
        )
    if not GROUP_NAME.match(name):
        raise CommandError(
            "{name} is not a group name I can use: one word of letters, digits, - or _ (at most 64 characters).",
            name=echo(name),
        )
    return name.lower()
