"""!relay: link language rooms into a relay group, pause them, see how the relay is doing."""

from __future__ import annotations

from bot.core.commands import CommandContext, CommandFamily, Permission
from bot.core.errors import UsageError
from bot.core.i18n import N_, language_name
from bot.relay.desk import RelayDesk
from bot.relay.groups import RoomLink
from bot.relay.render import space_markdown
from bot.relay.spaces import SpaceUpdate

family: CommandFamily[RelayDesk] = CommandFamily(
    "relay",
    help=N_(
        "Links language rooms into a group whose messages are translated into each room's language."
    ),
    aliases={"fr": ("relais",), "es": ("relevo",), "ar": ("تمرير",)},
)

MODE_LABELS = {
    "two-way": N_("two-way"),
    "receive": N_("receive only"),
    "send": N_("send only"),
}


async def _report_space(ctx: CommandContext, update: SpaceUpdate | None) -> None:
    """Say what became of the group's space after this room joined or left the group."""
    if update is None:
        return
    if update.problem is not None:
        await _space_problem(ctx, update)
    elif ctx.room_id in update.added:
        await ctx.reply("The group's space {space} now lists this room.", space=update.link)
    elif ctx.room_id in update.removed:
        await ctx.reply("This room was taken out of the group's space {space}.", space=update.link)


async def _space_problem(ctx: CommandContext, update: SpaceUpdate) -> None:
    if update.problem == "absent":
        await ctx.reply(
            "I am no longer in the group's space {space}, so it was not updated. Invite me back into it, then type {command}.",
            space=update.link,
            command=ctx.command("relay space"),
        )
        return
    await ctx.reply(
        "I could not update the group's space {space}: changing its rooms needs power level {needed} there and I have {have}. Ask an admin of the space to raise my power level, then type {command}.",
        space=update.link,
        needed=update.needed,
        have=update.have,
        command=ctx.command("relay space"),
    )


def _mode_label(ctx: CommandContext, link: RoomLink) -> str:
    label = ctx.t(MODE_LABELS[link.mode])
    return ctx.t("{mode}, paused", mode=label) if link.paused else label


@family.command(
    "link",
    usage="relay link <group> <lang> [two-way|receive|send] [--allow-unencrypted]",
    help=N_(
        "Links this room to a relay group in the given language (also the room's language). receive: gets the group's messages, its own stay here; send: its messages go out, it gets nothing. An encrypted room whose messages would reach rooms that are not encrypted needs --allow-unencrypted."
    ),
    permission=Permission.ROOM_ADMIN,
    aliases=("lier", "relier", "vincular", "enlazar", "اربط"),
    examples=("relay link mujawara fr", "relay link mujawara es", "relay link mujawara en receive"),
)
async def link(ctx: CommandContext, desk: RelayDesk) -> None:
    # phones may turn "--" into a dash: both spellings give the consent
    flags = {"--allow-unencrypted", "—allow-unencrypted", "–allow-unencrypted"}
    args = [a for a in ctx.args if a.lower() not in flags]
    consent = len(args) != len(ctx.args)
    linked, count = desk.link(ctx.room_id, args, ctx.sender, allow_unencrypted=consent)
    ctx.lang = linked.language
    await ctx.reply(
        "This room is now in the relay group {group} as {language} ({code}), {mode}. Rooms in the group: {count}.",
        group=f"`{linked.group}`",
        language=language_name(linked.language, linked.language),
        code=linked.language,
        mode=_mode_label(ctx, linked),
        count=count,
    )
    await _report_encryption(ctx, desk, linked, consent)
    await _report_space(ctx, await desk.sync_space(linked.group))
    missing = await desk.missing_routes(linked)
    if missing is None:
        await ctx.reply("No translation engine is configured: messages are relayed untranslated.")
    elif missing:
        await ctx.reply(
            "No engine translates {pairs} right now: those messages arrive in their original language.",
            pairs=", ".join(missing),
        )


async def _report_encryption(
    ctx: CommandContext, desk: RelayDesk, linked: RoomLink, consent: bool
) -> None:
    notes = desk.encryption_notes(linked)
    if notes.consented:
        await ctx.reply(
            "Notice: this room is encrypted, and its messages now also go to rooms of the relay group {group} that are not encrypted ({count} now), where their homeserver can read them; its files are uploaded there again without encryption. To stop it, link this room again without {flag}, or {unlink}.",
            group=f"`{linked.group}`",
            count=notes.unencrypted_receivers,
            flag="`--allow-unencrypted`",
            unlink=ctx.command("relay unlink"),
        )
    elif consent and not notes.encrypted:
        await ctx.reply(
            "This room is not encrypted: {flag} changes nothing here.",
            flag="`--allow-unencrypted`",
        )
    if notes.withheld_from_here:
        await ctx.reply(
            "Messages from encrypted rooms of the group ({count}) do not come here: they have not agreed to be copied into rooms that are not encrypted.",
            count=notes.withheld_from_here,
        )


