"""!relay: link language rooms into a relay group, pause them, see how the relay is doing."""

from __future__ import annotations

import re

from bot.core.command import CommandFamily, Permission
from bot.core.context import CommandContext
from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.i18n import N_
from bot.core.storage import rooms
from bot.relay import store
from bot.relay.store import MODES, RoomLink
from commands.room import language_name, valid_language

family = CommandFamily(
    "relay",
    help=N_(
        "Links language rooms into a group whose messages are translated into each room's language."
    ),
    aliases={"fr": ("relais",), "es": ("relevo",), "ar": ("تمرير",)},
)

GROUP_NAME = re.compile(r"^[^\W][\w.-]{0,63}$")
MAX_TERM = 80
MODE_LABELS = {
    "two-way": N_("two-way"),
    "receive": N_("receive only"),
    "send": N_("send only"),
}


def _current(ctx: CommandContext) -> RoomLink:
    link = store.room_link(ctx.services.db, ctx.room_id)
    if link is None:
        raise CommandError(
            "This room is not linked to any relay group. An admin links it with {example}.",
            example=ctx.services.command("relay link <group> <lang>"),
        )
    return link


def _valid_group(name: str) -> str:
    if any(c.isspace() for c in name):
        suggestion = "-".join(name.split())
        raise CommandError(
            "A group name is one word (letters, digits, - or _): {name} has a space. Try {example}.",
            name=f"`{name}`",
            example=f"`{suggestion}`",
        )
    if not GROUP_NAME.match(name):
        raise CommandError(
            "{name} is not a group name I can use: one word of letters, digits, - or _ (at most 64 characters).",
            name=f"`{name}`",
        )
    return name.lower()


def _is_language(word: str) -> bool:
    try:
        valid_language(word)
    except CommandError:
        return False
    return True


def _mode_label(ctx: CommandContext, link: RoomLink) -> str:
    label = ctx.t(MODE_LABELS[link.mode])
    return ctx.t("{mode}, paused", mode=label) if link.paused else label


@family.command(
    "link",
    usage="relay link <group> <lang> [two-way|receive|send]",
    help=N_(
        "Links this room to a relay group in the given language (also the room's language). receive: gets the group's messages, its own stay here; send: its messages go out, it gets nothing."
    ),
    permission=Permission.ROOM_ADMIN,
    examples=("relay link mujawara fr", "relay link mujawara es", "relay link mujawara en receive"),
)
async def link(ctx: CommandContext) -> None:
    args = ctx.args
    prefix = ctx.services.config.bot.command_prefix
    if len(args) == 3 and args[2].lower() not in MODES:
        if not _is_language(args[1]) and _is_language(args[2]):
            # "!relay link my group fr": the group name was meant to hold a space
            _valid_group(f"{args[0]} {args[1]}")
        raise UsageError(
            "{mode} is not a link mode. Use two-way, receive or send.", mode=f"`{args[2]}`"
        )
    if len(args) not in (2, 3):
        raise UsageError(
            "Give a group name and this room's language code, for example {example}.",
            example=f"`{prefix}relay link mujawara fr`",
        )
    group = _valid_group(args[0])
    language = valid_language(args[1])
    mode = args[2].lower() if len(args) == 3 else "two-way"
    db = ctx.services.db
    existing = store.room_link(db, ctx.room_id)
    if existing is not None and existing.group != group:
        raise CommandError(
            "This room is already linked to the relay group {group}. Unlink it first with {command}.",
            group=f"`{existing.group}`",
            command=f"`{prefix}relay unlink`",
        )
    linked = store.link(db, ctx.room_id, group, language, mode, ctx.sender)
    rooms.set_language(db, ctx.room_id, language)
    ctx.lang = language
    members = store.group_rooms(db, group)
    await ctx.reply(
        "This room is now in the relay group {group} as {language} ({code}), {mode}. Rooms in the group: {count}.",
        group=f"`{group}`",
        language=language_name(language, language),
        code=language,
        mode=_mode_label(ctx, linked),
        count=len(members),
    )
    await _warn_missing_routes(ctx, language, {m.language for m in members} - {language})


async def _warn_missing_routes(ctx: CommandContext, language: str, others: set[str]) -> None:
    translation = ctx.services.translation
    if not others:
        return
    if translation is None or not translation.engines:
        await ctx.reply("No translation engine is configured: messages are relayed untranslated.")
        return
    missing = []
    for other in sorted(others):
        if await translation.route(language, other) is None:
            missing.append(f"{language}→{other}")
        if await translation.route(other, language) is None:
            missing.append(f"{other}→{language}")
    if missing:
        await ctx.reply(
            "No engine translates {pairs} right now: those messages arrive in their original language.",
            pairs=", ".join(missing),
        )


