"""!schedule: announcements posted later, once or repeatedly, to this room, its relay group or
a list of rooms, each copy in its room's language."""

from __future__ import annotations

from bot.core.commands import CommandContext, CommandFamily, Permission
from bot.core.errors import UsageError
from bot.core.i18n import N_
from bot.core.time.parse import format_local
from bot.schedules import forms, render
from bot.schedules.service import Schedule, Schedules

family: CommandFamily[Schedules] = CommandFamily(
    "schedule",
    help=N_(
        "Plans announcements: once or repeating, to this room, its relay group or other rooms."
    ),
    aliases={"fr": ("programme",), "es": ("programa",), "ar": ("جدولة",)},
)


def _first(ctx: CommandContext) -> str | None:
    return ctx.args[0] if ctx.args else None


def _summary(ctx: CommandContext, schedule: Schedule, headline: str) -> str:
    return render.summary(ctx.speaker, ctx.command, ctx.rooms.names, schedule, headline)


@family.command(
    "add",
    usage="schedule add [--group | --rooms !a:hs,!b:hs] <when> <text>",
    help=N_(
        "Plans a post: a date in words, a repetition (every monday 18:00) or cron. Room admins; members too when approval is on."
    ),
    aliases=("ajouter", "créer", "añadir", "crear", "أضف"),
    examples=(
        "schedule add tomorrow 9:00 The kitchen opens at noon",
        "schedule add every monday 18:00 **Weekly call** at 19:00",
        "schedule add --group cron 0 9 1 * * Monthly assembly notice",
    ),
)
async def add(ctx: CommandContext, schedules: Schedules) -> None:
    schedule = schedules.add(
        command_event_id=ctx.event.event_id,
        room_id=ctx.room_id,
        author=ctx.sender,
        lang=ctx.lang,
        rest=ctx.rest,
    )
    await ctx.reply_text(render.confirm_added(ctx.speaker, ctx.command, ctx.rooms.names, schedule))


@family.command(
    "list",
    usage="schedule list",
    help=N_("Lists this room's scheduled posts."),
    aliases=("liste", "lista", "قائمة"),
    examples=("schedule list",),
)
async def list_schedules(ctx: CommandContext, schedules: Schedules) -> None:
    found = schedules.in_room(ctx.room_id)
    if not found:
        await ctx.reply(
            "No posts are scheduled in this room. Add one with {add}.",
            add=ctx.command("schedule add"),
        )
        return
    lines = [ctx.t("**Scheduled posts** (time zone {zone}):", zone=found[0].tz)]
    lines.extend(render.list_line(ctx.speaker, schedule) for schedule in found)
    await ctx.reply_text("\n".join(lines))


@family.command(
    "show",
    usage="schedule show <id>",
    help=N_("Shows one scheduled post: its times, targets, text and last firings."),
    aliases=("voir", "ver", "عرض"),
    examples=("schedule show 3",),
)
async def show(ctx: CommandContext, schedules: Schedules) -> None:
    schedule = schedules.own(ctx.room_id, _first(ctx))
    author = schedule.author or ctx.t("(erased)")
    headline = ctx.t("**Schedule #{id}** by {author}", id=schedule.id, author=author)
    blocks = [
        _summary(ctx, schedule, headline),
        render.status_line(ctx.speaker, ctx.command, schedule),
        ctx.t("Text:") + "\n" + "\n".join(f"> {line}" for line in schedule.text.splitlines()),
    ]
    firings = schedules.recent_firings(schedule)
    if firings:
        lines = [ctx.t("Last firings:")]
        for firing in firings:
            label = ctx.t(render.FIRING_LABELS.get(firing.status, firing.status))
            when = format_local(firing.due_at, render.zone(schedule), ctx.lang)
            lines.append(f"- {when}: {label}")
        blocks.append("\n".join(lines))
    await ctx.reply_text("\n\n".join(blocks))


