"""!aid: mutual aid requests and offers, followed from the first message to the outcome.

Where a command is typed decides what it may show: see ``bot/aid/service.py`` for the rule.
"""

from __future__ import annotations

from bot.aid import forms, render, store
from bot.aid.service import MutualAid, not_found
from bot.aid.store import ACTIVE, TERMINAL, AidRequest, HistoryEntry, NewRequest
from bot.core.command import CommandFamily, Permission
from bot.core.context import CommandContext
from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_
from bot.core.storage.database import utcnow

family = CommandFamily(
    "aid",
    help=N_("Mutual aid: ask for help, offer it, and follow each request to the end."),
    aliases={"fr": ("entraide",), "es": ("apoyo",), "ar": ("عون",)},
)

LIST_LIMIT = 30
OUTCOMES = forms.aliases(
    {
        "fulfilled": "fulfilled",
        "done": "fulfilled",
        "closed": "closed",
        "close": "closed",
        "cancelled": "closed",
        "duplicate": "duplicate",
        "transferred": "transferred",
        "sent": "transferred",
        "forwarded": "transferred",
        "satisfaite": "fulfilled",
        "realisee": "fulfilled",
        "fermee": "closed",
        "annulee": "closed",
        "doublon": "duplicate",
        "transmise": "transferred",
        "cumplida": "fulfilled",
        "cerrada": "closed",
        "cancelada": "closed",
        "duplicada": "duplicate",
        "transferida": "transferred",
        "تمت": "fulfilled",
        "مغلق": "closed",
        "مكرر": "duplicate",
        "محول": "transferred",
    }
)


def desk(ctx: CommandContext) -> MutualAid:
    aid = ctx.services.aid
    if aid is None:
        raise CommandError("Mutual aid is not enabled on this bot.")
    return aid


def request_id(ctx: CommandContext, position: int = 0) -> int:
    if len(ctx.args) <= position:
        raise UsageError("Give the number of the request, for example {example}.", example="`12`")
    number = forms.parse_id(ctx.args[position])
    if number is None:
        raise UsageError(
            "{value} is not a request number. Use the number shown as #12.",
            value=f"`{ctx.args[position]}`",
        )
    return number


def note_after(ctx: CommandContext, words: int) -> str | None:
    """The free text after the first ``words`` words of the raw command (keeps newlines)."""
    parts = ctx.rest.split(None, words)
    note = parts[words].strip() if len(parts) > words else ""
    return note or None


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
async def request(ctx: CommandContext) -> None:
    aid = desk(ctx)
    services = ctx.services
    existing = store.request_by_event(services.db, ctx.event.event_id)
    if existing is None:
        form = forms.parse_request(
            ctx.rest,
            categories=services.config.aid.categories,
            lang=ctx.lang,
            tz=services.room_timezone(ctx.room_id),
            now=utcnow(),
        )
        new = NewRequest(
            event_id=ctx.event.event_id,
            room_id=ctx.room_id,
            lang=ctx.lang,
            requester=ctx.sender,
            category=form.category,
            urgency=form.urgency,
            city=form.city,
            country=form.country,
            needed_by=form.needed_by,
            description=form.description,
            visibility=form.visibility,
            notify_dm=form.notify_dm,
        )
        saved, _created = store.create_request(services.db, new, utcnow())
    else:
        saved = existing
    await acknowledge(ctx, aid, saved)
    await aid.announce(saved)
    await aid.match_request(saved)


