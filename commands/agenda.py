"""!agenda: the address of the group's public agenda, and a new one when it must change."""

from __future__ import annotations

from bot.agenda.service import Agenda
from bot.core.commands import CommandContext, CommandFamily
from bot.core.i18n import N_

family: CommandFamily[Agenda] = CommandFamily(
    "agenda",
    help=N_("The public web agenda of this room's group: its address, and a new address."),
    aliases={"ar": ("أجندة",)},
)


@family.command(
    None,
    usage="agenda",
    help=N_("Gives the address of the public agenda of this room's relay group (or this room)."),
    examples=("agenda",),
)
async def show(ctx: CommandContext, agenda: Agenda) -> None:
    url = agenda.address(ctx.room_id)
    gatherings, places = agenda.counts(ctx.room_id)
    await ctx.reply(
        "The public agenda: {url}\nPublic now: {gatherings} upcoming gathering(s) and {places} place(s). A group's stewards (for a room in no group, its admins) publish a gathering with {publish}; whoever registered a place publishes it with {place}.",
        url=url,
        gatherings=gatherings,
        places=places,
        publish=ctx.command("event publish <id>"),
        place=ctx.command("place publish <id>"),
    )


@family.command(
    "rotate",
    usage="agenda rotate",
    help=N_(
        "Gives the public agenda a new address; the old one stops working at once (the group's "
        "stewards)."
    ),
    examples=("agenda rotate",),
)
async def rotate(ctx: CommandContext, agenda: Agenda) -> None:
    url = agenda.rotate(ctx.room_id, ctx.sender)
    await ctx.reply(
        "The public agenda has a new address: {url}\nThe old address shows nothing any more: update the links you shared.",
        url=url,
    )
