"""!event: gatherings — create, list, show, edit, cancel, announce, RSVP, calendars."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.core.commands import CommandContext, CommandFamily, Permission
from bot.core.errors import UsageError
from bot.core.i18n import N_
from bot.core.text.echo import echo
from bot.gatherings import forms, render
from bot.gatherings.service import Gatherings

family: CommandFamily[Gatherings] = CommandFamily(
    "event",
    help=N_("Gatherings: create, announce in every language, RSVP, reminders, calendars."),
    aliases={"fr": ("evenement", "événement"), "es": ("evento",), "ar": ("فعالية",)},
)


def _first(ctx: CommandContext) -> str | None:
    return ctx.args[0] if ctx.args else None


@family.command(
    "add",
    usage="event add <title> | <when> | <place> [| field: value ...]",
    help=N_(
        "Creates a gathering. One line with parts separated by |, or one `field: value` per line "
        "(title, when, end, tz, place, link, city, country, description, kind, capacity, "
        "languages, reminders, repeat, public)."
    ),
    aliases=("ajouter", "créer", "añadir", "crear", "أضف"),
    examples=(
        "event add Assemblée générale | samedi 18h | Mujawara Tunis | kind: meeting",
        "event add Weekly call | every monday 19:00 | online https://meet.example.org/x",
        "event add\ntitle: Festival des luttes\nwhen: 2026-12-05 18:00\ntz: Africa/Tunis\n"
        "place: k3m9\ncapacity: 40\nlanguages: fr, ar, en",
    ),
)
async def add(ctx: CommandContext, gatherings: Gatherings) -> None:
    gathering = gatherings.add(
        command_event_id=ctx.event.event_id,
        room_id=ctx.room_id,
        creator=ctx.sender,
        lang=ctx.lang,
        text=ctx.rest,
    )
    text = ctx.t("Gathering {id} created.", id=f"`{gathering.id}`")
    text += "\n\n" + await gatherings.card(gathering, ctx.room_id, ctx.lang)
    text += "\n\n" + ctx.t(
        "Post it with {announce}; change it with {edit}.",
        announce=ctx.command(f"event announce {gathering.id}"),
        edit=ctx.command(f"event edit {gathering.id} when ..."),
    )
    await ctx.reply_text(text)


_SHOWN = N_(
    "Shown there: its title, description, date and time with the zone, city and country (or its place's public address), its link, kind and spoken languages. Never shown: who answered, contacts, rooms."
)


@family.command(
    "publish",
    usage="event publish <id>",
    help=N_(
        "Puts a gathering on the group's public agenda, a web page anyone can read (the "
        "group's stewards; for a room in no group, its admins)."
    ),
    examples=("event publish k3m9",),
)
async def publish(ctx: CommandContext, gatherings: Gatherings) -> None:
    gathering, changed = gatherings.publish_for(_first(ctx), ctx.sender, public=True)
    url = gatherings.public_url(gathering)
    if not changed:
        await ctx.reply(
            "{id} is already on the public agenda: {url}", id=f"`{gathering.id}`", url=url
        )
        return
    await ctx.reply_text(
        ctx.t("Gathering {id} is now on the public agenda: {url}", id=f"`{gathering.id}`", url=url)
        + "\n"
        + ctx.t(_SHOWN)
    )


@family.command(
    "unpublish",
    usage="event unpublish <id>",
    help=N_("Takes a gathering off the public agenda, its page and feeds, at once."),
    examples=("event unpublish k3m9",),
)
async def unpublish(ctx: CommandContext, gatherings: Gatherings) -> None:
    gathering, changed = gatherings.publish_for(_first(ctx), ctx.sender, public=False)
    if not changed:
        await ctx.reply(
            "{id} was not on the public agenda. Nothing was changed.", id=f"`{gathering.id}`"
        )
        return
    await ctx.reply(
        "Gathering {id} is no longer public: the agenda, its page and the feeds no longer show it.",
        id=f"`{gathering.id}`",
    )


@family.command(
    "list",
    usage="event list [kind] [week|month] [city or country]",
    help=N_("Lists upcoming gatherings seen in this room (and its relay group)."),
    aliases=("liste", "lista", "قائمة"),
    examples=("event list", "event list festival", "event list week", "event list Tunis"),
)
async def list_(ctx: CommandContext, gatherings: Gatherings) -> None:
    views = await gatherings.upcoming(ctx.room_id, ctx.lang, ctx.args, ctx.sender)
    if not views:
        if ctx.args:
            await ctx.reply(
                "No upcoming gathering matches {filters}.", filters=echo(" ".join(ctx.args))
            )
        else:
            await ctx.reply(
                "No upcoming gatherings. Create one with {add}.", add=ctx.command("event add")
            )
        return
    room_zone = ctx.timezone
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
    await ctx.reply_text("\n".join(lines), reveal_links=True)


@family.command(
    "show",
    usage="event show <id>",
    help=N_("Shows a gathering: times in its zone and this room's, place, answers."),
    aliases=("voir", "ver", "عرض"),
    examples=("event show k3m9",),
)
async def show(ctx: CommandContext, gatherings: Gatherings) -> None:
    gathering = gatherings.find(_first(ctx))
    await ctx.reply_text(await gatherings.card(gathering, ctx.room_id, ctx.lang), reveal_links=True)


@family.command(
    "edit",
    usage="event edit <id> <field> <value>",
    help=N_(
        "Changes a gathering (its creator or a room admin); posted announcements are updated "
        "and people who answered are told."
    ),
    aliases=("modifier", "editar", "تعديل"),
    examples=("event edit k3m9 when samedi 19h", "event edit k3m9 capacity 30"),
)
async def edit(ctx: CommandContext, gatherings: Gatherings) -> None:
    remainder = ctx.rest.split(None, 1)[1] if len(ctx.rest.split(None, 1)) > 1 else ""
    updated = await gatherings.change(
        _first(ctx), ctx.sender, remainder, lang=ctx.lang, cause=ctx.event.event_id
    )
    text = ctx.t("Gathering {id} updated.", id=f"`{updated.id}`")
    await ctx.reply_text(text + "\n\n" + await gatherings.card(updated, ctx.room_id, ctx.lang))


@family.command(
    "cancel",
    usage="event cancel <id>",
    help=N_("Cancels a gathering (its creator or a room admin); announcements are updated."),
    aliases=("annuler", "cancelar", "إلغاء"),
    examples=("event cancel k3m9",),
)
async def cancel(ctx: CommandContext, gatherings: Gatherings) -> None:
    gathering, cancelled_now = await gatherings.cancel_for(
        _first(ctx), ctx.sender, ctx.event.event_id
    )
    if not cancelled_now:
        await ctx.reply("{id} is already cancelled.", id=f"`{gathering.id}`")
        return
    await ctx.reply("Gathering {id} is cancelled.", id=f"`{gathering.id}`")


@family.command(
    "announce",
    usage="event announce <id>",
    help=N_(
        "Posts the gathering here and, for the stewards of this room's relay group, in every "
        "room of the group, each in its own language; members RSVP by reacting."
    ),
    aliases=("annoncer", "anunciar", "أعلن"),
    examples=("event announce k3m9",),
)
async def announce(ctx: CommandContext, gatherings: Gatherings) -> None:
    gathering, count, limited = await gatherings.announce_for(
        _first(ctx), ctx.room_id, ctx.sender, thread_root=ctx.thread_root
    )
    await ctx.reply_text(
        ctx.tn(
            "Announced {id} in {count} room.",
            "Announced {id} in {count} rooms.",
            count,
            id=f"`{gathering.id}`",
        )
    )
    if limited is not None:
        await ctx.reply(limited.message, **limited.params)


@family.command(
    "rsvp",
    usage="event rsvp <id> yes|maybe|no",
    help=N_(
        "Answers for a gathering (or react ✅ going, 🤔 maybe, ❌ not going on its announcement)."
    ),
    aliases=("réponse", "repondre", "répondre", "respuesta", "responder", "رد"),
    examples=("event rsvp k3m9 yes", "evenement rsvp k3m9 oui", "evento rsvp k3m9 quizás"),
)
async def rsvp(ctx: CommandContext, gatherings: Gatherings) -> None:
    if len(ctx.args) < 2:
        raise UsageError("Give the gathering's id and yes, maybe or no.")
    gathering, current, answer = await gatherings.rsvp(
        ctx.args[0], " ".join(ctx.args[1:]), ctx.sender, ctx.room_id, cause=ctx.event.event_id
    )
    ident = f"`{gathering.id}`"
    if current.waiting:
        text = ctx.t(
            "{id} is full: you are on the waiting list and will be told when a place frees up.",
            id=ident,
        )
    elif answer == "yes":
        text = ctx.t("You are going to {id}.", id=ident)
    elif answer == "maybe":
        text = ctx.t("You might come to {id}.", id=ident)
    else:
        text = ctx.t("You are not going to {id}.", id=ident)
    await ctx.reply_text(text + "\n" + gatherings.counts_line(gathering, ctx.lang))


@family.command(
    "who",
    usage="event who <id>",
    help=N_("Lists who answered (for the creator and room admins only)."),
    aliases=("qui", "quién", "quien", "من"),
    examples=("event who k3m9",),
)
async def who(ctx: CommandContext, gatherings: Gatherings) -> None:
    gathering, names = gatherings.who(_first(ctx), ctx.sender, ctx.room_id)

    def listed(key: str) -> str:
        return ", ".join(names.get(key, [])) or "—"

    lines = [
        f"**{gathering.title}** (`{gathering.id}`)",
        ctx.t("Going: {names}", names=listed("yes")),
        ctx.t("Maybe: {names}", names=listed("maybe")),
        ctx.t("Waiting list: {names}", names=listed("waiting")),
        ctx.t("Not going: {names}", names=listed("no")),
    ]
    await ctx.reply_text("\n".join(lines))


@family.command(
    "ics",
    usage="event ics <id>",
    help=N_("Sends the gathering as an .ics file for any calendar app."),
    aliases=("calendrier", "calendario", "تقويم"),
    examples=("event ics k3m9",),
)
async def ics_file(ctx: CommandContext, gatherings: Gatherings) -> None:
    await gatherings.send_ics(_first(ctx), ctx.room_id, ctx.event.event_id, ctx.thread_root)


@family.command(
    "feed",
    usage="event feed",
    help=N_(
        "Gives room admins the private address of a calendar feed of this room's gatherings (of "
        "its relay group's, for the group's stewards)."
    ),
    permission=Permission.ROOM_ADMIN,
    aliases=("flux", "suscripción", "suscripcion", "اشتراك"),
    examples=("event feed",),
)
async def feed(ctx: CommandContext, gatherings: Gatherings) -> None:
    url, scope = gatherings.feed_url(ctx.room_id, ctx.sender)
    await ctx.reply(
        "Subscribe to this address in your calendar app: {url}\nAnyone who has it can read the calendar, so share it only within the group.",
        url=url,
    )
    if scope.limited is not None:
        await ctx.reply(
            "This feed holds the gatherings of this room only: the feed of the whole relay group is for its stewards."
        )
