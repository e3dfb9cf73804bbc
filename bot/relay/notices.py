"""A relay group's history: every change recorded with who and when, told to its stewards.

A change is written to ``relay_audit`` in the same transaction as the change itself; telling
happens afterwards, from the table: each entry is posted to the group's steward rooms (and,
where it concerns one room, to that room), then marked told. Entries left untold by a stop are
told at the next start, with the same transaction ids, so each is told exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.core.broadcast import Broadcaster
from bot.core.i18n import N_, Phrasebook, language_name
from bot.core.matrix.client import MatrixClient
from bot.core.rooms import Rooms
from bot.core.storage.database import Database, from_iso
from bot.core.text.echo import echo
from bot.core.time.parse import format_local
from bot.relay import store
from bot.relay.render import space_markdown
from bot.relay.store import AuditEntry

log = logging.getLogger(__name__)

MODE_LABELS = {
    "two-way": N_("two-way"),
    "receive": N_("receive only"),
    "send": N_("send only"),
}
REASON_LIMIT = 200
REQUEST_STATES = {
    "approved": N_("approved"),
    "refused": N_("refused"),
    "withdrawn": N_("withdrawn"),
    "lapsed": N_("dropped when its group emptied"),
}

# action -> (what the steward rooms read, what the room concerned reads)
ACTIONS: dict[str, tuple[str, str | None]] = {
    "created": (
        N_("{actor} created the relay group {group} in {room}, its steward room."),
        None,
    ),
    "request": (
        N_(
            "**Request {request}**: {actor} asks to link {room} to {group} as {language}, {mode}. Members: {members}; {encryption}. Approve with {approve} or refuse with {refuse}."
        ),
        None,
    ),
    "approved": (
        N_("{actor} approved request {request}: {room} is in {group} as {language}, {mode}."),
        N_(
            "The stewards of {group} approved this room's request: it is in the relay group as {language}, {mode}."
        ),
    ),
    "refused": (
        N_("{actor} refused request {request} from {room}."),
        N_(
            "The stewards of {group} refused this room's request: nothing is relayed to or from this room."
        ),
    ),
    "withdrawn": (N_("{actor} withdrew request {request} from {room}."), None),
    "linked": (N_("{actor} linked {room} to {group} as {language}, {mode}."), None),
    "linked-with-code": (
        N_(
            "{actor} linked {room} to {group} as {language}, {mode}, with a join code issued by {issuer}."
        ),
        None,
    ),
    "code": (N_("{actor} issued a join code for {group}, valid until {until}."), None),
    "removed": (
        N_("{actor} removed {room} from {group}: nothing is relayed to or from it any more."),
        N_(
            "The stewards of {group} removed this room from the relay group: nothing is relayed to or from it any more."
        ),
    ),
    "left": (N_("{actor} took {room} out of {group}."), None),
    "mode": (
        N_("{actor} set {room} to {mode}."),
        N_("The stewards of {group} set this room's link to {mode}."),
    ),
    "language": (N_("{actor} set the language of {room} to {language}."), None),
    "paused": (N_("{actor} paused the relay for {room}."), None),
    "resumed": (N_("{actor} resumed the relay for {room}."), None),
    "glossary-add": (N_("{actor} added {term} to the glossary of {group}."), None),
    "glossary-remove": (N_("{actor} removed {term} from the glossary of {group}."), None),
    "steward-add": (
        N_("{actor} made {room} a steward room of {group}: its admins are stewards."),
        N_(
            "This room is now a steward room of the relay group {group}: its admins are the group's stewards. {help} lists what they may do."
        ),
    ),
    "steward-remove": (
        N_("{actor} made {room} no longer a steward room of {group}."),
        N_("This room is no longer a steward room of the relay group {group}."),
    ),
    "steward-upgrade": (
        N_("{room} became the steward room of {group}, as the first room linked to it."),
        N_(
            "This room is now the steward room of the relay group {group}, as the first room linked to it. Its admins are the group's stewards: a room that asks to join gets nothing until a steward approves it, and only stewards change the glossary, remove rooms, issue join codes or post to the whole group. {help} explains."
        ),
    ),
    "allow-unencrypted": (
        N_(
            "{actor} allowed the messages of the encrypted room {room} to reach the unencrypted rooms of {group}."
        ),
        N_(
            "This room is encrypted, and the relay group {group} has unencrypted rooms: {rooms}. A steward allowed this room's messages to be copied into them, where the homeserver stores them unencrypted. To stop it, a room admin can use {pause} or link this room as receive only."
        ),
    ),
    "space": (
        N_("{actor} made {space} the space of {group}: it lists the group's rooms by language."),
        None,
    ),
    "space-off": (
        N_(
            "{actor} released the space {space} of {group}: it stays as it is, and I stop changing it."
        ),
        None,
    ),
    "encrypted": (
        N_(
            "{room} turned encryption on: its messages no longer reach the unencrypted rooms of {group} ({rooms}) until a steward allows it with {command}."
        ),
        N_(
            "This room is now encrypted: its messages no longer reach the unencrypted rooms of the relay group {group} ({rooms}) until a steward allows it."
        ),
    ),
}
ENCRYPTED = N_("encrypted")
NOT_ENCRYPTED = N_("not encrypted")
REASON = N_("Reason: {reason}")
# a room joining a group: what it had published on its own agenda is not the group's
UNPUBLISHED_HERE = N_(
    "Gatherings of this room taken off the public agenda as it joined the group: {count}. The group's agenda is for its stewards to publish on ({command})."
)
UNPUBLISHED_THERE = N_(
    "Gatherings {room} had on its own public agenda, taken off as it joined: {count}. A steward may publish them on the group's with {command}."
)
ERASED = N_("(erased)")


class GroupNotices:
    """Records a group's changes and tells its steward rooms, each in its language."""

    def __init__(
        self,
        db: Database,
        rooms: Rooms,
        phrases: Phrasebook,
        broadcast: Broadcaster,
        matrix: MatrixClient,
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.phrases = phrases
        self.broadcast = broadcast
        self.matrix = matrix
        self._lock = asyncio.Lock()

    def record(
        self,
        group: str,
        actor: str,
        action: str,
        room_id: str | None = None,
        *,
        tell: str | None = None,
        quiet: str | None = None,
        announce: bool = True,
        **details: Any,
    ) -> int:
        """Write one change (inside the caller's transaction) for the steward rooms to read.

        ``tell``: the room the change concerns, told in its own words; ``quiet``: the room
        where the command was answered already, left out of the stewards' announcement.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown relay group change {action!r}")
        if room_id is not None and "room_name" not in details:
            details["room_name"] = self.matrix.room_name(room_id)
        if tell is not None:
            details["tell"] = tell
        if quiet is not None:
            details["quiet"] = quiet
        return store.record(self.db, group, actor, action, room_id, details, told=not announce)

    # ---- telling ----------------------------------------------------------------------------

    async def deliver(self) -> None:
        """Tell every change not told yet (after a command, and at start)."""
        async with self._lock:
            for entry in store.untold(self.db):
                try:
                    await self._tell(entry)
                except Exception:
                    log.exception("could not tell the relay group %s of a change", entry.group)
                store.mark_told(self.db, entry.id)

    async def _tell(self, entry: AuditEntry) -> None:
        quiet = entry.details.get("quiet")
        stewards = [
            room
            for room in store.steward_rooms(self.db, entry.group)
            if room != quiet and self.matrix.is_joined(room)
        ]
        tell = entry.details.get("tell")
        concerned = ACTIONS[entry.action][1]
        if isinstance(tell, str) and concerned is not None:
            stewards = [room for room in stewards if room != tell]

        async def for_stewards(lang: str, room_id: str) -> str:
            return self.render(entry, lang, room_id)

        async def for_room(lang: str, room_id: str) -> str:
            return self.render(entry, lang, room_id, concerned=True)

        if stewards:
            await self.broadcast.post(
                stewards, for_stewards, txn_key=f"relay-audit:{entry.id}", kind="relay-group"
            )
        if isinstance(tell, str) and concerned is not None and self.matrix.is_joined(tell):
            await self.broadcast.post(
                [tell], for_room, txn_key=f"relay-audit-room:{entry.id}", kind="relay-group"
            )

    # ---- words ------------------------------------------------------------------------------

    def render(self, entry: AuditEntry, lang: str, room_id: str, *, concerned: bool = False) -> str:
        """The entry as ``room_id`` reads it: the stewards' words, or the concerned room's."""
        stewards_words, room_words = ACTIONS[entry.action]
        message = room_words if concerned and room_words else stewards_words
        t = self.phrases.translator(lang)
        details = entry.details
        params: dict[str, Any] = {
            "actor": f"`{entry.actor}`" if entry.actor else t(ERASED),
            "group": f"`{entry.group}`",
            "room": self._room(entry),
            "request": f"`{details.get('request', '?')}`",
            "members": details.get("members", "?"),
            "encryption": t(ENCRYPTED if details.get("encrypted") else NOT_ENCRYPTED),
            "term": echo(str(details.get("term", ""))),
            "issuer": f"`{details['issuer']}`" if details.get("issuer") else t(ERASED),
            "help": self.phrases.command("help relay"),
            "pause": self.phrases.command("relay pause"),
            "rooms": ", ".join(echo(str(name)) for name in details.get("rooms", [])) or "—",
        }
        if isinstance(details.get("space_id"), str):
            name = str(details.get("space_name") or entry.group)
            params["space"] = space_markdown(name, str(details["space_id"]))
        language = details.get("language")
        if isinstance(language, str):
            params["language"] = f"{language_name(language, lang)} ({language})"
        mode = details.get("mode")
        if isinstance(mode, str) and mode in MODE_LABELS:
            params["mode"] = t(MODE_LABELS[mode])
        if "request" in details:
            params["approve"] = self.phrases.command(f"relay approve {details['request']}")
            params["refuse"] = self.phrases.command(f"relay refuse {details['request']}")
        if "until" in details:
            until = from_iso(str(details["until"]))
            params["until"] = format_local(until, self.rooms.timezone(room_id), lang)
        if entry.room_id:
            params["command"] = self.phrases.command(
                f"relay mode {entry.room_id} {details.get('mode', 'two-way')} --allow-unencrypted"
            )
        text = t(message, **params)
        unpublished = details.get("unpublished")
        if isinstance(unpublished, int) and unpublished:
            words = UNPUBLISHED_HERE if concerned and room_words else UNPUBLISHED_THERE
            publish = self.phrases.command("event publish <id>")
            text += " " + t(words, count=unpublished, room=params["room"], command=publish)
        reason = details.get("reason")
        if isinstance(reason, str) and reason:
            text += " " + t(REASON, reason=echo(reason, REASON_LIMIT))
        return text

    def _room(self, entry: AuditEntry) -> str:
        if entry.room_id is None:
            return "—"
        name = str(entry.details.get("room_name") or "")
        if not name or name == entry.room_id:
            return f"`{entry.room_id}`"
        return f"{echo(name)} (`{entry.room_id}`)"

    def history_lines(self, group: str, lang: str, room_id: str, limit: int) -> list[str]:
        """The group's recent changes as ``room_id`` reads them, oldest first."""
        zone = self.rooms.timezone(room_id)
        return [
            f"- {format_local(entry.at, zone, lang)} · {self.render(entry, lang, room_id)}"
            for entry in store.history(self.db, group, limit)
        ]
