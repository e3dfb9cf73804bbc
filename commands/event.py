"""!event: gatherings — create, list, show, edit, cancel, announce, RSVP, calendars."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.command import CommandFamily, Permission
from bot.core.context import CommandContext
from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_
from bot.core.matrix.client import LIAISON_KEY, txn_id_for
from bot.core.storage.database import utcnow
from bot.core.time.recurrence import local_to_utc, utc_to_local_naive
from bot.gatherings import forms, render, store
from bot.gatherings.service import Gatherings
from bot.gatherings.store import Gathering
from bot.places import store as places

family = CommandFamily(
    "event",
    help=N_("Gatherings: create, announce in every language, RSVP, reminders, calendars."),
    aliases={"fr": ("evenement", "événement"), "es": ("evento",), "ar": ("فعالية",)},
)

_WEEK = {"week", "semaine", "semana", "this-week"}
_MONTH = {"month", "mois", "mes", "this-month"}
_FILLER = {"this", "cette", "ce", "este", "esta", "the", "la", "le", "el"}


def _service(ctx: CommandContext) -> Gatherings:
    if ctx.services.gatherings is None:
        raise CommandError("Gatherings are not enabled on this bot.")
    return ctx.services.gatherings


def _find(ctx: CommandContext, word: str | None) -> Gathering:
    if not word:
        raise UsageError("Give the gathering's id, such as {example}.", example="`k3m9`")
    gathering = store.get(ctx.services.db, forms.clean_id(word))
    if gathering is None:
        raise CommandError(
            "I know no gathering with the id {id}. {list} shows the upcoming ones.",
            id=f"`{word}`",
            list=ctx.services.command("event list"),
        )
    return gathering


def _require_manager(ctx: CommandContext, gathering: Gathering) -> None:
    if not _service(ctx).may_manage(gathering, ctx.sender):
        raise CommandError(
            "Only the person who created {id} or an admin of the room where it was created may change it. Nothing was changed.",
            id=f"`{gathering.id}`",
        )


def _resolve(
    ctx: CommandContext, fields: dict[str, str], *, zone: ZoneInfo, current: Gathering | None
) -> forms.Resolved:
    return forms.resolve(
        fields,
        lang=ctx.lang,
        default_tz=zone,
        now=utcnow(),
        place_exists=lambda pid: places.get(ctx.services.db, pid) is not None,
        current_start=current.starts_at if current else None,
        current_end=current.ends_at if current else None,
    )


async def _card(ctx: CommandContext, gathering: Gathering) -> str:
    service = _service(ctx)
    view = await service.view(gathering, ctx.room_id, ctx.lang)
    return render.details(view, store.rsvps(ctx.services.db, gathering.id), ctx.t)


@family.command(
    "add",
    usage="event add <title> | <when> | <place> [| field: value ...]",
    help=N_(
        "Creates a gathering. One line with parts separated by |, or one `field: value` per line "
        "(title, when, end, tz, place, link, city, country, description, kind, capacity, "
        "languages, reminders, repeat)."
    ),
    examples=(
        "event add Assemblée générale | samedi 18h | Mujawara Tunis | kind: meeting",
        "event add Weekly call | every monday 19:00 | online https://meet.example.org/x",
        "event add\ntitle: Festival des luttes\nwhen: 2026-12-05 18:00\ntz: Africa/Tunis\n"
        "place: k3m9\ncapacity: 40\nlanguages: fr, ar, en",
    ),
)
async def add(ctx: CommandContext) -> None:
    service = _service(ctx)
    existing = store.by_command(ctx.services.db, ctx.event.event_id)
    if existing is not None:  # the same command handled again after a restart
        await _reply_created(ctx, existing)
        return
    fields = forms.parse_form(ctx.rest)
    if "title" not in fields:
        raise UsageError("A gathering needs a title.")
    if "start" not in fields:
        raise UsageError(
            "A gathering needs a date: put it after the title, separated by |, or on a line `when: ...`."
        )
    room_zone = ctx.services.room_timezone(ctx.room_id)
    resolved = _resolve(ctx, fields, zone=room_zone, current=None)
    values: dict[str, Any] = {"tz": room_zone.key, **resolved.values}
    gathering, _created = service.create(
        command_event_id=ctx.event.event_id,
        room_id=ctx.room_id,
        creator=ctx.sender,
        lang=ctx.lang,
        values=values,
    )
    await _reply_created(ctx, gathering)


async def _reply_created(ctx: CommandContext, gathering: Gathering) -> None:
    prefix = ctx.services.config.bot.command_prefix
    text = ctx.t("Gathering {id} created.", id=f"`{gathering.id}`")
    text += "\n\n" + await _card(ctx, gathering)
    text += "\n\n" + ctx.t(
        "Post it with {announce}; change it with {edit}.",
        announce=f"`{prefix}event announce {gathering.id}`",
        edit=f"`{prefix}event edit {gathering.id} when ...`",
    )
    await ctx.reply_text(text)


@family.command(
    "list",
    usage="event list [kind] [week|month] [city or country]",
    help=N_("Lists upcoming gatherings seen in this room (and its relay group)."),
    examples=("event list", "event list festival", "event list week", "event list Tunis"),
)
async def list_(ctx: CommandContext) -> None:
    service = _service(ctx)
    now = utcnow()
    room_zone = ctx.services.room_timezone(ctx.room_id)
    kinds: set[str] = set()
    until: datetime | None = None
    places_words: list[str] = []
    for word in ctx.args:
        folded = forms.fold(word)
        if folded in _FILLER:
            continue
        if (kind := forms.kind_for(word)) is not None:
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
    scope = service.scope(ctx.room_id)
    found = [
        g
        for g in store.visible_in(ctx.services.db, scope.room_ids, now)
        if not g.cancelled
        and (not kinds or g.kind in kinds)
        and (until is None or g.starts_at < until)
        and all(word in _locality(service, g) for word in places_words)
    ][:25]
    if not found:
        if ctx.args:
            await ctx.reply("No upcoming gathering matches {filters}.", filters=" ".join(ctx.args))
        else:
            await ctx.reply(
                "No upcoming gatherings. Create one with {add}.",
                add=ctx.services.command("event add"),
            )
        return
    views = await asyncio.gather(
        *(service.view(g, ctx.room_id, ctx.lang, scope.glossary) for g in found)
    )
    lines = [ctx.t("Upcoming gatherings:")]
    for view in views:
        g = view.gathering
        when = render.format_time(g.starts_at, ZoneInfo(g.tz), ctx.lang) + f" ({g.tz})"
        if room_zone.key != g.tz:
            when += " · " + render.format_time(g.starts_at, room_zone, ctx.lang)
        where = render.place_line(g, view.place, ctx.t, show_contact=False).split("\n")[0]
        kind = ctx.t(forms.KIND_LABELS.get(g.kind, g.kind))
        lines.append(
            f"- `{g.id}` **{view.title}** — {when} — {where} · {kind}".replace(" —  ·", " ·")
        )
    await ctx.reply_text("\n".join(lines))


def _locality(service: Gatherings, gathering: Gathering) -> str:
    place = service.place_of(gathering)
    parts = [gathering.place, gathering.city, gathering.country]
    if place is not None:
        parts += [place.name, place.city, place.country]
    return forms.fold(" ".join(p for p in parts if p))


@family.command(
    "show",
    usage="event show <id>",
    help=N_("Shows a gathering: times in its zone and this room's, place, answers."),
    examples=("event show k3m9",),
)
async def show(ctx: CommandContext) -> None:
    gathering = _find(ctx, ctx.args[0] if ctx.args else None)
    await ctx.reply_text(await _card(ctx, gathering))


@family.command(
    "edit",
    usage="event edit <id> <field> <value>",
    help=N_(
        "Changes a gathering (its creator or a room admin); posted announcements are updated "
        "and people who answered are told."
    ),
    examples=("event edit k3m9 when samedi 19h", "event edit k3m9 capacity 30"),
)
async def edit(ctx: CommandContext) -> None:
    service = _service(ctx)
    gathering = _find(ctx, ctx.args[0] if ctx.args else None)
    _require_manager(ctx, gathering)
    if gathering.cancelled:
        raise CommandError("{id} is cancelled; it cannot be changed.", id=f"`{gathering.id}`")
    remainder = ctx.rest.split(None, 1)[1] if len(ctx.rest.split(None, 1)) > 1 else ""
    fields = forms.parse_edit(remainder)
    zone = ZoneInfo(gathering.tz)
    resolved = _resolve(ctx, fields, zone=zone, current=gathering)
    values = dict(resolved.values)
    if "tz" in values and "starts_at" not in values:
        # a corrected zone keeps the wall-clock time members agreed on
        new_zone = ZoneInfo(str(values["tz"]))
        moved = local_to_utc(utc_to_local_naive(gathering.starts_at, zone), new_zone)
        values["starts_at"] = moved
        if gathering.ends_at is not None:
            values["ends_at"] = local_to_utc(utc_to_local_naive(gathering.ends_at, zone), new_zone)
        if moved <= utcnow():
            raise CommandError(
                "In {zone} that start would be in the past. Nothing was changed.",
                zone=f"`{new_zone.key}`",
            )
    if "title" in values and not values["title"]:
        raise UsageError("A gathering needs a title.")
    if not values:
        raise UsageError("Say which field to change and its new value.")
    updated = await service.edit(gathering, values, ctx.event.event_id)
    text = ctx.t("Gathering {id} updated.", id=f"`{updated.id}`")
    await ctx.reply_text(text + "\n\n" + await _card(ctx, updated))


@family.command(
    "cancel",
    usage="event cancel <id>",
    help=N_("Cancels a gathering (its creator or a room admin); announcements are updated."),
    examples=("event cancel k3m9",),
)
async def cancel(ctx: CommandContext) -> None:
    service = _service(ctx)
    gathering = _find(ctx, ctx.args[0] if ctx.args else None)
    _require_manager(ctx, gathering)
    if gathering.cancelled:
        await ctx.reply("{id} is already cancelled.", id=f"`{gathering.id}`")
        return
    await service.cancel(gathering, ctx.event.event_id)
    await ctx.reply("Gathering {id} is cancelled.", id=f"`{gathering.id}`")


@family.command(
    "announce",
    usage="event announce <id>",
    help=N_(
        "Posts the gathering here and in every room of this room's relay group, each in its own "
        "language; members RSVP by reacting."
    ),
    examples=("event announce k3m9",),
)
async def announce(ctx: CommandContext) -> None:
    service = _service(ctx)
    gathering = _find(ctx, ctx.args[0] if ctx.args else None)
    if not (service.may_manage(gathering, ctx.sender) or ctx.is_room_admin()):
        raise CommandError(
            "Only the person who created {id} or a room admin may announce it.",
            id=f"`{gathering.id}`",
        )
    if gathering.cancelled:
        raise CommandError("{id} is cancelled; it cannot be announced.", id=f"`{gathering.id}`")
    posted = await service.announce(gathering, ctx.room_id)
    done = [room for room, event_id in posted.items() if event_id]
    await ctx.reply("Announced {id} in {count} room(s).", id=f"`{gathering.id}`", count=len(done))


@family.command(
    "rsvp",
    usage="event rsvp <id> yes|maybe|no",
    help=N_(
        "Answers for a gathering (or react ✅ going, 🤔 maybe, ❌ not going on its announcement)."
    ),
    examples=("event rsvp k3m9 yes", "evenement rsvp k3m9 oui", "evento rsvp k3m9 quizás"),
)
async def rsvp(ctx: CommandContext) -> None:
    service = _service(ctx)
    if len(ctx.args) < 2:
        raise UsageError("Give the gathering's id and yes, maybe or no.")
    gathering = _find(ctx, ctx.args[0])
    answer = forms.answer_for(" ".join(ctx.args[1:]))
    if answer is None:
        raise UsageError(
            "I did not understand {answer}: answer yes, maybe or no.",
            answer=f"`{' '.join(ctx.args[1:])}`",
        )
    if gathering.cancelled:
        raise CommandError("{id} is cancelled.", id=f"`{gathering.id}`")
    if (gathering.ends_at or gathering.starts_at) < utcnow():
        raise CommandError("{id} is already over.", id=f"`{gathering.id}`")
    current = await service.answer(
        gathering, ctx.sender, ctx.room_id, answer, cause=ctx.event.event_id
    )
    counts = render.counts_line(gathering, store.rsvps(ctx.services.db, gathering.id), ctx.t)
    if current.waiting:
        text = ctx.t(
            "{id} is full: you are on the waiting list and will be told when a place frees up.",
            id=f"`{gathering.id}`",
        )
    elif answer == "yes":
        text = ctx.t("You are going to {id}.", id=f"`{gathering.id}`")
    elif answer == "maybe":
        text = ctx.t("You might come to {id}.", id=f"`{gathering.id}`")
    else:
        text = ctx.t("You are not going to {id}.", id=f"`{gathering.id}`")
    await ctx.reply_text(text + "\n" + counts)


@family.command(
    "who",
    usage="event who <id>",
    help=N_("Lists who answered (for the creator and room admins only)."),
    examples=("event who k3m9",),
)
async def who(ctx: CommandContext) -> None:
    service = _service(ctx)
    gathering = _find(ctx, ctx.args[0] if ctx.args else None)
    if not (service.may_manage(gathering, ctx.sender) or ctx.is_room_admin()):
        raise CommandError(
            "Only the person who created {id} and room admins may see who answered.",
            id=f"`{gathering.id}`",
        )
    answers = store.rsvps(ctx.services.db, gathering.id)
    matrix = ctx.services.matrix

    def names(selected: list[store.Rsvp]) -> str:
        if not selected:
            return "—"
        return ", ".join(
            f"{matrix.display_name(r.room_id, r.user_id)} ({r.user_id})" for r in selected
        )

    lines = [
        f"**{gathering.title}** (`{gathering.id}`)",
        ctx.t(
            "Going: {names}",
            names=names([r for r in answers if r.answer == "yes" and not r.waiting]),
        ),
        ctx.t("Maybe: {names}", names=names([r for r in answers if r.answer == "maybe"])),
        ctx.t(
            "Waiting list: {names}",
            names=names([r for r in answers if r.answer == "yes" and r.waiting]),
        ),
        ctx.t("Not going: {names}", names=names([r for r in answers if r.answer == "no"])),
    ]
    await ctx.reply_text("\n".join(lines))


@family.command(
    "ics",
    usage="event ics <id>",
    help=N_("Sends the gathering as an .ics file for any calendar app."),
    examples=("event ics k3m9",),
)
async def ics_file(ctx: CommandContext) -> None:
    service = _service(ctx)
    gathering = _find(ctx, ctx.args[0] if ctx.args else None)
    data = service.ics_for(gathering)
    filename = f"{gathering.id}.ics"
    url = await ctx.services.matrix.upload(data, "text/calendar", filename)
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": filename,
        "filename": filename,
        "url": url,
        "info": {"mimetype": "text/calendar", "size": len(data)},
        "m.mentions": {},
        "m.relates_to": {"m.in_reply_to": {"event_id": ctx.event.event_id}},
        LIAISON_KEY: {"kind": "gathering-ics"},
    }
    await ctx.services.matrix.send(
        ctx.room_id, content, txn_id=txn_id_for("gathering-ics", ctx.event.event_id)
    )


@family.command(
    "feed",
    usage="event feed",
    help=N_(
        "Gives room admins the private address of a calendar feed of this room's (or its relay "
        "group's) gatherings."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("event feed",),
)
async def feed(ctx: CommandContext) -> None:
    url = _service(ctx).feed_url(ctx.room_id)
    if url is None:
        raise CommandError(
            "The calendar feed is not available: the bot's web server is off (web.enabled in the configuration)."
        )
    await ctx.reply(
        "Subscribe to this address in your calendar app: {url}\nAnyone who has it can read the calendar, so share it only within the group.",
        url=url,
    )
