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
    return render.card(
        place,
        ctx.t,
        show_contact=places.registered_in(place.id, ctx.room_id),
        space=places.space_link(place.id, ctx.room_id),
    )


def _first(ctx: CommandContext) -> str | None:
    return ctx.args[0] if ctx.args else None


@family.command(
    "add",
    usage="place add <name> | <city> | <country> [| field: value ...]",
    help=N_(
        "Registers a place in this room (fields: name, city, country, address, languages, "
        "capacity, accessibility, contact, public). The contact is shown only in this room; "
        "the address only on the public pages, once the place is published."
    ),
    aliases=("ajouter", "créer", "añadir", "crear", "أضف"),
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
        + _public_line(ctx, places, place)
    )


def _public_line(ctx: CommandContext, places: Places, place: Place) -> str:
    if not place.published:
        return ""
    return "\n" + ctx.t("On the public pages: {url}", url=places.page_url(place.room_id, place.id))


@family.command(
    "publish",
    usage="place publish <id>",
    help=N_(
        "Puts a place in the public directory of places (the person who registered it, when "
        "they are also a steward of the room's relay group or, in a room in no group, its admin; "
        "or a bot admin)."
    ),
    examples=("place publish p4kx",),
)
async def publish(ctx: CommandContext, places: Places) -> None:
    place, changed = places.publish(_first(ctx), ctx.sender, public=True)
    url = places.page_url(place.room_id, place.id)
    if not changed:
        await ctx.reply("{id} is already on the public pages: {url}", id=f"`{place.id}`", url=url)
        return
    await ctx.reply(
        "Place {id} is now on the public pages: {url}\nShown there: its name, city, country, public address, languages and accessibility, and the published gatherings held there. Never shown: its contact, who registered it, rooms.",
        id=f"`{place.id}`",
        url=url,
    )


@family.command(
    "unpublish",
    usage="place unpublish <id>",
    help=N_(
        "Takes a place off the public pages at once (the person who registered it, a steward "
        "of the room's relay group or the room's admin, or a bot admin)."
    ),
    examples=("place unpublish p4kx",),
)
async def unpublish(ctx: CommandContext, places: Places) -> None:
    place, changed = places.publish(_first(ctx), ctx.sender, public=False)
    if not changed:
        await ctx.reply(
            "{id} was not on the public pages. Nothing was changed.", id=f"`{place.id}`"
        )
        return
    await ctx.reply(
        "Place {id} is no longer on the public pages: published gatherings held there show only its city and country.",
        id=f"`{place.id}`",
    )


@family.command(
    "list",
    usage="place list [country]",
    help=N_("Lists the places in the directory, optionally in one country."),
    aliases=("liste", "lista", "قائمة"),
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
    aliases=("voir", "ver", "عرض"),
    examples=("place show p4kx",),
)
async def show(ctx: CommandContext, places: Places) -> None:
    await ctx.reply_text(_card(ctx, places, places.find(_first(ctx))))


@family.command(
    "edit",
    usage="place edit <id> <field> <value>",
    help=N_("Changes a place (the person who registered it or a bot admin)."),
    aliases=("modifier", "editar", "تعديل"),
    examples=("place edit p4kx capacity 80", "place edit p4kx contact +216 00 000 000"),
)
async def edit(ctx: CommandContext, places: Places) -> None:
    remainder = ctx.rest.split(None, 1)[1] if len(ctx.rest.split(None, 1)) > 1 else ""
    updated = places.edit(_first(ctx), ctx.sender, remainder)
    await ctx.reply_text(
        ctx.t("Place {id} updated.", id=f"`{updated.id}`")
        + "\n\n"
        + _card(ctx, places, updated)
        + _public_line(ctx, places, updated)
    )


@family.command(
    "remove",
    usage="place remove <id>",
    help=N_("Removes a place from the directory (the person who registered it or a bot admin)."),
    aliases=("supprimer", "retirer", "eliminar", "borrar", "حذف"),
    examples=("place remove p4kx",),
)
async def remove(ctx: CommandContext, places: Places) -> None:
    place = places.remove(_first(ctx), ctx.sender)
    await ctx.reply("Place {id} removed from the directory.", id=f"`{place.id}`")
