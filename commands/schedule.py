"""!schedule: announcements posted later, once or repeatedly, to this room, its relay group or
a list of rooms, each copy in its room's language."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.command import CommandFamily, Permission
from bot.core.context import CommandContext
from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.i18n import N_
from bot.core.storage.database import utcnow
from bot.core.time.parse import TimeParseError, format_local, parse_when, split_when_and_text
from bot.core.time.recurrence import Recurrence
from bot.schedules import store
from bot.schedules.service import Announcements, wants_room_ping
from bot.schedules.store import NewSchedule, Schedule

family = CommandFamily(
    "schedule",
    help=N_(
        "Plans announcements: once or repeating, to this room, its relay group or other rooms."
    ),
    aliases={"fr": ("programme",), "es": ("programa",), "ar": ("جدولة",)},
)

GROUP_FLAGS = frozenset({"--group", "--groupe", "--grupo", "--مجموعة"})
ROOMS_FLAGS = frozenset({"--rooms", "--salons", "--salas", "--غرف"})
WHEN_WORDS = frozenset({"when", "time", "quand", "date", "cuando", "fecha", "متى", "وقت"})
TEXT_WORDS = frozenset({"text", "texte", "texto", "نص"})
ON_WORDS = frozenset({"on", "oui", "si", "sí", "yes", "نعم", "تشغيل"})
OFF_WORDS = frozenset({"off", "non", "no", "لا", "إيقاف"})
QUOTES = '"“”«»„'
_TOKEN = re.compile(r"\S+")
_ROOM_ID = re.compile(r"^![^\s,]+$")  # room v12 ids have no server part


def _announcements(ctx: CommandContext) -> Announcements:
    announcements = ctx.services.announcements
    if announcements is None:
        raise CommandError("Scheduled announcements are not enabled on this bot.")
    return announcements


def _when_error(exc: TimeParseError) -> CommandError:
    fragment = f"`{exc.fragment}`"
    if exc.reason == "past":
        return CommandError("{when} is already past: give a moment in the future.", when=fragment)
    if exc.reason == "bad_cron":
        return CommandError(
            "{when} is not a cron expression I can use: it needs five fields, such as `cron 0 18 * * 1`.",
            when=fragment,
        )
    if exc.reason == "bad_zone":
        return CommandError("{when} is not a time zone I know.", when=fragment)
    if exc.reason == "bad_recurrence":
        return CommandError(
            "I did not understand {when} as a repetition. Try `every monday 18:00`, `tous les jours 9h` or `cron 0 18 * * 1`. Nothing was scheduled.",
            when=fragment,
        )
    return CommandError(
        "I did not understand {when} as a date or time. Try `tomorrow 9:00`, `samedi 18h` or `2026-05-01 10:00`. Nothing was scheduled.",
        when=fragment,
    )


def _parse_id(ctx: CommandContext, word: str | None) -> int:
    cleaned = (word or "").lstrip("#")
    if not cleaned.isdigit():
        if word is None:
            raise UsageError(
                "Give the schedule's number, as shown by {list}.",
                list=ctx.services.command("schedule list"),
            )
        raise UsageError("{word} is not a schedule number.", word=f"`{word}`")
    return int(cleaned)


def _own(ctx: CommandContext, word: str | None) -> Schedule:
    schedule_id = _parse_id(ctx, word)
    schedule = store.get(ctx.services.db, schedule_id)
    if schedule is None or schedule.room_id != ctx.room_id or schedule.status == store.REMOVED:
        raise CommandError("There is no schedule #{id} in this room.", id=schedule_id)
    return schedule


def _first_line_tokens(rest: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(rest.split("\n", 1)[0]))


def _read_when(
    ctx: CommandContext, rest: str, start: int
) -> tuple[datetime | Recurrence, str, str]:
    """From ``rest[start:]``: the when (quoted, or the longest leading run that reads as one),
    the words it was read from, and the text after it (newlines and Markdown kept)."""
    tz = ctx.services.room_timezone(ctx.room_id)
    now = utcnow()
    body = rest[start:].lstrip(" ")
    if body[:1] and body[0] in QUOTES:
        first_line = body.split("\n", 1)[0]
        close = next((i for i in range(1, len(first_line)) if first_line[i] in QUOTES), -1)
        if close < 0:
            raise UsageError("The time in quotes has no closing quote.")
        when_text = first_line[1:close].strip()
        try:
            when = parse_when(when_text, lang=ctx.lang, tz=tz, now=now)
        except TimeParseError as exc:
            raise _when_error(exc) from None
        return when, when_text, body[close + 1 :].strip()
    tokens = _first_line_tokens(body)
    words = [t.group(0) for t in tokens]
    if not words:
        raise UsageError("Give a time and the text to post.")
    try:
        when, remaining = split_when_and_text(words, lang=ctx.lang, tz=tz, now=now)
    except TimeParseError as exc:
        raise _when_error(exc) from None
    used = len(words) - len(remaining.split())
    return when, " ".join(words[:used]), body[tokens[used - 1].end() :].strip()


def _room_list(value: str) -> list[str]:
    rooms = [r.strip() for r in value.split(",") if r.strip()]
    bad = [r for r in rooms if not _ROOM_ID.match(r)]
    if bad or not rooms:
        raise UsageError(
            "{rooms} is not a list of room ids (such as `!abc:example.org,!def:example.org`).",
            rooms=f"`{value}`",
        )
    return list(dict.fromkeys(rooms))


def _read_target(rest: str) -> tuple[str, list[str], int]:
    """Leading ``--group`` / ``--rooms a,b``: the target, its rooms, where the when starts."""
    target, rooms, position = store.TARGET_ROOM, [], 0
    tokens = _first_line_tokens(rest)
    index = 0
    while index < len(tokens):
        word = tokens[index].group(0)
        flag, _, value = word.partition("=")
        if flag.lower() in GROUP_FLAGS and not value:
            target = store.TARGET_GROUP
        elif flag.lower() in ROOMS_FLAGS:
            if not value:
                index += 1
                if index >= len(tokens):
                    raise UsageError("Give the rooms after {flag}.", flag=f"`{flag}`")
                value = tokens[index].group(0)
            target, rooms = store.TARGET_ROOMS, _room_list(value)
        elif word.startswith("--"):
            raise UsageError("I do not know the option {option}.", option=f"`{word}`")
        else:
            break
        position = tokens[index].end()
        index += 1
    return target, rooms, position


def _times(schedule: Schedule, lang: str) -> list[str]:
    return [f"- {format_local(t, _zone(schedule), lang)}" for t in schedule.upcoming(utcnow(), 3)]


def _zone(schedule: Schedule) -> ZoneInfo:
    return ZoneInfo(schedule.tz)


def _target_line(ctx: CommandContext, schedule: Schedule) -> str:
    if schedule.target == store.TARGET_GROUP:
        return ctx.t("Posted to every room of this room's relay group, each in its own language.")
    if schedule.target == store.TARGET_ROOMS:
        return ctx.t("Posted to {rooms}.", rooms=", ".join(f"`{r}`" for r in schedule.rooms))
    return ctx.t("Posted to this room.")


def _status_line(ctx: CommandContext, schedule: Schedule) -> str:
    if schedule.status == store.DRAFT:
        return ctx.t(
            "Status: draft, waiting for a room admin: {approve}.",
            approve=ctx.services.command(f"schedule approve {schedule.id}"),
        )
    if schedule.status == store.PAUSED and schedule.pause_reason == "demoted":
        return ctx.t(
            "Status: paused, because {user} is no longer a room admin where it posts.",
            user=schedule.steward or schedule.author,
        )
    if schedule.status == store.PAUSED:
        return ctx.t("Status: paused.")
    if schedule.status == store.DONE:
        return ctx.t("Status: done, nothing left to post.")
    return ctx.t("Status: active.")


def _summary(ctx: CommandContext, schedule: Schedule, headline: str) -> str:
    lines = [
        headline,
        ctx.t("When: {when} (time zone {zone})", when=f"`{schedule.when_text}`", zone=schedule.tz),
        _target_line(ctx, schedule),
    ]
    times = _times(schedule, ctx.lang)
    if times and schedule.status in {store.ACTIVE, store.DRAFT}:
        lines.append(ctx.t("Next firings ({zone}):", zone=schedule.tz))
        lines.extend(times)
    elif schedule.status == store.PAUSED:
        lines.append(_status_line(ctx, schedule))
    if schedule.notify_room:
        lines.append(ctx.t("It notifies everyone with `@room`."))
    return "\n".join(lines)


def _confirm_added(ctx: CommandContext, schedule: Schedule) -> str:
    if schedule.status == store.DRAFT:
        headline = ctx.t(
            "Draft #{id} saved. A room admin can approve it with {approve}.",
            id=schedule.id,
            approve=ctx.services.command(f"schedule approve {schedule.id}"),
        )
    else:
        headline = ctx.t("Schedule #{id} is set.", id=schedule.id)
    return _summary(ctx, schedule, headline)


@family.command(
    "add",
    usage="schedule add [--group | --rooms !a:hs,!b:hs] <when> <text>",
    help=N_(
        "Plans a post: a date in words, a repetition (every monday 18:00) or cron. Room admins; members too when approval is on."
    ),
    examples=(
        "schedule add tomorrow 9:00 The kitchen opens at noon",
        "schedule add every monday 18:00 **Weekly call** at 19:00",
        "schedule add --group cron 0 9 1 * * Monthly assembly notice",
    ),
)
async def add(ctx: CommandContext) -> None:
    services = ctx.services
    announcements = _announcements(ctx)
    db = services.db
    replayed = store.by_command_event(db, ctx.event.event_id)
    if replayed is not None:
        await ctx.reply_text(_confirm_added(ctx, replayed))
        return
    is_admin = ctx.is_room_admin()
    if not is_admin and not store.approval_required(db, ctx.room_id):
        raise PermissionDenied(
            "Only room admins (power level {level} or more) may schedule posts here. A room admin can let members propose drafts with {approval}.",
            level=services.config.bot.admin_power_level,
            approval=ctx.services.command("schedule approval on"),
        )
    target, rooms, position = _read_target(ctx.rest)
    if target == store.TARGET_ROOMS and not is_admin:
        raise PermissionDenied("Only room admins may schedule posts to other rooms.")
    when, when_text, text = _read_when(ctx, ctx.rest, position)
    if not text:
        raise UsageError("Give the text to post after the time.")
    now = utcnow()
    due = Announcements.first_due(when, now)
    if due is None:
        raise CommandError("{when} has no firing left in the future.", when=f"`{when_text}`")
    announcements.check_targets(ctx.room_id, ctx.sender, target, rooms)
    tz = services.room_timezone(ctx.room_id)
    draft = not is_admin
    new = NewSchedule(
        room_id=ctx.room_id,
        author=ctx.sender,
        steward=None if draft else ctx.sender,
        command_event_id=ctx.event.event_id,
        when=when,
        when_text=when_text,
        tz=when.tz if isinstance(when, Recurrence) else tz.key,
        text=text,
        language=ctx.lang,
        target=target,
        rooms=tuple(rooms),
        notify_room=wants_room_ping(text),
        status=store.DRAFT if draft else store.ACTIVE,
        next_due=due,
    )
    if new.notify_room and not draft:
        announcements.check_ping(_planned_rooms(announcements, new), ctx.sender)
    schedule, _created = announcements.create(new)
    await ctx.reply_text(_confirm_added(ctx, schedule))


def _planned_rooms(announcements: Announcements, new: NewSchedule) -> list[str]:
    if new.target == store.TARGET_ROOMS:
        return list(new.rooms)
    if new.target == store.TARGET_GROUP:
        return announcements.group_room_ids(new.room_id)
    return [new.room_id]


@family.command(
    "list",
    usage="schedule list",
    help=N_("Lists this room's scheduled posts."),
    examples=("schedule list",),
)
async def list_schedules(ctx: CommandContext) -> None:
    found = store.in_room(ctx.services.db, ctx.room_id)
    if not found:
        await ctx.reply(
            "No posts are scheduled in this room. Add one with {add}.",
            add=ctx.services.command("schedule add"),
        )
        return
    lines = [ctx.t("**Scheduled posts** (time zone {zone}):", zone=found[0].tz)]
    for schedule in found:
        snippet = " ".join(schedule.text.split())
        snippet = snippet if len(snippet) <= 60 else snippet[:57] + "…"
        nxt = (
            format_local(schedule.next_due, _zone(schedule), ctx.lang)
            if schedule.next_due and schedule.status in {store.ACTIVE, store.DRAFT}
            else "—"
        )
        lines.append(
            ctx.t(
                "- #{id} [{status}] {when}, next {next}: {text}",
                id=schedule.id,
                status=ctx.t(_STATUS_LABELS[schedule.status]),
                when=f"`{schedule.when_text}`",
                next=nxt,
                text=snippet,
            )
        )
    await ctx.reply_text("\n".join(lines))


_STATUS_LABELS = {
    store.DRAFT: N_("draft"),
    store.ACTIVE: N_("active"),
    store.PAUSED: N_("paused"),
    store.DONE: N_("done"),
    store.REMOVED: N_("removed"),
}
_FIRING_LABELS = {
    store.SENT: N_("posted"),
    store.SENDING: N_("being posted"),
    store.MISSED: N_(
        "missed: I was not running and the grace period had passed, so it was skipped"
    ),
    store.BLOCKED: N_("not posted: the author is no longer a room admin"),
    store.INTERRUPTED: N_("interrupted by a stop and not finished in time"),
}


@family.command(
    "show",
    usage="schedule show <id>",
    help=N_("Shows one scheduled post: its times, targets, text and last firings."),
    examples=("schedule show 3",),
)
async def show(ctx: CommandContext) -> None:
    schedule = _own(ctx, ctx.args[0] if ctx.args else None)
    author = schedule.author or ctx.t("(erased)")
    headline = ctx.t("**Schedule #{id}** by {author}", id=schedule.id, author=author)
    blocks = [
        _summary(ctx, schedule, headline),
        _status_line(ctx, schedule),
        ctx.t("Text:") + "\n" + "\n".join(f"> {line}" for line in schedule.text.splitlines()),
    ]
    firings = store.recent_firings(ctx.services.db, schedule.id)
    if firings:
        lines = [ctx.t("Last firings:")]
        for firing in firings:
            label = ctx.t(_FIRING_LABELS.get(firing.status, firing.status))
            lines.append(f"- {format_local(firing.due_at, _zone(schedule), ctx.lang)}: {label}")
        blocks.append("\n".join(lines))
    await ctx.reply_text("\n\n".join(blocks))


@family.command(
    "edit",
    usage="schedule edit <id> when <when> | schedule edit <id> text <text>",
    help=N_("Changes the time or the text of a scheduled post."),
    permission=Permission.ROOM_ADMIN,
    examples=("schedule edit 3 when every tuesday 18:00", "schedule edit 3 text New text"),
)
async def edit(ctx: CommandContext) -> None:
    announcements = _announcements(ctx)
    tokens = _first_line_tokens(ctx.rest)
    if len(tokens) < 3:
        raise UsageError("Say what to change: `when` or `text`, then the new value.")
    schedule = _own(ctx, tokens[0].group(0))
    field = tokens[1].group(0).lower()
    value = ctx.rest[tokens[1].end() :].strip()
    if field in WHEN_WORDS:
        tz = ctx.services.room_timezone(ctx.room_id)
        try:
            when = parse_when(value.strip(QUOTES), lang=ctx.lang, tz=tz, now=utcnow())
        except TimeParseError as exc:
            raise _when_error(exc) from None
        if Announcements.first_due(when, utcnow()) is None:
            raise CommandError("{when} has no firing left in the future.", when=f"`{value}`")
        schedule = announcements.change_when(schedule, when, value.strip(QUOTES))
    elif field in TEXT_WORDS:
        if wants_room_ping(value) and schedule.status != store.DRAFT:
            announcements.check_ping(announcements.target_rooms(schedule), ctx.sender)
        schedule = announcements.change_text(schedule, value)
    else:
        raise UsageError("I can change `when` or `text`, not {field}.", field=f"`{field}`")
    await ctx.reply_text(_summary(ctx, schedule, ctx.t("Schedule #{id} changed.", id=schedule.id)))


@family.command(
    "pause",
    usage="schedule pause <id>",
    help=N_("Stops a scheduled post until it is resumed."),
    permission=Permission.ROOM_ADMIN,
    examples=("schedule pause 3",),
)
async def pause(ctx: CommandContext) -> None:
    schedule = _own(ctx, ctx.args[0] if ctx.args else None)
    if schedule.status not in {store.ACTIVE, store.PAUSED}:
        raise CommandError("Schedule #{id} is not active.", id=schedule.id)
    _announcements(ctx).pause(schedule)
    await ctx.reply(
        "Schedule #{id} is paused. Resume it with {resume}.",
        id=schedule.id,
        resume=ctx.services.command(f"schedule resume {schedule.id}"),
    )


@family.command(
    "resume",
    usage="schedule resume <id>",
    help=N_("Starts a paused post again from now on; you become responsible for it."),
    permission=Permission.ROOM_ADMIN,
    examples=("schedule resume 3",),
)
async def resume(ctx: CommandContext) -> None:
    announcements = _announcements(ctx)
    schedule = _own(ctx, ctx.args[0] if ctx.args else None)
    if schedule.status == store.DRAFT:
        raise CommandError(
            "Schedule #{id} is a draft: approve it with {approve}.",
            id=schedule.id,
            approve=ctx.services.command(f"schedule approve {schedule.id}"),
        )
    _check_takeover(ctx, announcements, schedule)
    schedule = announcements.resume(schedule, ctx.sender)
    await ctx.reply_text(
        _summary(ctx, schedule, ctx.t("Schedule #{id} is active again.", id=schedule.id))
    )


def _check_takeover(ctx: CommandContext, announcements: Announcements, schedule: Schedule) -> None:
    """Whoever activates a schedule answers for it: the same checks as at creation."""
    announcements.check_targets(ctx.room_id, ctx.sender, schedule.target, list(schedule.rooms))
    if schedule.notify_room:
        announcements.check_ping(announcements.target_rooms(schedule), ctx.sender)


@family.command(
    "approve",
    usage="schedule approve <id>",
    help=N_("Approves a member's draft so that it is posted."),
    permission=Permission.ROOM_ADMIN,
    examples=("schedule approve 4",),
)
async def approve(ctx: CommandContext) -> None:
    announcements = _announcements(ctx)
    schedule = _own(ctx, ctx.args[0] if ctx.args else None)
    if schedule.status != store.DRAFT:
        if schedule.steward is not None and schedule.status == store.ACTIVE:
            await ctx.reply_text(
                _summary(ctx, schedule, ctx.t("Schedule #{id} is approved.", id=schedule.id))
            )
            return
        raise CommandError("Schedule #{id} is not a draft.", id=schedule.id)
    _check_takeover(ctx, announcements, schedule)
    schedule = announcements.approve(schedule, ctx.sender)
    await ctx.reply_text(
        _summary(ctx, schedule, ctx.t("Schedule #{id} is approved.", id=schedule.id))
    )


@family.command(
    "remove",
    usage="schedule remove <id>",
    help=N_("Deletes a scheduled post."),
    permission=Permission.ROOM_ADMIN,
    examples=("schedule remove 3",),
)
async def remove(ctx: CommandContext) -> None:
    schedule = _own(ctx, ctx.args[0] if ctx.args else None)
    _announcements(ctx).remove(schedule)
    await ctx.reply("Schedule #{id} is removed.", id=schedule.id)


@family.command(
    "preview",
    usage="schedule preview <id>",
    help=N_("Shows a scheduled post now, as this room will see it (nothing is posted elsewhere)."),
    examples=("schedule preview 3",),
)
async def preview(ctx: CommandContext) -> None:
    schedule = _own(ctx, ctx.args[0] if ctx.args else None)
    rendered = await _announcements(ctx).renderer(schedule)(ctx.lang)
    await ctx.reply_text(ctx.t("Preview of schedule #{id}:", id=schedule.id) + "\n\n" + rendered)


@family.command(
    "approval",
    usage="schedule approval on|off",
    help=N_("With approval on, members may propose posts as drafts that a room admin approves."),
    permission=Permission.ROOM_ADMIN,
    examples=("schedule approval on",),
)
async def approval(ctx: CommandContext) -> None:
    word = ctx.args[0].lower() if ctx.args else ""
    if word in ON_WORDS:
        store.set_approval(ctx.services.db, ctx.room_id, True)
        await ctx.reply("Members may now propose scheduled posts; a room admin approves each one.")
    elif word in OFF_WORDS:
        store.set_approval(ctx.services.db, ctx.room_id, False)
        await ctx.reply("Only room admins may schedule posts here now.")
    else:
        raise UsageError("Say `on` or `off`.")
