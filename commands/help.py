"""!help: what this member may do here, generated from the command declarations."""

from __future__ import annotations

from typing import Any

from bot.core.commands import CommandContext, CommandFamily, Permission
from bot.core.errors import CommandError
from bot.core.i18n import N_
from bot.core.router import Router
from bot.core.text.echo import echo

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
            help=ctx.command("help <family>"),
        )
    ]
    for listed in router.families.values():
        if listed.name == "help" or not _visible(ctx, listed):
            continue
        aliases = listed.aliases.get(ctx.lang, ())
        shown = " / ".join(ctx.command(name) for name in (listed.name, *aliases))
        lines.append(f"- {shown}: {ctx.t(listed.help)}")
    await ctx.reply_text("\n".join(lines))


def _visible(ctx: CommandContext, chosen: CommandFamily[Any]) -> bool:
    return any(
        ctx.rooms.may_use(c.permission, ctx.room_id, ctx.sender) for c in chosen.commands.values()
    )


def _family_help(ctx: CommandContext, chosen: CommandFamily[Any], prefix: str) -> str:
    aliases = chosen.aliases.get(ctx.lang, ())
    title = f"**{prefix}{chosen.name}**" + "".join(f" / {prefix}{a}" for a in aliases)
    lines = [f"{title}: {ctx.t(chosen.help)}"]
    for command in chosen.commands.values():
        allowed = ctx.rooms.may_use(command.permission, ctx.room_id, ctx.sender)
        if allowed:
            marker = ""
        elif command.permission == Permission.ROOM_ADMIN:
            marker = " " + ctx.t("(room admins only)")
        else:
            marker = " " + ctx.t("(bot admins only)")
        lines.append(f"- {ctx.command(command.usage)}{marker}: {ctx.t(command.help)}")
        for example in command.examples:
            lines.append(f"  - {ctx.t('example:')} {ctx.command(example)}")
    return "\n".join(lines)
