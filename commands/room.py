"""!room: the room's declared language and time zone, which every other feature reads."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from bot.core.command import CommandFamily, Permission
from bot.core.context import CommandContext
from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_
from bot.core.storage import rooms

family = CommandFamily(
    "room",
    help=N_("Shows or sets this room's language and time zone."),
    aliases={"fr": ("salon",), "es": ("sala",), "ar": ("غرفة",)},
)


def language_name(code: str, in_lang: str) -> str:
    try:
        return str(Locale.parse(code).get_display_name(in_lang) or code)
    except (UnknownLocaleError, ValueError):
        return code


def valid_language(code: str) -> str:
    """Normalise an ISO 639 code; CommandError if nobody knows it."""
    cleaned = code.strip().lower().replace("_", "-")
    try:
        Locale.parse(cleaned.split("-")[0])
    except (UnknownLocaleError, ValueError):
        raise CommandError(
            "{code} is not a language code I know. Use a two-letter ISO 639-1 code such as fr, ar, en, es, ku, fa.",
            code=f"`{code}`",
        ) from None
    return cleaned.split("-")[0]


def valid_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(
            "{zone} is not a time zone I know. Use a name such as Europe/Paris, Africa/Tunis or America/Bogota.",
            zone=f"`{name}`",
        ) from None
    return name


@family.command(
    "info",
    usage="room info",
    help=N_("Shows this room's language and time zone."),
    examples=("room info",),
)
async def info(ctx: CommandContext) -> None:
    settings = rooms.settings(ctx.services.db, ctx.room_id)
    lang = settings.language or ctx.services.config.bot.default_language
    zone = settings.timezone or ctx.services.config.bot.default_timezone
    await ctx.reply(
        "This room's language: {language} ({code}). Time zone: {zone}.",
        language=language_name(lang, ctx.lang),
        code=lang,
        zone=zone,
    )


@family.command(
    "lang",
    usage="room lang <code>",
    help=N_("Sets the room's language (ISO 639-1): my replies and translations use it."),
    permission=Permission.ROOM_ADMIN,
    examples=("room lang fr", "room lang ar"),
)
async def set_lang(ctx: CommandContext) -> None:
    if len(ctx.args) != 1:
        raise UsageError("Give exactly one language code.")
    code = valid_language(ctx.args[0])
    rooms.set_language(ctx.services.db, ctx.room_id, code)
    ctx.lang = code
    await ctx.reply(
        "From now on this room speaks {language} ({code}).",
        language=language_name(code, code),
        code=code,
    )


@family.command(
    "tz",
    usage="room tz <zone>",
    help=N_("Sets the room's time zone (IANA name): times are shown in it."),
    permission=Permission.ROOM_ADMIN,
    examples=("room tz Europe/Paris", "room tz Africa/Tunis"),
)
async def set_tz(ctx: CommandContext) -> None:
    if len(ctx.args) != 1:
        raise UsageError("Give exactly one time zone name.")
    zone = valid_zone(ctx.args[0])
    rooms.set_timezone(ctx.services.db, ctx.room_id, zone)
    await ctx.reply("This room's time zone is now {zone}.", zone=zone)
