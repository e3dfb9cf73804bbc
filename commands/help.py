"""!help: what this member may do here, generated from the command declarations."""

from __future__ import annotations

from typing import Any

from bot.core.commands import CommandContext, CommandFamily, Permission, usage_line
from bot.core.errors import CommandError
from bot.core.i18n import N_
from bot.core.router import Router
from bot.core.text.echo import echo

# The <placeholders> of every usage line, for the catalogs: help shows them in the room's
# language (a test checks every usage's placeholders are here).
PLACEHOLDERS = (
    N_("<family>"),
    N_("<id>"),
    N_("<offer id>"),
    N_("<category>"),
    N_("<urgency>"),
    N_("<city, country>"),
    N_("<country>"),
    N_("<date>"),
    N_("<description>"),
    N_("<text>"),
    N_("<note>"),
    N_("<title>"),
    N_("<when>"),
    N_("<place>"),
    N_("<field>"),
    N_("<value>"),
    N_("<name>"),
    N_("<city>"),
    N_("<group>"),
    N_("<lang>"),
    N_("<term>"),
    N_("<code>"),
    N_("<zone>"),
    N_("<request>"),
    N_("<room>"),
)

family: CommandFamily[Router] = CommandFamily(
    "help",
    help=N_("Lists the commands you may use here, or explains one family."),
    aliases={"fr": ("aide",), "es": ("ayuda",), "ar": ("مساعدة",)},
)


@family.command(
    usage="help [family]",
    help=N_("Lists the commands you may use here, or explains one family."),
    examples=("help", "help event"),
)
async def show_help(ctx: CommandContext, router: Router) -> None:
    prefix = ctx.phrases.prefix
    if ctx.args:
        wanted = ctx.args[0].lower().lstrip(prefix)
        chosen = router.family_named(wanted)
        if chosen is None:
            raise CommandError("There is no command family called {name}.", name=echo(wanted))
        await ctx.reply_text(_family_help(ctx, chosen, prefix))
        return
    lines = [
        ctx.t(
            "**Commands you can use here** (type {help} for details):",
            help=usage_line(_help_in(ctx), "help", prefix, ctx.t),
        )
    ]
    for listed in router.families.values():
        if listed.name == "help" or not _visible(ctx, listed):
            continue
        aliases = listed.aliases.get(ctx.lang, ())
        shown = " / ".join(ctx.command(name) for name in (listed.name, *aliases))
        lines.append(f"- {shown}: {ctx.t(listed.help)}")
    await ctx.reply_text("\n".join(lines))


def _help_in(ctx: CommandContext) -> str:
    """``help <family>`` with the help family's name in the room's language (``aide``)."""
    names = family.aliases.get(ctx.lang, ())
    return f"{names[0] if names else 'help'} <family>"


def _visible(ctx: CommandContext, chosen: CommandFamily[Any]) -> bool:
    return any(
        ctx.rooms.may_use(c.permission, ctx.room_id, ctx.sender) for c in chosen.commands.values()
    )


def _family_help(ctx: CommandContext, chosen: CommandFamily[Any], prefix: str) -> str:
    aliases = chosen.aliases.get(ctx.lang, ())
    title = f"**{prefix}{chosen.name}**" + "".join(f" / {prefix}{a}" for a in aliases)
    lines = [f"{title}: {ctx.t(chosen.help)}"]
    example_label = ctx.t("example:")
    for command in chosen.commands.values():
        allowed = ctx.rooms.may_use(command.permission, ctx.room_id, ctx.sender)
        if allowed:
            marker = ""
        elif command.permission == Permission.ROOM_ADMIN:
            marker = " " + ctx.t("(room admins only)")
        else:
            marker = " " + ctx.t("(bot admins only)")
        usage = usage_line(command.usage, chosen.name, prefix, ctx.t)
        lines.append(f"- {usage}{marker}: {ctx.t(command.help)}")
        for example in command.examples:
            # a multi-line example is one command per line, each readable on a phone
            shown = ctx.command(example.split("\n")[0])
            rest = example.split("\n")[1:]
            lines.append(f"  - {example_label} {shown}")
            lines.extend(f"    `{line}`" for line in rest)
    return "\n".join(lines)
