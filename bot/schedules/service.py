"""Scheduled announcements: creating, planning and firing them exactly once.

Schedules and firings live in ``bot.schedules.store``; APScheduler is only asked to wake us
at a schedule's ``next_due`` (job id ``schedule:<id>``). A firing is written as an intent with
its transaction key before anything is sent; the sends derive their txn ids from that key, so
finishing an interrupted firing after a crash never posts a second copy.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.broadcast import Broadcaster, Render
from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.i18n import Phrasebook, base_language, language_name
from bot.core.matrix.client import MatrixClient
from bot.core.rooms import Rooms
from bot.core.scheduler import Scheduler
from bot.core.storage.database import Database, iso, utcnow
from bot.core.text.echo import echo
from bot.core.time.parse import TimeParseError, parse_when
from bot.core.time.recurrence import Recurrence
from bot.relay.groups import NOT_STEWARD, Audience, RelayGroups
from bot.schedules import forms, store
from bot.schedules.store import Firing, NewSchedule, Schedule

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


def wants_room_ping(text: str) -> bool:
    return "@room" in text


class Schedules:
    """Scheduled posts: validation against the rooms, planning, firing exactly once."""

    def __init__(
        self,
        db: Database,
        rooms: Rooms,
        phrases: Phrasebook,
        broadcast: Broadcaster,
        matrix: MatrixClient,
        scheduler: Scheduler,
        groups: RelayGroups,
        *,
        grace_seconds: float,
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.phrases = phrases
        self.broadcast = broadcast
        self.matrix = matrix
        self.scheduler = scheduler
        self.groups = groups
        self.grace = timedelta(seconds=grace_seconds)
        self._locks: dict[int, asyncio.Lock] = {}

    # ---- targets and permissions ---------------------------------------------------------

    def group_room_ids(self, room_id: str, user_id: str) -> list[str]:
        """``room_id`` and the rooms of its relay group that receive the group's messages
        (paused and send-only links left out, as the relay does) when ``user_id`` is one of the
        group's stewards; the room alone otherwise; [] if it is in no group."""
        audience = self.groups.audience(room_id, user_id)
        return audience.room_ids if audience.group is not None else []

    def glossary(self, room_id: str) -> list[str]:
        return self.groups.glossary_of(room_id)

    def target_rooms(self, schedule: Schedule) -> list[str]:
        if schedule.target == store.TARGET_ROOMS:
            return list(schedule.rooms)
        if schedule.target == store.TARGET_GROUP:
            steward = schedule.steward or schedule.author
            return self.group_room_ids(schedule.room_id, steward) or [schedule.room_id]
        return [schedule.room_id]

    def rooms_without_admin(self, user_id: str, room_ids: list[str]) -> list[str]:
        return [r for r in room_ids if not self.rooms.is_room_admin(r, user_id)]

    def rooms_without_ping(self, user_id: str, room_ids: list[str]) -> list[str]:
        """Rooms where ``user_id`` or the bot may not notify everyone with ``@room``."""
        matrix = self.matrix
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

    def group_problem(self, schedule: Schedule) -> Audience | None:
        """The group a ``--group`` schedule may no longer reach from its room: its steward is
        no steward of the group any more, or the room no longer sends to it."""
        if schedule.target != store.TARGET_GROUP:
            return None
        audience = self.groups.audience(schedule.room_id, schedule.steward or schedule.author)
        return audience if audience.group is not None and audience.limited else None

    def check_targets(
        self, room_id: str, user_id: str, target: str, rooms: list[str], *, draft: bool = False
    ) -> None:
        """Refuse (CommandError) targets ``user_id`` may not post to; used at creation.

        Posting to the whole relay group is for the group's stewards; a member's draft may
        propose it, and the steward who approves it answers for it.
        """
        matrix = self.matrix
        if target == store.TARGET_GROUP:
            audience = self.groups.audience(room_id, user_id)
            if audience.group is None:
                raise CommandError(
                    "This room is not in a relay group, so there is no group to announce to."
                )
            if audience.limited is not None and not (draft and audience.reason == NOT_STEWARD):
                raise audience.limited
        if target == store.TARGET_ROOMS:
            unknown = [r for r in rooms if not matrix.is_joined(r)]
            if unknown:
                raise CommandError(
                    "I am not in {rooms}, so I cannot post there.",
                    rooms=echo(", ".join(unknown)),
                )
            refused = self.rooms_without_admin(user_id, rooms)
            if refused:
                raise CommandError(
                    "You are not a room admin in {rooms}: you may only schedule posts to rooms you administer.",
                    rooms=self.rooms.names(refused),
                )

    def check_ping(self, schedule_rooms: list[str], user_id: str) -> None:
        """``@room`` needs the power to notify the room, for the bot and for the author; the
        refusal says which of the two lacks it, and where."""
        matrix = self.matrix
        bot_lacks = [r for r in schedule_rooms if not matrix.can_notify_room(r, matrix.user_id)]
        if bot_lacks:
            raise CommandError(
                "`@room` would notify everyone, but I (the bot) do not have the power to notify the whole room in {rooms}. Nothing was scheduled. A room admin can give me that power (the room's `notifications.room` level), or remove `@room` from the text.",
                rooms=self.rooms.names(bot_lacks),
            )
        author_lacks = [r for r in schedule_rooms if not matrix.can_notify_room(r, user_id)]
        if author_lacks:
            raise CommandError(
                "`@room` would notify everyone, but you do not have the power to notify the whole room in {rooms}. Nothing was scheduled. Remove `@room`, or ask a room admin for that power.",
                rooms=self.rooms.names(author_lacks),
            )

    # ---- creating and changing -----------------------------------------------------------

    def create(self, new: NewSchedule) -> tuple[Schedule, bool]:
        schedule, created = store.create(self.db, new)
        if created and schedule.status == store.ACTIVE:
            self.plan(schedule)
        return schedule, created

    def plan(self, schedule: Schedule, now: datetime | None = None) -> Schedule:
        """Bring ``schedule`` up to date and ask the scheduler to wake us at its next firing."""
        scheduler = self.scheduler
        if schedule.status != store.ACTIVE or schedule.next_due is None:
            scheduler.cancel(job_id(schedule.id))
            return schedule
        now = now or utcnow()
        plan = plan_due(schedule, now, self.grace)
        db = self.db
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
        self.scheduler.cancel(job_id(schedule_id))

    async def load(self) -> None:
        """Loader: finish interrupted firings, then plan every active schedule."""
        db = self.db
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
        db = self.db
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
            beyond = self.group_problem(schedule)
            if beyond is not None:
                await self._pause_for_group(schedule, due, beyond)
                return
            firing = store.record_intent(db, schedule_id, due, txn_key(schedule_id, due))
        await self._deliver(schedule, firing)
        refreshed = store.get(db, schedule_id)
        if refreshed is not None:
            self.plan(refreshed)

    def _advance(self, schedule: Schedule, due: datetime) -> Schedule:
        db = self.db
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
                await self.broadcast.post(
                    with_ping,
                    render,
                    txn_key=firing.txn_key,
                    msgtype="m.text",
                    extra_content={"m.mentions": {"room": True}},
                    reveal_links=True,
                )
            )
        if without_ping:
            posted.update(
                await self.broadcast.post(
                    without_ping,
                    render,
                    txn_key=firing.txn_key,
                    msgtype="m.text",
                    reveal_links=True,
                )
            )
        notes: list[str] = []
        failed = [r for r, event_id in posted.items() if event_id is None]
        if failed:
            notes.append("not delivered to " + ", ".join(failed))
        if schedule.notify_room and without_ping:
            notes.append("sent without @room to " + ", ".join(without_ping))
        store.finish_firing(
            self.db,
            firing,
            posted,
            detail="; ".join(notes) or None,
            next_due=schedule.next_after(firing.due_at),
        )
        log.info(
            "schedule %s fired for %s in %d room(s)", schedule.id, iso(firing.due_at), len(rooms)
        )

    def renderer(self, schedule: Schedule) -> Render:
        """Render per room language: the member's text, machine-translated where needed."""
        cache: dict[str, asyncio.Future[str]] = {}
        glossary = self.glossary(schedule.room_id) if schedule.target == store.TARGET_GROUP else []

        async def translate(lang: str) -> str:
            if base_language(lang) == base_language(schedule.language):
                return schedule.text
            translated, untranslated = await self.broadcast.translated(
                schedule.text, schedule.language, lang, glossary=glossary
            )
            language = language_name(schedule.language, lang)
            if untranslated:
                # said as plainly as a relayed copy says it: this room reads the original
                note = self.phrases.text(
                    lang,
                    "_Not translated: no translation from {language} here._",
                    language=language,
                )
                return f"{schedule.text}\n\n{note}"
            if translated == schedule.text:
                return schedule.text
            note = self.phrases.text(
                lang, "_Automatic translation from {language}._", language=language
            )
            return f"{translated}\n\n{note}"

        async def render(lang: str, room_id: str) -> str:
            # rooms sharing a language share one translation
            key = base_language(lang)
            if key not in cache:
                cache[key] = asyncio.ensure_future(translate(lang))
            return await asyncio.shield(cache[key])

        return render

    async def _pause_for_demotion(
        self, schedule: Schedule, due: datetime, rooms: list[str]
    ) -> None:
        db = self.db
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
        lang = self.rooms.language(schedule.room_id)
        text = self.phrases.text(
            lang,
            "Schedule #{id} is paused and was not posted: {user} is no longer a room admin in {rooms}. A room admin can check it with {show} and take it over with {resume}.",
            id=schedule.id,
            user=steward,
            rooms=self.rooms.names(rooms),
            show=self.phrases.command(f"schedule show {schedule.id}"),
            resume=self.phrases.command(f"schedule resume {schedule.id}"),
        )
        await self.broadcast.send(
            schedule.room_id,
            text,
            txn_key=f"schedule-paused:{schedule.id}:{iso(due)}",
            kind="schedule-paused",
        )

    async def _pause_for_group(self, schedule: Schedule, due: datetime, audience: Audience) -> None:
        db = self.db
        steward = schedule.steward or schedule.author
        store.record_outcome(
            db,
            schedule.id,
            due,
            store.BLOCKED,
            detail=f"may no longer post to the relay group {audience.group} ({audience.reason})",
        )
        store.set_status(db, schedule.id, store.PAUSED, reason="group")
        self.unplan(schedule.id)
        lang = self.rooms.language(schedule.room_id)
        params = {
            "id": schedule.id,
            "group": f"`{audience.group}`",
            "show": self.phrases.command(f"schedule show {schedule.id}"),
            "resume": self.phrases.command(f"schedule resume {schedule.id}"),
        }
        if audience.reason == NOT_STEWARD:
            text = self.phrases.text(
                lang,
                "Schedule #{id} is paused and was not posted: {user} is no longer a steward of the relay group {group}, so may not post to all of its rooms. A steward can check it with {show} and take it over with {resume}.",
                user=f"`{steward}`",
                **params,
            )
        else:
            text = self.phrases.text(
                lang,
                "Schedule #{id} is paused and was not posted: this room's messages no longer go out to the relay group {group} (it is paused or only receives). Check it with {show}; {resume} starts it again once the room sends to the group.",
                **params,
            )
        await self.broadcast.send(
            schedule.room_id,
            text,
            txn_key=f"schedule-paused:{schedule.id}:{iso(due)}",
            kind="schedule-paused",
        )

    # ---- what room admins (and members, with approval) ask through !schedule ----------------

    def own(self, room_id: str, word: str | None) -> Schedule:
        """A schedule of this room (schedules are managed where they were created)."""
        schedule_id = forms.parse_id(word, self.phrases.command("schedule list"))
        schedule = store.get(self.db, schedule_id)
        if schedule is None or schedule.room_id != room_id or schedule.status == store.REMOVED:
            raise CommandError("There is no schedule #{id} in this room.", id=schedule_id)
        return schedule

    def in_room(self, room_id: str) -> list[Schedule]:
        return store.in_room(self.db, room_id)

    def recent_firings(self, schedule: Schedule) -> list[Firing]:
        return store.recent_firings(self.db, schedule.id)

    def add(
        self, *, command_event_id: str, room_id: str, author: str, lang: str, rest: str
    ) -> Schedule:
        """A new schedule (a draft when a member proposes it); a replay returns the first."""
        replayed = store.by_command_event(self.db, command_event_id)
        if replayed is not None:
            return replayed
        is_admin = self.rooms.is_room_admin(room_id, author)
        if not is_admin and not store.approval_required(self.db, room_id):
            raise PermissionDenied(
                "Only room admins (power level {level} or more) may schedule posts here. A room admin can let members propose drafts with {approval}.",
                level=self.rooms.config.admin_power_level,
                approval=self.phrases.command("schedule approval on"),
            )
        target, rooms, position = forms.read_target(rest)
        if target == store.TARGET_ROOMS and not is_admin:
            raise PermissionDenied("Only room admins may schedule posts to other rooms.")
        tz = self.rooms.timezone(room_id)
        when, when_text, text = forms.read_when(
            rest,
            position,
            lang=lang,
            tz=tz,
            t=self.phrases.translator(lang),
            command=self.phrases.prefix + "schedule add ",
        )
        if not text:
            raise UsageError("Give the text to post after the time.")
        due = self.first_due(when, utcnow())
        if due is None:
            raise CommandError("{when} has no firing left in the future.", when=echo(when_text))
        draft = not is_admin
        self.check_targets(room_id, author, target, rooms, draft=draft)
        new = NewSchedule(
            room_id=room_id,
            author=author,
            steward=None if draft else author,
            command_event_id=command_event_id,
            when=when,
            when_text=when_text,
            tz=when.tz if isinstance(when, Recurrence) else tz.key,
            text=text,
            language=lang,
            target=target,
            rooms=tuple(rooms),
            notify_room=wants_room_ping(text),
            status=store.DRAFT if draft else store.ACTIVE,
            next_due=due,
        )
        if new.notify_room and not draft:
            self.check_ping(self._planned_rooms(new), author)
        schedule, _created = self.create(new)
        return schedule

    def _planned_rooms(self, new: NewSchedule) -> list[str]:
        if new.target == store.TARGET_ROOMS:
            return list(new.rooms)
        if new.target == store.TARGET_GROUP:
            return self.group_room_ids(new.room_id, new.author)
        return [new.room_id]

    def edit(self, room_id: str, user_id: str, rest: str, *, lang: str) -> Schedule:
        """``<id> when <when>`` or ``<id> text <text>``."""
        tokens = forms.first_line_tokens(rest)
        if len(tokens) < 3:
            raise UsageError("Say what to change: `when` or `text`, then the new value.")
        schedule = self.own(room_id, tokens[0].group(0))
        field = tokens[1].group(0).lower()
        value = rest[tokens[1].end() :].strip()
        if field in forms.WHEN_WORDS:
            tz = self.rooms.timezone(room_id)
            try:
                when = parse_when(
                    value.strip(forms.QUOTES), lang=lang, tz=tz, now=utcnow(), need_time=True
                )
            except TimeParseError as exc:
                raise forms.when_error(exc, self.phrases.translator(lang), tz) from None
            if self.first_due(when, utcnow()) is None:
                raise CommandError("{when} has no firing left in the future.", when=echo(value))
            return self.change_when(schedule, when, value.strip(forms.QUOTES))
        if field in forms.TEXT_WORDS:
            if wants_room_ping(value) and schedule.status != store.DRAFT:
                self.check_ping(self.target_rooms(schedule), user_id)
            return self.change_text(schedule, value)
        raise UsageError("I can change `when` or `text`, not {field}.", field=echo(field))

    def pause_in(self, room_id: str, word: str | None) -> Schedule:
        schedule = self.own(room_id, word)
        if schedule.status not in {store.ACTIVE, store.PAUSED}:
            raise CommandError("Schedule #{id} is not active.", id=schedule.id)
        return self.pause(schedule)

    def resume_in(self, room_id: str, word: str | None, user_id: str) -> Schedule:
        """Active again from now on; ``user_id`` answers for it (checked as at creation)."""
        schedule = self.own(room_id, word)
        if schedule.status == store.DRAFT:
            raise CommandError(
                "Schedule #{id} is a draft: approve it with {approve}.",
                id=schedule.id,
                approve=self.phrases.command(f"schedule approve {schedule.id}"),
            )
        self._check_takeover(room_id, user_id, schedule)
        return self.resume(schedule, user_id)

    def approve_in(self, room_id: str, word: str | None, user_id: str) -> Schedule:
        schedule = self.own(room_id, word)
        if schedule.status != store.DRAFT:
            if schedule.steward is not None and schedule.status == store.ACTIVE:
                return schedule  # approved already (a repeated or replayed approval)
            raise CommandError("Schedule #{id} is not a draft.", id=schedule.id)
        self._check_takeover(room_id, user_id, schedule)
        return self.approve(schedule, user_id)

    def _check_takeover(self, room_id: str, user_id: str, schedule: Schedule) -> None:
        """Whoever activates a schedule answers for it: the same checks as at creation."""
        self.check_targets(room_id, user_id, schedule.target, list(schedule.rooms))
        if schedule.notify_room:
            rooms = (
                self.group_room_ids(schedule.room_id, user_id)
                if schedule.target == store.TARGET_GROUP
                else self.target_rooms(schedule)
            )
            self.check_ping(rooms, user_id)

    def remove_in(self, room_id: str, word: str | None) -> Schedule:
        schedule = self.own(room_id, word)
        self.remove(schedule)
        return schedule

    async def preview(self, room_id: str, word: str | None, lang: str) -> tuple[Schedule, str]:
        schedule = self.own(room_id, word)
        return schedule, await self.renderer(schedule)(lang, room_id)

    def set_approval(self, room_id: str, required: bool) -> None:
        store.set_approval(self.db, room_id, required)

    # ---- state changes from commands -----------------------------------------------------

    def pause(self, schedule: Schedule) -> Schedule:
        store.set_status(self.db, schedule.id, store.PAUSED, reason="manual")
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
        store.set_status(self.db, schedule.id, store.ACTIVE, next_due=due, steward=steward)
        return self.plan(self._reload(schedule.id))

    def approve(self, schedule: Schedule, approver: str) -> Schedule:
        return self.resume(schedule, approver)

    def remove(self, schedule: Schedule) -> None:
        store.set_status(self.db, schedule.id, store.REMOVED)
        self.unplan(schedule.id)

    def change_when(
        self, schedule: Schedule, when: datetime | Recurrence, when_text: str
    ) -> Schedule:
        due = self.first_due(when, utcnow())
        tz = when.tz if isinstance(when, Recurrence) else schedule.tz
        store.set_when(self.db, schedule.id, when, when_text, tz, due)
        if schedule.status == store.DONE and due is not None:
            store.set_status(self.db, schedule.id, store.ACTIVE)
        return self.plan(self._reload(schedule.id))

    def change_text(self, schedule: Schedule, text: str) -> Schedule:
        store.set_text(self.db, schedule.id, text, wants_room_ping(text))
        return self._reload(schedule.id)

    @staticmethod
    def first_due(when: datetime | Recurrence, now: datetime) -> datetime | None:
        if isinstance(when, Recurrence):
            return when.next_after(now - _TINY)
        return when if when >= now else None

    def _reload(self, schedule_id: int) -> Schedule:
        schedule = store.get(self.db, schedule_id)
        assert schedule is not None
        return schedule
