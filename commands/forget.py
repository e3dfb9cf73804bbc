"""!forget me: a member erases what the bot holds about them, after confirming.

Confirmation is a second command, ``!forget me confirm``, within ten minutes: it works the same
in every client (a reaction is easy to send by accident and some clients hide them), and the
pending request is kept in the database so a restart in between does not lose it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.command import CommandFamily
from bot.core.context import CommandContext
from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_
from bot.core.storage import operations
from bot.operations import forget_user

CONFIRM_WINDOW = timedelta(minutes=10)
CONFIRM_WORDS = frozenset({"confirm", "confirmer", "confirmar", "تأكيد"})

# What stays whatever the domains do: said in every answer, so nobody believes more was erased.
ALWAYS_KEPT = (
    N_(
        "Messages you wrote stay in the rooms: the homeserver keeps them, not me. Delete them in your Matrix app if you wish."
    ),
    N_(
        "Cached translations are stored under a hash of the original text, without any name: nothing links them to you."
    ),
    N_(
        "The ids of events I already handled are kept for up to 7 days, without content or sender, so that nothing is handled twice."
    ),
)

family = CommandFamily(
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
    examples=("forget me", "forget me confirm"),
)
async def forget_me(ctx: CommandContext) -> None:
    words = [w.lower() for w in ctx.args]
    if not words:
        await _ask(ctx)
    elif len(words) == 1 and words[0] in CONFIRM_WORDS:
        await _confirm(ctx)
    else:
        raise UsageError(
            "I did not understand {words}. Type {ask} first, then {confirm}.",
            words=f"`{' '.join(ctx.args)}`",
            ask=f"`{_prefix(ctx)}forget me`",
            confirm=f"`{_prefix(ctx)}forget me confirm`",
        )


async def _ask(ctx: CommandContext) -> None:
    db = ctx.services.db
    when = _event_time(ctx)
    operations.prune_forget_requests(db, when - CONFIRM_WINDOW)
    operations.request_forget(db, ctx.sender, ctx.room_id, when)
    await ctx.reply(
        "This erases what I hold about you: your RSVPs, your standing offers, your name on aid requests, gatherings, places and scheduled posts, and the links between your messages and their relayed copies. After that I can no longer remove the copies when you delete a message, so delete the messages you want gone everywhere first. It cannot be undone. To go ahead, type {confirm} within {minutes} minutes.",
        confirm=f"`{_prefix(ctx)}forget me confirm`",
        minutes=int(CONFIRM_WINDOW.total_seconds() // 60),
    )


async def _confirm(ctx: CommandContext) -> None:
    db = ctx.services.db
    request = operations.forget_request(db, ctx.sender)
    if request is None or _event_time(ctx) - request.requested_at > CONFIRM_WINDOW:
        raise CommandError(
            "There is no request to forget you from the last {minutes} minutes, so nothing was erased. Type {ask} first.",
            minutes=int(CONFIRM_WINDOW.total_seconds() // 60),
            ask=f"`{_prefix(ctx)}forget me`",
        )
    report = forget_user(db, ctx.sender)
    operations.clear_forget_request(db, ctx.sender)
    lines: list[str] = []
    erased = {label: count for label, count in report.erased.items() if count}
    if erased:
        lines.append(ctx.t("Done. I erased what I held about you:"))
        for label, count in erased.items():
            lines.append("- " + ctx.t("{what}: {count}", what=ctx.t(label), count=count))
    else:
        lines.append(ctx.t("Done. I held nothing about you that could be erased."))
    lines.append("")
    lines.append(ctx.t("What remains:"))
    for sentence in (*report.kept, *ALWAYS_KEPT):
        lines.append("- " + ctx.t(sentence))
    await ctx.reply_text("\n".join(lines))


def _prefix(ctx: CommandContext) -> str:
    return ctx.services.config.bot.command_prefix


def _event_time(ctx: CommandContext) -> datetime:
    """The homeserver's time of the command, so a replay after a crash decides the same way."""
    if ctx.event.origin_server_ts:
        return datetime.fromtimestamp(ctx.event.origin_server_ts / 1000, UTC)
    return datetime.now(UTC)
