"""The public agenda's content: published gatherings and places of one scope, in the visitor's
language.

Everything shown comes from :class:`PublicGatherings` and :class:`PublicPlaces`, which carry
public fields alone. Member-written text (titles, descriptions) goes through the relay's
translation chain and cache; the original stays beside a machine translation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.agenda.addresses import AgendaAddresses, Scope
from bot.core.errors import CommandError
from bot.core.i18n import base_language
from bot.core.storage.database import utcnow
from bot.core.time.recurrence import Recurrence
from bot.gatherings.public import PublicGathering, PublicGatherings
from bot.places.public import PublicPlace, PublicPlaces

if TYPE_CHECKING:
    from bot.translation.service import TranslationService

log = logging.getLogger(__name__)

# A recurring gathering is shown by its next few dates, not by every week of the year.
OCCURRENCES = 4
HORIZON = timedelta(days=366)
FEED_ENTRIES = 50
CALENDAR_HISTORY = timedelta(days=30)


@dataclass(frozen=True)
class Text:
    """Member-written text as shown: translated (with its original) or as written."""

    text: str
    lang: str
    original: str | None = None  # set when ``text`` is a machine translation
    original_lang: str = ""

    @property
    def machine(self) -> bool:
        return self.original is not None


@dataclass(frozen=True)
class Shown:
    """A published gathering in the visitor's language."""

    gathering: PublicGathering
    title: Text
    description: Text


@dataclass(frozen=True)
class Occurrence:
    shown: Shown
    starts_at: datetime
    ends_at: datetime | None
    recurring: bool


@dataclass(frozen=True)
class Month:
    first_day: date
    occurrences: list[Occurrence]


@dataclass(frozen=True)
class PlaceEntry:
    place: PublicPlace
    occurrences: list[Occurrence]


