"""How a place reads in a room (its contact only where the place was registered)."""

from __future__ import annotations

from collections.abc import Callable

from bot.places.store import Place

Text = Callable[..., str]


def card(place: Place, t: Text, *, show_contact: bool, space: str | None = None) -> str:
    """The place as a room reads it; ``space`` (a Markdown link) is its group's space."""
    lines = [f"**{place.name}** (`{place.id}`)"]
    locality = ", ".join(p for p in (place.city, place.country) if p)
    if locality:
        lines.append(locality)
    if place.address:
        lines.append(t("Public address: {address}", address=place.address))
    if place.languages:
        lines.append(t("Languages: {languages}", languages=place.languages))
    if place.capacity:
        lines.append(t("Capacity: {capacity}", capacity=place.capacity))
    if place.accessibility:
        lines.append(t("Accessibility: {notes}", notes=place.accessibility))
    if place.contact:
        if show_contact:
            lines.append(t("Contact: {contact}", contact=place.contact))
        else:
            lines.append(t("Contact: shown only in the rooms where the place was registered."))
    if space:
        lines.append(t("Space of its relay group: {space}", space=space))
    return "\n".join(lines)


def list_line(place: Place) -> str:
    locality = ", ".join(p for p in (place.city, place.country) if p)
    return f"- `{place.id}` **{place.name}**" + (f" — {locality}" if locality else "")
