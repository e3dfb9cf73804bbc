"""What the public pages may know of the places directory, and nothing more.

The agenda reads places only through :class:`PublicPlaces`, whose answers carry public
fields alone: never the contact, who registered a place or in which room.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.storage.database import Database
from bot.places import store
from bot.places.store import Place


@dataclass(frozen=True)
class PublicPlace:
    """A published place as a visitor sees it."""

    id: str
    name: str
    city: str
    country: str
    address: str
    languages: str
    accessibility: str


@dataclass(frozen=True)
class Locality:
    """Where an unpublished place is, as far as the public may know: its city and country."""

    city: str
    country: str


def public_place(place: Place) -> PublicPlace:
    return PublicPlace(
        id=place.id,
        name=place.name,
        city=place.city,
        country=place.country,
        address=place.address,
        languages=place.languages,
        accessibility=place.accessibility,
    )


class PublicPlaces:
    """Published places, read-only, for the public pages."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, place_id: str) -> PublicPlace | None:
        """The place if it is published (and not removed); None otherwise, whatever the reason."""
        place = store.get(self.db, place_id)
        return public_place(place) if place is not None and place.published else None

    def locality(self, place_id: str) -> Locality | None:
        """City and country of any place in the directory, published or not."""
        place = store.get(self.db, place_id)
        return Locality(place.city, place.country) if place is not None else None

    def registered_in(self, room_ids: list[str]) -> list[PublicPlace]:
        """Published places registered in any of ``room_ids``."""
        return [public_place(p) for p in store.published_registered_in(self.db, room_ids)]


class PlacePages(Protocol):
    """Where a published place is shown (the agenda implements it); None when pages are off."""

    def place_url(self, room_id: str, place_id: str) -> str | None: ...
