"""!place: the directory of Mujawara and other self-organised places gatherings can point at."""

from __future__ import annotations

from bot.core.commands import CommandContext, CommandFamily
from bot.core.i18n import N_
from bot.core.text.echo import echo
from bot.places import forms, render
from bot.places.service import Place, Places

family: CommandFamily[Places] = CommandFamily(
    "place",
    help=N_("The directory of Mujawara and other self-organised places."),
    aliases={"fr": ("lieu",), "es": ("lugar",), "ar": ("مكان",)},
)


def _card(ctx: CommandContext, places: Places, place: Place) -> str:
    return render.card(place, ctx.t, show_contact=places.registered_in(place.id, ctx.room_id))


def _first(ctx: CommandContext) -> str | None:
    return ctx.args[0] if ctx.args else None


@family.command(
    "add",
    usage="place add <name> | <city> | <country> [| field: value ...]",
    help=N_(
        "Registers a place in this room (fields: name, city, country, languages, capacity, "
        "accessibility, contact). The contact is shown only in this room."
    ),
    examples=(
        "place add Mujawara Tunis | Tunis | TN | capacity: 60 | languages: ar, fr",
        "lieu add\nnom: La Grange\nville: Die\npays: FR\naccès: plain-pied\ncontact: grange@example.org",
    ),
)
async def add(ctx: CommandContext, places: Places) -> None:
    place = places.register(
        command_event_id=ctx.event.event_id,
        creator=ctx.sender,
        room_id=ctx.room_id,
        values=forms.parse_place(ctx.rest),
    )
    await ctx.reply_text(
        ctx.t(
            "Place {id} registered. Gatherings can use it with {field}.",
            id=f"`{place.id}`",
            field=f"`place: {place.id}`",
        )
        + "\n\n"
        + _card(ctx, places, place)
    )


@family.command(
    "list",
    usage="place list [country]",
    help=N_("Lists the places in the directory, optionally in one country."),
    examples=("place list", "place list TN"),
)
async def list_(ctx: CommandContext, places: Places) -> None:
    country = " ".join(ctx.args) or None
    found = places.listing(country)
    if not found:
        if country:
            await ctx.reply("No place registered in {country}.", country=echo(country))
        else:
            await ctx.reply(
                "The directory is empty. Add a place with {add}.", add=ctx.command("place add")
            )
        return
    await ctx.reply_text("\n".join([ctx.t("Places:"), *map(render.list_line, found)]))


@family.command(
    "show",
    usage="place show <id>",
    help=N_("Shows a place; its contact only in rooms where it was registered."),
    examples=("place show p4kx",),
)
async def show(ctx: CommandContext, places: Places) -> None:
    await ctx.reply_text(_card(ctx, places, places.find(_first(ctx))))


@family.command(
    "edit",
    usage="place edit <id> <field> <value>",
    help=N_("Changes a place (the person who registered it or a bot admin)."),
    examples=("place edit p4kx capacity 80", "place edit p4kx contact +216 00 000 000"),
)
async def edit(ctx: CommandContext, places: Places) -> None:
    remainder = ctx.rest.split(None, 1)[1] if len(ctx.rest.split(None, 1)) > 1 else ""
    updated = places.edit(_first(ctx), ctx.sender, remainder)
    await ctx.reply_text(
        ctx.t("Place {id} updated.", id=f"`{updated.id}`") + "\n\n" + _card(ctx, places, updated)
    )


@family.command(
    "remove",
    usage="place remove <id>",
    help=N_("Removes a place from the directory (the person who registered it or a bot admin)."),
    examples=("place remove p4kx",),
)
async def remove(ctx: CommandContext, places: Places) -> None:
    place = places.remove(_first(ctx), ctx.sender)
    await ctx.reply("Place {id} removed from the directory.", id=f"`{place.id}`")