@family.command(
    "unlink",
    usage="relay unlink",
    help=N_("Takes this room out of its relay group."),
    permission=Permission.ROOM_ADMIN,
    examples=("relay unlink",),
)
async def unlink(ctx: CommandContext) -> None:
    if ctx.args:
        raise UsageError("This command takes no arguments.")
    current = _current(ctx)
    store.unlink(ctx.services.db, ctx.room_id)
    await ctx.reply(
        "This room has left the relay group {group}: nothing is relayed to or from it any more.",
        group=f"`{current.group}`",
    )


@family.command(
    "list",
    usage="relay list",
    help=N_("Lists the rooms of this room's relay group with their languages."),
    examples=("relay list",),
)
async def list_rooms(ctx: CommandContext) -> None:
    current = _current(ctx)
    matrix = ctx.services.matrix
    lines = [ctx.t("**Relay group {group}**", group=f"`{current.group}`")]
    for member in store.group_rooms(ctx.services.db, current.group):
        entry = ctx.t(
            "{room}: {language} ({code}), {mode}",
            room=matrix.room_name(member.room_id),
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
    examples=("relay pause",),
)
async def pause(ctx: CommandContext) -> None:
    _current(ctx)
    resume_command = ctx.services.command("relay resume")
    if not store.set_paused(ctx.services.db, ctx.room_id, True):
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
    examples=("relay resume",),
)
async def resume(ctx: CommandContext) -> None:
    _current(ctx)
    if not store.set_paused(ctx.services.db, ctx.room_id, False):
        await ctx.reply("The relay is not paused here.")
        return
    await ctx.reply("The relay is running again for this room.")


@family.command(
    "status",
    usage="relay status",
    help=N_(
        "Shows how the relay is doing: waiting copies, untranslated messages, engines and translation routes."
    ),
    examples=("relay status",),
)
async def status(ctx: CommandContext) -> None:
    current = _current(ctx)
    services = ctx.services
    db = services.db
    lines = [
        ctx.t(
            "**Relay group {group}**: this room speaks {language} ({code}), {mode}.",
            group=f"`{current.group}`",
            language=language_name(current.language, ctx.lang),
            code=current.language,
            mode=_mode_label(ctx, current),
        )
    ]
    waiting = services.relay.pending_copies() if services.relay is not None else 0
    lines.append(
        "- "
        + ctx.t(
            "Queue: {copies} relayed copies on their way, {queued} messages waiting to be sent.",
            copies=waiting,
            queued=services.matrix.queue_length(),
        )
    )
    health = store.health(db, current.group)
    lines.append(
        "- "
        + ctx.t(
            "Relayed untranslated because every engine failed: {count}.",
            count=health.untranslated,
        )
    )
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
    translation = services.translation
    if translation is None or not translation.engines:
        lines.append("- " + ctx.t("Engines: none, messages are relayed untranslated."))
    else:
        for name, stats in translation.stats.items():
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
    used = store.routes(db, current.group)
    if used:
        shown = []
        for route in used:
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
    examples=(
        "relay glossary add Mujawara",
        'relay glossary add "Radio Zinzine"',
        "relay glossary list",
    ),
)
async def glossary(ctx: CommandContext) -> None:
    current = _current(ctx)
    action = ctx.args[0].lower() if ctx.args else "list"
    term = " ".join(ctx.args[1:]).strip()
    db = ctx.services.db
    if action == "list":
        terms = store.glossary(db, current.group)
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
    if not ctx.is_room_admin():
        raise PermissionDenied(
            "Only room admins (power level {level} or more) may use this command.",
            level=ctx.services.config.bot.admin_power_level,
        )
    if not term:
        raise UsageError("Give the term, for example {example}.", example="`Mujawara`")
    if len(term) > MAX_TERM or "`" in term:
        raise CommandError(
            "A glossary term is at most {limit} characters, without backticks.", limit=MAX_TERM
        )
    if action == "add":
        if store.add_term(db, current.group, term, ctx.sender):
            await ctx.reply(
                "{term} is never translated in {group} from now on.",
                term=f"`{term}`",
                group=f"`{current.group}`",
            )
        else:
            await ctx.reply("{term} is already in the glossary.", term=f"`{term}`")
        return
    if store.remove_term(db, current.group, term):
        await ctx.reply("{term} is no longer in the glossary.", term=f"`{term}`")
    else:
        await ctx.reply("{term} is not in the glossary; nothing changed.", term=f"`{term}`")