async def acknowledge(ctx: CommandContext, aid: MutualAid, saved: AidRequest) -> None:
    """The answer where the request was typed; a private one is never described in a shared room."""
    if aid.can_see(saved, ctx.room_id, ctx.sender):
        body = await aid.card(saved, ctx.room_id, ctx.lang)
        urgent = saved.urgency == "today" and aid.is_coordinator_room(ctx.room_id)
        intro = ctx.t(
            "Recorded. Follow it with {show}; coordinators have been told.",
            show=ctx.services.command(f"aid show {saved.id}"),
        )
        text = f"{intro}\n\n{body}"
        if urgent:
            text = f"{aid.urgent_line(ctx.lang)}\n\n{text}"
        await ctx.reply_text(text, mentions=aid.on_call_mentions() if urgent else None)
        return
    await ctx.reply(
        "Received. This request goes only to the coordinators; I will write to you about it in a direct chat."
    )
    room_id = await aid.requester_room(saved)
    if room_id is not None and room_id != ctx.room_id:
        lang = ctx.services.room_language(room_id)
        body = await aid.card(saved, room_id, lang)
        intro = ctx.services.text(
            lang,
            "Your request is recorded and only the coordinators see it. Follow it here with {show}.",
            show=ctx.services.command(f"aid show {saved.id}"),
        )
        await aid.send(room_id, f"{intro}\n\n{body}", txn_key=f"aid-ack:{saved.id}", lang=lang)


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
async def offer(ctx: CommandContext) -> None:
    aid = desk(ctx)
    services = ctx.services
    if not ctx.args:
        raise UsageError("Tell me what you offer: category, location and a description.")
    number = forms.parse_id(ctx.args[0])
    now = utcnow()
    if number is not None:
        target = aid.visible(number, ctx.room_id, ctx.sender)
        text = note_after(ctx, 1)
        if not text:
            raise UsageError("Say what you offer after the request number.")
        if not target.active:
            raise CommandError(
                "Aid request {id} is no longer open ({status}).",
                id=f"#{target.id}",
                status=ctx.t(render.STATUS_LABELS.get(target.status, target.status)),
            )
        saved, _ = store.add_offer(
            services.db,
            event_id=ctx.event.event_id,
            request_id=target.id,
            offerer=ctx.sender,
            room_id=ctx.room_id,
            lang=ctx.lang,
            category=None,
            city="",
            country=None,
            until=None,
            text=text,
            now=now,
        )
        await ctx.reply(
            "Thank you: your offer on request {id} was passed to the coordinators.",
            id=f"#{target.id}",
        )
        await aid.announce_offer(saved, target)
        return
    form = forms.parse_standing_offer(
        ctx.rest,
        categories=services.config.aid.categories,
        lang=ctx.lang,
        tz=services.room_timezone(ctx.room_id),
        now=now,
    )
    saved, _ = store.add_offer(
        services.db,
        event_id=ctx.event.event_id,
        request_id=None,
        offerer=ctx.sender,
        room_id=ctx.room_id,
        lang=ctx.lang,
        category=form.category,
        city=form.city,
        country=form.country,
        until=form.until,
        text=form.text,
        now=now,
    )
    await ctx.reply(
        "Thank you: standing offer #{id} is recorded. Coordinators will be told when a request matches it.",
        id=saved.id,
    )
    await aid.match_offer(saved)


@family.command(
    "offers",
    usage="aid offers",
    help=N_("Lists the standing offers still valid."),
    examples=("aid offers",),
)
async def offers(ctx: CommandContext) -> None:
    aid = desk(ctx)
    tz = ctx.services.room_timezone(ctx.room_id)
    found = store.standing_offers(ctx.services.db, utcnow())
    if not found:
        await ctx.reply("There are no standing offers at the moment.")
        return
    lines = [ctx.t("**Standing offers**")]
    for item in found[:LIST_LIMIT]:
        line = render.offer_line(
            item, ctx.t, lang=ctx.lang, tz=tz, who=aid.person(ctx.room_id, item.offerer)
        )
        lines.append(f"- {line}")
    await ctx.reply_text("\n".join(lines))


# ---- the lifecycle -----------------------------------------------------------------------------


async def finish(ctx: CommandContext, aid: MutualAid, entry: HistoryEntry) -> None:
    request = store.get_request(ctx.services.db, entry.request_id)
    assert request is not None
    await aid.after_change(request, entry)
    status = ctx.t(render.STATUS_LABELS.get(entry.status, entry.status))
    await ctx.reply("Aid request {id} is now {status}.", id=f"#{request.id}", status=status)


def replayed(ctx: CommandContext) -> HistoryEntry | None:
    return store.history_by_event(ctx.services.db, ctx.event.event_id)


