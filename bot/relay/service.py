"""Fan-out of member messages to the other rooms of their relay group, translated.

Every copy is queued on the target room's send queue at once (so each room keeps the source
order) with its content still being translated; copies to different rooms are translated in
parallel, so one slow engine or room never holds up the others. When a send resolves, the copy
is written to the relay map, which replies, edits, redactions and reactions look up later.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.config import BotConfig, TranslationConfig
from bot.core.i18n import N_, Phrasebook
from bot.core.matrix.client import LIAISON_KEY, MatrixClient, MatrixError, txn_id_for
from bot.core.matrix.intake import IncomingEvent
from bot.core.metrics import Metrics
from bot.core.storage.database import Database
from bot.core.tasks import TaskSpawner
from bot.core.text.links import reveal_links
from bot.core.text.markdown import message_content
from bot.core.text.safety import (
    neutralise_pings,
    neutralise_pings_html,
    sanitize_html,
    strip_invisible,
)
from bot.relay import store
from bot.relay.groups import RelayGroups
from bot.relay.notices import GroupNotices
from bot.relay.render import (
    MAX_COPY_BYTES,
    MEDIA_FIELDS,
    MEDIA_TYPES,
    RELAYED_TYPES,
    compose,
    encoded_size,
    html_to_text,
    matrix_to,
    server_of,
    shorten,
    strip_reply_fallback,
    text_to_html,
)
from bot.relay.store import RelaySource, RoomLink
from bot.translation.detect import LanguageDetector
from bot.translation.service import TranslationService

log = logging.getLogger(__name__)

HTML_FORMAT = "org.matrix.custom.html"
UNTRANSLATED = N_("[untranslated]")
FILE_HELD_BACK = N_(
    "[A file was shared in an encrypted room. It is not copied into this room, which is not encrypted.]"
)
HELD_BACK = N_(
    "This room is encrypted, and rooms of the relay group {group} that are not encrypted ({count}) do not get its messages: their homeserver could read them. The encrypted rooms of the group still do. A steward of the group may let them go there too, with {command}."
)
SHORTENED = N_("[shortened: too long to relay in full; the whole message is in the original.]")
EDIT_PAST_HORIZON = N_(
    "[edited: the original message is older than the relay keeps track of, so its new text comes as a new message.]"
)
REDACTION_PAST_HORIZON = N_(
    "That message is older than the relay keeps track of: its copies in the other rooms of the group stay. Ask their admins to remove them if they should go too."
)
# one notice per room at most this often, however many old messages a moderator removes
PAST_HORIZON_NOTICE_EVERY = 600.0


@dataclass(frozen=True)
class ServedPair:
    """Who translates a language pair of a group, for ``!relay status``."""

    source: str
    target: str
    engine: str | None  # None: no engine serves it
    pivot: str | None


@dataclass(frozen=True)
class Rendered:
    """The translated, safe text of a message for one target room."""

    text: str
    html: str
    marker: str | None


def consents_to_unencrypted(link: RoomLink) -> bool:
    """Whether the encrypted room of ``link`` agreed that its words go to unencrypted rooms.

    A steward of the group gives that consent (``--allow-unencrypted`` when linking,
    approving or setting the room's mode); without it nothing of an encrypted room reaches an
    unencrypted one, its media least of all.
    """
    return link.allow_unencrypted


class Relay:
    """Relays messages, edits, redactions and reactions between the rooms of a group."""

    def __init__(
        self,
        groups: RelayGroups,
        notices: GroupNotices,
        db: Database,
        matrix: MatrixClient,
        phrases: Phrasebook,
        translation: TranslationService | None,
        tasks: TaskSpawner,
        metrics: Metrics,
        *,
        bot_config: BotConfig,
        translation_config: TranslationConfig,
        map_horizon: timedelta = timedelta(days=90),
    ) -> None:
        self.groups = groups
        self.notices = notices
        self.db = db
        self.matrix = matrix
        self.phrases = phrases
        self.translation = translation
        self.tasks = tasks
        self.metrics = metrics
        self.command_prefix = bot_config.command_prefix
        self.norelay_marker = bot_config.norelay_marker.strip()
        self.detector: LanguageDetector | None = None
        if translation_config.detect and translation is not None and translation.engines:
            self.detector = LanguageDetector(
                translation_config.detect_min_confidence,
                low_accuracy=translation_config.detect_accuracy == "low",
                always=translation_config.detect_languages,
            )
        # (source event id, target room) -> the copy's send, until it is in the relay map
        self._pending: dict[tuple[str, str], asyncio.Future[str | None]] = {}
        # reaction copies on their way: (source event id, room) -> (event reacted to, key)
        self._reacting: dict[tuple[str, str], tuple[str, str]] = {}
        # the relay map's rows the database could not take (locked, read-only): written, in
        # order, as soon as it takes writes again; looked up meanwhile like the stored ones
        self._unwritten_sources: dict[str, RelaySource] = {}
        self._unwritten_copies: dict[tuple[str, str], tuple[str, tuple[str, str] | None]] = {}
        # a message's own row, written once its copies have left (with the first of them):
        # nothing before the sends waits on the database; a crash before the write replays
        # the event, whose sends the homeserver then recognises by their transaction ids
        self._deferred_sources: dict[str, RelaySource] = {}
        # how often each translation route served, counted in memory, written after sends
        self._route_uses: Counter[tuple[str, str, str, str, str | None]] = Counter()
        db.when_writable(self.flush_map)
        # how long the relay map keeps a message (retention.relay_map_days)
        self.map_horizon = map_horizon
        # room -> when it last heard that a removed message was too old to follow
        self._told_past_horizon: dict[str, float] = {}

    # ---- intake ---------------------------------------------------------------------------

    def pending_copies(self) -> int:
        """Copies queued or being translated and not yet sent."""
        return len(self._pending)

    def unwritten(self) -> int:
        """Relay map rows kept in memory until the database takes writes again."""
        return len(self._unwritten_sources) + len(self._unwritten_copies)

    def flush_map(self) -> None:
        """Write the relay map rows the database refused earlier (one transaction)."""
        if not self._unwritten_sources and not self._unwritten_copies:
            return
        sources = list(self._unwritten_sources.values())
        copies = list(self._unwritten_copies.items())
        try:
            with self.db.transaction():
                for item in sources:
                    store.record_source(
                        self.db, item.event_id, item.room_id, item.sender, item.group, item.kind
                    )
                for (source_id, room_id), (event_id, annotation) in copies:
                    store.record_copy(self.db, source_id, room_id, event_id, annotation)
        except sqlite3.Error as exc:
            log.debug("the relay map still waits for the database: %s", exc)
            return
        for item in sources:
            self._unwritten_sources.pop(item.event_id, None)
        for key, value in copies:
            if self._unwritten_copies.get(key) == value:
                del self._unwritten_copies[key]
        log.warning(
            "wrote %d relay map row(s) kept while the database was unavailable",
            len(sources) + len(copies),
        )

    def _record_source(self, item: RelaySource) -> None:
        if self._unwritten_sources:
            self.flush_map()
        try:
            store.record_source(
                self.db, item.event_id, item.room_id, item.sender, item.group, item.kind
            )
        except sqlite3.Error as exc:
            # the copies still go out; the map is written when the database is back
            log.warning("relaying %s with the map kept in memory: %s", item.event_id, exc)
            self._unwritten_sources[item.event_id] = item

    def _defer_source(self, item: RelaySource, sends: list[asyncio.Future[str | None]]) -> None:
        """Write ``item`` with its first copy, or once all ``sends`` are over."""
        self._deferred_sources[item.event_id] = item
        over = asyncio.gather(*sends, return_exceptions=True)
        over.add_done_callback(lambda _: self._write_deferred(item.event_id))

    def _write_deferred(self, event_id: str) -> None:
        item = self._deferred_sources.pop(event_id, None)
        if item is not None:
            self._record_source(item)
        self._write_route_uses()

    def _write_route_uses(self) -> None:
        uses, self._route_uses = self._route_uses, Counter()
        if not uses:
            return
        try:
            with self.db.transaction():
                for (group, source, target, engine, pivot), count in uses.items():
                    store.count_route(self.db, group, source, target, engine, pivot, count)
        except sqlite3.Error as exc:
            # counters only: the copies are out
            log.warning("could not count %d translation route(s): %s", len(uses), exc)

    def _record_copy(
        self, source_id: str, room_id: str, event_id: str, annotation: tuple[str, str] | None
    ) -> None:
        deferred = self._deferred_sources.pop(source_id, None)
        if deferred is not None:
            self._record_source(deferred)
        try:
            if source_id in self._unwritten_sources:
                raise sqlite3.OperationalError("its source is not written yet")
            store.record_copy(self.db, source_id, room_id, event_id, annotation)
        except sqlite3.Error as exc:
            log.warning("the copy of %s in %s is kept in memory: %s", source_id, room_id, exc)
            self._unwritten_copies[(source_id, room_id)] = (event_id, annotation)

    def _source(self, event_id: str) -> RelaySource | None:
        kept = self._unwritten_sources.get(event_id) or self._deferred_sources.get(event_id)
        return kept if kept is not None else store.source(self.db, event_id)

    def _origin_of(self, event_id: str) -> RelaySource | None:
        """The relayed source behind ``event_id`` (itself, or what it is a copy of)."""
        found = self._source(event_id)
        if found is not None:
            return found
        for (source_id, _room), (copy_id, _annotation) in self._unwritten_copies.items():
            if copy_id == event_id:
                return self._source(source_id)
        return store.origin_of(self.db, event_id)

    async def served_pairs(self, group: str) -> list[ServedPair]:
        """Each pair of the group's languages and the engine (and pivot) that translates it;
        an engine of None means its copies go untranslated, with the marker."""
        languages = sorted({m.language for m in self.groups.members(group)})
        pairs: list[ServedPair] = []
        for source in languages:
            for target in languages:
                if source == target:
                    continue
                route = None
                if self.translation is not None:
                    route = await self.translation.route(source, target)
                engine, pivot = route if route is not None else (None, None)
                pairs.append(ServedPair(source, target, engine, pivot))
        return pairs

    async def on_event(self, event: IncomingEvent) -> None:
        if event.type == "m.room.encryption":
            self._on_encryption(event)
            return
        if not self._may_relay(event):
            return
        link = self.groups.link_of(event.room_id)
        if link is None:
            return
        if event.type == "m.room.redaction":
            self._on_redaction(event)
            return
        if not link.sends:
            return
        if event.type == "m.reaction":
            await self._on_reaction(event, link)
        elif event.type == "m.room.message":
            if event.relates_to.get("rel_type") == "m.replace":
                await self._on_edit(event, link)
            else:
                await self._relay_message(event, link)

    def _may_relay(self, event: IncomingEvent) -> bool:
        """Loop guards: never our own or another Liaison's posts, commands, or marked text."""
        if event.from_liaison or event.undecryptable or not event.allows("relay"):
            return False
        if event.sender == self.matrix.user_id:
            return False
        if event.type == "m.room.message":
            content = event.content.get("m.new_content")
            body = content.get("body") if isinstance(content, dict) else event.body
            return isinstance(body, str) and not self._held_back(body)
        return event.type in ("m.reaction", "m.room.redaction")

    def _held_back(self, body: str) -> bool:
        text = strip_reply_fallback(body).lstrip()
        if text.startswith(self.command_prefix):
            return True
        marker = self.norelay_marker
        return bool(marker) and text.lower().startswith(marker.lower())

    def _targets(self, link: RoomLink) -> list[RoomLink]:
        """The rooms that get ``link``'s messages: an encrypted room's go to unencrypted rooms
        only with a steward's consent (a room that turned encryption on after linking
        included)."""
        receiving = self._receiving(link)
        if not self._holds_back(link):
            return receiving
        return [other for other in receiving if self.matrix.is_encrypted(other.room_id)]

    def _receiving(self, link: RoomLink) -> list[RoomLink]:
        return [
            other
            for other in self.groups.members(link.group)
            if other.room_id != link.room_id
            and other.receives
            and self.matrix.is_joined(other.room_id)
        ]

    def _holds_back(self, link: RoomLink) -> bool:
        return self.matrix.is_encrypted(link.room_id) and not consents_to_unencrypted(link)

    def _on_encryption(self, event: IncomingEvent) -> None:
        """A linked room turned encryption on: tell it and the stewards what stops going out."""
        link = self.groups.link_of(event.room_id)
        if link is None or link.allow_unencrypted or not store.mode_sends(link.mode):
            return
        plain = [
            self.matrix.room_name(other.room_id)
            for other in self._receiving(link)
            if not self.matrix.is_encrypted(other.room_id)
        ]
        if not plain:
            return
        try:
            self.notices.record(
                link.group,
                event.sender,
                "encrypted",
                event.room_id,
                tell=event.room_id,
                rooms=plain,
                mode=link.mode,
            )
            store.note_held_back_told(self.db, link.room_id)  # told now, not again
        except sqlite3.Error as exc:
            log.warning("could not record that %s turned encryption on: %s", event.room_id, exc)
            return
        task = self.tasks.spawn(self.notices.deliver(), name="relay-notices")
        event.completions.append(task)

    def _tell_held_back(self, event: IncomingEvent, link: RoomLink) -> None:
        """Say once in an encrypted room that its messages stay out of the unencrypted rooms
        (a room linked before the consent was asked for, say)."""
        if not self._holds_back(link):
            return
        plain = [
            other for other in self._receiving(link) if not self.matrix.is_encrypted(other.room_id)
        ]
        if not plain:
            return
        try:
            if not store.note_held_back_told(self.db, link.room_id):
                return
        except sqlite3.Error as exc:
            log.warning("could not note the notice on unencrypted rooms: %s", exc)
            return
        text = self.phrases.text(
            link.language,
            HELD_BACK,
            group=f"`{link.group}`",
            count=len(plain),
            command=self.phrases.command(
                f"relay mode {link.room_id} {link.mode} --allow-unencrypted"
            ),
        )
        content = message_content(text, lang=link.language, kind="relay-notice")
        sent = self.matrix.enqueue(
            link.room_id, content, txn_id=txn_id_for("relay-held-back", event.event_id)
        )

        def logged(done: asyncio.Future[str | None]) -> None:
            if not done.cancelled() and done.exception() is not None:
                log.warning("could not post the notice on unencrypted rooms: %s", done.exception())

        sent.add_done_callback(logged)

    # ---- messages -------------------------------------------------------------------------

    async def _relay_message(self, event: IncomingEvent, link: RoomLink) -> None:
        """Find what the message answers (its reply and thread) in the relay's terms, then relay it."""
        if event.msgtype not in RELAYED_TYPES:
            return
        self._tell_held_back(event, link)
        if not self._targets(link):
            return
        root_id = event.thread_root
        thread = await self._thread_origin(event, link, root_id) if root_id else None
        reply = event.relates_to.get("m.in_reply_to")
        parent_id = reply.get("event_id") if isinstance(reply, dict) else None
        parent: RelaySource | None = None
        if isinstance(parent_id, str):
            if parent_id == root_id:
                parent = thread
            else:
                parent = await self._origin(parent_id, event.room_id, link.group)
        self._on_message(event, link, parent, thread)

    async def _origin(self, event_id: str, room_id: str, group: str) -> RelaySource | None:
        """The relayed original behind ``event_id``: from the relay map, or from the marker on
        another Liaison's copy (one Liaison per homeserver, sharing rooms)."""
        found = self._origin_of(event_id)
        if found is not None:
            return found
        fetched = await self.matrix.fetch_event(room_id, event_id)
        return self._foreign_origin(fetched, group) if fetched is not None else None

    def _foreign_origin(self, source: dict[str, Any], group: str) -> RelaySource | None:
        """What another Liaison's copy stands for: its original, in the room the marker names."""
        content = source.get("content")
        marker = content.get(LIAISON_KEY) if isinstance(content, dict) else None
        if source.get("sender") == self.matrix.user_id or not isinstance(marker, dict):
            return None
        original, room = marker.get("source"), marker.get("room")
        if marker.get("kind") != "relay" or not isinstance(original, str):
            return None
        if not isinstance(room, str):
            return None
        return RelaySource(original, room, "", group, "message")

    async def _thread_origin(
        self, event: IncomingEvent, link: RoomLink, root_id: str
    ) -> RelaySource | None:
        """The thread's root in the relay's terms, copied first where a room lacks it.

        A thread reaches a room that has no copy of its root (the room joined the group
        later, or the root went out when no other room received) with a copy of the root
        first. A root that never went out is copied only if it was written while this room
        was sending to the group: what was said before the room joined, while it was paused
        or receive-only, or marked not to be relayed, stays where it was said, and the
        thread's messages then arrive in the other rooms outside any thread.
        """
        found = self._origin_of(root_id)
        if found is not None:
            if found.kind == "message" and found.sender:
                await self._complete_root(found, link, event)
            return found
        fetched = await self.matrix.fetch_event(event.room_id, root_id)
        if fetched is None:
            return None
        foreign = self._foreign_origin(fetched, link.group)
        if foreign is not None:
            return foreign
        root = IncomingEvent.from_source(event.room_id, fetched)
        if not self._may_copy_root(root) or not self._said_while_sending(root, link):
            return None
        if self._left_the_map(root):
            # copied long ago, past the map's horizon: the thread goes on outside any thread
            # rather than copying the root a second time
            return None
        self._on_message(root, link, None, None)
        # the thread's copies wait for the root's; the ledger waits for both
        event.completions.extend(root.completions)
        return RelaySource(root.event_id, root.room_id, root.sender, link.group, "message")

    async def _complete_root(
        self, origin: RelaySource, link: RoomLink, event: IncomingEvent
    ) -> None:
        """Copy a relayed root into the rooms of the group that have no copy of it yet.

        Only rooms the thread's answer goes to and the root's own room may reach now: the
        answer's room may reach others (an encrypted room a steward allowed to reach
        unencrypted ones, say) that the root's room may not.
        """
        home = self.groups.link_of(origin.room_id)
        if home is None or home.group != link.group:
            return
        reachable = {target.room_id for target in self._targets(home)}
        missing = [
            target
            for target in self._targets(link)
            if target.room_id in reachable
            and (origin.event_id, target.room_id) not in self._pending
            and (origin.event_id, target.room_id) not in self._unwritten_copies
            and store.copy_in(self.db, origin.event_id, target.room_id) is None
        ]
        if not missing:
            return
        fetched = await self.matrix.fetch_event(origin.room_id, origin.event_id)
        if fetched is None:
            return
        root = IncomingEvent.from_source(origin.room_id, fetched)
        if not self._may_copy_root(root):
            return
        self._on_message(root, home, None, None, targets=missing)
        event.completions.extend(root.completions)

    def _may_copy_root(self, root: IncomingEvent) -> bool:
        """A thread's root the relay would have copied as a message of its own."""
        return (
            root.type == "m.room.message"
            and not root.relates_to.get("rel_type")
            and root.msgtype in RELAYED_TYPES
            and self._may_relay(root)
        )

    def _said_while_sending(self, root: IncomingEvent, link: RoomLink) -> bool:
        since = store.sending_since_ms(self.db, link.room_id)
        return since is not None and root.origin_server_ts >= since

    def _on_message(
        self,
        event: IncomingEvent,
        link: RoomLink,
        parent: RelaySource | None,
        thread: RelaySource | None,
        *,
        targets: list[RoomLink] | None = None,
    ) -> None:
        """Queue the copies; ``parent`` and ``thread`` are what it replies to and its thread.

        ``targets`` narrows the rooms (a thread's root copied where it is missing).
        """
        if event.msgtype not in RELAYED_TYPES:
            return
        targets = self._targets(link) if targets is None else targets
        if not targets:
            return
        item = RelaySource(event.event_id, event.room_id, event.sender, link.group, "message")
        tracer = self.matrix.tracer
        if tracer is not None:
            tracer.expect_sends(event.event_id, len(targets))
        terms = self.groups.glossary(link.group)
        known = self._language_now(event.content, link, targets)
        language: asyncio.Future[str]
        if known is not None:
            language = asyncio.get_running_loop().create_future()
            language.set_result(known)
        else:
            language = asyncio.ensure_future(self._source_language(event.content, link))
        relates = event.relates_to
        sends = []
        for target in targets:

            async def content(target: RoomLink = target) -> dict[str, Any] | None:
                copy = await self._render(event, event.content, link, target, terms, language)
                relation = await self._relation(target.room_id, parent, thread, relates)
                if relation:
                    copy["m.relates_to"] = relation
                if tracer is not None:
                    tracer.point(event.event_id, "rendered")
                return copy

            sends.append(
                self._enqueue(event.event_id, target.room_id, content, "message", event=event)
            )
        self._defer_source(item, sends)
        if tracer is not None:
            tracer.point(event.event_id, "queued")

    async def _relation(
        self,
        room_id: str,
        parent: RelaySource | None,
        thread: RelaySource | None,
        relates: dict[str, Any],
    ) -> dict[str, Any] | None:
        """The reply (and thread) relation pointing at the matching events in ``room_id``.

        In a thread, a real reply stays a reply to the matching message; a fallback reply
        (for clients without threads) points at the latest matching message, else the root.
        """
        reply_to = await self._event_in(parent, room_id) if parent else None
        root = await self._event_in(thread, room_id) if thread else None
        if root is not None:
            falling_back = bool(relates.get("is_falling_back")) or reply_to is None
            return {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": falling_back,
                "m.in_reply_to": {"event_id": reply_to or root},
            }
        if reply_to is not None:
            return {"m.in_reply_to": {"event_id": reply_to}}
        return None

    async def _render(
        self,
        event: IncomingEvent,
        content: dict[str, Any],
        link: RoomLink,
        target: RoomLink,
        terms: Sequence[str],
        language: Awaitable[str],
        budget: int = MAX_COPY_BYTES,
        *,
        note: str | None = None,
    ) -> dict[str, Any]:
        """The copy's content for ``target``: attributed, translated, defused.

        A copy too large for the homeserver (``budget`` bytes of content) is cut, as plain
        text, with a note saying the whole message is in the original the copy links to.
        ``note`` (a catalog message) is added below the text, in the target's language.
        """
        msgtype = str(content.get("msgtype") or "m.text")
        source = await language
        tracer = self.matrix.tracer
        if tracer is not None:
            tracer.point(event.event_id, "language")
        # a linked room is never a direct chat, even with one member: its words are copied
        # into the group's rooms, and the cached translation holds nothing they do not
        rendered = await self._translated(
            content, source, target, link.group, terms, author=event.sender, remember=True
        )
        media: dict[str, Any] | None = None
        if msgtype in MEDIA_TYPES:
            media = await self._media(content, link, target)
            if media is None:
                # the file stays behind: its caption goes, with a note saying why
                held = self.phrases.text(target.language, FILE_HELD_BACK)
                text = f"{rendered.text}\n{held}" if rendered.text else held
                rendered = Rendered(text, text_to_html(text), rendered.marker)
                msgtype = "m.text"
        if note is not None:
            said = self.phrases.text(target.language, note)
            text = f"{rendered.text}\n{said}" if rendered.text else said
            html = (
                f"{rendered.html}<br>{text_to_html(said)}" if rendered.html else text_to_html(said)
            )
            rendered = Rendered(text, html, rendered.marker)
        matrix = self.matrix
        name = neutralise_pings(strip_invisible(matrix.display_name(event.room_id, event.sender)))

        def build(text: str, html: str) -> dict[str, Any]:
            body, formatted = compose(
                msgtype=msgtype,
                name=name,
                language=source,
                link=matrix_to(event.room_id, event.event_id, server_of(event.sender)),
                marker=rendered.marker,
                text=text,
                html=html,
            )
            copy: dict[str, Any] = {"msgtype": msgtype}
            if media is not None:
                copy.update(media)
                copy["filename"] = str(content.get("filename") or content.get("body") or "")
            copy.update(
                {
                    "body": body,
                    "format": HTML_FORMAT,
                    "formatted_body": formatted,
                    "m.mentions": {},
                    LIAISON_KEY: {"kind": "relay", "source": event.event_id, "room": event.room_id},
                }
            )
            return copy

        copy = build(rendered.text, rendered.html)
        size = encoded_size(copy)
        if size <= budget:
            return copy
        note = self.phrases.text(target.language, SHORTENED)
        base = encoded_size(build(note, text_to_html(note)))
        allowed = max(budget - base, 0) // 2
        while True:
            cut = shorten(rendered.text, allowed)
            text = f"{cut} … {note}" if cut else note
            copy = build(text, text_to_html(text))
            fitted = encoded_size(copy)
            if fitted <= budget or not cut:
                break
            # escaping made the text grow more than its bytes: shrink in proportion
            allowed = int(allowed * (budget - base) / max(fitted - base, 1) * 0.95)
        log.warning(
            "the copy of %s for %s was %d bytes, over the %d the homeserver takes; "
            "relayed shortened to %d bytes with a note",
            event.event_id,
            target.room_id,
            size,
            budget,
            fitted,
        )
        return copy

    async def _translated(
        self,
        content: dict[str, Any],
        source: str,
        target: RoomLink,
        group: str,
        terms: Sequence[str],
        *,
        author: str,
        remember: bool,
    ) -> Rendered:
        """``remember=False``: what a direct chat says never goes into the translation cache."""
        body = content.get("body") if isinstance(content.get("body"), str) else ""
        assert isinstance(body, str)
        formatted = content.get("formatted_body")
        is_html = content.get("format") == HTML_FORMAT and isinstance(formatted, str)
        if content.get("msgtype") in MEDIA_TYPES:
            # a file's body is its name unless a separate filename makes the body a caption
            filename = content.get("filename")
            if not filename or filename == body:
                return Rendered("", "", None)
        body = strip_invisible(strip_reply_fallback(body))
        if is_html:
            assert isinstance(formatted, str)
            clean = sanitize_html(strip_invisible(formatted))
            if html_to_text(clean):
                out, failed = await self._translate(
                    clean, source, target, group, terms, True, author, remember
                )
                html = sanitize_html(neutralise_pings_html(out))
                # the plain body already writes each link's address after its text
                text = html_to_text(html)
                marker = self._marker(target) if failed else None
                return Rendered(text, reveal_links(html), marker)
        out, failed = await self._translate(
            body, source, target, group, terms, False, author, remember
        )
        text = neutralise_pings(out)
        return Rendered(text, text_to_html(text), self._marker(target) if failed else None)

    async def _media(
        self, content: dict[str, Any], link: RoomLink, target: RoomLink
    ) -> dict[str, Any] | None:
        """The file fields of a media copy for ``target``; None when the file must stay behind.

        A file's key never goes into an unencrypted room: an encrypted file (``file``, key
        inside) is forwarded only into encrypted rooms; into an unencrypted one it is decrypted
        and uploaded again, plainly, only where the encrypted room consented to unencrypted
        rooms, and otherwise stays behind. Encrypted thumbnails follow the same rule.
        """
        info = content.get("info")
        info = dict(info) if isinstance(info, dict) else {}
        encrypted_file = content.get("file")
        if self.matrix.is_encrypted(target.room_id):
            fields = {k: content[k] for k in MEDIA_FIELDS if k in content}
            return fields if ("url" in fields or "file" in fields) else None
        info.pop("thumbnail_file", None)
        if not isinstance(encrypted_file, dict):
            url = content.get("url")
            return {"url": url, "info": info} if isinstance(url, str) else None
        if not consents_to_unencrypted(link):
            return None
        try:
            data = await self.matrix.download_decrypted(encrypted_file)
            mimetype = str(info.get("mimetype") or encrypted_file.get("mimetype") or "")
            filename = str(content.get("filename") or content.get("body") or "file")
            url = await self.matrix.upload(data, mimetype or "application/octet-stream", filename)
        except MatrixError as exc:
            log.warning("the file of a relayed message stays behind: %s", exc)
            return None
        info.pop("thumbnail_url", None)
        info["size"] = len(data)
        return {"url": url, "info": info}

    def _marker(self, target: RoomLink) -> str:
        return self.phrases.text(target.language, UNTRANSLATED)

    async def _translate(
        self,
        text: str,
        source: str,
        target: RoomLink,
        group: str,
        terms: Sequence[str],
        html: bool,
        author: str,
        remember: bool,
    ) -> tuple[str, bool]:
        """The text in the target language, and whether it stayed in its own language although
        it needed translating (every engine failed, or none serves the pair): such a copy
        carries the "[untranslated]" marker either way."""
        translation = self.translation
        if not text.strip():
            return text, False
        if translation is None:
            return text, source != target.language and any(c.isalpha() for c in text)
        outcome = await translation.translate(
            text,
            source,
            target.language,
            glossary=terms,
            html=html,
            author=author,
            remember=remember,
        )
        if outcome.translated and outcome.engine:
            # written after the copies leave (see _write_route_uses)
            self._route_uses[(group, source, target.language, outcome.engine, outcome.pivot)] += 1
        try:
            if outcome.failed:
                store.count_untranslated(self.db, group, self._last_engine_error())
        except sqlite3.Error as exc:
            # counters only: the copy must not be lost for want of a statistic
            log.warning("could not count a translation for %s: %s", group, exc)
        return outcome.text, outcome.untranslated

    def _last_engine_error(self) -> str | None:
        translation = self.translation
        if translation is None:
            return None
        dated = [
            (s.last_error_at, s.last_error)
            for s in translation.stats.values()
            if s.last_error and s.last_error_at
        ]
        return max(dated)[1] if dated else None

    def _language_now(
        self, content: dict[str, Any], link: RoomLink, targets: Sequence[RoomLink]
    ) -> str | None:
        """The source language when it is known without waiting: no detection to do, or a
        short text the detector confirms (or cannot tell) inline. None: ask
        :meth:`_source_language`.
        """
        declared = link.language
        detector = self.detector
        if detector is None or self.translation is None:
            return declared
        body = content.get("body")
        if not isinstance(body, str) or content.get("msgtype") in MEDIA_TYPES:
            return declared
        text = strip_reply_fallback(body)
        if not detector.answers_inline(text, [link.language, *(t.language for t in targets)]):
            return None
        try:
            guess = detector.detect_inline(text)
        except Exception:
            log.exception("language detection failed; using the declared language")
            return declared
        if guess is None or guess[0] == declared:
            return declared
        return None  # another language: whether an engine translates from it is asked async

    async def _source_language(self, content: dict[str, Any], link: RoomLink) -> str:
        """The room's declared language, unless the text is confidently in another one.

        Detection only overrides the declaration for a language some engine translates from.
        """
        declared = link.language
        if self.detector is None or self.translation is None:
            return declared
        body = content.get("body")
        if not isinstance(body, str) or content.get("msgtype") in MEDIA_TYPES:
            return declared
        try:
            # among the languages of the group's rooms: only those are loaded
            in_use = [link.language, *(m.language for m in self.groups.members(link.group))]
            guess = await self.detector.detect(strip_reply_fallback(body), in_use)
            if guess is None or guess[0] == declared:
                return declared
            supported = await self.translation.supported_targets()
        except Exception:
            log.exception("language detection failed; using the declared language")
            return declared
        if any(src == guess[0] for src, _ in supported):
            log.debug("detected %s (%.2f) in a %s room", guess[0], guess[1], declared)
            return guess[0]
        return declared

    # ---- edits ----------------------------------------------------------------------------

    async def _on_edit(self, event: IncomingEvent, link: RoomLink) -> None:
        """Re-translate an edit onto the copies, only when the author edits their own message.

        The edit of a message older than the relay map's horizon has no copies to change any
        more: its new text goes out as a new message with a note saying so.
        """
        original_id = event.relates_to.get("event_id")
        new_content = event.content.get("m.new_content")
        if not isinstance(original_id, str) or not isinstance(new_content, dict):
            return
        original = self._source(original_id)
        if original is None:
            await self._edit_past_horizon(event, link, original_id, new_content)
            return
        if (
            original.kind != "message"
            or original.sender != event.sender
            or original.room_id != event.room_id  # an edit must come from the original's room
        ):
            return
        if new_content.get("msgtype") not in RELAYED_TYPES:
            return
        targets = self._targets(link)
        if not targets:
            return
        self._record_source(
            RelaySource(event.event_id, event.room_id, event.sender, link.group, "edit")
        )
        terms = self.groups.glossary(link.group)
        language = asyncio.ensure_future(self._source_language(new_content, link))
        # the copy links to the original message, not to the edit event
        shown = IncomingEvent(
            event.room_id,
            original_id,
            event.sender,
            event.type,
            new_content,
            event.origin_server_ts,
            event.source,
        )
        for target in targets:

            async def content(target: RoomLink = target) -> dict[str, Any] | None:
                copy_id = await self._copy_in(original_id, target.room_id)
                if copy_id is None:
                    return None
                # the new text is carried twice (the fallback and m.new_content)
                new = await self._render(
                    shown, new_content, link, target, terms, language, MAX_COPY_BYTES // 2
                )
                return {
                    "msgtype": new["msgtype"],
                    "body": "* " + new["body"],
                    "format": HTML_FORMAT,
                    "formatted_body": "* " + new["formatted_body"],
                    "m.new_content": new,
                    "m.relates_to": {"rel_type": "m.replace", "event_id": copy_id},
                    "m.mentions": {},
                    LIAISON_KEY: {"kind": "relay", "source": event.event_id, "room": event.room_id},
                }

            self._enqueue(event.event_id, target.room_id, content, "edit", event=event)

    async def _past_horizon(
        self, room_id: str, event_id: str, link: RoomLink
    ) -> IncomingEvent | None:
        """The message ``event_id`` if it left the relay map by age: a message of this room,
        written while the room sent to its group, before the map was last pruned. None for
        anything the relay never copied (a command, a marked message, what came before the
        link or while paused), so an edit or removal never brings those out."""
        try:
            if store.pruned_before(self.db) is None:
                return None  # never pruned: whatever is missing was never relayed
        except sqlite3.Error as exc:
            log.warning("could not read the relay map's horizon: %s", exc)
            return None
        fetched = await self.matrix.fetch_event(room_id, event_id)
        if fetched is None:
            return None
        found = IncomingEvent.from_source(room_id, fetched)
        if found.type != "m.room.message" or found.relates_to.get("rel_type") == "m.replace":
            return None
        if not self._left_the_map(found) or not self._said_while_sending(found, link):
            return None
        return found

    def _left_the_map(self, event: IncomingEvent) -> bool:
        """Whether ``event`` was written before the relay map was last pruned."""
        try:
            horizon = store.pruned_before(self.db)
        except sqlite3.Error:
            return False
        written = datetime.fromtimestamp(event.origin_server_ts / 1000, UTC)
        return horizon is not None and written < horizon

    async def _edit_past_horizon(
        self,
        event: IncomingEvent,
        link: RoomLink,
        original_id: str,
        new_content: dict[str, Any],
    ) -> None:
        if new_content.get("msgtype") not in RELAYED_TYPES or not self._targets(link):
            return
        original = await self._past_horizon(event.room_id, original_id, link)
        if original is None or original.sender != event.sender:
            return
        if original.msgtype not in RELAYED_TYPES or not self._may_relay(original):
            return
        log.info("the edit %s changes a message past the relay map's horizon", event.event_id)
        shown = IncomingEvent(
            event.room_id,
            original_id,
            event.sender,
            "m.room.message",
            new_content,
            event.origin_server_ts,
            event.source,
        )
        terms = self.groups.glossary(link.group)
        language = asyncio.ensure_future(self._source_language(new_content, link))
        self._record_source(
            RelaySource(event.event_id, event.room_id, event.sender, link.group, "message")
        )
        for target in self._targets(link):

            async def content(target: RoomLink = target) -> dict[str, Any] | None:
                copy = await self._render(
                    shown, new_content, link, target, terms, language, note=EDIT_PAST_HORIZON
                )
                # it links to the original, and stands for the edit in the relay map
                copy[LIAISON_KEY]["source"] = event.event_id
                return copy

            self._enqueue(event.event_id, target.room_id, content, "message", event=event)

    async def _redaction_past_horizon(self, event: IncomingEvent, redacted: str) -> None:
        """Tell the room, once in a while, that removing an old message leaves its copies."""
        link = self.groups.link_of(event.room_id)
        if link is None or not self._targets(link):
            return
        found = await self._past_horizon(event.room_id, redacted, link)
        if found is None or found.sender == self.matrix.user_id:
            return
        now = time.monotonic()
        told = self._told_past_horizon.get(event.room_id)
        if told is not None and now - told < PAST_HORIZON_NOTICE_EVERY:
            return
        self._told_past_horizon[event.room_id] = now
        text = self.phrases.text(link.language, REDACTION_PAST_HORIZON)
        content = {
            "msgtype": "m.notice",
            "body": text,
            "m.mentions": {},
            LIAISON_KEY: {"kind": "relay-note"},
        }
        try:
            await self.matrix.send(
                event.room_id, content, txn_id=txn_id_for("relay-past-horizon", event.event_id)
            )
        except MatrixError as exc:
            log.warning("could not tell %s about an old removed message: %s", event.room_id, exc)

    # ---- reactions ------------------------------------------------------------------------

    async def _on_reaction(self, event: IncomingEvent, link: RoomLink) -> None:
        relates = event.relates_to
        reacted_to, key = relates.get("event_id"), relates.get("key")
        if relates.get("rel_type") != "m.annotation" or not isinstance(reacted_to, str):
            return
        if not isinstance(key, str) or not key:
            return
        targets = self._targets(link)
        if not targets:
            return
        root = await self._origin(reacted_to, event.room_id, link.group)
        if root is None or root.group != link.group or root.kind != "message":
            return
        self._record_source(
            RelaySource(event.event_id, event.room_id, event.sender, link.group, "reaction")
        )
        for target in targets:

            async def content(target: RoomLink = target) -> dict[str, Any] | None:
                on = await self._event_in(root, target.room_id)
                if on is None or self._has_reaction(target.room_id, on, key):
                    return None
                self._reacting[(event.event_id, target.room_id)] = (on, key)
                return {
                    "m.relates_to": {"rel_type": "m.annotation", "event_id": on, "key": key},
                    LIAISON_KEY: {"kind": "relay", "source": event.event_id, "room": event.room_id},
                }

            self._enqueue(
                event.event_id, target.room_id, content, "reaction", "m.reaction", event=event
            )

    def _has_reaction(self, room_id: str, on: str, key: str) -> bool:
        """The bot reacts once per key and event (members reacting alike in two rooms)."""
        if any(
            room == room_id and annotation == (on, key)
            for (_, room), annotation in self._reacting.items()
        ):
            return True
        if any(
            room == room_id and annotation == (on, key)
            for (_, room), (_, annotation) in self._unwritten_copies.items()
        ):
            return True
        return store.has_reaction(self.db, room_id, on, key)

    # ---- redactions -----------------------------------------------------------------------

    def _on_redaction(self, event: IncomingEvent) -> None:
        """A removed message or reaction takes its copies with it (whatever the link's state)."""
        redacted = event.redacts
        if redacted is None:
            return
        original = self._source(redacted)
        if original is None:
            task = self.tasks.spawn(
                self._redaction_past_horizon(event, redacted), name="relay-redact-old"
            )
            event.completions.append(task)
            return
        if original.room_id != event.room_id:
            return  # a copy removed by a moderator stays removed only where it was
        rooms = {c.room_id for c in store.copies_of(self.db, redacted)}
        rooms |= {room for source_id, room in self._pending if source_id == redacted}
        rooms |= {room for source_id, room in self._unwritten_copies if source_id == redacted}
        if rooms:
            task = self.tasks.spawn(
                self._redact_copies(event.event_id, redacted, sorted(rooms)), name="relay-redact"
            )
            event.completions.append(task)

    async def _redact_copies(self, cause: str, redacted: str, rooms: list[str]) -> None:
        async def one(room_id: str) -> None:
            copy_id = await self._copy_in(redacted, room_id)
            if copy_id is None:
                return
            try:
                await self.matrix.redact(
                    room_id, copy_id, txn_id=txn_id_for("relay-redact", cause, room_id)
                )
            except MatrixError as exc:
                log.warning("could not remove the copy in %s: %s", room_id, exc)
                return
            self._unwritten_copies.pop((redacted, room_id), None)
            try:
                store.forget_copy(self.db, redacted, room_id)
            except sqlite3.Error as exc:
                log.warning("the removed copy in %s stays in the relay map: %s", room_id, exc)
            self.metrics.relayed.labels("redaction").inc()

        await asyncio.gather(*(one(room) for room in rooms))

    # ---- the relay map --------------------------------------------------------------------

    def _enqueue(
        self,
        source_id: str,
        room_id: str,
        content: Callable[[], Awaitable[dict[str, Any] | None]],
        kind: str,
        event_type: str = "m.room.message",
        *,
        event: IncomingEvent | None = None,
    ) -> asyncio.Future[str | None]:
        """Reserve the copy's place in the room's queue now; its content is built meanwhile.

        The future joins the event's completions, so the event is only marked handled once
        its copies are out: a crash before that replays it (the txn ids make that safe).
        """
        work = asyncio.ensure_future(self._guarded(content, room_id))
        future = self.matrix.enqueue(
            room_id,
            work,
            txn_id=txn_id_for("relay", source_id, room_id),
            event_type=event_type,
            trace=source_id,
        )
        key = (source_id, room_id)
        self._pending[key] = future
        if event is not None:
            event.completions.append(future)

        def sent(done: asyncio.Future[str | None]) -> None:
            if self._pending.get(key) is done:
                del self._pending[key]
            annotation = self._reacting.pop(key, None)
            if done.cancelled() or done.exception() is not None:
                work.cancel()
                if not done.cancelled():
                    log.warning("relay to %s failed: %s", room_id, done.exception())
                return
            event_id = done.result()
            if event_id is None:
                return
            self._record_copy(source_id, room_id, event_id, annotation)
            self.metrics.relayed.labels(kind).inc()

        future.add_done_callback(sent)
        return future

    async def _guarded(
        self, content: Callable[[], Awaitable[dict[str, Any] | None]], room_id: str
    ) -> dict[str, Any] | None:
        try:
            return await content()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not prepare a relayed copy for %s", room_id)
            return None

    async def _copy_in(self, source_id: str, room_id: str) -> str | None:
        """The copy of ``source_id`` in ``room_id``, waiting for it if it is still on its way."""
        pending = self._pending.get((source_id, room_id))
        if pending is not None:
            await asyncio.wait({pending})
            if pending.cancelled() or pending.exception() is not None:
                return None
            return pending.result()
        kept = self._unwritten_copies.get((source_id, room_id))
        if kept is not None:
            return kept[0]
        return store.copy_in(self.db, source_id, room_id)

    async def _event_in(self, source: RelaySource, room_id: str) -> str | None:
        """The event standing for ``source`` in ``room_id``: the source itself or its copy."""
        if source.room_id == room_id:
            return source.event_id
        return await self._copy_in(source.event_id, room_id)
