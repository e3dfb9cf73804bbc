"""A relay group shown as a Matrix space: its rooms as the space's children, kept in sync.

Members find the sibling rooms of their group in their client's space panel. The bot either
creates the space (then it also keeps the space's topic, which names each room with its
language, and a join rule letting members of the group's rooms join the space) or adopts an
existing one whose admins gave it the power to change its rooms. Either way it only ever adds
or removes the group's own rooms: other children of an adopted space are left alone.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.core.errors import CommandError
from bot.core.i18n import language_name
from bot.core.matrix.client import LIAISON_KEY, MatrixClient, MatrixError
from bot.core.storage.database import Database
from bot.relay import store
from bot.relay.groups import RelayGroups
from bot.relay.render import space_markdown
from bot.relay.store import GroupSpace

log = logging.getLogger(__name__)

SPACE_CHILD = "m.space.child"
SPACE_TYPE = "m.space"
# the person who asked for a new space gets to run it with the bot
OWNER_LEVEL = 100


@dataclass(frozen=True)
class SpaceUpdate:
    """What one round of keeping a space in step with its group did, or why it could not."""

    space: GroupSpace
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problem: str | None = None  # "power": the bot may not change the space; "absent": not in it
    needed: int = 0
    have: int = 0
    made: bool = False  # the space was created by this round

    @property
    def link(self) -> str:
        """The space as a Markdown link members can open."""
        return space_markdown(self.space.name or self.space.group, self.space.space_id)


class RelaySpaces:
    def __init__(self, db: Database, matrix: MatrixClient, groups: RelayGroups) -> None:
        self.db = db
        self.matrix = matrix
        self.groups = groups

    def space_of(self, group: str) -> GroupSpace | None:
        return store.space_of(self.db, group)

    # ---- !relay space ---------------------------------------------------------------------

    async def create(self, group: str, requester: str) -> SpaceUpdate:
        """A new space for ``group`` with the group's rooms, ``requester`` invited as its admin."""
        wanted = self._wanted(group)
        rooms = sorted(wanted)
        initial_state: list[dict[str, Any]] = [
            {"type": SPACE_CHILD, "state_key": room, "content": self._child(group, room, lang)}
            for room, lang in wanted.items()
        ]
        initial_state.append(
            {"type": "m.room.join_rules", "state_key": "", "content": self._join_rule(rooms)}
        )
        space_id = await self.matrix.create_space(
            group,
            topic=self._topic(group, wanted),
            invite=[requester] if requester != self.matrix.user_id else [],
            power_users={requester: OWNER_LEVEL},
            initial_state=initial_state,
        )
        space = store.set_space(self.db, group, space_id, group, True, requester)
        for room, lang in wanted.items():
            store.set_space_child(self.db, group, room, lang)
        log.info("created the space %s for the group %s", space_id, group)
        return SpaceUpdate(space, added=rooms, made=True)

    async def adopt(self, group: str, target: str, requester: str) -> SpaceUpdate:
        """Make the existing space ``target`` (id or alias) show ``group``'s rooms.

        The person asking must be allowed to change that space's rooms, and so must the bot;
        otherwise nothing changes and the refusal says what is missing.
        """
        space_id = await self._joined_space(target)
        if self.matrix.room_type(space_id) != SPACE_TYPE:
            raise CommandError(
                "{space} is a room, not a space. Nothing was changed.", space=f"`{target}`"
            )
        if not self.matrix.can_set_state(space_id, requester, SPACE_CHILD):
            raise CommandError(
                "Only someone who may change the rooms of the space {space} may give it to the group. Nothing was changed.",
                space=f"`{target}`",
            )
        needed = self.matrix.state_level(space_id, SPACE_CHILD)
        have = self.matrix.power_level(space_id, self.matrix.user_id)
        if have < needed:
            raise CommandError(
                "I cannot change the rooms of the space {space}: that needs power level {needed} there and I have {have}. Ask an admin of the space to raise my power level, then try again. Nothing was changed.",
                space=f"`{target}`",
                needed=needed,
                have=have,
            )
        previous = self.space_of(group)
        if previous is not None and previous.space_id != space_id:
            await self._empty(previous)
        name = self.matrix.room_name(space_id)
        space = store.set_space(self.db, group, space_id, name, False, requester)
        return await self._sync(space)

    def release(self, group: str) -> GroupSpace:
        """Stop keeping the group's space; the space stays as it is. The space it was."""
        space = self.space_of(group)
        if space is None:
            raise CommandError("The relay group {group} has no space.", group=f"`{group}`")
        store.drop_space(self.db, group)
        return space

    async def _joined_space(self, target: str) -> str:
        """The room id of ``target``, a space the bot is already in.

        The bot never joins a space just because a command names it: it enters rooms only on
        an invitation from an allowed inviter, so a command cannot send it anywhere else.
        """
        try:
            space_id = await self.matrix.resolve_alias(target) if target.startswith("#") else target
        except MatrixError:
            space_id = None
        if space_id is None or not self.matrix.is_joined(space_id):
            raise CommandError(
                "I am not in the space {space}. Invite me there first, then try again. Nothing was changed.",
                space=f"`{target}`",
            )
        with contextlib.suppress(MatrixError):
            await self.matrix.wait_for_room(space_id, timeout=10)
        return space_id

    # ---- keeping the space in step with the group ---------------------------------------------

    async def sync(self, group: str) -> SpaceUpdate | None:
        """Add the group's new rooms to its space and remove those that left; None if no space."""
        space = self.space_of(group)
        if space is None:
            return None
        return await self._sync(space)

    async def _sync(self, space: GroupSpace) -> SpaceUpdate:
        group = space.group
        with contextlib.suppress(MatrixError):
            # a space created moments ago: its state comes with the next sync
            await self.matrix.wait_for_room(space.space_id, timeout=10)
        if not self.matrix.is_joined(space.space_id):
            return SpaceUpdate(space, problem="absent")
        needed = self.matrix.state_level(space.space_id, SPACE_CHILD)
        have = self.matrix.power_level(space.space_id, self.matrix.user_id)
        if have < needed:
            return SpaceUpdate(space, problem="power", needed=needed, have=have)
        name = self.matrix.room_name(space.space_id)
        if name and name != space.name:
            store.rename_space(self.db, group, name)
            space = GroupSpace(space.group, space.space_id, name, space.created)
        wanted = self._wanted(group)
        current = store.space_children(self.db, group)
        added = [r for r, lang in sorted(wanted.items()) if current.get(r) != lang]
        removed = [r for r in sorted(current) if r not in wanted]
        try:
            for room in added:
                content = self._child(group, room, wanted[room])
                await self.matrix.put_state(space.space_id, SPACE_CHILD, content, room)
                store.set_space_child(self.db, group, room, wanted[room])
            for room in removed:
                # an empty child event is how Matrix takes a room out of a space
                await self.matrix.put_state(space.space_id, SPACE_CHILD, {}, room)
                store.drop_space_child(self.db, group, room)
            if space.created and (added or removed):
                await self._frame(space, wanted)
        except MatrixError as exc:
            log.warning("could not update the space %s: %s", space.space_id, exc)
            return SpaceUpdate(space, problem="power", needed=needed, have=have)
        return SpaceUpdate(space, added=[r for r in added if r not in current], removed=removed)

    async def _frame(self, space: GroupSpace, wanted: dict[str, str]) -> None:
        """In a space the bot made: the topic naming each room, the join rule allowing them."""
        rooms = sorted(wanted)
        await self.matrix.put_state(space.space_id, "m.room.join_rules", self._join_rule(rooms))
        topic = {"topic": self._topic(space.group, wanted)}
        await self.matrix.put_state(space.space_id, "m.room.topic", topic)

    async def _empty(self, space: GroupSpace) -> None:
        """Take the group's rooms out of a space it no longer uses (as far as the bot may)."""
        for room in store.space_children(self.db, space.group):
            try:
                await self.matrix.put_state(space.space_id, SPACE_CHILD, {}, room)
            except MatrixError as exc:
                log.warning("could not empty the old space %s: %s", space.space_id, exc)
                return

    # ---- what the space says --------------------------------------------------------------

    def _wanted(self, group: str) -> dict[str, str]:
        return {link.room_id: link.language for link in self.groups.members(group)}

    def _child(self, group: str, room_id: str, language: str) -> dict[str, Any]:
        # ``order`` sorts the rooms by language in every client's space panel
        return {
            "via": self.matrix.servers_of(room_id),
            "order": language[:50],
            "suggested": True,
            LIAISON_KEY: {"group": group, "language": language},
        }

    def _join_rule(self, rooms: list[str]) -> dict[str, Any]:
        """Members of any of the group's rooms may join the space without an invite."""
        return {
            "join_rule": "restricted",
            "allow": [{"type": "m.room_membership", "room_id": room} for room in rooms],
        }

    def _topic(self, group: str, wanted: dict[str, str]) -> str:
        entries = [
            f"{language_name(lang, lang)} ({lang}): {self.matrix.room_name(room)}"
            for room, lang in sorted(wanted.items(), key=lambda item: (item[1], item[0]))
        ]
        return " · ".join([group, *entries])