@family.command(
    "claim",
    usage="aid claim <id>",
    help=N_("Takes a request on: you follow it up until it is closed."),
    aliases=("prendre", "tomar", "تولى"),
    examples=("aid claim 12",),
)
async def claim(ctx: CommandContext) -> None:
    aid = desk(ctx)
    entry = replayed(ctx)
    if entry is None:
        target = aid.visible(request_id(ctx), ctx.room_id, ctx.sender)
        if target.requester == ctx.sender:
            raise CommandError("You cannot claim your own request {id}.", id=f"#{target.id}")
        if target.status != "open":
            raise CommandError(
                "Aid request {id} is not open any more ({status}).",
                id=f"#{target.id}",
                status=ctx.t(render.STATUS_LABELS.get(target.status, target.status)),
            )
        entry = store.change(
            ctx.services.db,
            target.id,
            event_id=ctx.event.event_id,
            actor=ctx.sender,
            action="claim",
            status="in_progress",
            note=note_after(ctx, 1),
            now=utcnow(),
            expect=("open",),
            claimer=ctx.sender,
            claim_room=ctx.room_id,
        )
        if entry is None:
            raise CommandError(
                "Aid request {id} changed meanwhile; look at it again.", id=f"#{target.id}"
            )
    await finish(ctx, aid, entry)


@family.command(
    "update",
    usage="aid update <id> <note>",
    help=N_("Adds news to a request you follow (this also stops the reminders)."),
    aliases=("nouvelles", "novedad", "تحديث"),
    examples=("aid update 12 Found a van, leaving Friday",),
)
async def update(ctx: CommandContext) -> None:
    await progress(ctx, "update")


@family.command(
    "partial",
    usage="aid partial <id> <note>",
    help=N_("Records that part of a request was given (material aid); the request stays open."),
    aliases=("partiel", "parcial", "جزئي"),
    examples=("aid partial 12 20 of the 50 blankets delivered",),
)
async def partial(ctx: CommandContext) -> None:
    await progress(ctx, "partial")


async def progress(ctx: CommandContext, action: str) -> None:
    aid = desk(ctx)
    entry = replayed(ctx)
    if entry is None:
        target = aid.visible(request_id(ctx), ctx.room_id, ctx.sender)
        note = note_after(ctx, 1)
        if not note:
            raise UsageError("Add a short note after the request number.")
        if not aid.may_manage(target, ctx.sender):
            raise CommandError(
                "Only the person who asked, the helper who claimed it, or a coordinator may change aid request {id}.",
                id=f"#{target.id}",
            )
        if not target.active:
            raise CommandError(
                "Aid request {id} is no longer open ({status}).",
                id=f"#{target.id}",
                status=ctx.t(render.STATUS_LABELS.get(target.status, target.status)),
            )
        status = "partial" if action == "partial" else target.status
        entry = store.change(
            ctx.services.db,
            target.id,
            event_id=ctx.event.event_id,
            actor=ctx.sender,
            action=action,
            status=status,
            note=note,
            now=utcnow(),
            expect=ACTIVE,
        )
        if entry is None:
            raise CommandError(
                "Aid request {id} changed meanwhile; look at it again.", id=f"#{target.id}"
            )
    await finish(ctx, aid, entry)


@family.command(
    "close",
    usage="aid close <id> <fulfilled|closed|duplicate [of-id]|transferred> [note]",
    help=N_(
        "Closes a request with its outcome: fulfilled, closed, duplicate (of another request) or transferred (sent to another group)."
    ),
    aliases=("fermer", "cerrar", "إغلاق"),
    examples=(
        "aid close 12 fulfilled Housed with a comrade",
        "aid close 14 duplicate 12",
        "aid close 15 transferred Passed to the Marseille legal team",
    ),
)
async def close(ctx: CommandContext) -> None:
    aid = desk(ctx)
    entry = replayed(ctx)
    if entry is None:
        target = aid.visible(request_id(ctx), ctx.room_id, ctx.sender)
        if len(ctx.args) < 2:
            raise UsageError("Give the outcome: fulfilled, closed, duplicate or transferred.")
        outcome = OUTCOMES.get(forms.fold(ctx.args[1]))
        if outcome is None:
            raise UsageError(
                "{outcome} is not an outcome I know. Use fulfilled, closed, duplicate or transferred.",
                outcome=f"`{ctx.args[1]}`",
            )
        if not aid.may_manage(target, ctx.sender):
            raise CommandError(
                "Only the person who asked, the helper who claimed it, or a coordinator may change aid request {id}.",
                id=f"#{target.id}",
            )
        if target.status in TERMINAL:
            raise CommandError(
                "Aid request {id} is already closed ({status}).",
                id=f"#{target.id}",
                status=ctx.t(render.STATUS_LABELS.get(target.status, target.status)),
            )
        duplicate_of = None
        words = 2
        if outcome == "duplicate":
            other = forms.parse_id(ctx.args[2]) if len(ctx.args) > 2 else None
            if other is None:
                raise UsageError(
                    "Say which request this one duplicates, for example {example}.",
                    example=f"`aid close {target.id} duplicate 12`",
                )
            if other == target.id:
                raise CommandError("A request cannot duplicate itself.")
            aid.visible(other, ctx.room_id, ctx.sender)
            duplicate_of = other
            words = 3
        note = note_after(ctx, words)
        if duplicate_of is not None:
            note = f"#{duplicate_of}" + (f" {note}" if note else "")
        entry = store.change(
            ctx.services.db,
            target.id,
            event_id=ctx.event.event_id,
            actor=ctx.sender,
            action="close",
            status=outcome,
            note=note,
            now=utcnow(),
            expect=ACTIVE,
            duplicate_of=duplicate_of,
        )
        if entry is None:
            raise CommandError(
                "Aid request {id} changed meanwhile; look at it again.", id=f"#{target.id}"
            )
    await finish(ctx, aid, entry)


