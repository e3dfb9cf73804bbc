"""!relay: link language rooms into a relay group by consent, steward the group, see how the
relay is doing."""

from __future__ import annotations

from bot.core.commands import CommandContext, CommandFamily, Permission
from bot.core.errors import UsageError
from bot.core.i18n import N_, language_name
from bot.core.text.echo import echo
from bot.core.time.parse import format_local
from bot.relay.desk import ALLOW_FLAGS, LinkOutcome, RelayDesk
from bot.relay.groups import RoomLink
from bot.relay.notices import (
    ENCRYPTED,
    MODE_LABELS,
    NOT_ENCRYPTED,
    UNPUBLISHED_HERE,
    UNPUBLISHED_THERE,
)

__all__ = ["MODE_LABELS", "family"]
from bot.relay.render import space_markdown
from bot.relay.spaces import SpaceUpdate

family: CommandFamily[RelayDesk] = CommandFamily(
    "relay",
    help=N_(
        "Links language rooms into a group whose messages are translated into each room's language."
    ),
    aliases={"fr": ("relais",), "es": ("relevo",), "ar": ("تمرير",)},
)


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


def _room(ctx: CommandContext, desk: RelayDesk, room_id: str, name: str | None = None) -> str:
    shown = name if name is not None else desk.matrix.room_name(room_id)
    return f"{echo(shown)} (`{room_id}`)" if shown and shown != room_id else f"`{room_id}`"


@family.command(
    "link",
    usage="relay link <group> <lang> [two-way|receive|send] [code:<code>] [--allow-unencrypted]",
    help=N_(
        "Links this room to a relay group in the given language (also the room's language). A new group name creates the group, with this room as its steward room. Joining an existing group sends a request to its stewards (nothing is relayed until one approves), unless you pass a join code a steward gave you. receive: gets the group's messages, its own stay here; send: its messages go out, it gets nothing. --allow-unencrypted (stewards only): lets an encrypted room's messages reach the group's unencrypted rooms."
    ),
    permission=Permission.ROOM_ADMIN,
    aliases=("lier", "relier", "vincular", "enlazar", "اربط"),
    examples=(
        "relay link mujawara fr",
        "relay link mujawara en receive",
        "relay link mujawara es code:k3m9-x7p2-q4rt",
    ),
)
async def link(ctx: CommandContext, desk: RelayDesk) -> None:
    outcome = desk.link(ctx.room_id, ctx.args, ctx.sender, ctx.event.event_id)
    ctx.lang = ctx.rooms.language(ctx.room_id)
    if outcome.request is not None:
        await _requested(ctx, outcome)
        await desk.tell()
        return
    linked = outcome.link
    assert linked is not None
    await ctx.reply(
        "This room is now in the relay group {group} as {language} ({code}), {mode}. Rooms in the group: {count}.",
        group=f"`{linked.group}`",
        language=language_name(linked.language, linked.language),
        code=linked.language,
        mode=_mode_label(ctx, linked),
        count=outcome.count,
    )
    if outcome.unpublished:
        await ctx.reply(
            UNPUBLISHED_HERE,
            count=outcome.unpublished,
            command=ctx.command("event publish <id>"),
        )
    if outcome.how == "created":
        await ctx.reply(
            "This room created the group: it is the group's steward room, and its admins are the group's stewards. A room that links to the group later waits for a steward's approval ({command} lists the requests).",
            command=ctx.command("relay requests"),
        )
    await desk.tell()
    await _report_encryption(ctx, desk, linked)
    await _report_space(ctx, await desk.sync_space(linked.group))
    missing = await desk.missing_routes(linked)
    if missing is None:
        await ctx.reply("No translation engine is configured: messages are relayed untranslated.")
    elif missing:
        await ctx.reply(
            "No engine translates {pairs} right now: those messages arrive in their original language.",
            pairs=", ".join(missing),
        )


async def _requested(ctx: CommandContext, outcome: LinkOutcome) -> None:
    request = outcome.request
    assert request is not None
    if outcome.current is not None:
        await ctx.reply(
            "Request {request} sent: the stewards of {group} decide whether this room may become {mode}. Until then it stays {current}.",
            request=f"`{request.id}`",
            group=f"`{request.group}`",
            mode=ctx.t(MODE_LABELS[request.mode]),
            current=_mode_label(ctx, outcome.current),
        )
        return
    await ctx.reply(
        "Request {request} sent to the stewards of {group}: they decide whether this room joins as {language} ({code}), {mode}. Nothing is relayed to or from this room until one of them approves.",
        request=f"`{request.id}`",
        group=f"`{request.group}`",
        language=language_name(request.language, ctx.lang),
        code=request.language,
        mode=ctx.t(MODE_LABELS[request.mode]),
    )