class Agenda:
    def __init__(
        self,
        addresses: AgendaAddresses,
        gatherings: PublicGatherings,
        places: PublicPlaces,
        translation: TranslationService | None,
    ) -> None:
        self.addresses = addresses
        self.gatherings = gatherings
        self.places = places
        self.translation = translation

    # ---- what members ask through !agenda ---------------------------------------------------

    def address(self, room_id: str) -> str:
        """The address of the public agenda of the room's group (or of the room alone)."""
        url = self.addresses.agenda_url(room_id)
        if url is None:
            raise CommandError(
                "The public pages are not available: the bot's web server is off (web.enabled in the configuration). Nothing was changed."
            )
        return url

    def rotate(self, room_id: str, user_id: str) -> str:
        """A new address for the agenda; the old one stops working at once."""
        if not self.addresses.may_rotate(room_id, user_id):
            raise CommandError(
                "Only a steward of this room's relay group may give its public agenda a new address (an admin of one of its steward rooms, or a bot admin; for a room in no group, its admins). Nothing was changed."
            )
        self.address(room_id)  # refuses when the pages are off
        self.addresses.rotate(room_id)
        return self.address(room_id)

    def counts(self, room_id: str) -> tuple[int, int]:
        """(upcoming published gatherings, published places) the room's agenda shows."""
        scope = self.addresses.scope(self.addresses.scope_key(room_id))
        gatherings = self.gatherings.upcoming(scope.room_ids, utcnow())
        places = {p.id for p in self.places.registered_in(scope.room_ids)}
        places |= {g.place.id for g in gatherings if g.place is not None}
        return len(gatherings), len(places)

    # ---- translation ----------------------------------------------------------------------

    async def text(self, text: str, source: str, target: str, glossary: Sequence[str]) -> Text:
        if not text or base_language(source) == base_language(target) or self.translation is None:
            return Text(text, source)
        try:
            outcome = await self.translation.translate(text, source, target, glossary=glossary)
        except Exception:  # a page is still served in the original language
            log.exception("translation for the public agenda failed")
            return Text(text, source)
        if not outcome.translated or outcome.text.strip().casefold() == text.strip().casefold():
            # a name the engine left as it was is not a translation worth marking
            return Text(text, source)
        return Text(outcome.text, target, original=text, original_lang=source)

    async def shown(
        self, gathering: PublicGathering, lang: str, scope: Scope, *, description: bool
    ) -> Shown:
        title, text = await asyncio.gather(
            self.text(gathering.title, gathering.lang, lang, scope.glossary),
            self.text(
                gathering.description if description else "", gathering.lang, lang, scope.glossary
            ),
        )
        return Shown(gathering, title, text)

    # ---- what the pages show -----------------------------------------------------------------

    def occurrences(
        self, gathering: PublicGathering, now: datetime
    ) -> list[tuple[datetime, datetime | None]]:
        """(start, end) of the current occurrence and, for a recurring one, the next few."""
        length = gathering.ends_at - gathering.starts_at if gathering.ends_at else None
        found = [(gathering.starts_at, gathering.ends_at)]
        if not gathering.rrule or gathering.cancelled:
            return found
        rule = Recurrence(
            "rrule", gathering.rrule, gathering.tz, gathering.rrule_anchor or gathering.starts_at
        )
        moment = gathering.starts_at
        while len(found) < OCCURRENCES:
            moment_next = rule.next_after(moment)
            if moment_next is None or moment_next > now + HORIZON:
                break
            found.append((moment_next, moment_next + length if length else None))
            moment = moment_next
        return found

    async def months(self, scope: Scope, lang: str) -> list[Month]:
        """Upcoming published gatherings by month (in each gathering's zone), soonest first."""
        now = utcnow()
        upcoming = self.gatherings.upcoming(scope.room_ids, now)
        shown = await asyncio.gather(
            *(self.shown(g, lang, scope, description=False) for g in upcoming)
        )
        entries: list[Occurrence] = []
        for item in shown:
            dates = self.occurrences(item.gathering, now)
            for start, end in dates:
                if (end or start) >= now:
                    entries.append(Occurrence(item, start, end, bool(item.gathering.rrule)))
        entries.sort(key=lambda o: (o.starts_at, o.shown.gathering.id))
        months: dict[date, list[Occurrence]] = {}
        for entry in entries:
            local = entry.starts_at.astimezone(ZoneInfo(entry.shown.gathering.tz))
            months.setdefault(local.date().replace(day=1), []).append(entry)
        return [Month(first, items) for first, items in months.items()]

    async def gathering(
        self, scope: Scope, gathering_id: str, lang: str
    ) -> tuple[Shown, list[Occurrence]] | None:
        """One published gathering of the scope with its coming dates; None if not public here."""
        gathering = self.gatherings.one(gathering_id.lower(), scope.room_ids)
        if gathering is None:
            return None
        shown = await self.shown(gathering, lang, scope, description=True)
        dates = self.occurrences(gathering, utcnow())
        recurring = bool(gathering.rrule)
        return shown, [Occurrence(shown, s, e, recurring) for s, e in dates]

    async def places_page(self, scope: Scope, lang: str) -> list[PlaceEntry]:
        """Published places of the scope (registered in its rooms, or hosting its published
        gatherings), each with the published gatherings held there."""
        months = await self.months(scope, lang)
        at: dict[str, list[Occurrence]] = {}
        places: dict[str, PublicPlace] = {
            p.id: p for p in self.places.registered_in(scope.room_ids)
        }
        for month in months:
            for entry in month.occurrences:
                place = entry.shown.gathering.place
                if place is not None:
                    places.setdefault(place.id, place)
                    at.setdefault(place.id, []).append(entry)
        ordered = sorted(
            places.values(), key=lambda p: (p.country.lower(), p.city.lower(), p.name.lower())
        )
        return [PlaceEntry(p, at.get(p.id, [])) for p in ordered]

    async def feed(self, scope: Scope, lang: str) -> list[Shown]:
        """The latest published gatherings, newest first, for the Atom feed."""
        recent = self.gatherings.recent(scope.room_ids, FEED_ENTRIES)
        return list(
            await asyncio.gather(*(self.shown(g, lang, scope, description=True) for g in recent))
        )

    def calendar_items(self, scope: Scope) -> list[PublicGathering]:
        """Published gatherings for the group's iCal feed (from 30 days back)."""
        return self.gatherings.upcoming(scope.room_ids, utcnow() - CALENDAR_HISTORY)
