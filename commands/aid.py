"""!aid: mutual aid requests and offers, followed from the first message to the outcome.

Where a command is typed decides what it may show: see ``bot/aid/privacy.py`` for the rule.
"""

from __future__ import annotations

from bot.aid import forms, render
from bot.aid.service import LIST_LIMIT, Command, MutualAid
from bot.core.commands import CommandContext, CommandFamily, Permission
from bot.core.errors import UsageError
from bot.core.i18n import N_

family: CommandFamily[MutualAid] = CommandFamily(
    "aid",
    help=N_("Mutual aid: ask for help, offer it, and follow each request to the end."),
    aliases={"fr": ("entraide",), "es": ("apoyo",), "ar": ("عون",)},
)


def typed(ctx: CommandContext) -> Command:
    return Command(ctx.event.event_id, ctx.room_id, ctx.sender, ctx.lang, ctx.args, ctx.rest)


# ---- asking ------------------------------------------------------------------------------------


@family.command(
    "request",
    usage="aid request <category> <urgency> <city, country> [by:<date>] [visibility:<network|coordinators|anonymous>] [dm:yes] <description>",
    help=N_(
        "Asks the network for help. Urgency: today, this week, this month or whenever. Give only a city and a country, never an address. Several lines of field: value work too."
    ),
    aliases=("ask", "demande", "pedido", "طلب"),
    examples=(
        'aid request housing "this week" "Lyon, France" by:friday Bed for two people',
        "aid request legal today Tunis/Tunisia visibility:anonymous Lawyer needed for a hearing",
        "aid request\ncategory: medical\nurgency: this month\nlocation: Bogotá, Colombia\nneeded by: 2026-12-05\nvisibility: coordinators\ndescription: insulin for one person",
    ),
)
async def request(ctx: CommandContext, aid: MutualAid) -> None:
    cmd = typed(ctx)
    saved = aid.submit(cmd)
    # tell first, then answer: the answer says exactly who was told
    spread = await aid.spread(saved, cmd)
    answer = await aid.acknowledgement(saved, cmd, spread)
    await ctx.reply_text(answer.text, mentions=answer.mentions)


# ---- offering ----------------------------------------------------------------------------------


@family.command(
    "offer",
    usage="aid offer <id> <text> | aid offer <category> <city, country> [until:<date>] <text>",
    help=N_(
        "Offers help on a request, or records a standing offer; coordinators hear of matching requests."
    ),
    aliases=("offre", "oferta", "عرض"),
    examples=(
        "aid offer 12 I can drive them on Saturday",
        'aid offer housing "Berlin, Germany" until:2026-12-31 Can host two people in December',
    ),
)
async def offer(ctx: CommandContext, aid: MutualAid) -> None:
    saved, target = await aid.offer(typed(ctx))
    if target is not None:
        await ctx.reply(
            "Thank you: your offer on request {id} was passed to the coordinators.",
            id=f"#{target.id}",
        )
    else:
        await ctx.reply(
            "Thank you: standing offer #{id} is recorded. Coordinators will be told when a request matches it.",
            id=saved.id,
        )
    await aid.pass_on_offer(saved, target)


@family.command(
    "withdraw",
    usage="aid withdraw <offer id>",
    help=N_(
        "Withdraws a standing offer before its end date (its author, coordinators, bot admins)."
    ),
    aliases=("retirer", "retirar", "سحب"),
    examples=("aid withdraw 3",),
)
async def withdraw(ctx: CommandContext, aid: MutualAid) -> None:
    offer = aid.withdraw(typed(ctx))
    await ctx.reply(
        "Standing offer {id} is withdrawn: coordinators will no longer hear of requests it matches.",
        id=f"#{offer.id}",
    )


@family.command(
    "offers",
    usage="aid offers",
    help=N_("Lists the standing offers still valid."),
    aliases=("offres", "ofertas", "العروض"),
    examples=("aid offers",),
)
async def offers(ctx: CommandContext, aid: MutualAid) -> None:
    lines = aid.standing_offer_lines(ctx.room_id, ctx.lang)
    if not lines:
        await ctx.reply("There are no standing offers at the moment.")
        return
    await ctx.reply_text(
        "\n".join([ctx.t("**Standing offers**"), *(f"- {line}" for line in lines)])
    )


