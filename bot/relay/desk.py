"""What members do with ``!relay``: link rooms into groups by consent, steward them, keep the
glossary, and see how the relay is doing.

The room that creates a group is its steward room; its admins (and the bot's admins) are the
group's stewards. A room that asks to join an existing group gets nothing until a steward
approves its request or its admin passes a join code a steward issued. Every change to a
group is recorded and told to the steward rooms (:mod:`bot.relay.notices`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.i18n import Phrasebook
from bot.core.matrix.client import MatrixClient
from bot.core.rooms import Rooms, is_language, valid_language
from bot.core.storage.database import Database, iso, utcnow
from bot.core.text.echo import echo, excerpt
from bot.core.text.forms import ID_ALPHABET, clean_id, new_id
from bot.core.time.parse import TimeParseError, parse_duration
from bot.relay import store
from bot.relay.groups import RelayGroups, valid_group
from bot.relay.notices import MODE_LABELS, REASON_LIMIT, REQUEST_STATES, GroupNotices
from bot.relay.service import Relay
from bot.relay.spaces import RelaySpaces, SpaceUpdate
from bot.relay.store import MODES, GroupSpace, JoinRequest, RelayHealth, RoomLink, RouteUse
from bot.translation.service import EngineStats, TranslationService

MAX_TERM = 80
ALLOW_UNENCRYPTED = "--allow-unencrypted"
# phones may turn "--" into a dash: every spelling gives the consent
ALLOW_FLAGS = frozenset({ALLOW_UNENCRYPTED, "—allow-unencrypted", "–allow-unencrypted"})
CODE_PREFIX = "code:"
CODE_MIN = timedelta(minutes=1)
CODE_MAX = timedelta(days=7)


@dataclass(frozen=True)
class GroupStatus:
    link: RoomLink
    copies_in_flight: int
    queued_sends: int
    health: RelayHealth
    engines: dict[str, EngineStats]  # empty when no engine is configured
    routes: list[RouteUse]


@dataclass(frozen=True)
class LinkArgs:
    group: str
    language: str
    mode: str | None  # None: keep the current mode (two-way for a new link)
    code: str | None
    allow_unencrypted: bool


@dataclass(frozen=True)
class LinkOutcome:
    """What ``!relay link`` did: linked (how), or sent a request and linked nothing."""

    how: str  # created | linked | code | changed | requested
    link: RoomLink | None
    request: JoinRequest | None
    count: int  # rooms in the group now
    current: RoomLink | None = None  # the link as it stays while a request waits
    allowed: list[str] = field(default_factory=list)  # unencrypted rooms a steward let it reach
    unpublished: int = 0  # its gatherings taken off the public agenda as it joined the group


@dataclass(frozen=True)
class EncryptionNotes:
    encrypted: bool  # the room itself
    withheld_from_here: int  # encrypted rooms whose messages do not come here (no consent)


@dataclass(frozen=True)
class IssuedCode:
    code: str
    group: str
    expires_at: datetime


@dataclass(frozen=True)
class GroupRoom:
    """A room of a group as ``!relay list`` shows it."""

    link: RoomLink
    name: str
    steward: bool


class RelayDesk:
    def __init__(
        self,
        groups: RelayGroups,
        relay: Relay,
        notices: GroupNotices,
        db: Database,
        rooms: Rooms,
        phrases: Phrasebook,
        translation: TranslationService | None,
        matrix: MatrixClient,
        spaces: RelaySpaces,
        *,
        code_lifetime: timedelta,
        audit_lines: int,
    ) -> None:
        self.groups = groups
        self.spaces = spaces
        self.relay = relay
        self.notices = notices
        self.db = db
        self.rooms = rooms
        self.phrases = phrases
        self.translation = translation
        self.matrix = matrix
        self.code_lifetime = code_lifetime
        self.audit_lines = audit_lines

    # ---- where a room stands ---------------------------------------------------------------

    def current(self, room_id: str) -> RoomLink:
        """The room's link; a refusal saying how to link (or what it waits for) when none."""
        link = self.groups.link_of(room_id)
        if link is not None:
            return link
        pending = store.pending_request_of(self.db, room_id)
        if pending is not None:
            raise CommandError(
                "This room's request {request} to join the relay group {group} waits for a steward's approval: nothing is relayed to or from it yet.",
                request=f"`{pending.id}`",
                group=f"`{pending.group}`",
            )
        raise CommandError(
            "This room is not linked to any relay group. An admin links it with {example}.",
            example=self.phrases.command("relay link <group> <lang>"),
        )

    def listing(self, room_id: str) -> tuple[RoomLink, list[GroupRoom], bool]:
        """(this room's link, the group's rooms, whether this room is a steward room)."""
        current = self.current(room_id)
        stewards = set(self.groups.steward_rooms(current.group))
        rooms = [
            GroupRoom(member, self.matrix.room_name(member.room_id), member.room_id in stewards)
            for member in self.groups.members(current.group)
        ]
        return current, rooms, room_id in stewards

    # ---- linking -----------------------------------------------------------------------------

    def link(
        self, room_id: str, args: list[str], user_id: str, command_event_id: str
    ) -> LinkOutcome:
        """``<group> <lang> [mode] [code:<code>] [--allow-unencrypted]`` for ``room_id``.

        A new group is created with this room as its steward room. Joining an existing group
        (or widening this room's mode) needs a steward's consent: the sender being a steward,
        a valid join code, or else a request the stewards decide on.
        """
        replayed = store.request_by_command(self.db, command_event_id)
        if replayed is not None:  # the same command handled again after a restart
            return LinkOutcome("requested", None, replayed, self._count(replayed.group))
        wanted = self._parse_link(args)
        group, language = wanted.group, wanted.language
        existing = store.room_link(self.db, room_id)
        if existing is not None and existing.group != group:
            raise CommandError(
                "This room is already linked to the relay group {group}. Unlink it first with {command}.",
                group=f"`{existing.group}`",
                command=self.phrases.command("relay unlink"),
            )
        pending = store.pending_request_of(self.db, room_id)
        steward = self.groups.is_steward(group, user_id)
        if pending is not None and (
            pending.group != group or (wanted.code is None and not steward)
        ):
            if existing is not None:
                raise CommandError(
                    "This room's request {request} to become {mode} waits for a steward's approval.",
                    request=f"`{pending.id}`",
                    mode=self.phrases.text(self.rooms.language(room_id), MODE_LABELS[pending.mode]),
                )
            raise CommandError(
                "This room's request {request} to join the relay group {group} waits for a steward's approval. {command} withdraws it.",
                request=f"`{pending.id}`",
                group=f"`{pending.group}`",
                command=self.phrases.command("relay unlink"),
            )
        mode = wanted.mode or (existing.mode if existing else "two-way")
        creating = not store.group_rooms(self.db, group)
        if wanted.allow_unencrypted and not steward and not creating:
            raise CommandError(
                "Only a steward of the relay group {group} can let an encrypted room's messages reach its unencrypted rooms. Link without {flag}: the stewards decide when they approve.",
                group=f"`{group}`",
                flag=f"`{ALLOW_UNENCRYPTED}`",
            )
        if creating:  # alone in its group: nothing to consent to yet
            return self._create(room_id, group, language, mode, user_id)
        widening = existing is None or bool(
            store.directions(mode) - store.directions(existing.mode)
        )
        if existing is not None and not widening and not wanted.allow_unencrypted:
            return self._change(existing, language, mode, user_id)
        if widening and not steward and wanted.code is None:
            return self._request(room_id, group, language, mode, user_id, command_event_id)
        allowed = self._check_encryption(room_id, group, mode, existing, wanted.allow_unencrypted)
        with self.db.transaction():
            how = "linked"
            issuer: str | None = None
            if wanted.code is not None and not steward:
                issuer = store.use_code(self.db, wanted.code, group, room_id)
                if issuer is None:
                    raise CommandError(
                        "This join code is not valid for the relay group {group}: it is unknown, used already or expired. Ask a steward for a new one, or link without a code to send them a request.",
                        group=f"`{group}`",
                    )
                how = "code"
            if pending is not None:
                store.decide_request(self.db, pending.id, "approved", issuer or user_id)
            linked = store.link(
                self.db,
                room_id,
                group,
                language,
                mode,
                user_id,
                allow_unencrypted=bool(allowed),
            )
            self.rooms.set_language(room_id, language)
            details: dict[str, Any] = {"language": language, "mode": mode}
            unpublished = self.groups.room_joined(room_id) if existing is None else 0
            if unpublished:
                details["unpublished"] = unpublished
            if existing is not None:
                how = "changed"
                if language != existing.language:
                    self.notices.record(
                        group, user_id, "language", room_id, quiet=room_id, language=language
                    )
                if mode != existing.mode:
                    self.notices.record(group, user_id, "mode", room_id, quiet=room_id, mode=mode)
            elif issuer is not None:
                self.notices.record(
                    group,
                    user_id,
                    "linked-with-code",
                    room_id,
                    quiet=room_id,
                    issuer=issuer,
                    **details,
                )
            else:
                self.notices.record(group, user_id, "linked", room_id, quiet=room_id, **details)
            if allowed:
                self.notices.record(
                    group,
                    user_id,
                    "allow-unencrypted",
                    room_id,
                    tell=room_id,
                    quiet=room_id,
                    rooms=allowed,
                    mode=mode,
                )
        return LinkOutcome(
            how, self._in_language(linked), None, self._count(group), None, allowed, unpublished
        )

    def _parse_link(self, args: list[str]) -> LinkArgs:
        words: list[str] = []
        code: str | None = None
        allow = False
        for word in args:
            lowered = word.lower()
            if lowered in ALLOW_FLAGS:
                allow = True
            elif lowered.startswith(CODE_PREFIX) and len(word) > len(CODE_PREFIX):
                code = word[len(CODE_PREFIX) :]
            else:
                words.append(word)
        if len(words) == 3 and words[2].lower() not in MODES:
            if not is_language(words[1]) and is_language(words[2]):
                # "!relay link my group fr": the group name was meant to hold a space
                valid_group(f"{words[0]} {words[1]}")
            raise UsageError(
                "{mode} is not a link mode. Use two-way, receive or send.", mode=echo(words[2])
            )
        if len(words) not in (2, 3):
            raise UsageError(
                "Give a group name and this room's language code, for example {example}.",
                example=self.phrases.command("relay link mujawara fr"),
            )
        return LinkArgs(
            group=valid_group(words[0]),
            language=valid_language(words[1]),
            mode=words[2].lower() if len(words) == 3 else None,
            code=code,
            allow_unencrypted=allow,
        )

    def _create(
        self, room_id: str, group: str, language: str, mode: str, user_id: str
    ) -> LinkOutcome:
        """A new group: this room is its first room and its steward room."""
        with self.db.transaction():
            store.dissolve_if_empty(self.db, group)  # leftovers of a group of that name
            linked = store.link(self.db, room_id, group, language, mode, user_id)
            store.add_steward(self.db, group, room_id, user_id)
            self.rooms.set_language(room_id, language)
            self.notices.record(
                group,
                user_id,
                "created",
                room_id,
                announce=False,
                language=language,
                mode=mode,
            )
        return LinkOutcome("created", self._in_language(linked), None, 1)

    def _change(self, existing: RoomLink, language: str, mode: str, user_id: str) -> LinkOutcome:
        """A new language, or a mode that lets less through: the room's own admin decides."""
        room_id, group = existing.room_id, existing.group
        with self.db.transaction():
            linked = store.link(self.db, room_id, group, language, mode, user_id)
            self.rooms.set_language(room_id, language)
            if language != existing.language:
                self.notices.record(
                    group, user_id, "language", room_id, quiet=room_id, language=language
                )
            if mode != existing.mode:
                self.notices.record(group, user_id, "mode", room_id, quiet=room_id, mode=mode)
        return LinkOutcome("changed", self._in_language(linked), None, self._count(group))

    def _request(
        self,
        room_id: str,
        group: str,
        language: str,
        mode: str,
        user_id: str,
        command_event_id: str,
    ) -> LinkOutcome:
        """Ask the stewards; nothing is relayed to or from the room until they approve."""
        existing = store.room_link(self.db, room_id)
        with self.db.transaction():
            request = store.add_request(
                self.db,
                request_id=new_id(lambda c: store.request_id_taken(self.db, c)),
                group=group,
                room_id=room_id,
                language=language,
                mode=mode,
                requested_by=user_id,
                command_event_id=command_event_id,
                room_name=self.matrix.room_name(room_id),
                members=self._member_count(room_id),
                encrypted=self.matrix.is_encrypted(room_id),
            )
            if existing is None:
                self.rooms.set_language(room_id, language)
            self.notices.record(
                group,
                user_id,
                "request",
                room_id,
                quiet=room_id,
                request=request.id,
                language=language,
                mode=mode,
                members=request.members,
                encrypted=request.encrypted,
                requester=user_id,
            )
        current = self._in_language(existing) if existing is not None else None
        return LinkOutcome("requested", None, request, self._count(group), current)

    def _member_count(self, room_id: str) -> int:
        return len([m for m in self.matrix.members(room_id) if m != self.matrix.user_id])

    def _count(self, group: str) -> int:
        return len(store.group_rooms(self.db, group))

    def _in_language(self, link: RoomLink) -> RoomLink:
        return self.groups.link_of(link.room_id) or link

    # ---- encryption: no silent downgrade -------------------------------------------------------

    def unencrypted_receivers(self, group: str, room_id: str) -> list[RoomLink]:
        """The group's other rooms that get its messages and are not encrypted."""
        return [
            member
            for member in store.group_rooms(self.db, group)
            if member.room_id != room_id
            and store.mode_receives(member.mode)
            and not self.matrix.is_encrypted(member.room_id)
        ]

    def encryption_notes(self, link: RoomLink) -> EncryptionNotes:
        """What a room just linked should know about encryption in its group."""
        encrypted = self.matrix.is_encrypted(link.room_id)
        withheld = 0
        if not encrypted and store.mode_receives(link.mode):
            withheld = sum(
                1
                for member in store.group_rooms(self.db, link.group)
                if member.room_id != link.room_id
                and store.mode_sends(member.mode)
                and not member.allow_unencrypted
                and self.matrix.is_encrypted(member.room_id)
            )
        return EncryptionNotes(encrypted=encrypted, withheld_from_here=withheld)

    def _check_encryption(
        self,
        room_id: str,
        group: str,
        mode: str,
        existing: RoomLink | None,
        allow: bool,
    ) -> list[str]:
        """Refuse to let an encrypted room's messages out to unencrypted rooms unasked.

        Returns the names of the unencrypted rooms a steward now lets it reach ([] when no
        consent was needed or it was given before).
        """
        if not self.matrix.is_encrypted(room_id) or not store.mode_sends(mode):
            return []
        if existing is not None and existing.allow_unencrypted:
            return []
        plain = self.unencrypted_receivers(group, room_id)
        if not plain:
            return []
        names = [self.matrix.room_name(member.room_id) for member in plain]
        if not allow:
            raise CommandError(
                "{room} is encrypted and the relay group {group} has unencrypted rooms ({rooms}): its messages would be stored there unencrypted. A steward may allow it by adding {flag}; otherwise link it as receive only.",
                room=echo(self.matrix.room_name(room_id)),
                group=f"`{group}`",
                rooms=", ".join(echo(name) for name in names),
                flag=f"`{ALLOW_UNENCRYPTED}`",
            )
        return names

    # ---- the stewards' commands ------------------------------------------------------------

    def stewarding(self, room_id: str, user_id: str) -> str:
        """The group stewarded from ``room_id`` by ``user_id``; a refusal otherwise.

        Stewards act from a steward room they administer (the router checked the admin part);
        the bot's admins from any room of the group.
        """
        link = self.current(room_id)
        if room_id in self.groups.steward_rooms(link.group) and self.rooms.is_room_admin(
            room_id, user_id
        ):
            return link.group
        if self.rooms.is_bot_admin(user_id):
            return link.group
        raise PermissionDenied(
            "Only the stewards of the relay group {group} may do this, from one of its steward rooms ({command} shows them).",
            group=f"`{link.group}`",
            command=self.phrases.command("relay list"),
        )

    def requests(self, room_id: str, user_id: str) -> tuple[str, list[JoinRequest]]:
        group = self.stewarding(room_id, user_id)
        return group, store.pending_requests(self.db, group)

    def _pending(self, group: str, word: str | None, room_id: str) -> JoinRequest:
        if not word:
            raise UsageError(
                "Give the request's id, such as {example}. {command} lists them.",
                example="`k3m9`",
                command=self.phrases.command("relay requests"),
            )
        request = store.request(self.db, clean_id(word))
        if request is None or request.group != group:
            raise CommandError(
                "There is no request {request} for the relay group {group}. {command} lists the waiting ones.",
                request=echo(word),
                group=f"`{group}`",
                command=self.phrases.command("relay requests"),
            )
        if request.status != "pending":
            raise CommandError(
                "Request {request} is not waiting any more: it was {status}.",
                request=f"`{request.id}`",
                status=self.phrases.text(
                    self.rooms.language(room_id), REQUEST_STATES.get(request.status, "")
                )
                or request.status,
            )
        return request

    def approve(
        self, room_id: str, args: list[str], user_id: str
    ) -> tuple[JoinRequest, RoomLink, list[str], int]:
        """Approve a waiting request: the room is linked as it asked, and told.

        (The request, the link, the unencrypted rooms it may reach, how many of its gatherings
        were taken off the public agenda as it joined.)
        """
        group = self.stewarding(room_id, user_id)
        allow = any(a.lower() in ALLOW_FLAGS for a in args)
        words = [a for a in args if a.lower() not in ALLOW_FLAGS]
        if len(words) > 1:
            raise UsageError(
                "Give only the request's id (and {flag} if needed).", flag=f"`{ALLOW_UNENCRYPTED}`"
            )
        request = self._pending(group, words[0] if words else None, room_id)
        target = request.room_id
        if not self.matrix.is_joined(target):
            raise CommandError(
                "I am no longer in {room}, so it cannot join. Refuse the request with {command}.",
                room=echo(request.room_name),
                command=self.phrases.command(f"relay refuse {request.id}"),
            )
        existing = store.room_link(self.db, target)
        allowed = self._check_encryption(target, group, request.mode, existing, allow)
        with self.db.transaction():
            if not store.decide_request(self.db, request.id, "approved", user_id):
                raise CommandError(
                    "Request {request} is not waiting any more.", request=f"`{request.id}`"
                )
            linked = store.link(
                self.db,
                target,
                group,
                request.language,
                request.mode,
                request.requested_by,
                allow_unencrypted=bool(allowed),
            )
            self.rooms.set_language(target, request.language)
            unpublished = self.groups.room_joined(target) if existing is None else 0
            details: dict[str, Any] = {
                "request": request.id,
                "room_name": request.room_name,
                "language": request.language,
                "mode": request.mode,
            }
            if unpublished:
                details["unpublished"] = unpublished
            self.notices.record(
                group, user_id, "approved", target, tell=target, quiet=room_id, **details
            )
            if allowed:
                self.notices.record(
                    group,
                    user_id,
                    "allow-unencrypted",
                    target,
                    tell=target,
                    quiet=room_id,
                    rooms=allowed,
                    mode=request.mode,
                )
        return request, self._in_language(linked), allowed, unpublished

    def refuse(self, room_id: str, args: list[str], rest: str, user_id: str) -> JoinRequest:
        """Refuse a waiting request (with an optional reason the room is told)."""
        group = self.stewarding(room_id, user_id)
        request = self._pending(group, args[0] if args else None, room_id)
        reason = rest.split(None, 1)[1].strip() if len(rest.split(None, 1)) > 1 else ""
        with self.db.transaction():
            if not store.decide_request(self.db, request.id, "refused", user_id):
                raise CommandError(
                    "Request {request} is not waiting any more.", request=f"`{request.id}`"
                )
            details: dict[str, Any] = {
                "request": request.id,
                "room_name": request.room_name,
            }
            if reason:
                details["reason"] = excerpt(reason, REASON_LIMIT)
            self.notices.record(
                group,
                user_id,
                "refused",
                request.room_id,
                tell=request.room_id,
                quiet=room_id,
                **details,
            )
        return request

    def issue_code(self, room_id: str, args: list[str], user_id: str) -> IssuedCode:
        """A single-use join code for the group, valid for the configured time (or ``args``)."""
        group = self.stewarding(room_id, user_id)
        lifetime = self.code_lifetime
        if args:
            text = " ".join(args)
            try:
                lifetime = parse_duration(text)
            except TimeParseError:
                raise UsageError(
                    "{text} is not a length of time I can read: try 2h, 30m or 3d.",
                    text=echo(text),
                ) from None
            if not CODE_MIN <= lifetime <= CODE_MAX:
                raise CommandError(
                    "A join code is valid for one minute at least and seven days at most."
                )
        code = "-".join("".join(secrets.choice(ID_ALPHABET) for _ in range(4)) for _ in range(3))
        expires_at = utcnow() + lifetime
        with self.db.transaction():
            store.add_code(self.db, code, group, user_id, expires_at)
            self.notices.record(group, user_id, "code", None, quiet=room_id, until=iso(expires_at))
        return IssuedCode(code, group, expires_at)

    def remove(self, room_id: str, word: str | None, user_id: str) -> tuple[str, RoomLink, str]:
        """Expel a room from the group: nothing is relayed to or from it from now on.

        (group, the link it had, its name).
        """
        group = self.stewarding(room_id, user_id)
        target = self._room_in_group(group, word)
        stewards = store.steward_rooms(self.db, group)
        if stewards == [target.room_id]:
            raise CommandError(
                "{room} is the only steward room of {group}: name another one first with {command}.",
                room=echo(self.matrix.room_name(target.room_id)),
                group=f"`{group}`",
                command=self.phrases.command("relay steward add <room>"),
            )
        name = self.matrix.room_name(target.room_id)
        with self.db.transaction():
            store.unlink(self.db, target.room_id)
            store.remove_steward(self.db, group, target.room_id)
            self.notices.record(
                group, user_id, "removed", target.room_id, tell=target.room_id, quiet=room_id
            )
        return group, target, name

    def set_mode(self, room_id: str, args: list[str], user_id: str) -> tuple[RoomLink, list[str]]:
        """A steward sets a room's mode (and may let an encrypted room reach unencrypted ones)."""
        group = self.stewarding(room_id, user_id)
        allow = any(a.lower() in ALLOW_FLAGS for a in args)
        words = [a for a in args if a.lower() not in ALLOW_FLAGS]
        if len(words) != 2:
            raise UsageError(
                "Give the room and its mode, for example {example}.",
                example=self.phrases.command("relay mode !room:example.org receive"),
            )
        mode = words[1].lower()
        if mode not in MODES:
            raise UsageError(
                "{mode} is not a link mode. Use two-way, receive or send.", mode=echo(words[1])
            )
        target = self._room_in_group(group, words[0])
        allowed = self._check_encryption(target.room_id, group, mode, target, allow)
        with self.db.transaction():
            changed = store.set_mode(self.db, target.room_id, mode)
            if allowed:
                store.allow_unencrypted(self.db, target.room_id)
            tell = target.room_id if target.room_id != room_id else None
            if changed:
                self.notices.record(
                    group, user_id, "mode", target.room_id, tell=tell, quiet=room_id, mode=mode
                )
            if allowed:
                self.notices.record(
                    group,
                    user_id,
                    "allow-unencrypted",
                    target.room_id,
                    tell=target.room_id,
                    quiet=room_id,
                    rooms=allowed,
                    mode=mode,
                )
        linked = self.groups.link_of(target.room_id)
        assert linked is not None
        return linked, allowed

    def steward(self, room_id: str, args: list[str], user_id: str) -> tuple[str, str, str, bool]:
        """``add|remove <room>``: (action, group, room name, whether anything changed)."""
        group = self.stewarding(room_id, user_id)
        action = args[0].lower() if args else ""
        if action not in ("add", "remove") or len(args) != 2:
            raise UsageError(
                "Say add or remove, then the room, for example {example}.",
                example=self.phrases.command("relay steward add !room:example.org"),
            )
        target = self._room_in_group(group, args[1])
        name = self.matrix.room_name(target.room_id)
        with self.db.transaction():
            tell = target.room_id if target.room_id != room_id else None
            if action == "add":
                changed = store.add_steward(self.db, group, target.room_id, user_id)
                if changed:
                    self.notices.record(
                        group, user_id, "steward-add", target.room_id, tell=tell, quiet=room_id
                    )
                return action, group, name, changed
            stewards = store.steward_rooms(self.db, group)
            if target.room_id not in stewards:
                return action, group, name, False
            if len(stewards) == 1:
                raise CommandError(
                    "{room} is the only steward room of {group}, and a group always keeps one: name another one first with {command}.",
                    room=echo(name),
                    group=f"`{group}`",
                    command=self.phrases.command("relay steward add <room>"),
                )
            store.remove_steward(self.db, group, target.room_id)
            self.notices.record(
                group, user_id, "steward-remove", target.room_id, tell=tell, quiet=room_id
            )
        return action, group, name, True

    def history(self, room_id: str, user_id: str, lang: str) -> tuple[str, list[str]]:
        group = self.stewarding(room_id, user_id)
        return group, self.notices.history_lines(group, lang, room_id, self.audit_lines)

    def _room_in_group(self, group: str, word: str | None) -> RoomLink:
        """A room of ``group`` by its id or its exact name (a name two rooms share is refused)."""
        if not word:
            raise UsageError(
                "Give the room's id (or its name as {command} shows it).",
                command=self.phrases.command("relay list"),
            )
        members = store.group_rooms(self.db, group)
        if word.startswith("!"):
            found = [m for m in members if m.room_id == word]
        else:
            wanted = word.casefold()
            found = [m for m in members if self.matrix.room_name(m.room_id).casefold() == wanted]
            if len(found) > 1:
                raise CommandError(
                    "Several rooms of {group} are called {room}: give the room's id instead.",
                    group=f"`{group}`",
                    room=echo(word),
                )
        if not found:
            raise CommandError(
                "{room} is not a room of the relay group {group}. {command} shows its rooms.",
                room=echo(word),
                group=f"`{group}`",
                command=self.phrases.command("relay list"),
            )
        return found[0]

    # ---- a room's own changes ----------------------------------------------------------------

    def unlink(self, room_id: str, user_id: str) -> tuple[str, bool]:
        """Leave the group, or withdraw this room's waiting request: (group, whether it was linked)."""
        link = store.room_link(self.db, room_id)
        if link is None:
            pending = store.pending_request_of(self.db, room_id)
            if pending is None:
                self.current(room_id)  # the refusal saying how to link
                raise AssertionError("unreachable")
            with self.db.transaction():
                store.decide_request(self.db, pending.id, "withdrawn", user_id)
                self.notices.record(
                    pending.group,
                    user_id,
                    "withdrawn",
                    room_id,
                    quiet=room_id,
                    request=pending.id,
                )
            return pending.group, False
        group = link.group
        stewards = store.steward_rooms(self.db, group)
        others = [m for m in store.group_rooms(self.db, group) if m.room_id != room_id]
        if stewards == [room_id] and others:
            raise CommandError(
                "This room is the only steward room of {group}: name another one first with {command}, or remove the other rooms.",
                group=f"`{group}`",
                command=self.phrases.command("relay steward add <room>"),
            )
        pending = store.pending_request_of(self.db, room_id)
        with self.db.transaction():
            if pending is not None:
                store.decide_request(self.db, pending.id, "withdrawn", user_id)
                self.notices.record(
                    group, user_id, "withdrawn", room_id, quiet=room_id, request=pending.id
                )
            store.unlink(self.db, room_id)
            store.remove_steward(self.db, group, room_id)
            self.notices.record(group, user_id, "left", room_id, quiet=room_id)
            store.dissolve_if_empty(self.db, group)
        return group, True

    # ---- the group's space -------------------------------------------------------------------

    async def space(self, room_id: str, args: list[str], user_id: str) -> SpaceUpdate:
        """``!relay space [space]``: create the group's space, or adopt an existing one.

        A steward's power (a space lists every room of the group, and its creator runs it).
        Without an argument, a group that already has a space gets it brought up to date.
        """
        group = self.stewarding(room_id, user_id)
        if len(args) > 1:
            raise UsageError(
                "Give at most one space: its id or address, for example {example}.",
                example="`#mujawara:example.org`",
            )
        before = self.spaces.space_of(group)
        if args:
            target = args[0]
            # room ids of room version 12 carry no server name; aliases always do
            is_id = target.startswith("!") and len(target) > 1
            is_alias = target.startswith("#") and ":" in target
            if not (is_id or is_alias) or any(c.isspace() for c in target):
                raise UsageError(
                    "{space} is not a space id or address: they look like {example}.",
                    space=echo(target),
                    example="`#mujawara:example.org`",
                )
            update = await self.spaces.adopt(group, target, user_id)
        elif before is not None:
            synced = await self.spaces.sync(group)
            assert synced is not None
            return synced
        else:
            update = await self.spaces.create(group, user_id)
        after = self.spaces.space_of(group)
        if after is not None and (before is None or before.space_id != after.space_id):
            with self.db.transaction():
                self.notices.record(
                    group,
                    user_id,
                    "space",
                    quiet=room_id,
                    space_id=after.space_id,
                    space_name=after.name,
                )
        return update

    def release_space(self, room_id: str, user_id: str) -> GroupSpace:
        """``!relay space off``: the group stops keeping its space (left as it is)."""
        group = self.stewarding(room_id, user_id)
        with self.db.transaction():
            released = self.spaces.release(group)
            self.notices.record(
                group,
                user_id,
                "space-off",
                quiet=room_id,
                space_id=released.space_id,
                space_name=released.name,
            )
        return released

    async def sync_space(self, group: str) -> SpaceUpdate | None:
        """Bring the group's space in step after a room joined or left; None without a space."""
        return await self.spaces.sync(group)

    def set_paused(self, room_id: str, paused: bool, user_id: str) -> bool:
        """Whether anything changed (the room must be linked)."""
        link = self.current(room_id)
        with self.db.transaction():
            changed = store.set_paused(self.db, room_id, paused)
            if changed:
                self.notices.record(
                    link.group, user_id, "paused" if paused else "resumed", room_id, quiet=room_id
                )
        return changed

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

    # ---- the glossary: the stewards' ----------------------------------------------------------

    def add_term(self, room_id: str, term: str, user_id: str) -> tuple[str, bool]:
        """(group, whether the term is new); stewards only."""
        group = self._glossary_change(room_id, term, user_id)
        with self.db.transaction():
            added = store.add_term(self.db, group, term, user_id)
            if added:
                self.notices.record(group, user_id, "glossary-add", None, quiet=room_id, term=term)
        return group, added

    def remove_term(self, room_id: str, term: str, user_id: str) -> tuple[str, bool]:
        group = self._glossary_change(room_id, term, user_id)
        with self.db.transaction():
            removed = store.remove_term(self.db, group, term)
            if removed:
                self.notices.record(
                    group, user_id, "glossary-remove", None, quiet=room_id, term=term
                )
        return group, removed

    def _glossary_change(self, room_id: str, term: str, user_id: str) -> str:
        current = self.current(room_id)
        if not self.groups.is_steward(current.group, user_id):
            raise PermissionDenied(
                "Only the stewards of the relay group {group} may change its glossary (admins of its steward rooms, listed by {command}).",
                group=f"`{current.group}`",
                command=self.phrases.command("relay list"),
            )
        if not term:
            raise UsageError("Give the term, for example {example}.", example="`Mujawara`")
        if len(term) > MAX_TERM or "`" in term:
            raise CommandError(
                "A glossary term is at most {limit} characters, without backticks.", limit=MAX_TERM
            )
        return current.group

    async def tell(self) -> None:
        """Tell the steward rooms (and rooms concerned) of the changes just recorded."""
        await self.notices.deliver()
