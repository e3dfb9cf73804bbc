"""Gatherings at run time: create, edit, cancel, announce, RSVP, remind, roll recurrences, feeds.

Everything durable lives in ``bot.gatherings.store``; APScheduler only fires what those
tables say, and is rebuilt from them at every start.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.core.broadcast import translate_text
from bot.core.matrix.client import LIAISON_KEY, MatrixError, txn_id_for
from bot.core.matrix.intake import IncomingEvent, Listener
from bot.core.storage.database import iso, utcnow
from bot.core.text.markdown import message_content
from bot.core.time.parse import parse_duration
from bot.core.time.recurrence import Recurrence
from bot.gatherings import ics, render, store
from bot.gatherings.forms import REACTIONS, answer_for, new_id
from bot.gatherings.store import Gathering, Reminder, Rsvp
from bot.places import store as places
from bot.services import Services

log = logging.getLogger(__name__)

FEED_PATH = "/calendar/{token}.ics"
# How far back the feed reaches, so a calendar keeps what just happened.
FEED_HISTORY = timedelta(days=30)


@dataclass(frozen=True)
class Scope:
    """Where a gathering is seen: one room, or every room of its relay group."""

    key: str  # "room:<id>" or "group:<name>"
    room_ids: list[str]
    glossary: list[str]


class Gatherings:
    def __init__(self, services: Services) -> None:
        self.services = services

    # ---- small helpers ------------------------------------------------------------------

    @property
    def db(self) -> Any:
        return self.services.db

    def text(self, lang: str) -> render.Text:
        def t(message: str, **params: Any) -> str:
            return self.services.text(lang, message, **params)

        return t

    def room_lang(self, room_id: str) -> str:
        link = self._room_link(room_id)
        if link is not None and link.language:
            return str(link.language)
        return self.services.room_language(room_id)

    def _room_link(self, room_id: str) -> Any:
        try:
            from bot.relay.store import room_link
        except ImportError:  # the relay feature is not installed
            return None
        return room_link(self.db, room_id)

    def scope(self, room_id: str) -> Scope:
        """The room's relay group (rooms that receive, not paused), else the room alone."""
        link = self._room_link(room_id)
        if link is None:
            return Scope(f"room:{room_id}", [room_id], [])
        from bot.relay.store import glossary, group_rooms

        rooms = [
            r.room_id
            for r in group_rooms(self.db, link.group)
            if r.room_id == room_id or (not r.paused and r.mode in ("two-way", "receive"))
        ]
        return Scope(f"group:{link.group}", rooms, list(glossary(self.db, link.group)))

    def may_manage(self, gathering: Gathering, user_id: str) -> bool:
        """The creator, an admin of the room it was created in, or a bot admin."""
        return user_id == gathering.creator or self.services.is_room_admin(
            gathering.room_id, user_id
        )

    def place_of(self, gathering: Gathering) -> places.Place | None:
        return places.get(self.db, gathering.place_id) if gathering.place_id else None

    async def view(
        self, gathering: Gathering, room_id: str, lang: str, glossary: list[str] | None = None
    ) -> render.View:
        """The gathering as ``room_id`` sees it: member-written text translated to ``lang``."""
        terms = glossary if glossary is not None else self.scope(gathering.room_id).glossary
        title, description = await asyncio.gather(
            translate_text(self.services, gathering.title, gathering.lang, lang, glossary=terms),
            translate_text(
                self.services, gathering.description, gathering.lang, lang, glossary=terms
            ),
        )
        place = self.place_of(gathering)
        return render.View(
            gathering=gathering,
            title=title,
            description=description,
            place=place,
            room_tz=self.services.room_timezone(room_id),
            lang=lang,
            show_contact=place is not None and places.registered_in(self.db, place.id, room_id),
        )

    def leads(self, gathering: Gathering) -> list[int]:
        if gathering.reminder_leads is not None:
            return [int(s) for s in gathering.reminder_leads.split(",") if s]
        seconds = {
            int(parse_duration(lead).total_seconds())
            for lead in self.services.config.events.reminder_leads
        }
        return sorted(seconds, reverse=True)

    # ---- creating and changing --------------------------------------------------------------

    def create(
        self,
        *,
        command_event_id: str,
        room_id: str,
        creator: str,
        lang: str,
        values: dict[str, Any],
    ) -> tuple[Gathering, bool]:
        """Store and schedule a new gathering; (gathering, created). A replay finds the first."""
        existing = store.by_command(self.db, command_event_id)
        if existing is not None:
            return existing, False
        while True:
            gathering = Gathering(
                id=new_id(lambda c: store.id_taken(self.db, c)),
                command_event_id=command_event_id,
                room_id=room_id,
                creator=creator,
                lang=lang,
                **values,
            )
            stored = store.insert(self.db, gathering)
            if stored is not None:
                break
        if stored.command_event_id == command_event_id and stored.id == gathering.id:
            self.plan(stored)
            return stored, True
        return stored, False

    def plan(self, gathering: Gathering) -> None:
        """Reminders for the current occurrence (those still ahead) and the recurrence roll."""
        now = utcnow()
        for lead in self.leads(gathering):
            due = gathering.starts_at - timedelta(seconds=lead)
            if due > now:
                store.add_reminder(self.db, gathering.id, gathering.starts_at, lead, due)
        for item in store.reminders_of(self.db, gathering.id):
            if item.state == "pending":
                self._schedule_reminder(item)
        self._schedule_roll(gathering)

    async def edit(self, gathering: Gathering, values: dict[str, Any], cause: str) -> Gathering:
        """Apply changes, re-plan reminders, edit posted announcements, tell who answered."""
        timing = {"starts_at", "ends_at", "tz", "reminder_leads", "rrule"} & set(values)
        updated = store.update(self.db, gathering.id, **values)
        if timing:
            for reminder_id in store.drop_pending_reminders(self.db, gathering.id):
                self.services.scheduler.cancel(f"gathering-reminder:{reminder_id}")
            self.plan(updated)
        if "capacity" in values:
            promoted = store.promote(self.db, updated.id, updated.capacity)
            await self._tell_promoted(updated, promoted, cause)
        await self.refresh_posts(updated)
        await self.notify_answered(updated, cause, cancelled=False)
        return updated

    async def cancel(self, gathering: Gathering, cause: str) -> Gathering:
        cancelled = store.cancel(self.db, gathering.id)
        for item in store.reminders_of(self.db, gathering.id):
            self.services.scheduler.cancel(f"gathering-reminder:{item.id}")
        self.services.scheduler.cancel(f"gathering-roll:{gathering.id}")
        await self.refresh_posts(cancelled)
        await self.notify_answered(cancelled, cause, cancelled=True)
        return cancelled

    # ---- announcements ------------------------------------------------------------------

    async def announce(self, gathering: Gathering, room_id: str) -> dict[str, str | None]:
        """Post to ``room_id`` and every room of its relay group, each in its language.

        Rooms that already have the announcement are left alone; returns room -> event id.
        """
        scope = self.scope(room_id)
        already = {p.room_id: p.event_id for p in store.posts(self.db, gathering.id)}
        targets = [r for r in dict.fromkeys([room_id, *scope.room_ids]) if r not in already]
        prefix = self.services.config.bot.command_prefix

        async def one(target: str) -> tuple[str, str | None]:
            lang = self.room_lang(target)
            view = await self.view(gathering, target, lang, scope.glossary)
            text = render.announcement(view, self.text(lang), prefix)
            content = message_content(text, lang=lang, kind="announcement")
            content[LIAISON_KEY]["gathering"] = gathering.id
            try:
                event_id = await self.services.matrix.send(
                    target, content, txn_id=txn_id_for("announce", gathering.id, target)
                )
            except MatrixError as exc:
                log.warning("could not announce %s in %s: %s", gathering.id, target, exc)
                return target, None
            store.add_post(self.db, gathering.id, target, event_id, lang)
            for key in REACTIONS.values():
                reaction = {
                    "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}
                }
                self.services.matrix.enqueue(
                    target,
                    reaction,
                    txn_id=txn_id_for("announce-react", event_id, key),
                    event_type="m.reaction",
                )
            return target, event_id

        results = dict(await asyncio.gather(*(one(r) for r in targets)))
        return {**already, **results}

    async def refresh_posts(self, gathering: Gathering) -> None:
        """Replace every posted copy (``m.replace``) with the current text."""
        prefix = self.services.config.bot.command_prefix
        glossary = self.scope(gathering.room_id).glossary

        async def one(post: store.Post) -> None:
            lang = self.room_lang(post.room_id)
            view = await self.view(gathering, post.room_id, lang, glossary)
            text = render.announcement(view, self.text(lang), prefix)
            new = message_content(text, lang=lang, kind="announcement")
            new[LIAISON_KEY]["gathering"] = gathering.id
            content = dict(new)
            content["body"] = "* " + new["body"]
            content["formatted_body"] = "* " + new["formatted_body"]
            content["m.new_content"] = {k: v for k, v in new.items() if k != LIAISON_KEY}
            content["m.relates_to"] = {"rel_type": "m.replace", "event_id": post.event_id}
            txn = txn_id_for("announce-edit", gathering.id, str(gathering.revision), post.room_id)
            try:
                await self.services.matrix.send(post.room_id, content, txn_id=txn)
            except MatrixError as exc:
                log.warning("could not edit the announcement in %s: %s", post.room_id, exc)

        await asyncio.gather(*(one(p) for p in store.posts(self.db, gathering.id)))

    async def notify_answered(self, gathering: Gathering, cause: str, *, cancelled: bool) -> None:
        """Mention everyone who answered yes or maybe, in the room they answered from."""
        by_room: dict[str, list[str]] = {}
        for answer in store.rsvps(self.db, gathering.id):
            if answer.answer in ("yes", "maybe"):
                by_room.setdefault(answer.room_id, []).append(answer.user_id)

        async def one(room_id: str, users: list[str]) -> None:
            lang = self.room_lang(room_id)
            t = self.text(lang)
            view = await self.view(gathering, room_id, lang)
            names = ", ".join(self.services.matrix.display_name(room_id, u) for u in users)
            if cancelled:
                text = t(
                    "{names}: {title} ({id}) is cancelled.",
                    names=names,
                    title=f"**{view.title}**",
                    id=f"`{gathering.id}`",
                )
            else:
                text = t(
                    "{names}: {title} ({id}) has changed. Now: {when}",
                    names=names,
                    title=f"**{view.title}**",
                    id=f"`{gathering.id}`",
                    when=render.when_line(gathering, view.room_tz, lang, t),
                )
                where = render.place_line(gathering, view.place, t, show_contact=view.show_contact)
                if where:
                    text += "\n📍 " + where
            content = message_content(text, lang=lang, kind="gathering-change", mentions=users)
            txn = txn_id_for("gathering-change", gathering.id, str(gathering.revision), room_id)
            try:
                await self.services.matrix.send(room_id, content, txn_id=txn)
            except MatrixError as exc:
                log.warning("could not tell %s about %s: %s", room_id, gathering.id, exc)

        await asyncio.gather(*(one(r, u) for r, u in by_room.items()))

    # ---- RSVP ---------------------------------------------------------------------------

    async def answer(
        self,
        gathering: Gathering,
        user_id: str,
        room_id: str,
        answer: str,
        *,
        cause: str,
        reaction_event_id: str | None = None,
    ) -> Rsvp:
        current, promoted = store.set_rsvp(
            self.db,
            gathering.id,
            user_id,
            room_id,
            answer,
            capacity=gathering.capacity,
            reaction_event_id=reaction_event_id,
        )
        await self._tell_promoted(gathering, promoted, cause)
        return current

    async def withdraw(self, gathering: Gathering, user_id: str, cause: str) -> None:
        promoted = store.remove_rsvp(self.db, gathering.id, user_id, capacity=gathering.capacity)
        await self._tell_promoted(gathering, promoted, cause)

    async def _tell_promoted(self, gathering: Gathering, promoted: list[Rsvp], cause: str) -> None:
        for rsvp in promoted:
            lang = self.room_lang(rsvp.room_id)
            view = await self.view(gathering, rsvp.room_id, lang)
            text = self.text(lang)(
                "{name}: a place freed up — you are now going to {title} ({id}).",
                name=self.services.matrix.display_name(rsvp.room_id, rsvp.user_id),
                title=f"**{view.title}**",
                id=f"`{gathering.id}`",
            )
            content = message_content(
                text, lang=lang, kind="gathering-rsvp", mentions=[rsvp.user_id]
            )
            txn = txn_id_for("gathering-promote", gathering.id, rsvp.user_id, cause)
            try:
                await self.services.matrix.send(rsvp.room_id, content, txn_id=txn)
            except MatrixError as exc:
                log.warning("could not tell %s about a freed place: %s", rsvp.user_id, exc)

    async def _tell_waiting(self, gathering: Gathering, rsvp: Rsvp, cause: str) -> None:
        lang = self.room_lang(rsvp.room_id)
        view = await self.view(gathering, rsvp.room_id, lang)
        text = self.text(lang)(
            "{name}: {title} ({id}) is full — you are on the waiting list and will be told when a place frees up.",
            name=self.services.matrix.display_name(rsvp.room_id, rsvp.user_id),
            title=f"**{view.title}**",
            id=f"`{gathering.id}`",
        )
        content = message_content(text, lang=lang, kind="gathering-rsvp", mentions=[rsvp.user_id])
        await self.services.matrix.send(
            rsvp.room_id, content, txn_id=txn_id_for("gathering-waiting", cause)
        )

    # ---- the event listener: reactions and their redactions --------------------------------

    async def on_event(self, event: IncomingEvent) -> None:
        if event.from_liaison:
            return
        if event.type == "m.reaction":
            await self._on_reaction(event)
        elif event.type == "m.room.redaction" and event.redacts:
            await self._on_redaction(event, event.redacts)

    async def _on_reaction(self, event: IncomingEvent) -> None:
        relates = event.relates_to
        if relates.get("rel_type") != "m.annotation":
            return
        post = store.post_by_event(self.db, str(relates.get("event_id", "")))
        answer = answer_for(str(relates.get("key", "")))
        if post is None or answer is None:
            return
        gathering = store.get(self.db, post.gathering_id)
        if gathering is None or gathering.cancelled:
            return
        before = store.rsvp_of(self.db, gathering.id, event.sender)
        current = await self.answer(
            gathering,
            event.sender,
            event.room_id,
            answer,
            cause=event.event_id,
            reaction_event_id=event.event_id,
        )
        if current.waiting and not (before is not None and before.waiting):
            await self._tell_waiting(gathering, current, event.event_id)

    async def _on_redaction(self, event: IncomingEvent, redacted: str) -> None:
        rsvp = store.rsvp_by_reaction(self.db, redacted)
        if rsvp is not None:
            gathering = store.get(self.db, rsvp.gathering_id)
            if gathering is not None and not gathering.cancelled:
                await self.withdraw(gathering, rsvp.user_id, event.event_id)
            return
        if store.post_by_event(self.db, redacted) is not None:
            store.forget_post(self.db, redacted)

    # ---- reminders ------------------------------------------------------------------------

    def _schedule_reminder(self, item: Reminder) -> None:
        self.services.scheduler.at(
            f"gathering-reminder:{item.id}", item.due_at, lambda: self.fire_reminder(item.id)
        )

    async def fire_reminder(self, reminder_id: int) -> None:
        """Record the firing (with its txn key) first, then send; never twice."""
        item = store.reminder(self.db, reminder_id)
        if item is None or item.state not in ("pending", "firing"):
            return
        gathering = store.get(self.db, item.gathering_id)
        now = utcnow()
        if (
            gathering is None
            or gathering.cancelled
            or gathering.starts_at != item.occurrence
            or gathering.starts_at <= now
        ):
            # too late to be useful, or the gathering moved: a late reminder only confuses
            store.finish_reminder(self.db, reminder_id, "dropped")
            return
        key = f"gathering-reminder:{gathering.id}:{iso(item.occurrence)}:{item.lead_seconds}"
        claimed = store.claim_reminder(self.db, reminder_id, key)
        if claimed is None:
            return
        await self._send_reminder(claimed, gathering)
        store.finish_reminder(self.db, reminder_id, "sent")

    async def _send_reminder(self, item: Reminder, gathering: Gathering) -> None:
        rooms = [p.room_id for p in store.posts(self.db, gathering.id)] or [gathering.room_id]
        glossary = self.scope(gathering.room_id).glossary
        assert item.txn_key is not None
        txn_key = item.txn_key

        async def one(room_id: str) -> None:
            lang = self.room_lang(room_id)
            view = await self.view(gathering, room_id, lang, glossary)
            text = render.reminder(view, item.lead_seconds, self.text(lang))
            content = message_content(text, lang=lang, kind="gathering-reminder")
            try:
                await self.services.matrix.send(
                    room_id, content, txn_id=txn_id_for(txn_key, room_id)
                )
            except MatrixError as exc:
                log.warning("reminder for %s not delivered to %s: %s", gathering.id, room_id, exc)

        await asyncio.gather(*(one(r) for r in rooms))

    # ---- recurrences ----------------------------------------------------------------------

    def _schedule_roll(self, gathering: Gathering) -> None:
        if not gathering.rrule or gathering.cancelled:
            return
        when = gathering.ends_at or gathering.starts_at
        self.services.scheduler.at(
            f"gathering-roll:{gathering.id}", when, lambda: self.roll(gathering.id)
        )

    async def roll(self, gathering_id: str) -> None:
        """Move a recurring gathering to its next occurrence once the current one is over."""
        gathering = store.get(self.db, gathering_id)
        if gathering is None or gathering.cancelled or not gathering.rrule:
            return
        now = utcnow()
        if (gathering.ends_at or gathering.starts_at) > now:
            self._schedule_roll(gathering)
            return
        anchor = gathering.rrule_anchor or gathering.starts_at
        rule = Recurrence("rrule", gathering.rrule, gathering.tz, anchor)
        length = (gathering.ends_at - gathering.starts_at) if gathering.ends_at else None
        nxt = rule.next_after(max(gathering.starts_at, now - (length or timedelta())))
        if nxt is None:
            return
        store.clear_rsvps(self.db, gathering.id)
        for reminder_id in store.drop_pending_reminders(self.db, gathering.id):
            self.services.scheduler.cancel(f"gathering-reminder:{reminder_id}")
        updated = store.update(
            self.db,
            gathering.id,
            starts_at=nxt,
            ends_at=nxt + length if length else None,
        )
        self.plan(updated)
        await self.refresh_posts(updated)

    # ---- start-up -------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild the schedule from our tables; decide about firings missed while down."""
        now = utcnow()
        for item in store.unfinished_reminders(self.db):
            gathering = store.get(self.db, item.gathering_id)
            if gathering is None or gathering.starts_at <= now:
                store.finish_reminder(self.db, item.id, "dropped")
                continue
            # a due (or half-sent) reminder fires at once; the txn key makes a re-send a no-op
            self._schedule_reminder(item)
        for gathering in store.scheduled_recurring(self.db):
            self._schedule_roll(gathering)

    # ---- calendars ------------------------------------------------------------------------

    def feed_url(self, room_id: str) -> str | None:
        if self.services.web is None:
            return None
        scope = self.scope(room_id)
        token = store.feed_token(self.db, scope.key, secrets.token_urlsafe(24))
        return self.services.web.base_url + FEED_PATH.format(token=token)

    def calendar_for(self, room_ids: list[str], name: str) -> bytes:
        items = [
            (g, self.place_of(g))
            for g in store.visible_in(self.db, room_ids, utcnow() - FEED_HISTORY)
        ]
        return ics.calendar(items, name=name, domain=self._domain())

    def ics_for(self, gathering: Gathering) -> bytes:
        return ics.calendar(
            [(gathering, self.place_of(gathering))], name=gathering.title, domain=self._domain()
        )

    def _domain(self) -> str:
        user_id = self.services.config.matrix.user_id
        return user_id.split(":", 1)[1] if ":" in user_id else "liaison"

    async def serve_feed(self, request: web.Request) -> web.Response:
        token = request.match_info.get("token", "")
        scope = store.feed_scope(self.db, token) if token else None
        if scope is None:
            raise web.HTTPNotFound()
        kind, _, name = scope.partition(":")
        if kind == "group":
            try:
                from bot.relay.store import group_rooms
            except ImportError:
                raise web.HTTPNotFound() from None
            room_ids = [r.room_id for r in group_rooms(self.db, name)]
        else:
            room_ids = [name]
        body = self.calendar_for(room_ids, name if kind == "group" else "Liaison")
        return web.Response(body=body, content_type="text/calendar", charset="utf-8")


def install(services: Services, add_listener: Callable[[Listener], None]) -> None:
    """Build the runtime object, rebuild its schedules at start, serve feeds, hear reactions."""
    gatherings = Gatherings(services)
    services.gatherings = gatherings
    services.scheduler.register_loader("gatherings", gatherings.load)
    if services.web is not None:
        services.web.add_get(FEED_PATH, gatherings.serve_feed)  # type: ignore[arg-type]
    add_listener(gatherings.on_event)
