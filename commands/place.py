"""!place: the directory of Mujawara and other self-organised places gatherings can point at."""

from __future__ import annotations

import re

from bot.core.command import CommandFamily
from bot.core.context import CommandContext
from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_
from bot.gatherings import forms
from bot.places import store as places
from bot.places.store import Place

family = CommandFamily(
    "place",
    help=N_("The directory of Mujawara and other self-organised places."),
    aliases={"fr": ("lieu",), "es": ("lugar",), "ar": ("مكان",)},
)


def _find(ctx: CommandContext, word: str | None) -> Place:
    if not word:
        raise UsageError("Give the place's id, such as {example}.", example="`p4kx`")
    place = places.get(ctx.services.db, forms.clean_id(word))
    if place is None:
        raise CommandError(
            "I know no place with the id {id}. {list} shows the directory.",
            id=f"`{word}`",
            list=ctx.services.command("place list"),
        )
    return place


def _require_owner(ctx: CommandContext, place: Place) -> None:
    if ctx.sender != place.creator and not ctx.is_bot_admin():
        raise CommandError(
            "Only the person who registered {id} or a bot admin may change it. Nothing was changed.",
            id=f"`{place.id}`",
        )


def _values(fields: dict[str, str]) -> dict[str, str | int | None]:
    values: dict[str, str | int | None] = {}
    for name, raw in fields.items():
        if name == "capacity":
            values[name] = forms.parse_capacity(raw)
        elif name == "languages":
            codes = [c for c in re.split(r"[,\s;/]+", raw.lower()) if c]
            values[name] = ", ".join(dict.fromkeys(codes))
        else:
            values[name] = raw.strip()
    if "name" in values and not values["name"]:
        raise UsageError("A place needs a name.")
    return values


def _card(ctx: CommandContext, place: Place) -> str:
    lines = [f"**{place.name}** (`{place.id}`)"]
    locality = ", ".join(p for p in (place.city, place.country) if p)
    if locality:
        lines.append(locality)
    if place.languages:
        lines.append(ctx.t("Languages: {languages}", languages=place.languages))
    if place.capacity:
        lines.append(ctx.t("Capacity: {capacity}", capacity=place.capacity))
    if place.accessibility:
        lines.append(ctx.t("Accessibility: {notes}", notes=place.accessibility))
    if place.contact:
        if places.registered_in(ctx.services.db, place.id, ctx.room_id):
            lines.append(ctx.t("Contact: {contact}", contact=place.contact))
        else:
            lines.append(ctx.t("Contact: shown only in the rooms where the place was registered."))
    return "\n".join(lines)


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
async def add(ctx: CommandContext) -> None:
    db = ctx.services.db
    existing = places.by_command(db, ctx.event.event_id)
    if existing is None:
        fields = forms.parse_form(ctx.rest, forms.PLACE_FIELD_ALIASES, forms.PLACE_POSITIONAL)
        values = _values(fields)
        if not values.get("name"):
            raise UsageError("A place needs a name.")
        while existing is None:
            existing = places.add(
                db,
                forms.new_id(lambda c: places.exists(db, c)),
                ctx.event.event_id,
                creator=ctx.sender,
                room_id=ctx.room_id,
                **values,  # type: ignore[arg-type]
            )
    await ctx.reply_text(
        ctx.t(
            "Place {id} registered. Gatherings can use it with {field}.",
            id=f"`{existing.id}`",
            field=f"`place: {existing.id}`",
        )
        + "\n\n"
        + _card(ctx, existing)
    )


@family.command(
    "list",
    usage="place list [country]",
    help=N_("Lists the places in the directory, optionally in one country."),
    examples=("place list", "place list TN"),
)
async def list_(ctx: CommandContext) -> None:
    country = " ".join(ctx.args) or None
    found = places.listing(ctx.services.db, country)
    if not found:
        if country:
            await ctx.reply("No place registered in {country}.", country=country)
        else:
            await ctx.reply("The directory is empty. Add a place with {add}.", add="`!place add`")
        return
    lines = [ctx.t("Places:")]
    for place in found:
        locality = ", ".join(p for p in (place.city, place.country) if p)
        lines.append(f"- `{place.id}` **{place.name}**" + (f" — {locality}" if locality else ""))
    await ctx.reply_text("\n".join(lines))


@family.command(
    "show",
    usage="place show <id>",
    help=N_("Shows a place; its contact only in rooms where it was registered."),
    examples=("place show p4kx",),
)
async def show(ctx: CommandContext) -> None:
    await ctx.reply_text(_card(ctx, _find(ctx, ctx.args[0] if ctx.args else None)))


@family.command(
    "edit",
    usage="place edit <id> <field> <value>",
    help=N_("Changes a place (the person who registered it or a bot admin)."),
    examples=("place edit p4kx capacity 80", "place edit p4kx contact +216 00 000 000"),
)
async def edit(ctx: CommandContext) -> None:
    place = _find(ctx, ctx.args[0] if ctx.args else None)
    _require_owner(ctx, place)
    remainder = ctx.rest.split(None, 1)[1] if len(ctx.rest.split(None, 1)) > 1 else ""
    values = _values(forms.parse_edit(remainder, forms.PLACE_FIELD_ALIASES))
    for name, value in values.items():
        places.update(ctx.services.db, place.id, name, value)
    updated = places.get(ctx.services.db, place.id)
    assert updated is not None
    await ctx.reply_text(
        ctx.t("Place {id} updated.", id=f"`{place.id}`") + "\n\n" + _card(ctx, updated)
    )


@family.command(
    "remove",
    usage="place remove <id>",
    help=N_("Removes a place from the directory (the person who registered it or a bot admin)."),
    examples=("place remove p4kx",),
)
async def remove(ctx: CommandContext) -> None:
    place = _find(ctx, ctx.args[0] if ctx.args else None)
    _require_owner(ctx, place)
    places.remove(ctx.services.db, place.id)
    await ctx.reply("Place {id} removed from the directory.", id=f"`{place.id}`")
