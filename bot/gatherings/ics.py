"""Gatherings as iCalendar (RFC 5545): one file per gathering, and the subscribable feed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from bot.core.storage.database import utcnow
from bot.gatherings.render import place_line
from bot.gatherings.store import Gathering
from bot.places.store import Place

PRODID = "-//Mujawara//Liaison//EN"


def vevent(gathering: Gathering, place: Place | None, domain: str) -> Event:
    zone = ZoneInfo(gathering.tz)
    event = Event()
    event.add("uid", f"{gathering.id}@{domain}")
    event.add("dtstamp", utcnow())
    event.add("sequence", gathering.revision)
    event.add("summary", gathering.title)
    event.add("dtstart", gathering.starts_at.astimezone(zone))
    if gathering.ends_at is not None:
        event.add("dtend", gathering.ends_at.astimezone(zone))
    else:
        event.add("duration", timedelta(hours=1))
    if gathering.rrule:
        # only what repeats: the hour and minute come from DTSTART
        rule = ";".join(
            p for p in gathering.rrule.split(";") if not p.startswith(("BYHOUR=", "BYMINUTE="))
        )
        event.add("rrule", vRecur.from_ical(rule))
    where = place_line(gathering, place, _plain, show_contact=False)
    if where:
        event.add("location", where)
    if gathering.link:
        event.add("url", gathering.link)
    if gathering.description:
        event.add("description", gathering.description)
    event.add("categories", [gathering.kind])
    event.add("status", "CANCELLED" if gathering.cancelled else "CONFIRMED")
    return event


def _plain(message: str, **params: object) -> str:
    return message.format(**params) if params else message


def calendar(items: Iterable[tuple[Gathering, Place | None]], *, name: str, domain: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for gathering, place in items:
        cal.add_component(vevent(gathering, place, domain))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
