"""!forget me: a member erases what the bot holds about them, after confirming."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.commands import CommandContext, CommandFamily
from bot.core.errors import UsageError
from bot.core.i18n import N_
from bot.core.text.echo import echo
from bot.forget.service import Forgetting

CONFIRM_WORDS = frozenset({"confirm", "confirmer", "confirmar", "تأكيد"})

family: CommandFamily[Forgetting] = CommandFamily(
    "forget",
    help=N_("Erases what I hold about you (after you confirm)."),
    aliases={"fr": ("oublier",), "es": ("olvidar",), "ar": ("انسني",)},
)


@family.command(
    "me",
    usage="forget me [confirm]",
    help=N_(
        "Erases what I hold about you: first asks, then erases when you repeat it with confirm."
    ),
    aliases=("moi", "yo", "أنا"),
    examples=("forget me", "forget me confirm"),
)
async def forget_me(ctx: CommandContext, forgetting: Forgetting) -> None:
    words = [w.lower() for w in ctx.args]
    if not words:
        forgetting.ask(ctx.sender, ctx.room_id, _event_time(ctx))
        await ctx.reply(
            "This erases what I hold about you: your RSVPs, your standing offers, your name on aid requests, gatherings, places and scheduled posts, and the links between your messages and their relayed copies. After that I can no longer remove the copies when you delete a message, so delete the messages you want gone everywhere first. It cannot be undone. To go ahead, type {confirm} within {minutes} minutes.",
            confirm=ctx.command("forget me confirm"),
            minutes=forgetting.window_minutes,
        )
    elif len(words) == 1 and words[0] in CONFIRM_WORDS:
        report = forgetting.confirm(ctx.sender, _event_time(ctx))
        lines: list[str] = []
        erased = {label: count for label, count in report.erased.items() if count}
        if erased:
            lines.append(ctx.t("Done. I erased what I held about you:"))
            for label, count in erased.items():
                lines.append("- " + ctx.t("{what}: {count}", what=ctx.t(label), count=count))
        else:
            lines.append(ctx.t("Done. I held nothing about you that could be erased."))
        remains = ["", ctx.t("What remains:"), *("- " + ctx.t(s) for s in report.kept)]
        if forgetting.is_private(ctx.room_id, ctx.sender):
            await ctx.reply_text("\n".join(lines + remains))
            return
        # a shared room sees no count: it could include what this room may not know of
        sent = await forgetting.report_privately(
            ctx.sender, ctx.lang, "\n".join(lines + remains), ctx.event.event_id
        )
        if sent:
            shared = [
                ctx.t(
                    "Done. I erased what I held about you. The detailed report is in a direct chat I opened with you: accept my invitation to read it."
                )
            ]
        else:
            shared = [
                ctx.t(
                    "Done. I erased what I held about you. I could not open a direct chat to send you the detailed report."
                )
            ]
        await ctx.reply_text("\n".join(shared + remains))
    else:
        raise UsageError(
            "I did not understand {words}. Type {ask} first, then {confirm}.",
            words=echo(" ".join(ctx.args)),
            ask=ctx.command("forget me"),
            confirm=ctx.command("forget me confirm"),
        )


def _event_time(ctx: CommandContext) -> datetime:
    """The homeserver's time of the command, so a replay after a crash decides the same way."""
    if ctx.event.origin_server_ts:
        return datetime.fromtimestamp(ctx.event.origin_server_ts / 1000, UTC)
    return datetime.now(UTC)