async def _report_encryption(ctx: CommandContext, desk: RelayDesk, linked: RoomLink) -> None:
    notes = desk.encryption_notes(linked)
    if not notes.encrypted and any(a.lower() in ALLOW_FLAGS for a in ctx.args):
        await ctx.reply(
            "This room is not encrypted: {flag} changes nothing here.",
            flag="`--allow-unencrypted`",
        )
    if notes.withheld_from_here:
        await ctx.reply(
            "Messages from encrypted rooms of the group ({count}) do not come here: no steward has let them be copied into rooms that are not encrypted.",
            count=notes.withheld_from_here,
        )


@family.command(
    "unlink",
    usage="relay unlink",
    help=N_("Takes this room out of its relay group, or withdraws its waiting request."),
    permission=Permission.ROOM_ADMIN,
    aliases=("délier", "delier", "desvincular", "افصل"),
    examples=("relay unlink",),
)
async def unlink(ctx: CommandContext, desk: RelayDesk) -> None:
    if ctx.args:
        raise UsageError("This command takes no arguments.")
    group, was_linked = desk.unlink(ctx.room_id, ctx.sender)
    if was_linked:
        await ctx.reply(
            "This room has left the relay group {group}: nothing is relayed to or from it any more.",
            group=f"`{group}`",
        )
    else:
        await ctx.reply(
            "This room's request to join the relay group {group} is withdrawn.",
            group=f"`{group}`",
        )
    await desk.tell()
    if was_linked:
        await _report_space(ctx, await desk.sync_space(group))


@family.command(
    "space",
    usage="relay space [space|off]",
    help=N_(
        "Shows the group as a Matrix space listing its rooms by language: creates one, or adopts an existing space (its id or address) where I may change the rooms. Kept up to date as rooms join or leave the group; off stops that. The group's stewards, from a steward room."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay space", "relay space #mujawara:example.org", "relay space off"),
)
async def space(ctx: CommandContext, desk: RelayDesk) -> None:
    if [a.lower() for a in ctx.args] == ["off"]:
        released = desk.release_space(ctx.room_id, ctx.sender)
        await ctx.reply(
            "The relay group {group} no longer keeps a space: {space} stays as it is, and I stop changing it.",
            group=f"`{released.group}`",
            space=space_markdown(released.name or released.group, released.space_id),
        )
        await desk.tell()
        return
    update = await desk.space(ctx.room_id, ctx.args, ctx.sender)
    await desk.tell()
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
    help=N_(
        "Lists the rooms of this room's relay group with their languages, and its steward rooms."
    ),
    aliases=("liste", "lista", "قائمة"),
    examples=("relay list",),
)
async def list_rooms(ctx: CommandContext, desk: RelayDesk) -> None:
    current, rooms, in_steward_room = desk.listing(ctx.room_id)
    lines = [ctx.t("**Relay group {group}**", group=f"`{current.group}`")]
    space_link = desk.groups.space_link(current.group)
    if space_link is not None:
        lines.append(ctx.t("Space: {space}", space=space_link))
    for room in rooms:
        member = room.link
        entry = ctx.t(
            "{room}: {language} ({code}), {mode}",
            room=echo(room.name) if room.name != member.room_id else f"`{member.room_id}`",
            language=language_name(member.language, ctx.lang),
            code=member.language,
            mode=_mode_label(ctx, member),
        )
        if in_steward_room and room.name != member.room_id:
            entry += f" · `{member.room_id}`"
        if room.steward:
            entry = ctx.t("{entry} (steward room)", entry=entry)
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
    if not desk.set_paused(ctx.room_id, True, ctx.sender):
        await ctx.reply(
            "The relay is already paused here. {command} resumes it.", command=resume_command
        )
        return
    await ctx.reply(
        "The relay is paused for this room: nothing goes out from it or comes in. {command} resumes it.",
        command=resume_command,
    )
    await desk.tell()


