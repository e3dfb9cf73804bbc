"""!room: the room's declared language and time zone, which every other feature reads."""

from __future__ import annotations

from bot.core.commands import CommandContext, CommandFamily, Permission
from bot.core.errors import UsageError
from bot.core.i18n import N_, language_name
from bot.core.rooms import Rooms, valid_language, valid_zone

family: CommandFamily[Rooms] = CommandFamily(
    "room",
    help=N_("Shows or sets this room's language and time zone."),
    aliases={"fr": ("salon",), "es": ("sala",), "ar": ("غرفة",)},
)


@family.command(
    "info",
    usage="room info",
    help=N_("Shows this room's language and time zone."),
    aliases=("infos", "información", "informacion", "معلومات"),
    examples=("room info",),
)
async def info(ctx: CommandContext, rooms: Rooms) -> None:
    lang = rooms.language(ctx.room_id)
    await ctx.reply(
        "This room's language: {language} ({code}). Time zone: {zone}.",
        language=language_name(lang, ctx.lang),
        code=lang,
        zone=rooms.timezone(ctx.room_id).key,
    )


@family.command(
    "lang",
    usage="room lang <code>",
    help=N_("Sets the room's language (ISO 639-1): my replies and translations use it."),
    permission=Permission.ROOM_ADMIN,
    aliases=("langue", "idioma", "لغة"),
    examples=("room lang fr", "room lang ar"),
)
async def set_lang(ctx: CommandContext, rooms: Rooms) -> None:
    if len(ctx.args) != 1:
        raise UsageError("Give exactly one language code.")
    code = valid_language(ctx.args[0])
    rooms.set_language(ctx.room_id, code)
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
    aliases=("fuseau", "zona", "منطقة"),
    examples=("room tz Europe/Paris", "room tz Africa/Tunis"),
)
async def set_tz(ctx: CommandContext, rooms: Rooms) -> None:
    if len(ctx.args) != 1:
        raise UsageError("Give exactly one time zone name.")
    zone = valid_zone(ctx.args[0])
    rooms.set_timezone(ctx.room_id, zone)
    await ctx.reply("This room's time zone is now {zone}.", zone=zone)
