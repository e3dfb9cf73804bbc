"""Scheduled announcements: creating, planning and firing them exactly once.

Schedules and firings live in ``bot.schedules.store``; APScheduler is only asked to wake us
at a schedule's ``next_due`` (job id ``schedule:<id>``). A firing is written as an intent with
its transaction key before anything is sent; the sends derive their txn ids from that key, so
finishing an interrupted firing after a crash never posts a second copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel import Locale, UnknownLocaleError

from bot.core.broadcast import post_to_rooms, translate_text
from bot.core.errors import CommandError
from bot.core.i18n import base_language
from bot.core.matrix.client import MatrixError, txn_id_for
from bot.core.matrix.intake import Listener
from bot.core.storage.database import iso, utcnow
from bot.core.text.markdown import message_content
from bot.core.time.recurrence import Recurrence
from bot.schedules import store
from bot.schedules.store import Firing, NewSchedule, Schedule
from bot.services import Services

log = logging.getLogger(__name__)

# Skipped occurrences recorded one by one at start; beyond this many only the jump is made.
_MAX_MISSED_ROWS = 20
_TINY = timedelta(microseconds=1)


@dataclass(frozen=True)
class StartPlan:
    """What to do with a schedule when it is (re)planned at ``now``."""

    due: datetime | None  # the firing to wait for (or send at once when it is past)
    missed: tuple[datetime, ...]  # occurrences older than the grace period: skipped


def plan_due(schedule: Schedule, now: datetime, grace: timedelta) -> StartPlan:
    """Skip occurrences older than ``grace``; of several inside it only the latest is sent."""
    due = schedule.next_due
    cutoff = now - grace
    missed: list[datetime] = []
    while due is not None and due < cutoff:
        if len(missed) >= _MAX_MISSED_ROWS:
            due = schedule.next_after(cutoff - _TINY)
            break
        missed.append(due)
        due = schedule.next_after(due)
    while due is not None and due <= now:
        following = schedule.next_after(due)
        if following is None or following > now:
            break
        missed.append(due)
        due = following
    return StartPlan(due, tuple(missed))


def job_id(schedule_id: int) -> str:
    return f"schedule:{schedule_id}"


def txn_key(schedule_id: int, due: datetime) -> str:
    return f"schedule:{schedule_id}:{iso(due)}"


def language_name(code: str, in_lang: str) -> str:
    try:
        return str(Locale.parse(base_language(code)).get_display_name(in_lang) or code)
    except (UnknownLocaleError, ValueError):
        return code


def wants_room_ping(text: str) -> bool:
    return "@room" in text


class Announcements:
    """The runtime side of ``!schedule``: validation against the room, planning, firing."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.services.config.scheduler.grace_seconds)

    # ---- targets and permissions ---------------------------------------------------------

    def group_room_ids(self, room_id: str) -> list[str]:
        """``room_id`` and the rooms of its relay group that receive the group's messages
        (paused and send-only links left out, as the relay does); [] if not in a group."""
        from bot.relay import store as relay

        db = self.services.db
        link = relay.room_link(db, room_id)
        if link is None:
            return []
        others = [
            item.room_id
            for item in relay.group_rooms(db, link.group)
            if item.receives and item.room_id != room_id
        ]
        return [room_id, *others]

    def glossary(self, room_id: str) -> list[str]:
        from bot.relay import store as relay

        db = self.services.db
        link = relay.room_link(db, room_id)
        return list(relay.glossary(db, link.group)) if link is not None else []

    def target_rooms(self, schedule: Schedule) -> list[str]:
        if schedule.target == store.TARGET_ROOMS:
            return list(schedule.rooms)
        if schedule.target == store.TARGET_GROUP:
            return self.group_room_ids(schedule.room_id) or [schedule.room_id]
        return [schedule.room_id]

    def rooms_without_admin(self, user_id: str, room_ids: list[str]) -> list[str]:
        return [r for r in room_ids if not self.services.is_room_admin(r, user_id)]

    def rooms_without_ping(self, user_id: str, room_ids: list[str]) -> list[str]:
        """Rooms where ``user_id`` or the bot may not notify everyone with ``@room``."""
        matrix = self.services.matrix
        return [
            r
            for r in room_ids
            if not (
                matrix.can_notify_room(r, user_id) and matrix.can_notify_room(r, matrix.user_id)
            )
        ]

    def firing_problem(self, schedule: Schedule) -> list[str]:
        """Rooms where the schedule's steward is no longer a room admin."""
        steward = schedule.steward or schedule.author
        rooms = [schedule.room_id]
        if schedule.target == store.TARGET_ROOMS:
            rooms += [r for r in schedule.rooms if r != schedule.room_id]
        return self.rooms_without_admin(steward, rooms)

    def check_targets(self, room_id: str, user_id: str, target: str, rooms: list[str]) -> None:
        """Refuse (CommandError) targets ``user_id`` may not post to; used at creation."""
        matrix = self.services.matrix
        if target == store.TARGET_GROUP and not self.group_room_ids(room_id):
            raise CommandError(
                "This room is not in a relay group, so there is no group to announce to."
            )
        if target == store.TARGET_ROOMS:
            unknown = [r for r in rooms if not matrix.is_joined(r)]
            if unknown:
                raise CommandError(
                    "I am not in {rooms}, so I cannot post there.",
                    rooms=", ".join(f"`{r}`" for r in unknown),
                )
            refused = self.rooms_without_admin(user_id, rooms)
            if refused:
                raise CommandError(
                    "You are not a room admin in {rooms}: you may only schedule posts to rooms you administer.",
                    rooms=", ".join(f"`{r}`" for r in refused),
                )

    def check_ping(self, schedule_rooms: list[str], user_id: str) -> None:
        refused = self.rooms_without_ping(user_id, schedule_rooms)
        if refused:
            raise CommandError(
                "`@room` needs both you and me to have the power to notify the whole room, and one of us lacks it in {rooms}. Remove `@room` or ask for that power.",
                rooms=", ".join(f"`{r}`" for r in refused),
            )

    # ---- creating and changing -----------------------------------------------------------

    def create(self, new: NewSchedule) -> tuple[Schedule, bool]:
        schedule, created = store.create(self.services.db, new)
        if created and schedule.status == store.ACTIVE:
            self.plan(schedule)
        return schedule, created

    def plan(self, schedule: Schedule, now: datetime | None = None) -> Schedule:
        """Bring ``schedule`` up to date and ask the scheduler to wake us at its next firing."""
        scheduler = self.services.scheduler
        if schedule.status != store.ACTIVE or schedule.next_due is None:
            scheduler.cancel(job_id(schedule.id))
            return schedule
        now = now or utcnow()
        plan = plan_due(schedule, now, self.grace)
        db = self.services.db
        for moment in plan.missed:
            if store.firing_for(db, schedule.id, moment) is None:
                store.record_outcome(
                    db, schedule.id, moment, store.MISSED, detail="bot was not running"
                )
        if plan.due != schedule.next_due:
            if plan.due is None:
                store.set_status(db, schedule.id, store.DONE)
            else:
                store.set_next_due(db, schedule.id, plan.due)
            refreshed = store.get(db, schedule.id)
            assert refreshed is not None
            schedule = refreshed
        if plan.due is None:
            scheduler.cancel(job_id(schedule.id))
            return schedule
        due, schedule_id = plan.due, schedule.id
        scheduler.at(job_id(schedule_id), due, lambda: self.fire(schedule_id, due))
        return schedule

    def unplan(self, schedule_id: int) -> None:
        self.services.scheduler.cancel(job_id(schedule_id))

    async def load(self) -> None:
        """Loader: finish interrupted firings, then plan every active schedule."""
        db = self.services.db
        now = utcnow()
        for schedule in store.active(db):
            for firing in store.pending_intents(db, schedule.id):
                if firing.due_at < now - self.grace:
                    store.record_outcome(
                        db,
                        schedule.id,
                        firing.due_at,
                        store.INTERRUPTED,
                        detail="interrupted by a stop; too late to finish",
                        txn_key=firing.txn_key,
                    )
                    continue
                log.info("finishing interrupted firing of schedule %s", schedule.id)
                await self._deliver(schedule, firing)
            refreshed = store.get(db, schedule.id)
            if refreshed is not None:
                self.plan(refreshed, now)

    # ---- firing --------------------------------------------------------------------------

    async def fire(self, schedule_id: int, due: datetime) -> None:
        lock = self._locks.setdefault(schedule_id, asyncio.Lock())
        async with lock:
            await self._fire(schedule_id, due)

    async def _fire(self, schedule_id: int, due: datetime) -> None:
        db = self.services.db
        schedule = store.get(db, schedule_id)
        if schedule is None or schedule.status != store.ACTIVE or schedule.next_due != due:
            return  # edited, paused or removed since the job was planned
        firing = store.firing_for(db, schedule_id, due)
        if firing is not None and firing.status != store.SENDING:
            self.plan(self._advance(schedule, due))
            return
        if firing is None:
            lost = self.firing_problem(schedule)
            if lost:
                await self._pause_for_demotion(schedule, due, lost)
                return
            firing = store.record_intent(db, schedule_id, due, txn_key(schedule_id, due))
        await self._deliver(schedule, firing)
        refreshed = store.get(db, schedule_id)
        if refreshed is not None:
            self.plan(refreshed)

    def _advance(self, schedule: Schedule, due: datetime) -> Schedule:
        db = self.services.db
        following = schedule.next_after(due)
        if following is None:
            store.set_status(db, schedule.id, store.DONE)
        else:
            store.set_next_due(db, schedule.id, following)
        refreshed = store.get(db, schedule.id)
        assert refreshed is not None
        return refreshed

    async def _deliver(self, schedule: Schedule, firing: Firing) -> None:
        """Send the firing's copies (idempotent through its txn key) and record the outcome."""
        rooms = self.target_rooms(schedule)
        steward = schedule.steward or schedule.author
        without_ping = self.rooms_without_ping(steward, rooms) if schedule.notify_room else rooms
        with_ping = [r for r in rooms if r not in without_ping]
        render = self.renderer(schedule)
        posted: dict[str, str | None] = {}
        if with_ping:
            posted.update(
                await post_to_rooms(
                    self.services,
                    with_ping,
                    render,
                    txn_key=firing.txn_key,
                    msgtype="m.text",
                    extra_content={"m.mentions": {"room": True}},
                )
            )
        if without_ping:
            posted.update(
                await post_to_rooms(
                    self.services, without_ping, render, txn_key=firing.txn_key, msgtype="m.text"
                )
            )
        notes: list[str] = []
        failed = [r for r, event_id in posted.items() if event_id is None]
        if failed:
            notes.append("not delivered to " + ", ".join(failed))
        if schedule.notify_room and without_ping:
            notes.append("sent without @room to " + ", ".join(without_ping))
        store.finish_firing(
            self.services.db,
            firing,
            posted,
            detail="; ".join(notes) or None,
            next_due=schedule.next_after(firing.due_at),
        )
        log.info(
            "schedule %s fired for %s in %d room(s)", schedule.id, iso(firing.due_at), len(rooms)
        )

    def renderer(self, schedule: Schedule) -> Callable[[str], Awaitable[str]]:
        """Render per room language: the member's text, machine-translated where needed."""
        cache: dict[str, asyncio.Future[str]] = {}
        glossary = self.glossary(schedule.room_id) if schedule.target == store.TARGET_GROUP else []

        async def translate(lang: str) -> str:
            if base_language(lang) == base_language(schedule.language):
                return schedule.text
            translated = await translate_text(
                self.services, schedule.text, schedule.language, lang, glossary=glossary
            )
            if translated == schedule.text:
                return schedule.text
            note = self.services.text(
                lang,
                "_Automatic translation from {language}._",
                language=language_name(schedule.language, lang),
            )
            return f"{translated}\n\n{note}"

        async def render(lang: str) -> str:
            # rooms sharing a language share one translation
            key = base_language(lang)
            if key not in cache:
                cache[key] = asyncio.ensure_future(translate(lang))
            return await asyncio.shield(cache[key])

        return render

    async def _pause_for_demotion(
        self, schedule: Schedule, due: datetime, rooms: list[str]
    ) -> None:
        db = self.services.db
        steward = schedule.steward or schedule.author
        store.record_outcome(
            db,
            schedule.id,
            due,
            store.BLOCKED,
            detail=f"{steward} is no longer a room admin in " + ", ".join(rooms),
        )
        store.set_status(db, schedule.id, store.PAUSED, reason="demoted")
        self.unplan(schedule.id)
        lang = self.services.room_language(schedule.room_id)
        text = self.services.text(
            lang,
            "Schedule #{id} is paused and was not posted: {user} is no longer a room admin in {rooms}. A room admin can check it with {show} and take it over with {resume}.",
            id=schedule.id,
            user=steward,
            rooms=", ".join(f"`{r}`" for r in rooms),
            show=self.services.command(f"schedule show {schedule.id}"),
            resume=self.services.command(f"schedule resume {schedule.id}"),
        )
        content = message_content(text, lang=lang, kind="schedule-paused")
        try:
            await self.services.matrix.send(
                schedule.room_id,
                content,
                txn_id=txn_id_for("schedule-paused", str(schedule.id), iso(due)),
            )
        except MatrixError as exc:
            log.warning("could not tell %s that a schedule paused: %s", schedule.room_id, exc)

    # ---- state changes from commands -----------------------------------------------------

    def pause(self, schedule: Schedule) -> Schedule:
        store.set_status(self.services.db, schedule.id, store.PAUSED, reason="manual")
        self.unplan(schedule.id)
        return self._reload(schedule.id)

    def resume(self, schedule: Schedule, steward: str) -> Schedule:
        """Active again from now on (no backlog); the admin resuming becomes its steward."""
        now = utcnow()
        due = self.first_due(schedule.recurrence or schedule.anchor, now)
        if due is None:
            raise CommandError(
                "Schedule #{id} has no firing left in the future; edit its time first.",
                id=schedule.id,
            )
        store.set_status(self.services.db, schedule.id, store.ACTIVE, next_due=due, steward=steward)
        return self.plan(self._reload(schedule.id))

    def approve(self, schedule: Schedule, approver: str) -> Schedule:
        return self.resume(schedule, approver)

    def remove(self, schedule: Schedule) -> None:
        store.set_status(self.services.db, schedule.id, store.REMOVED)
        self.unplan(schedule.id)

    def change_when(
        self, schedule: Schedule, when: datetime | Recurrence, when_text: str
    ) -> Schedule:
        due = self.first_due(when, utcnow())
        tz = when.tz if isinstance(when, Recurrence) else schedule.tz
        store.set_when(self.services.db, schedule.id, when, when_text, tz, due)
        if schedule.status == store.DONE and due is not None:
            store.set_status(self.services.db, schedule.id, store.ACTIVE)
        return self.plan(self._reload(schedule.id))

    def change_text(self, schedule: Schedule, text: str) -> Schedule:
        store.set_text(self.services.db, schedule.id, text, wants_room_ping(text))
        return self._reload(schedule.id)

    @staticmethod
    def first_due(when: datetime | Recurrence, now: datetime) -> datetime | None:
        if isinstance(when, Recurrence):
            return when.next_after(now - _TINY)
        return when if when >= now else None

    def _reload(self, schedule_id: int) -> Schedule:
        schedule = store.get(self.services.db, schedule_id)
        assert schedule is not None
        return schedule


def install(services: Services, add_listener: Callable[[Listener], None]) -> None:
    """Build the feature, and rebuild its jobs from the tables at every start."""
    announcements = Announcements(services)
    services.announcements = announcements
    services.scheduler.register_loader("announcements", announcements.load)