@family.command(
    "resume",
    usage="relay resume",
    help=N_("Resumes a paused relay for this room."),
    permission=Permission.ROOM_ADMIN,
    aliases=("reprendre", "reanudar", "استئناف"),
    examples=("relay resume",),
)
async def resume(ctx: CommandContext, desk: RelayDesk) -> None:
    if not desk.set_paused(ctx.room_id, False, ctx.sender):
        await ctx.reply("The relay is not paused here.")
        return
    await ctx.reply("The relay is running again for this room.")
    await desk.tell()


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
        "Terms the group never translates (names of collectives, places, people). Adding and removing is for the group's stewards."
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
            "{action} is not a glossary action. Use add, remove or list.", action=echo(action)
        )
    if action == "add":
        group, added = desk.add_term(ctx.room_id, term, ctx.sender)
        if added:
            await ctx.reply(
                "{term} is never translated in {group} from now on.",
                term=echo(term),
                group=f"`{group}`",
            )
            await desk.tell()
        else:
            await ctx.reply("{term} is already in the glossary.", term=echo(term))
        return
    _group, removed = desk.remove_term(ctx.room_id, term, ctx.sender)
    if removed:
        await ctx.reply("{term} is no longer in the glossary.", term=echo(term))
        await desk.tell()
    else:
        await ctx.reply("{term} is not in the glossary; nothing changed.", term=echo(term))


# ---- the stewards' commands: in a steward room, by its admins -----------------------------


@family.command(
    "requests",
    usage="relay requests",
    help=N_("Stewards: lists the rooms waiting to join the group."),
    permission=Permission.ROOM_ADMIN,
    examples=("relay requests",),
)
async def requests(ctx: CommandContext, desk: RelayDesk) -> None:
    group, waiting = desk.requests(ctx.room_id, ctx.sender)
    if not waiting:
        await ctx.reply("No room is waiting to join {group}.", group=f"`{group}`")
        return
    lines = [ctx.t("**Rooms waiting to join {group}**", group=f"`{group}`")]
    for request in waiting:
        lines.append(
            "- "
            + ctx.t(
                "{request}: {room} as {language} ({code}), {mode}; members: {members}; {encryption}; asked by {requester} on {when}.",
                request=f"`{request.id}`",
                room=_room(ctx, desk, request.room_id, request.room_name),
                language=language_name(request.language, ctx.lang),
                code=request.language,
                mode=ctx.t(MODE_LABELS[request.mode]),
                members=request.members,
                encryption=ctx.t(ENCRYPTED if request.encrypted else NOT_ENCRYPTED),
                requester=f"`{request.requested_by}`" if request.requested_by else "—",
                when=format_local(request.requested_at, ctx.timezone, ctx.lang),
            )
        )
    lines.append(
        ctx.t(
            "Approve with {approve}, refuse with {refuse}.",
            approve=ctx.command("relay approve <request>"),
            refuse=ctx.command("relay refuse <request> [reason]"),
        )
    )
    await ctx.reply_text("\n".join(lines))