@family.command(
    "unlink",
    usage="relay unlink",
    help=N_("Takes this room out of its relay group."),
    permission=Permission.ROOM_ADMIN,
    aliases=("délier", "delier", "desvincular", "افصل"),
    examples=("relay unlink",),
)
async def unlink(ctx: CommandContext, desk: RelayDesk) -> None:
    if ctx.args:
        raise UsageError("This command takes no arguments.")
    left = desk.unlink(ctx.room_id)
    await ctx.reply(
        "This room has left the relay group {group}: nothing is relayed to or from it any more.",
        group=f"`{left.group}`",
    )
    await _report_space(ctx, await desk.sync_space(left.group))


@family.command(
    "space",
    usage="relay space [space|off]",
    help=N_(
        "Shows the group as a Matrix space listing its rooms by language: creates one, or adopts an existing space (its id or address) where I may change the rooms. Kept up to date as rooms join or leave the group; off stops that."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay space", "relay space #mujawara:example.org", "relay space off"),
)
async def space(ctx: CommandContext, desk: RelayDesk) -> None:
    if [a.lower() for a in ctx.args] == ["off"]:
        released = desk.release_space(ctx.room_id)
        await ctx.reply(
            "The relay group {group} no longer keeps a space: {space} stays as it is, and I stop changing it.",
            group=f"`{released.group}`",
            space=space_markdown(released.name or released.group, released.space_id),
        )
        return
    update = await desk.space(ctx.room_id, ctx.args, ctx.sender)
    if update.problem is not None:
        await _space_problem(ctx, update)
        return
    rooms = ", ".join(
        f"{desk.matrix.room_name(member.room_id)} ({member.language})"
        for member in sorted(desk.groups.members(update.space.group), key=lambda m: m.language)
    )
    if update.made:
        await ctx.reply(
            "I created the space {space} for the relay group {group}; it lists the group's rooms by language: {rooms}. I invited you and made you its admin; members of the group's rooms may join it.",
            space=update.link,
            group=f"`{update.space.group}`",
            rooms=rooms,
        )
        return
    await ctx.reply(
        "The space {space} lists the rooms of the relay group {group} by language: {rooms}.",
        space=update.link,
        group=f"`{update.space.group}`",
        rooms=rooms,
    )


@family.command(
    "list",
    usage="relay list",
    help=N_("Lists the rooms of this room's relay group with their languages."),
    aliases=("liste", "lista", "قائمة"),
    examples=("relay list",),
)
async def list_rooms(ctx: CommandContext, desk: RelayDesk) -> None:
    current = desk.current(ctx.room_id)
    lines = [ctx.t("**Relay group {group}**", group=f"`{current.group}`")]
    space_link = desk.groups.space_link(current.group)
    if space_link is not None:
        lines.append(ctx.t("Space: {space}", space=space_link))
    for member in desk.groups.members(current.group):
        entry = ctx.t(
            "{room}: {language} ({code}), {mode}",
            room=desk.matrix.room_name(member.room_id),
            language=language_name(member.language, ctx.lang),
            code=member.language,
            mode=_mode_label(ctx, member),
        )
        if member.room_id == ctx.room_id:
            entry = ctx.t("{entry} (this room)", entry=entry)
        lines.append(f"- {entry}")
    await ctx.reply_text("\n".join(lines))


@family.command(
    "pause",
    usage="relay pause",
    help=N_("Pauses the relay for this room: nothing goes out from it or comes in until resumed."),
    permission=Permission.ROOM_ADMIN,
    aliases=("pausa", "أوقف"),
    examples=("relay pause",),
)
async def pause(ctx: CommandContext, desk: RelayDesk) -> None:
    resume_command = ctx.command("relay resume")
    if not desk.set_paused(ctx.room_id, True):
        await ctx.reply(
            "The relay is already paused here. {command} resumes it.", command=resume_command
        )
        return
    await ctx.reply(
        "The relay is paused for this room: nothing goes out from it or comes in. {command} resumes it.",
        command=resume_command,
    )


@family.command(
    "resume",
    usage="relay resume",
    help=N_("Resumes a paused relay for this room."),
    permission=Permission.ROOM_ADMIN,
    aliases=("reprendre", "reanudar", "استئناف"),
    examples=("relay resume",),
)
async def resume(ctx: CommandContext, desk: RelayDesk) -> None:
    if not desk.set_paused(ctx.room_id, False):
        await ctx.reply("The relay is not paused here.")
        return
    await ctx.reply("The relay is running again for this room.")


@family.command(
    "status",
    usage="relay status",
    help=N_(
        "Shows how the relay is doing: waiting copies, untranslated messages, engines and translation routes."
    ),
    aliases=("état", "etat", "estado", "حالة"),
    examples=("relay status",),
)
async def status(ctx: CommandContext, desk: RelayDesk) -> None:
    report = desk.status(ctx.room_id)
    current = report.link
    lines = [
        ctx.t(
            "**Relay group {group}**: this room speaks {language} ({code}), {mode}.",
            group=f"`{current.group}`",
            language=language_name(current.language, ctx.lang),
            code=current.language,
            mode=_mode_label(ctx, current),
        ),
        "- "
        + ctx.t(
            "Queue: {copies} relayed copies on their way, {queued} messages waiting to be sent.",
            copies=report.copies_in_flight,
            queued=report.queued_sends,
        ),
        "- "
        + ctx.t(
            "Relayed untranslated because every engine failed: {count}.",
            count=report.health.untranslated,
        ),
    ]
    health = report.health
    if health.last_error:
        lines.append(
            "- "
            + ctx.t(
                "Last error: {error} ({when} UTC).",
                error=health.last_error,
                when=health.last_error_at.strftime("%Y-%m-%d %H:%M")
                if health.last_error_at
                else "?",
            )
        )
    if not report.engines:
        lines.append("- " + ctx.t("Engines: none, messages are relayed untranslated."))
    for name, stats in report.engines.items():
        lines.append(
            "- "
            + ctx.t(
                "Engine {engine}: {calls} calls, {failures} failures, {hits} cache hits.",
                engine=f"`{name}`",
                calls=stats.calls,
                failures=stats.failures,
                hits=stats.cache_hits,
            )
        )
    pairs = []
    for pair in await desk.relay.served_pairs(current.group):
        if pair.engine is None:
            pairs.append(
                ctx.t(
                    "{source}→{target}: no engine, copied untranslated with a marker",
                    source=pair.source,
                    target=pair.target,
                )
            )
        elif pair.pivot:
            path = ctx.t(
                "{source}→{target} via {pivot}",
                source=pair.source,
                target=pair.target,
                pivot=pair.pivot,
            )
            pairs.append(f"{path} ({pair.engine})")
        else:
            pairs.append(f"{pair.source}→{pair.target} ({pair.engine})")
    if pairs:
        lines.append("- " + ctx.t("Translation pairs: {pairs}.", pairs="; ".join(pairs)))
    if report.routes:
        shown = []
        for route in report.routes:
            if route.pivot:
                path = ctx.t(
                    "{source}→{target} via {pivot}",
                    source=route.source,
                    target=route.target,
                    pivot=route.pivot,
                )
            else:
                path = f"{route.source}→{route.target}"
            shown.append(f"{path} ({route.engine}) ×{route.uses}")
        lines.append("- " + ctx.t("Routes used: {routes}.", routes=", ".join(shown)))
    await ctx.reply_text("\n".join(lines))


@family.command(
    "glossary",
    usage="relay glossary add|remove <term> | relay glossary list",
    help=N_(
        "Terms the group never translates (names of collectives, places, people). Adding and removing needs a room admin."
    ),
    aliases=("glossaire", "glosario", "مسرد"),
    examples=(
        "relay glossary add Mujawara",
        'relay glossary add "Radio Zinzine"',
        "relay glossary list",
    ),
)
async def glossary(ctx: CommandContext, desk: RelayDesk) -> None:
    current = desk.current(ctx.room_id)
    action = ctx.args[0].lower() if ctx.args else "list"
    term = " ".join(ctx.args[1:]).strip()
    if action == "list":
        terms = desk.groups.glossary(current.group)
        if not terms:
            await ctx.reply("The glossary of {group} is empty.", group=f"`{current.group}`")
            return
        await ctx.reply(
            "Never translated in {group}: {terms}",
            group=f"`{current.group}`",
            terms=", ".join(f"`{t}`" for t in terms),
        )
        return
    if action not in ("add", "remove"):
        raise UsageError(
            "{action} is not a glossary action. Use add, remove or list.", action=f"`{action}`"
        )
    if action == "add":
        group, added = desk.add_term(ctx.room_id, term, ctx.sender)
        if added:
            await ctx.reply(
                "{term} is never translated in {group} from now on.",
                term=f"`{term}`",
                group=f"`{group}`",
            )
        else:
            await ctx.reply("{term} is already in the glossary.", term=f"`{term}`")
        return
    _group, removed = desk.remove_term(ctx.room_id, term, ctx.sender)
    if removed:
        await ctx.reply("{term} is no longer in the glossary.", term=f"`{term}`")
    else:
        await ctx.reply("{term} is not in the glossary; nothing changed.", term=f"`{term}`")