# ---- looking ------------------------------------------------------------------------------------


@family.command(
    "list",
    usage="aid list [open|mine|all|<category>|<country>|<urgency>]",
    help=N_("Lists the requests you may see here (the open ones, unless you choose a filter)."),
    aliases=("liste", "lista", "قائمة"),
    examples=("aid list", "aid list housing", "aid list mine", "aid list France"),
)
async def list_requests(ctx: CommandContext) -> None:
    aid = desk(ctx)
    services = ctx.services
    word = " ".join(ctx.args).strip()
    folded = forms.fold(word)
    categories = {forms.fold(c): c for c in services.config.aid.categories}

    def wanted(r: AidRequest) -> bool:
        if not word:
            return r.active
        if folded in ("open", "ouvertes", "abiertas"):
            return r.status == "open"
        if folded in ("all", "toutes", "todas"):
            return True
        if folded in ("mine", "moi", "mias"):
            return ctx.sender in (r.requester, r.claimer)
        if folded in categories:
            return r.active and r.category == categories[folded]
        if folded in forms.URGENCY_WORDS:
            return r.active and r.urgency == forms.URGENCY_WORDS[folded]
        return r.active and forms.fold(r.country) == folded

    found = [
        r
        for r in store.all_requests(services.db)
        if aid.can_see(r, ctx.room_id, ctx.sender) and wanted(r)
    ]
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
    aliases=("voir", "ver", "عرض_طلب"),
    examples=("aid show 12",),
)
async def show(ctx: CommandContext) -> None:
    aid = desk(ctx)
    target = aid.visible(request_id(ctx), ctx.room_id, ctx.sender)
    text = await aid.card(target, ctx.room_id, ctx.lang)
    made = store.offers_on(ctx.services.db, target.id)
    if made:
        text += "\n\n" + ctx.t("Offers: {count}", count=len(made))
        for item in made:
            text += f"\n- {aid.person(ctx.room_id, item.offerer)}: {render.summary(item.text, 120)}"
    await ctx.reply_text(text)


@family.command(
    "history",
    usage="aid history <id>",
    help=N_("Shows who changed a request, when, and why (in the coordinators' rooms)."),
    aliases=("historique", "historial", "سجل"),
    examples=("aid history 12",),
)
async def history(ctx: CommandContext) -> None:
    aid = desk(ctx)
    if not aid.is_coordinator_room(ctx.room_id):
        raise CommandError("The history of requests is shown only in the coordinators' rooms.")
    target = aid.visible(request_id(ctx), ctx.room_id, ctx.sender)
    tz = ctx.services.room_timezone(ctx.room_id)
    lines = [ctx.t("**History of aid request #{id}**", id=target.id)]
    for entry in store.history(ctx.services.db, target.id):
        actor = aid.actor_label(target, entry.actor, ctx.room_id, ctx.lang)
        lines.append(render.history_line(entry, ctx.t, lang=ctx.lang, tz=tz, actor=actor))
    await ctx.reply_text("\n".join(lines))


# ---- data ---------------------------------------------------------------------------------------


@family.command(
    "export",
    usage="aid export",
    help=N_(
        "Uploads a CSV file of the requests that may be seen in this room (coordinators and bot admins)."
    ),
    examples=("aid export",),
)
async def export(ctx: CommandContext) -> None:
    aid = desk(ctx)
    if not (ctx.is_bot_admin() or aid.is_coordinator(ctx.sender)):
        raise CommandError("Only coordinators and the bot's administrators may export requests.")
    await aid.upload_export(ctx.room_id, ctx.sender, ctx.event.event_id)