# ---- the lifecycle -----------------------------------------------------------------------------


async def _now_status(ctx: CommandContext, request_id: str, status: str) -> None:
    await ctx.reply(
        "Aid request {id} is now {status}.",
        id=f"#{request_id}",
        status=ctx.t(render.STATUS_LABELS.get(status, status)),
    )


@family.command(
    "claim",
    usage="aid claim <id>",
    help=N_("Takes a request on: you follow it up until it is closed."),
    aliases=("prendre", "tomar", "تولى"),
    examples=("aid claim 12",),
)
async def claim(ctx: CommandContext, aid: MutualAid) -> None:
    entry = await aid.claim(typed(ctx))
    await _now_status(ctx, aid.shown_id(entry), entry.status)


@family.command(
    "update",
    usage="aid update <id> <note>",
    help=N_("Adds news to a request you follow (this also stops the reminders)."),
    aliases=("nouvelles", "novedad", "تحديث", "actualiser", "actualizar"),
    examples=("aid update 12 Found a van, leaving Friday",),
)
async def update(ctx: CommandContext, aid: MutualAid) -> None:
    entry = await aid.progress(typed(ctx), "update")
    await ctx.reply(
        "Noted on aid request {id}: {note}. It is {status}.",
        id=f"#{aid.shown_id(entry)}",
        note=f"“{render.summary(entry.note or '', 200)}”",
        status=ctx.t(render.STATUS_LABELS.get(entry.status, entry.status)),
    )


@family.command(
    "partial",
    usage="aid partial <id> <note>",
    help=N_("Records that part of a request was given (material aid); the request stays open."),
    aliases=("partiel", "parcial", "جزئي"),
    examples=("aid partial 12 20 of the 50 blankets delivered",),
)
async def partial(ctx: CommandContext, aid: MutualAid) -> None:
    entry = await aid.progress(typed(ctx), "partial")
    await ctx.reply(
        "Noted on aid request {id}: {note}. It is {status}.",
        id=f"#{aid.shown_id(entry)}",
        note=f"“{render.summary(entry.note or '', 200)}”",
        status=ctx.t(render.STATUS_LABELS.get(entry.status, entry.status)),
    )


@family.command(
    "close",
    usage="aid close <id> <fulfilled|closed|duplicate [of-id]|transferred> [note]",
    help=N_(
        "Closes a request with its outcome: fulfilled, closed, duplicate (of another request) or transferred (sent to another group)."
    ),
    aliases=("fermer", "cerrar", "إغلاق", "clore"),
    examples=(
        "aid close 12 fulfilled Housed with a comrade",
        "aid close 14 duplicate 12",
        "aid close 15 transferred Passed to the Marseille legal team",
    ),
)
async def close(ctx: CommandContext, aid: MutualAid) -> None:
    entry = await aid.close(typed(ctx))
    await _now_status(ctx, aid.shown_id(entry), entry.status)


# ---- looking ------------------------------------------------------------------------------------


@family.command(
    "list",
    usage="aid list [open|mine|all|<category>|<country>|<urgency>]",
    help=N_("Lists the requests you may see here (the open ones, unless you choose a filter)."),
    aliases=("liste", "lista", "قائمة"),
    examples=("aid list", "aid list housing", "aid list mine", "aid list France"),
)
async def list_requests(ctx: CommandContext, aid: MutualAid) -> None:
    found = aid.listing(ctx.room_id, ctx.sender, " ".join(ctx.args).strip())
    if not found:
        await ctx.reply("No aid requests to show here.")
        return
    lines = [ctx.t("**Aid requests** ({count})", count=len(found))]
    for item in found[:LIST_LIMIT]:
        marker = " 🔒" if item.private else ""
        lines.append("- " + render.list_line(item, ctx.t, marker=marker))
    if len(found) > LIST_LIMIT:
        lines.append(ctx.t("… and {count} more.", count=len(found) - LIST_LIMIT))
    await ctx.reply_text("\n".join(lines))


@family.command(
    "show",
    usage="aid show <id>",
    help=N_("Shows one request, with the offers made on it."),
    aliases=("voir", "ver", "عرض_طلب", "اعرض"),
    examples=("aid show 12",),
)
async def show(ctx: CommandContext, aid: MutualAid) -> None:
    await ctx.reply_text(await aid.show(typed(ctx).number(), ctx.room_id, ctx.sender, ctx.lang))


