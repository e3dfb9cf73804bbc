"""!help: what this member may do here, generated from the command declarations."""

from __future__ import annotations

from bot.core.command import CommandFamily, Permission
from bot.core.context import CommandContext
from bot.core.errors import CommandError
from bot.core.i18n import N_

family = CommandFamily(
    "help",
    help=N_("Lists the commands you may use here, or explains one family."),
    aliases={"fr": ("aide",), "es": ("ayuda",), "ar": ("مساعدة",)},
)


@family.command(
    usage="help [family]",
    help=N_("Lists the commands you may use here, or explains one family."),
    examples=("help", "help event"),
)
async def show_help(ctx: CommandContext) -> None:
    services = ctx.services
    prefix = services.config.bot.command_prefix
    if ctx.args:
        wanted = ctx.args[0].lower().lstrip(prefix)
        chosen = services.families.get(wanted) or next(
            (f for f in services.families.values() if wanted in f.all_aliases()), None
        )
        if chosen is None:
            raise CommandError("There is no command family called {name}.", name=f"`{wanted}`")
        await ctx.reply_text(_family_help(ctx, chosen, prefix))
        return
    lines = [
        ctx.t(
            "**Commands you can use here** (type {help} for details):",
            help=f"`{prefix}help <family>`",
        )
    ]
    for chosen in services.families.values():
        if chosen.name == "help" or not _visible(ctx, chosen):
            continue
        aliases = chosen.aliases.get(ctx.lang, ())
        shown = f"`{prefix}{chosen.name}`" + "".join(f" / `{prefix}{a}`" for a in aliases)
        lines.append(f"- {shown}: {ctx.t(chosen.help)}")
    await ctx.reply_text("\n".join(lines))


def _visible(ctx: CommandContext, chosen: CommandFamily) -> bool:
    return any(
        ctx.services.may_use(c.permission, ctx.room_id, ctx.sender)
        for c in chosen.commands.values()
    )


def _family_help(ctx: CommandContext, chosen: CommandFamily, prefix: str) -> str:
    aliases = chosen.aliases.get(ctx.lang, ())
    title = f"**{prefix}{chosen.name}**" + "".join(f" / {prefix}{a}" for a in aliases)
    lines = [f"{title}: {ctx.t(chosen.help)}"]
    for command in chosen.commands.values():
        allowed = ctx.services.may_use(command.permission, ctx.room_id, ctx.sender)
        if allowed:
            marker = ""
        elif command.permission == Permission.ROOM_ADMIN:
            marker = " " + ctx.t("(room admins only)")
        else:
            marker = " " + ctx.t("(bot admins only)")
        lines.append(f"- `{prefix}{command.usage}`{marker}: {ctx.t(command.help)}")
        for example in command.examples:
            lines.append(f"  - {ctx.t('example:')} `{prefix}{example}`")
    return "\n".join(lines)
