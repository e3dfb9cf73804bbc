"""Gatherings at run time: create, edit, cancel, announce, RSVP, remind, roll recurrences, feeds.

Everything durable lives in ``bot.gatherings.store``; APScheduler only fires what those
tables say, and is rebuilt from them at every start.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core.broadcast import Broadcaster, Render
from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_, Phrasebook
from bot.core.matrix.client import MatrixClient, txn_id_for
from bot.core.matrix.intake import IncomingEvent
from bot.core.rooms import Rooms
from bot.core.scheduler import Scheduler
from bot.core.storage.database import Database, iso, utcnow
from bot.core.text.echo import echo
from bot.core.text.forms import clean_id, fold, new_id
from bot.core.time.parse import parse_duration
from bot.core.time.recurrence import Recurrence, local_to_utc, utc_to_local_naive
from bot.core.web import WebServer
from bot.gatherings import forms, ics, render, store
from bot.gatherings.forms import REACTIONS, answer_for
from bot.gatherings.public import GatheringPages
from bot.gatherings.store import Gathering, Reminder, Rsvp
from bot.places.service import Places
from bot.places.store import Place
from bot.relay.groups import RelayGroups

log = logging.getLogger(__name__)

FEED_PATH = "/calendar/{token}.ics"
_WEEK = {"week", "semaine", "semana", "this-week"}
_MONTH = {"month", "mois", "mes", "this-month"}
_FILLER = {"this", "cette", "ce", "este", "esta", "the", "la", "le", "el"}
# How far back the feed reaches, so a calendar keeps what just happened.
FEED_HISTORY = timedelta(days=30)


@dataclass(frozen=True)
class Scope:
    """Where a gathering is seen: one room, or every room of its relay group."""

    key: str  # "room:<id>" or "group:<name>"
    room_ids: list[str]
    glossary: list[str]
    # why a room of a relay group sees (or posts to) only itself: the asker is no steward
    limited: CommandError | None = None


class Gatherings:
    def __init__(
        self,
        db: Database,
        rooms: Rooms,
        phrases: Phrasebook,
        broadcast: Broadcaster,
        matrix: MatrixClient,
        scheduler: Scheduler,
        groups: RelayGroups,
        places: Places,
        web: WebServer | None,
        *,
        reminder_leads: Sequence[str],
        calendar_domain: str,
        pages: GatheringPages | None = None,
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.phrases = phrases
        self.broadcast = broadcast
        self.matrix = matrix
        self.scheduler = scheduler
        self.groups = groups
        self.places = places
        self.web = web
        self.reminder_leads = tuple(reminder_leads)
        self.calendar_domain = calendar_domain
        # every kind as the bot shows it, in each of its languages, is accepted back
        self.kind_words = phrases.accepted(forms.KIND_LABELS, fold)
        self.pages = pages

    # ---- small helpers ------------------------------------------------------------------

    def text(self, lang: str) -> render.Text:
        return self.phrases.translator(lang)

    def scope(self, room_id: str, asker: str, *, posting: bool = True) -> Scope:
        """What ``asker`` reaches from ``room_id`` (posts to, or with ``posting`` False sees):
        the room's whole relay group for a steward of the group, else the room alone."""
        audience = self.groups.audience(room_id, asker, posting=posting)
        if not audience.whole_group:
            return Scope(f"room:{room_id}", [room_id], audience.glossary, audience.limited)
        return Scope(f"group:{audience.group}", audience.room_ids, audience.glossary)

    def may_manage(self, gathering: Gathering, user_id: str) -> bool:
        """The creator, an admin of the room it was created in, or a bot admin."""
        return user_id == gathering.creator or self.rooms.is_room_admin(gathering.room_id, user_id)

    def _agenda_of(self, room_id: str) -> str:
        """Whose public agenda a room's gatherings go on: its relay group's, else its own."""
        link = self.groups.link_of(room_id)
        return f"group:{link.group}" if link is not None else f"room:{room_id}"

    def may_publish(self, room_id: str, user_id: str) -> bool:
        """The one rule for putting a gathering of ``room_id`` (the room it was created in) on
        the public agenda or taking it off, wherever the command is typed.

        A room in a relay group has no agenda of its own: it is the group's, so a steward of the
        group publishes any of the group's gatherings there, and a plain linked room's admin
        none. A room in no group has its own agenda, for its admins (and bot admins).
        Publishing speaks for a collective to the world, so its creator alone may not.
        """
        link = self.groups.link_of(room_id)
        if link is not None:
            return self.groups.is_steward(link.group, user_id)
        return self.rooms.is_room_admin(room_id, user_id)

    def place_of(self, gathering: Gathering) -> Place | None:
        return self.places.get(gathering.place_id) if gathering.place_id else None

    async def view(
        self, gathering: Gathering, room_id: str, lang: str, glossary: list[str] | None = None
    ) -> render.View:
        """The gathering as ``room_id`` sees it: member-written text translated to ``lang``."""
        terms = glossary if glossary is not None else self.groups.glossary_of(gathering.room_id)
        title, description = await asyncio.gather(
            self.broadcast.translate(gathering.title, gathering.lang, lang, glossary=terms),
            self.broadcast.translate(gathering.description, gathering.lang, lang, glossary=terms),
        )
        place = self.place_of(gathering)
        return render.View(
            gathering=gathering,
            title=title,
            description=description,
            place=place,
            room_tz=self.rooms.timezone(room_id),
            lang=lang,
            show_contact=place is not None and self.places.registered_in(place.id, room_id),
        )

    def leads(self, gathering: Gathering) -> list[int]:
        if gathering.reminder_leads is not None:
            return [int(s) for s in gathering.reminder_leads.split(",") if s]
        seconds = {int(parse_duration(lead).total_seconds()) for lead in self.reminder_leads}
        return sorted(seconds, reverse=True)

    # ---- what members ask through !event --------------------------------------------------

    def find(self, word: str | None) -> Gathering:
        if not word:
            raise UsageError("Give the gathering's id, such as {example}.", example="`k3m9`")
        gathering = store.get(self.db, clean_id(word))
        if gathering is None:
            raise CommandError(
                "I know no gathering with the id {id}. {list} shows the upcoming ones.",
                id=echo(word),
                list=self.phrases.command("event list"),
            )
        return gathering

    def _require_publisher(self, room_id: str, user_id: str, gathering_id: str) -> None:
        if self.may_publish(room_id, user_id):
            return
        link = self.groups.link_of(room_id)
        if link is not None:
            if gathering_id:  # typed anywhere: the group is not named to whoever asks
                raise CommandError(
                    "Only the stewards of the relay group where {id} was created may publish it on the group's public agenda or take it off (admins of its steward rooms, listed by {command}). Nothing was changed.",
                    id=f"`{gathering_id}`",
                    command=self.phrases.command("relay list"),
                )
            raise CommandError(
                "This room's gatherings go on the public agenda of its relay group {group}: only the group's stewards (admins of its steward rooms, listed by {command}) may publish on it. Nothing was created.",
                group=f"`{link.group}`",
                command=self.phrases.command("relay list"),
            )
        if gathering_id:
            raise CommandError(
                "Only an admin of the room where {id} was created may publish it or take it off the public agenda. Nothing was changed.",
                id=f"`{gathering_id}`",
            )
        raise CommandError(
            "Only a room admin may publish a gathering on the public agenda (`public: yes`). Nothing was created."
        )

    def _page_url(self, room_id: str, gathering_id: str) -> str:
        url = self.pages.gathering_url(room_id, gathering_id) if self.pages is not None else None
        if url is None:
            raise CommandError(
                "The public pages are not available: the bot's web server is off (web.enabled in the configuration). Nothing was changed."
            )
        return url

    def public_url(self, gathering: Gathering) -> str | None:
        """The public page of a published gathering (None when unpublished or pages are off)."""
        if not gathering.published or self.pages is None:
            return None
        return self.pages.gathering_url(gathering.room_id, gathering.id)

    def publish_for(
        self, word: str | None, user_id: str, *, public: bool
    ) -> tuple[Gathering, bool]:
        """``!event publish`` / ``unpublish``: (the gathering, whether this call changed it)."""
        gathering = self.find(word)
        self._require_publisher(gathering.room_id, user_id, gathering.id)
        if public:
            self._page_url(gathering.room_id, gathering.id)
        if gathering.published == public:
            return gathering, False
        return store.set_published(self.db, gathering.id, public), True

    def _require_manager(self, gathering: Gathering, user_id: str) -> None:
        if not self.may_manage(gathering, user_id):
            raise CommandError(
                "Only the person who created {id} or an admin of the room where it was created may change it. Nothing was changed.",
                id=f"`{gathering.id}`",
            )

    def _resolve(
        self, fields: dict[str, str], *, lang: str, zone: ZoneInfo, current: Gathering | None
    ) -> forms.Resolved:
        return forms.resolve(
            fields,
            lang=lang,
            default_tz=zone,
            now=utcnow(),
            place_exists=self.places.exists,
            current_start=current.starts_at if current else None,
            current_end=current.ends_at if current else None,
            t=self.text(lang),
            kinds=self.kind_words,
        )

    def add(
        self, *, command_event_id: str, room_id: str, creator: str, lang: str, text: str
    ) -> Gathering:
        """A new gathering from the member's form; a replayed command returns the first one."""
        existing = store.by_command(self.db, command_event_id)
        if existing is not None:  # the same command handled again after a restart
            return existing
        fields = forms.parse_gathering(text)
        if "title" not in fields:
            raise UsageError("A gathering needs a title.")
        if "start" not in fields:
            raise UsageError(
                "A gathering needs a date: put it after the title, separated by |, or on a line `when: ...`."
            )
        room_zone = self.rooms.timezone(room_id)
        resolved = self._resolve(fields, lang=lang, zone=room_zone, current=None)
        values: dict[str, Any] = {"tz": room_zone.key, **resolved.values}
        if resolved.public:
            self._require_publisher(room_id, creator, "")
            self._page_url(room_id, "")
            values["published_at"] = utcnow()
        gathering, _created = self.create(
            command_event_id=command_event_id,
            room_id=room_id,
            creator=creator,
            lang=lang,
            values=values,
        )
        return gathering

    async def card(self, gathering: Gathering, room_id: str, lang: str) -> str:
        """The full card, as ``room_id`` reads it."""
        view = await self.view(gathering, room_id, lang)
        text = render.details(view, store.rsvps(self.db, gathering.id), self.text(lang))
        url = self.public_url(gathering)
        # the agenda's address is told in the rooms whose agenda it is, not to any room asking
        if url is not None and self._agenda_of(room_id) == self._agenda_of(gathering.room_id):
            text += "\n" + self.phrases.text(lang, "On the public agenda: {url}", url=url)
        return text

    async def upcoming(
        self, room_id: str, lang: str, words: list[str], asker: str
    ) -> list[render.View]:
        """Gatherings seen in the room (the whole group's for its stewards), filtered by kind,
        period and place words."""
        now = utcnow()
        room_zone = self.rooms.timezone(room_id)
        kinds: set[str] = set()
        until: datetime | None = None
        places_words: list[str] = []
        for word in words:
            folded = fold(word)
            if folded in _FILLER:
                continue
            if (kind := forms.kind_for(word, self.kind_words)) is not None:
                kinds.add(kind)
            elif folded in _WEEK:
                today = utc_to_local_naive(now, room_zone).date()
                end = today + timedelta(days=7 - today.weekday())
                until = local_to_utc(datetime.combine(end, datetime.min.time()), room_zone)
            elif folded in _MONTH:
                today = utc_to_local_naive(now, room_zone).date()
                first_next = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
                until = local_to_utc(datetime.combine(first_next, datetime.min.time()), room_zone)
            else:
                places_words.append(folded)
        scope = self.scope(room_id, asker, posting=False)
        found = [
            g
            for g in store.visible_in(self.db, scope.room_ids, now)
            if not g.cancelled
            and (not kinds or g.kind in kinds)
            and (until is None or g.starts_at < until)
            and all(word in self._locality(g) for word in places_words)
        ][:25]
        return list(
            await asyncio.gather(*(self.view(g, room_id, lang, scope.glossary) for g in found))
        )

    def _locality(self, gathering: Gathering) -> str:
        place = self.place_of(gathering)
        parts = [gathering.place, gathering.city, gathering.country]
        if place is not None:
            parts += [place.name, place.city, place.country]
        return fold(" ".join(p for p in parts if p))

    async def change(
        self, word: str | None, user_id: str, text: str, *, lang: str, cause: str
    ) -> Gathering:
        """``!event edit``: fields changed by the creator or a room admin."""
        gathering = self.find(word)
        self._require_manager(gathering, user_id)
        if gathering.cancelled:
            raise CommandError("{id} is cancelled; it cannot be changed.", id=f"`{gathering.id}`")
        fields = forms.parse_changes(text)
        zone = ZoneInfo(gathering.tz)
        resolved = self._resolve(fields, lang=lang, zone=zone, current=gathering)
        values = dict(resolved.values)
        if resolved.public is not None:
            self._require_publisher(gathering.room_id, user_id, gathering.id)
            if resolved.public:
                self._page_url(gathering.room_id, gathering.id)
        if "tz" in values and "starts_at" not in values:
            # a corrected zone keeps the wall-clock time members agreed on
            new_zone = ZoneInfo(str(values["tz"]))
            moved = local_to_utc(utc_to_local_naive(gathering.starts_at, zone), new_zone)
            values["starts_at"] = moved
            if gathering.ends_at is not None:
                values["ends_at"] = local_to_utc(
                    utc_to_local_naive(gathering.ends_at, zone), new_zone
                )
            if moved <= utcnow():
                raise CommandError(
                    "In {zone} that start would be in the past. Nothing was changed.",
                    zone=f"`{new_zone.key}`",
                )
        if "title" in values and not values["title"]:
            raise UsageError("A gathering needs a title.")
        if resolved.public is not None and resolved.public != gathering.published:
            gathering = store.set_published(self.db, gathering.id, resolved.public)
            if not values:
                return gathering
        if not values:
            if resolved.public is not None:
                return gathering
            raise UsageError("Say which field to change and its new value.")
        return await self.edit(gathering, values, cause)

    async def cancel_for(
        self, word: str | None, user_id: str, cause: str
    ) -> tuple[Gathering, bool]:
        """(the gathering, whether this call cancelled it: False if it already was)."""
        gathering = self.find(word)
        self._require_manager(gathering, user_id)
        if gathering.cancelled:
            return gathering, False
        return await self.cancel(gathering, cause), True

    async def announce_for(
        self,
        word: str | None,
        room_id: str,
        user_id: str,
        *,
        thread_root: str | None = None,
    ) -> tuple[Gathering, int, CommandError | None]:
        """Announce from ``room_id``: to the room's whole relay group for its stewards, else
        to the room alone. (The gathering, rooms where it now is announced, why only here.)

        Asked in a thread, the announcement goes into that thread, and into the matching
        thread of each room of the group where the thread's root was relayed.
        """
        gathering = self.find(word)
        if not (self.may_manage(gathering, user_id) or self.rooms.is_room_admin(room_id, user_id)):
            raise CommandError(
                "Only the person who created {id} or a room admin may announce it.",
                id=f"`{gathering.id}`",
            )
        if gathering.cancelled:
            raise CommandError("{id} is cancelled; it cannot be announced.", id=f"`{gathering.id}`")
        scope = self.scope(room_id, user_id)
        posted = await self.announce(gathering, room_id, scope, thread_root)
        count = len([room for room, event_id in posted.items() if event_id])
        return gathering, count, scope.limited

    async def rsvp(
        self, word: str | None, answer_words: str, user_id: str, room_id: str, *, cause: str
    ) -> tuple[Gathering, Rsvp, str]:
        """``!event rsvp``: (the gathering, the member's answer now, the answer understood)."""
        gathering = self.find(word)
        answer = answer_for(answer_words)
        if answer is None:
            raise UsageError(
                "I did not understand {answer}: answer yes, maybe or no.",
                answer=echo(answer_words),
            )
        if gathering.cancelled:
            raise CommandError("{id} is cancelled.", id=f"`{gathering.id}`")
        if (gathering.ends_at or gathering.starts_at) < utcnow():
            raise CommandError("{id} is already over.", id=f"`{gathering.id}`")
        current = await self.answer(gathering, user_id, room_id, answer, cause=cause)
        return gathering, current, answer

    def counts_line(self, gathering: Gathering, lang: str) -> str:
        return render.counts_line(gathering, store.rsvps(self.db, gathering.id), self.text(lang))

    def who(
        self, word: str | None, user_id: str, room_id: str
    ) -> tuple[Gathering, dict[str, list[str]]]:
        """Who answered what ("yes", "maybe", "waiting", "no"), as names to show in ``room_id``."""
        gathering = self.find(word)
        if not (self.may_manage(gathering, user_id) or self.rooms.is_room_admin(room_id, user_id)):
            raise CommandError(
                "Only the person who created {id} and room admins may see who answered.",
                id=f"`{gathering.id}`",
            )
        groups: dict[str, list[str]] = {"yes": [], "maybe": [], "waiting": [], "no": []}
        for r in store.rsvps(self.db, gathering.id):
            key = "waiting" if r.answer == "yes" and r.waiting else r.answer
            name = self.matrix.display_name(r.room_id, r.user_id)
            groups.setdefault(key, []).append(f"{name} ({r.user_id})")
        return gathering, groups

    async def send_ics(
        self, word: str | None, room_id: str, reply_to: str, thread_root: str | None = None
    ) -> None:
        """Upload the gathering as an ``.ics`` file in reply to the command."""
        gathering = self.find(word)
        await self.broadcast.upload_file(
            room_id,
            self.ics_for(gathering),
            mimetype="text/calendar",
            filename=f"{gathering.id}.ics",
            txn_key=f"gathering-ics:{reply_to}",
            kind="gathering-ics",
            reply_to=reply_to,
            thread_root=thread_root,
        )

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
                self.scheduler.cancel(f"gathering-reminder:{reminder_id}")
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
            self.scheduler.cancel(f"gathering-reminder:{item.id}")
        self.scheduler.cancel(f"gathering-roll:{gathering.id}")
        await self.refresh_posts(cancelled)
        await self.notify_answered(cancelled, cause, cancelled=True)
        return cancelled

    # ---- announcements ------------------------------------------------------------------

    async def announce(
        self, gathering: Gathering, room_id: str, scope: Scope, thread_root: str | None = None
    ) -> dict[str, str | None]:
        """Post to ``room_id`` and the other rooms of ``scope``, each in its language.

        Rooms that already have the announcement are left alone; returns room -> event id.
        """
        already = {p.room_id: p.event_id for p in store.posts(self.db, gathering.id)}
        targets = [r for r in dict.fromkeys([room_id, *scope.room_ids]) if r not in already]
        threads: dict[str, str | None] = {}
        if thread_root is not None:
            threads = {r: self.groups.counterpart(thread_root, r) for r in targets}
            threads[room_id] = thread_root
        posted = await self.broadcast.post(
            targets,
            self._announcement(gathering, scope.glossary),
            txn_key=f"announce:{gathering.id}",
            marker={"gathering": gathering.id},
            reveal_links=True,
            threads=threads,
        )
        for target, event_id in posted.items():
            if event_id is None:
                continue
            store.add_post(
                self.db,
                gathering.id,
                target,
                event_id,
                self.rooms.language(target),
                threads.get(target),
            )
            for key in REACTIONS.values():
                reaction = {
                    "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}
                }
                self.matrix.enqueue(
                    target,
                    reaction,
                    txn_id=txn_id_for("announce-react", event_id, key),
                    event_type="m.reaction",
                )
        return {**already, **posted}

    def _threads(self, gathering: Gathering) -> dict[str, str | None]:
        """Room -> the thread its announcement was posted in: what follows goes there too."""
        return {p.room_id: p.thread_root for p in store.posts(self.db, gathering.id)}

    def _announcement(self, gathering: Gathering, glossary: list[str]) -> Render:
        async def text(lang: str, room_id: str) -> str:
            view = await self.view(gathering, room_id, lang, glossary)
            return render.announcement(view, self.text(lang), self.phrases.command)

        return text

    async def refresh_posts(self, gathering: Gathering) -> None:
        """Replace every posted copy (``m.replace``) with the current text."""
        posts = {p.room_id: p.event_id for p in store.posts(self.db, gathering.id)}
        await self.broadcast.post(
            list(posts),
            self._announcement(gathering, self.groups.glossary_of(gathering.room_id)),
            txn_key=f"announce-edit:{gathering.id}:{gathering.revision}",
            marker={"gathering": gathering.id},
            replaces=posts,
            reveal_links=True,
        )

    async def notify_answered(self, gathering: Gathering, cause: str, *, cancelled: bool) -> None:
        """Mention everyone who answered yes or maybe, in the room they answered from."""
        by_room: dict[str, list[str]] = {}
        for answer in store.rsvps(self.db, gathering.id):
            if answer.answer in ("yes", "maybe"):
                by_room.setdefault(answer.room_id, []).append(answer.user_id)

        async def one(room_id: str, users: list[str]) -> None:
            async def text(lang: str, room_id: str) -> str:
                t = self.text(lang)
                view = await self.view(gathering, room_id, lang)
                names = ", ".join(self.matrix.display_name(room_id, u) for u in users)
                if cancelled:
                    return t(
                        "{names}: {title} ({id}) is cancelled.",
                        names=names,
                        title=f"**{view.title}**",
                        id=f"`{gathering.id}`",
                    )
                said = t(
                    "{names}: {title} ({id}) has changed. Now: {when}",
                    names=names,
                    title=f"**{view.title}**",
                    id=f"`{gathering.id}`",
                    when=render.when_line(gathering, view.room_tz, lang, t),
                )
                where = render.place_line(gathering, view.place, t, show_contact=view.show_contact)
                return said + ("\n📍 " + where if where else "")

            await self.broadcast.post(
                [room_id],
                text,
                txn_key=f"gathering-change:{gathering.id}:{gathering.revision}",
                kind="gathering-change",
                mentions=users,
                reveal_links=True,
                threads=self._threads(gathering),
            )

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
            await self._tell_one(
                gathering,
                rsvp,
                N_("{name}: a place freed up — you are now going to {title} ({id})."),
                txn_key=f"gathering-promote:{gathering.id}:{rsvp.user_id}:{cause}",
            )

    async def _tell_waiting(self, gathering: Gathering, rsvp: Rsvp, cause: str) -> None:
        await self._tell_one(
            gathering,
            rsvp,
            N_(
                "{name}: {title} ({id}) is full — you are on the waiting list and will be told when a place frees up."
            ),
            txn_key=f"gathering-waiting:{cause}",
        )

    async def _tell_one(
        self, gathering: Gathering, rsvp: Rsvp, message: str, *, txn_key: str
    ) -> None:
        """Mention one member about their answer, in the room they answered from."""

        async def text(lang: str, room_id: str) -> str:
            view = await self.view(gathering, room_id, lang)
            return self.phrases.text(
                lang,
                message,
                name=self.matrix.display_name(room_id, rsvp.user_id),
                title=f"**{view.title}**",
                id=f"`{gathering.id}`",
            )

        await self.broadcast.post(
            [rsvp.room_id],
            text,
            txn_key=txn_key,
            kind="gathering-rsvp",
            mentions=[rsvp.user_id],
            reveal_links=True,
            threads=self._threads(gathering),
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
        self.scheduler.at(
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
        threads = self._threads(gathering)
        glossary = self.groups.glossary_of(gathering.room_id)
        assert item.txn_key is not None

        async def text(lang: str, room_id: str) -> str:
            view = await self.view(gathering, room_id, lang, glossary)
            return render.reminder(view, item.lead_seconds, self.text(lang))

        await self.broadcast.post(
            rooms,
            text,
            txn_key=item.txn_key,
            kind="gathering-reminder",
            reveal_links=True,
            threads=threads,
        )

    # ---- recurrences ----------------------------------------------------------------------

    def _schedule_roll(self, gathering: Gathering) -> None:
        if not gathering.rrule or gathering.cancelled:
            return
        when = gathering.ends_at or gathering.starts_at
        self.scheduler.at(f"gathering-roll:{gathering.id}", when, lambda: self.roll(gathering.id))

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
            self.scheduler.cancel(f"gathering-reminder:{reminder_id}")
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

    def feed_url(self, room_id: str, asker: str) -> tuple[str, Scope]:
        """The feed's address: the whole relay group's for its stewards, else this room's."""
        if self.web is None:
            raise CommandError(
                "The calendar feed is not available: the bot's web server is off (web.enabled in the configuration)."
            )
        scope = self.scope(room_id, asker, posting=False)
        token = store.feed_token(self.db, scope.key, secrets.token_urlsafe(24))
        return self.web.base_url + FEED_PATH.format(token=token), scope

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
        return self.calendar_domain

    async def serve_feed(self, request: web.Request) -> web.Response:
        token = request.match_info.get("token", "")
        scope = store.feed_scope(self.db, token) if token else None
        if scope is None:
            raise web.HTTPNotFound()
        kind, _, name = scope.partition(":")
        if kind == "group":
            room_ids = [member.room_id for member in self.groups.members(name)]
        else:
            room_ids = [name]
        body = self.calendar_for(room_ids, name if kind == "group" else "Liaison")
        return web.Response(body=body, content_type="text/calendar", charset="utf-8")