@family.command(
    "edit",
    usage="schedule edit <id> when <when> | schedule edit <id> text <text>",
    help=N_("Changes the time or the text of a scheduled post."),
    permission=Permission.ROOM_ADMIN,
    aliases=("modifier", "editar", "تعديل"),
    examples=("schedule edit 3 when every tuesday 18:00", "schedule edit 3 text New text"),
)
async def edit(ctx: CommandContext, schedules: Schedules) -> None:
    schedule = schedules.edit(ctx.room_id, ctx.sender, ctx.rest, lang=ctx.lang)
    await ctx.reply_text(_summary(ctx, schedule, ctx.t("Schedule #{id} changed.", id=schedule.id)))


@family.command(
    "pause",
    usage="schedule pause <id>",
    help=N_("Stops a scheduled post until it is resumed."),
    permission=Permission.ROOM_ADMIN,
    aliases=("pausa", "أوقف"),
    examples=("schedule pause 3",),
)
async def pause(ctx: CommandContext, schedules: Schedules) -> None:
    schedule = schedules.pause_in(ctx.room_id, _first(ctx))
    await ctx.reply(
        "Schedule #{id} is paused. Resume it with {resume}.",
        id=schedule.id,
        resume=ctx.command(f"schedule resume {schedule.id}"),
    )


@family.command(
    "resume",
    usage="schedule resume <id>",
    help=N_("Starts a paused post again from now on; you become responsible for it."),
    permission=Permission.ROOM_ADMIN,
    aliases=("reprendre", "reanudar", "استئناف"),
    examples=("schedule resume 3",),
)
async def resume(ctx: CommandContext, schedules: Schedules) -> None:
    schedule = schedules.resume_in(ctx.room_id, _first(ctx), ctx.sender)
    await ctx.reply_text(
        _summary(ctx, schedule, ctx.t("Schedule #{id} is active again.", id=schedule.id))
    )


@family.command(
    "approve",
    usage="schedule approve <id>",
    help=N_("Approves a member's draft so that it is posted."),
    permission=Permission.ROOM_ADMIN,
    aliases=("approuver", "valider", "aprobar", "وافق"),
    examples=("schedule approve 4",),
)
async def approve(ctx: CommandContext, schedules: Schedules) -> None:
    schedule = schedules.approve_in(ctx.room_id, _first(ctx), ctx.sender)
    await ctx.reply_text(
        _summary(ctx, schedule, ctx.t("Schedule #{id} is approved.", id=schedule.id))
    )


@family.command(
    "remove",
    usage="schedule remove <id>",
    help=N_("Deletes a scheduled post."),
    permission=Permission.ROOM_ADMIN,
    aliases=("supprimer", "retirer", "eliminar", "borrar", "حذف"),
    examples=("schedule remove 3",),
)
async def remove(ctx: CommandContext, schedules: Schedules) -> None:
    schedule = schedules.remove_in(ctx.room_id, _first(ctx))
    await ctx.reply("Schedule #{id} is removed.", id=schedule.id)


@family.command(
    "preview",
    usage="schedule preview <id>",
    help=N_("Shows a scheduled post now, as this room will see it (nothing is posted elsewhere)."),
    aliases=("aperçu", "vista", "previa", "معاينة"),
    examples=("schedule preview 3",),
)
async def preview(ctx: CommandContext, schedules: Schedules) -> None:
    schedule, rendered = await schedules.preview(ctx.room_id, _first(ctx), ctx.lang)
    await ctx.reply_text(
        ctx.t("Preview of schedule #{id}:", id=schedule.id) + "\n\n" + rendered,
        reveal_links=True,
    )


@family.command(
    "approval",
    usage="schedule approval on|off",
    help=N_("With approval on, members may propose posts as drafts that a room admin approves."),
    permission=Permission.ROOM_ADMIN,
    aliases=("validation", "approbation", "aprobación", "موافقة"),
    examples=("schedule approval on",),
)
async def approval(ctx: CommandContext, schedules: Schedules) -> None:
    word = ctx.args[0].lower() if ctx.args else ""
    if word in forms.ON_WORDS:
        schedules.set_approval(ctx.room_id, True)
        await ctx.reply("Members may now propose scheduled posts; a room admin approves each one.")
    elif word in forms.OFF_WORDS:
        schedules.set_approval(ctx.room_id, False)
        await ctx.reply("Only room admins may schedule posts here now.")
    else:
        raise UsageError("Say `on` or `off`.")
