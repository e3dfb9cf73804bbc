"""Published gatherings as iCalendar: one file per gathering and the group's feed.

Only public fields go in (the same as on the pages), in the language they were written in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from bot.agenda.render import web_link, where_parts
from bot.gatherings.ics import PRODID
from bot.gatherings.public import PublicGathering


def _plain(message: str, **params: object) -> str:
    return message.format(**params) if params else message


def vevent(gathering: PublicGathering, *, domain: str, page_url: str) -> Event:
    zone = ZoneInfo(gathering.tz)
    event = Event()
    event.add("uid", f"{gathering.id}@{domain}")
    # without METHOD, DTSTAMP is the last change (RFC 5545 3.8.7.2): the file stays the same,
    # and so does its ETag, until the gathering changes
    event.add("dtstamp", gathering.changed_at)
    event.add("last-modified", gathering.changed_at)
    event.add("summary", gathering.title)
    event.add("dtstart", gathering.starts_at.astimezone(zone))
    if gathering.ends_at is not None:
        event.add("dtend", gathering.ends_at.astimezone(zone))
    else:
        event.add("duration", timedelta(hours=1))
    if gathering.rrule and not gathering.cancelled:
        rule = ";".join(
            p for p in gathering.rrule.split(";") if not p.startswith(("BYHOUR=", "BYMINUTE="))
        )
        event.add("rrule", vRecur.from_ical(rule))
    where = where_parts(gathering, gathering.lang, _plain)
    if where:
        event.add("location", ", ".join(where))
    event.add("url", web_link(gathering.link) or page_url)
    if gathering.description:
        event.add("description", gathering.description)
    event.add("categories", [gathering.kind])
    event.add("status", "CANCELLED" if gathering.cancelled else "CONFIRMED")
    return event


def calendar(
    items: Iterable[PublicGathering], *, name: str, domain: str, page_url: Callable[[str], str]
) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for gathering in items:
        cal.add_component(vevent(gathering, domain=domain, page_url=page_url(gathering.id)))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