@family.command(
    "history",
    usage="aid history <id>",
    help=N_("Shows who changed a request, when, and why (in the coordinators' rooms)."),
    aliases=("historique", "historial", "سجل"),
    examples=("aid history 12",),
)
async def history(ctx: CommandContext, aid: MutualAid) -> None:
    await ctx.reply_text("\n".join(aid.history(typed(ctx))))


# ---- data ---------------------------------------------------------------------------------------


@family.command(
    "export",
    usage="aid export",
    help=N_(
        "Uploads a CSV file of the requests that may be seen in this room (coordinators and bot admins)."
    ),
    aliases=("exporter", "exportar", "تصدير"),
    examples=("aid export",),
)
async def export(ctx: CommandContext, aid: MutualAid) -> None:
    await aid.upload_export(ctx.room_id, ctx.sender, ctx.event.event_id, ctx.thread_root)


@family.command(
    "forget",
    usage="aid forget <id>",
    help=N_(
        "Erases the personal details of a closed request (who, where exactly, what was written); category, country, dates and outcome stay for the records."
    ),
    aliases=("oublier", "olvidar", "انسى"),
    examples=("aid forget 12",),
)
async def forget(ctx: CommandContext, aid: MutualAid) -> None:
    number = aid.forget(typed(ctx))
    await ctx.reply("The personal details of aid request {id} are erased.", id=f"#{number}")


@family.command(
    "audit",
    usage="aid audit <id>",
    help=N_(
        "Shows who asked for a request, even an anonymous one (bot admins, in a direct chat only)."
    ),
    permission=Permission.BOT_ADMIN,
    aliases=("auditer", "auditar", "تدقيق"),
    examples=("aid audit 12",),
)
async def audit(ctx: CommandContext, aid: MutualAid) -> None:
    found = aid.audit(typed(ctx))
    target = found.request
    lines = [
        ctx.t("**Audit of aid request #{id}**", id=target.id),
        ctx.t("Asked by: {who}", who=target.requester or ctx.t("(erased)")),
        ctx.t("Asked in: {room}", room=target.room_id or ctx.t("(erased)")),
        ctx.t(
            "Visibility: {visibility}", visibility=ctx.t(forms.VISIBILITY_LABELS[target.visibility])
        ),
    ]
    tz = ctx.timezone
    for entry in found.history:
        lines.append(
            render.history_line(entry, ctx.t, lang=ctx.lang, tz=tz, actor=entry.actor or "…")
        )
    await ctx.reply_text("\n".join(lines))


@family.command(
    "coordinators",
    usage="aid coordinators <add|remove|list>",
    help=N_("Makes this room a coordinators' room (or not), or lists them (bot admins)."),
    permission=Permission.BOT_ADMIN,
    aliases=("coordinateurs", "coordination", "coordinadores", "المنسقون"),
    examples=("aid coordinators add", "aid coordinators list"),
)
async def coordinators(ctx: CommandContext, aid: MutualAid) -> None:
    action = ctx.args[0].lower() if ctx.args else ""
    if action in ("add", "ajouter", "añadir", "anadir", "أضف"):
        posted = await aid.add_coordinator_room(ctx.room_id, ctx.sender)
        text = ctx.t("This room is now a coordinators' room: every new aid request is posted here.")
        if posted:
            text += " " + ctx.tn(
                "The {count} request still open was posted here just now.",
                "The {count} requests still open were posted here just now.",
                posted,
            )
        await ctx.reply_text(text)
    elif action in ("remove", "retirer", "quitar", "أزل"):
        aid.remove_coordinator_room(ctx.room_id)
        await ctx.reply("This room is no longer a coordinators' room.")
    elif action in ("list", "liste", "lista", "قائمة"):
        names = [f"- {aid.room_name(r)} (`{r}`)" for r in aid.coordinator_rooms()]
        if not names:
            await ctx.reply(
                "There is no coordinators' room yet. Type {command} in one.",
                command=ctx.command("aid coordinators add"),
            )
            return
        await ctx.reply_text("\n".join([ctx.t("**Coordinators' rooms**"), *names]))
    else:
        raise UsageError("Say add, remove or list.")