@family.command(
    "forget",
    usage="aid forget <id>",
    help=N_(
        "Erases the personal details of a closed request (who, where exactly, what was written); category, country, dates and outcome stay for the records."
    ),
    aliases=("oublier", "olvidar", "انسى"),
    examples=("aid forget 12",),
)
async def forget(ctx: CommandContext) -> None:
    aid = desk(ctx)
    if store.history_by_event(ctx.services.db, ctx.event.event_id) is None:
        target = aid.visible(request_id(ctx), ctx.room_id, ctx.sender)
        if not aid.may_manage(target, ctx.sender):
            raise CommandError(
                "Only the person who asked, the helper who claimed it, or a coordinator may change aid request {id}.",
                id=f"#{target.id}",
            )
        if target.status not in TERMINAL:
            raise CommandError(
                "Aid request {id} is still open: close it first, then erase it.", id=f"#{target.id}"
            )
        if not store.forget(
            ctx.services.db,
            target.id,
            event_id=ctx.event.event_id,
            actor=ctx.sender,
            now=utcnow(),
        ):
            raise CommandError(
                "The personal details of aid request {id} were already erased.", id=f"#{target.id}"
            )
    await ctx.reply(
        "The personal details of aid request {id} are erased.", id=f"#{request_id(ctx)}"
    )


@family.command(
    "audit",
    usage="aid audit <id>",
    help=N_(
        "Shows who asked for a request, even an anonymous one (bot admins, in a direct chat only)."
    ),
    permission=Permission.BOT_ADMIN,
    examples=("aid audit 12",),
)
async def audit(ctx: CommandContext) -> None:
    aid = desk(ctx)
    if not aid.is_private_room(ctx.room_id, ctx.sender):
        raise CommandError("For privacy, I answer audits only in a direct chat between you and me.")
    number = request_id(ctx)
    target = store.get_request(ctx.services.db, number)
    if target is None:
        raise not_found(number)
    lines = [
        ctx.t("**Audit of aid request #{id}**", id=target.id),
        ctx.t("Asked by: {who}", who=target.requester or ctx.t("(erased)")),
        ctx.t("Asked in: {room}", room=target.room_id or ctx.t("(erased)")),
        ctx.t(
            "Visibility: {visibility}", visibility=ctx.t(forms.VISIBILITY_LABELS[target.visibility])
        ),
    ]
    tz = ctx.services.room_timezone(ctx.room_id)
    for entry in store.history(ctx.services.db, target.id):
        lines.append(
            render.history_line(entry, ctx.t, lang=ctx.lang, tz=tz, actor=entry.actor or "…")
        )
    await ctx.reply_text("\n".join(lines))


@family.command(
    "coordinators",
    usage="aid coordinators <add|remove|list>",
    help=N_("Makes this room a coordinators' room (or not), or lists them (bot admins)."),
    permission=Permission.BOT_ADMIN,
    examples=("aid coordinators add", "aid coordinators list"),
)
async def coordinators(ctx: CommandContext) -> None:
    aid = desk(ctx)
    action = ctx.args[0].lower() if ctx.args else ""
    db = ctx.services.db
    if action == "add":
        store.add_coordinator_room(db, ctx.room_id, ctx.sender, utcnow())
        await ctx.reply(
            "This room is now a coordinators' room: every new aid request is posted here."
        )
    elif action == "remove":
        if ctx.room_id in ctx.services.config.aid.coordinator_rooms:
            raise CommandError(
                "This room is a coordinators' room by configuration; remove it from aid.coordinator_rooms."
            )
        if not store.remove_coordinator_room(db, ctx.room_id):
            raise CommandError("This room is not a coordinators' room.")
        await ctx.reply("This room is no longer a coordinators' room.")
    elif action == "list":
        names = [f"- {ctx.services.matrix.room_name(r)} (`{r}`)" for r in aid.coordinator_rooms()]
        if not names:
            await ctx.reply(
                "There is no coordinators' room yet. Type {command} in one.",
                command="`!aid coordinators add`",
            )
            return
        await ctx.reply_text("\n".join([ctx.t("**Coordinators' rooms**"), *names]))
    else:
        raise UsageError("Say add, remove or list.")