@family.command(
    "approve",
    usage="relay approve <request> [--allow-unencrypted]",
    help=N_(
        "Stewards: lets a waiting room join the group as it asked; it is told. --allow-unencrypted lets an encrypted room's messages reach the group's unencrypted rooms."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay approve k3m9",),
)
async def approve(ctx: CommandContext, desk: RelayDesk) -> None:
    request, linked, allowed, unpublished = desk.approve(ctx.room_id, ctx.args, ctx.sender)
    await ctx.reply(
        "Request {request} approved: {room} is now in {group} as {language} ({code}), {mode}, and was told so.",
        request=f"`{request.id}`",
        room=_room(ctx, desk, request.room_id, request.room_name),
        group=f"`{linked.group}`",
        language=language_name(linked.language, ctx.lang),
        code=linked.language,
        mode=_mode_label(ctx, linked),
    )
    if allowed:
        await ctx.reply(
            "Its messages may reach the unencrypted rooms {rooms}; the room was told so.",
            rooms=", ".join(echo(name) for name in allowed),
        )
    if unpublished:
        await ctx.reply(
            UNPUBLISHED_THERE,
            room=_room(ctx, desk, request.room_id, request.room_name),
            count=unpublished,
            command=ctx.command("event publish <id>"),
        )
    await desk.tell()
    await _report_space(ctx, await desk.sync_space(linked.group))


@family.command(
    "refuse",
    usage="relay refuse <request> [reason]",
    help=N_("Stewards: refuses a waiting room; it is told (with your reason, if you give one)."),
    permission=Permission.ROOM_ADMIN,
    examples=("relay refuse k3m9", "relay refuse k3m9 We do not know this collective"),
)
async def refuse(ctx: CommandContext, desk: RelayDesk) -> None:
    request = desk.refuse(ctx.room_id, ctx.args, ctx.rest, ctx.sender)
    await ctx.reply(
        "Request {request} refused: {room} was told, and nothing is relayed to or from it.",
        request=f"`{request.id}`",
        room=_room(ctx, desk, request.room_id, request.room_name),
    )
    await desk.tell()


@family.command(
    "code",
    usage="relay code [lifetime]",
    help=N_(
        "Stewards: a join code for one room, valid once and for a limited time (the configured default, or 1m to 7d)."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay code", "relay code 2h"),
)
async def code(ctx: CommandContext, desk: RelayDesk) -> None:
    issued = desk.issue_code(ctx.room_id, ctx.args, ctx.sender)
    await ctx.reply(
        "Join code for {group}: {code}, valid once, until {until}. An admin of the room that joins types {command} there. Whoever has the code can link a room: pass it privately.",
        group=f"`{issued.group}`",
        code=f"`{issued.code}`",
        until=format_local(issued.expires_at, ctx.timezone, ctx.lang),
        command=ctx.command(f"relay link {issued.group} <lang> code:{issued.code}"),
    )
    await desk.tell()


@family.command(
    "remove",
    usage="relay remove <room>",
    help=N_(
        "Stewards: expels a room (by id, or its name in !relay list) from the group; nothing is relayed to or from it any more."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay remove !abc:example.org",),
)
async def remove(ctx: CommandContext, desk: RelayDesk) -> None:
    if len(ctx.args) > 1:
        raise UsageError("Give one room: its id, or its name in quotes.")
    group, removed, name = desk.remove(ctx.room_id, ctx.args[0] if ctx.args else None, ctx.sender)
    await ctx.reply(
        "{room} is no longer in {group}: nothing is relayed to or from it any more, and it was told so.",
        room=_room(ctx, desk, removed.room_id, name),
        group=f"`{group}`",
    )
    await desk.tell()
    await _report_space(ctx, await desk.sync_space(group))


@family.command(
    "mode",
    usage="relay mode <room> two-way|receive|send [--allow-unencrypted]",
    help=N_(
        "Stewards: sets a room's link mode. --allow-unencrypted lets an encrypted room's messages reach the group's unencrypted rooms."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay mode !abc:example.org receive",),
)
async def mode(ctx: CommandContext, desk: RelayDesk) -> None:
    linked, allowed = desk.set_mode(ctx.room_id, ctx.args, ctx.sender)
    await ctx.reply(
        "{room} is {mode} in {group}.",
        room=_room(ctx, desk, linked.room_id),
        mode=_mode_label(ctx, linked),
        group=f"`{linked.group}`",
    )
    if allowed:
        await ctx.reply(
            "Its messages may reach the unencrypted rooms {rooms}; the room was told so.",
            rooms=", ".join(echo(name) for name in allowed),
        )
    await desk.tell()


@family.command(
    "steward",
    usage="relay steward add|remove <room>",
    help=N_(
        "Stewards: makes a room of the group a steward room (its admins become stewards), or no longer one. A group always keeps one: to hand stewardship over, add the new room, then remove yours."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay steward add !abc:example.org", "relay steward remove !old:example.org"),
)
async def steward(ctx: CommandContext, desk: RelayDesk) -> None:
    action, group, name, changed = desk.steward(ctx.room_id, ctx.args, ctx.sender)
    room = echo(name)
    if action == "add":
        if changed:
            await ctx.reply(
                "{room} is now a steward room of {group}: its admins are stewards.",
                room=room,
                group=f"`{group}`",
            )
        else:
            await ctx.reply(
                "{room} is already a steward room of {group}.", room=room, group=f"`{group}`"
            )
    elif changed:
        await ctx.reply(
            "{room} is no longer a steward room of {group}.", room=room, group=f"`{group}`"
        )
    else:
        await ctx.reply("{room} is not a steward room of {group}.", room=room, group=f"`{group}`")
    await desk.tell()


@family.command(
    "audit",
    usage="relay audit",
    help=N_(
        "Stewards: the group's recent changes (requests, approvals, removals, modes, glossary, stewardship), with who and when."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay audit",),
)
async def audit(ctx: CommandContext, desk: RelayDesk) -> None:
    group, lines = desk.history(ctx.room_id, ctx.sender, ctx.lang)
    if not lines:
        await ctx.reply("Nothing has been recorded for {group} yet.", group=f"`{group}`")
        return
    title = ctx.t("**Recent changes to {group}**", group=f"`{group}`")
    await ctx.reply_text("\n".join([title, *lines]))
