"""What the public pages may know of gatherings, and nothing more.

The agenda reads gatherings only through :class:`PublicGatherings`. Its answers are built
field by field from published gatherings: title, description, times and zone, kind, spoken
languages, city and country (or a published place), the link. Never who created a gathering,
in which room, who answered, its capacity or a place's contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.storage.database import Database
from bot.gatherings import store
from bot.gatherings.store import Gathering
from bot.places.public import PublicPlace, PublicPlaces


@dataclass(frozen=True)
class PublicGathering:
    """A published gathering as a visitor sees it (member-written text untranslated)."""

    id: str
    lang: str  # the language it was written in
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    tz: str
    kind: str
    languages: str
    city: str
    country: str
    online: bool
    link: str
    place: PublicPlace | None  # only when the directory place is itself published
    rrule: str | None
    rrule_anchor: datetime | None
    cancelled: bool
    published_at: datetime
    changed_at: datetime


class PublicGatherings:
    """Published gatherings, read-only, for the public pages."""

    def __init__(self, db: Database, places: PublicPlaces) -> None:
        self.db = db
        self.places = places

    def _public(self, gathering: Gathering) -> PublicGathering:
        assert gathering.published_at is not None
        place = self.places.get(gathering.place_id) if gathering.place_id else None
        city, country = gathering.city, gathering.country
        if place is None and gathering.place_id and not (city or country):
            # an unpublished place gives away its city and country, never its name
            locality = self.places.locality(gathering.place_id)
            if locality is not None:
                city, country = locality.city, locality.country
        return PublicGathering(
            id=gathering.id,
            lang=gathering.lang,
            title=gathering.title,
            description=gathering.description,
            starts_at=gathering.starts_at,
            ends_at=gathering.ends_at,
            tz=gathering.tz,
            kind=gathering.kind,
            languages=gathering.languages,
            city=city,
            country=country,
            online=gathering.place == "online",
            link=gathering.link,
            place=place,
            rrule=gathering.rrule,
            rrule_anchor=gathering.rrule_anchor,
            cancelled=gathering.cancelled,
            published_at=gathering.published_at,
            changed_at=max(gathering.changed_at or gathering.published_at, gathering.published_at),
        )

    def upcoming(self, room_ids: list[str], since: datetime) -> list[PublicGathering]:
        """Published gatherings created in ``room_ids`` and not over before ``since``."""
        return [self._public(g) for g in store.published_in(self.db, room_ids, since)]

    def one(self, gathering_id: str, room_ids: list[str]) -> PublicGathering | None:
        """The gathering if it is published and was created in ``room_ids``; else None."""
        gathering = store.get(self.db, gathering_id)
        if gathering is None or not gathering.published or gathering.room_id not in room_ids:
            return None
        return self._public(gathering)

    def recent(self, room_ids: list[str], limit: int) -> list[PublicGathering]:
        """The latest published, newest first (for the Atom feed)."""
        return [self._public(g) for g in store.recently_published(self.db, room_ids, limit)]


class GatheringPages(Protocol):
    """Where a published gathering is shown (the agenda implements it); None when pages are off."""

    def gathering_url(self, room_id: str, gathering_id: str) -> str | None: ...
