"""What members do with ``!relay``: link rooms into groups, pause them, keep the glossary,
and see how the relay is doing."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.i18n import Phrasebook
from bot.core.matrix.client import MatrixClient
from bot.core.rooms import Rooms, is_language, valid_language
from bot.core.storage.database import Database
from bot.relay import store
from bot.relay.groups import RelayGroups, valid_group
from bot.relay.service import Relay
from bot.relay.spaces import RelaySpaces, SpaceUpdate
from bot.relay.store import MODES, GroupSpace, RelayHealth, RoomLink, RouteUse
from bot.translation.service import EngineStats, TranslationService

MAX_TERM = 80


@dataclass(frozen=True)
class GroupStatus:
    link: RoomLink
    copies_in_flight: int
    queued_sends: int
    health: RelayHealth
    engines: dict[str, EngineStats]  # empty when no engine is configured
    routes: list[RouteUse]


@dataclass(frozen=True)
class EncryptionNotes:
    encrypted: bool  # the room itself
    consented: bool  # its messages may go to unencrypted rooms (only an encrypted room)
    unencrypted_receivers: int  # where they now go unencrypted (when consented)
    withheld_from_here: int  # encrypted rooms whose messages do not come here (not consented)


class RelayDesk:
    def __init__(
        self,
        groups: RelayGroups,
        relay: Relay,
        db: Database,
        rooms: Rooms,
        phrases: Phrasebook,
        translation: TranslationService | None,
        matrix: MatrixClient,
        spaces: RelaySpaces,
    ) -> None:
        self.groups = groups
        self.spaces = spaces
        self.relay = relay
        self.db = db
        self.rooms = rooms
        self.phrases = phrases
        self.translation = translation
        self.matrix = matrix

    def current(self, room_id: str) -> RoomLink:
        """The room's link; a refusal saying how to link when there is none."""
        link = self.groups.link_of(room_id)
        if link is None:
            raise CommandError(
                "This room is not linked to any relay group. An admin links it with {example}.",
                example=self.phrases.command("relay link <group> <lang>"),
            )
        return link

    def link(
        self, room_id: str, args: list[str], user_id: str, *, allow_unencrypted: bool = False
    ) -> tuple[RoomLink, int]:
        """Link ``room_id`` as ``<group> <lang> [mode]``; the link and the group's room count.

        An encrypted room whose messages would go to rooms of the group that are not encrypted
        is linked only with ``allow_unencrypted`` (its admin's explicit consent).
        """
        if len(args) == 3 and args[2].lower() not in MODES:
            if not is_language(args[1]) and is_language(args[2]):
                # "!relay link my group fr": the group name was meant to hold a space
                valid_group(f"{args[0]} {args[1]}")
            raise UsageError(
                "{mode} is not a link mode. Use two-way, receive or send.", mode=f"`{args[2]}`"
            )
        if len(args) not in (2, 3):
            raise UsageError(
                "Give a group name and this room's language code, for example {example}.",
                example=self.phrases.command("relay link mujawara fr"),
            )
        group = valid_group(args[0])
        language = valid_language(args[1])
        mode = args[2].lower() if len(args) == 3 else "two-way"
        existing = store.room_link(self.db, room_id)
        if existing is not None and existing.group != group:
            raise CommandError(
                "This room is already linked to the relay group {group}. Unlink it first with {command}.",
                group=f"`{existing.group}`",
                command=self.phrases.command("relay unlink"),
            )
        encrypted = self.matrix.is_encrypted(room_id)
        if encrypted and mode != "receive" and not allow_unencrypted:
            plain = self.unencrypted_receivers(group, room_id)
            if plain:
                raise CommandError(
                    "This room is encrypted, but rooms of the relay group {group} that receive its messages are not ({count}): their homeserver could read what is said here. Nothing was changed. To link it anyway, add {flag}: {example}. Linked as receive only, nothing leaves this room.",
                    group=f"`{group}`",
                    count=len(plain),
                    flag="`--allow-unencrypted`",
                    example=self.phrases.command(
                        f"relay link {group} {language} {mode} --allow-unencrypted"
                    ),
                )
        with self.db.transaction():
            linked = store.link(
                self.db,
                room_id,
                group,
                language,
                mode,
                user_id,
                allow_unencrypted=encrypted and allow_unencrypted,
            )
            self.rooms.set_language(room_id, language)
        return self.groups.link_of(room_id) or linked, len(store.group_rooms(self.db, group))

    def unencrypted_receivers(self, group: str, room_id: str) -> list[str]:
        """The rooms of ``group`` other than ``room_id`` that are not encrypted and receive
        (paused ones too: they may resume)."""
        return [
            member.room_id
            for member in store.group_rooms(self.db, group)
            if member.room_id != room_id
            and member.mode != "send"
            and not self.matrix.is_encrypted(member.room_id)
        ]

    def encryption_notes(self, link: RoomLink) -> EncryptionNotes:
        """What a room just linked should know about encryption in its group."""
        encrypted = self.matrix.is_encrypted(link.room_id)
        plain = self.unencrypted_receivers(link.group, link.room_id)
        withheld = 0
        if not encrypted and link.mode != "send":
            withheld = sum(
                1
                for member in store.group_rooms(self.db, link.group)
                if member.room_id != link.room_id
                and member.mode != "receive"
                and not member.allow_unencrypted
                and self.matrix.is_encrypted(member.room_id)
            )
        return EncryptionNotes(
            encrypted=encrypted,
            consented=link.allow_unencrypted,
            unencrypted_receivers=len(plain) if link.allow_unencrypted else 0,
            withheld_from_here=withheld,
        )

    def unlink(self, room_id: str) -> RoomLink:
        current = self.current(room_id)
        store.unlink(self.db, room_id)
        return current

    # ---- the group's space -------------------------------------------------------------------

    async def space(self, room_id: str, args: list[str], user_id: str) -> SpaceUpdate:
        """``!relay space [space]``: create the group's space, or adopt an existing one.

        Without an argument, a group that already has a space gets it brought up to date.
        """
        current = self.current(room_id)
        if len(args) > 1:
            raise UsageError(
                "Give at most one space: its id or address, for example {example}.",
                example="`#mujawara:example.org`",
            )
        if args:
            target = args[0]
            # room ids of room version 12 carry no server name; aliases always do
            is_id = target.startswith("!") and len(target) > 1
            is_alias = target.startswith("#") and ":" in target
            if not (is_id or is_alias) or any(c.isspace() for c in target):
                raise UsageError(
                    "{space} is not a space id or address: they look like {example}.",
                    space=f"`{target}`",
                    example="`#mujawara:example.org`",
                )
            return await self.spaces.adopt(current.group, target, user_id)
        existing = self.spaces.space_of(current.group)
        if existing is not None:
            update = await self.spaces.sync(current.group)
            assert update is not None
            return update
        return await self.spaces.create(current.group, user_id)

    def release_space(self, room_id: str) -> GroupSpace:
        """``!relay space off``: the group stops keeping its space (left as it is)."""
        return self.spaces.release(self.current(room_id).group)

    async def sync_space(self, group: str) -> SpaceUpdate | None:
        """Bring the group's space in step after a room joined or left; None without a space."""
        return await self.spaces.sync(group)

    def set_paused(self, room_id: str, paused: bool) -> bool:
        """Whether anything changed (the room must be linked)."""
        self.current(room_id)
        return store.set_paused(self.db, room_id, paused)

    def status(self, room_id: str) -> GroupStatus:
        current = self.current(room_id)
        translation = self.translation
        return GroupStatus(
            link=current,
            copies_in_flight=self.relay.pending_copies(),
            queued_sends=self.matrix.queue_length(),
            health=store.health(self.db, current.group),
            engines=dict(translation.stats) if translation and translation.engines else {},
            routes=store.routes(self.db, current.group),
        )

    async def missing_routes(self, link: RoomLink) -> list[str] | None:
        """Pairs no engine translates between ``link``'s language and the group's others.

        None when no engine is configured at all (everything is relayed untranslated).
        """
        language = link.language
        others = {m.language for m in self.groups.members(link.group)} - {language}
        if not others:
            return []
        if self.translation is None or not self.translation.engines:
            return None
        missing = []
        for other in sorted(others):
            if await self.translation.route(language, other) is None:
                missing.append(f"{language}→{other}")
            if await self.translation.route(other, language) is None:
                missing.append(f"{other}→{language}")
        return missing

    def add_term(self, room_id: str, term: str, user_id: str) -> tuple[str, bool]:
        """(group, whether the term is new); room admins only."""
        group = self._glossary_change(room_id, term, user_id)
        return group, store.add_term(self.db, group, term, user_id)

    def remove_term(self, room_id: str, term: str, user_id: str) -> tuple[str, bool]:
        group = self._glossary_change(room_id, term, user_id)
        return group, store.remove_term(self.db, group, term)

    def _glossary_change(self, room_id: str, term: str, user_id: str) -> str:
        current = self.current(room_id)
        if not self.rooms.is_room_admin(room_id, user_id):
            raise PermissionDenied(
                "Only room admins (power level {level} or more) may use this command.",
                level=self.rooms.config.admin_power_level,
            )
        if not term:
            raise UsageError("Give the term, for example {example}.", example="`Mujawara`")
        if len(term) > MAX_TERM or "`" in term:
            raise CommandError(
                "A glossary term is at most {limit} characters, without backticks.", limit=MAX_TERM
            )
        return current.group
