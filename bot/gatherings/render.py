"""How a gathering reads in a room: times in two zones, details, announcements, reminders.

The frame comes from the catalogs in the room's language; only member-written parts (title,
description) are machine-translated, by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.core.i18n import Speaker
from bot.core.time.describe import describe
from bot.core.time.recurrence import Recurrence
from bot.gatherings.forms import KIND_LABELS, REACTIONS
from bot.gatherings.store import Gathering, Rsvp
from bot.places.store import Place

Text = Speaker  # the room's language: t(msgid, **params), t.n(singular, plural, count)


def format_time(moment: datetime, tz: ZoneInfo, lang: str) -> str:
    """'Sat 5 Dec 2026, 18:00 CET' in the room's language (English if babel lacks it)."""
    local = moment.astimezone(tz)
    try:
        day = format_datetime(local, "EEE d MMM y", locale=lang)
    except (ValueError, LookupError):
        day = format_datetime(local, "EEE d MMM y", locale="en")
    return f"{day}, {local:%H:%M} {local.tzname()}"


def when_line(
    gathering: Gathering, room_tz: ZoneInfo, lang: str, t: Text, *, with_end: bool = True
) -> str:
    """The start (and end) in the event's zone, plus the room's zone when it differs."""
    zone = ZoneInfo(gathering.tz)
    text = format_time(gathering.starts_at, zone, lang)
    if with_end and gathering.ends_at is not None:
        end_local = gathering.ends_at.astimezone(zone)
        if end_local.date() == gathering.starts_at.astimezone(zone).date():
            text += f" – {end_local:%H:%M}"
        else:
            text += " – " + format_time(gathering.ends_at, zone, lang)
    text += f" ({gathering.tz})"
    if room_tz.key != gathering.tz:
        text += "\n" + t(
            "In this room's time zone: {time} ({zone})",
            time=format_time(gathering.starts_at, room_tz, lang),
            zone=room_tz.key,
        )
    return text


@dataclass(frozen=True)
class Counts:
    going: int
    maybe: int
    not_going: int
    waiting: int


def counts(answers: list[Rsvp]) -> Counts:
    return Counts(
        going=sum(1 for r in answers if r.answer == "yes" and not r.waiting),
        maybe=sum(1 for r in answers if r.answer == "maybe"),
        not_going=sum(1 for r in answers if r.answer == "no"),
        waiting=sum(1 for r in answers if r.answer == "yes" and r.waiting),
    )


def counts_line(gathering: Gathering, answers: list[Rsvp], t: Text) -> str:
    c = counts(answers)
    going = (
        t("{going} of {capacity}", going=c.going, capacity=gathering.capacity)
        if gathering.capacity
        else str(c.going)
    )
    line = t(
        "Going: {going} · Maybe: {maybe} · Not going: {no}",
        going=going,
        maybe=c.maybe,
        no=c.not_going,
    )
    if c.waiting:
        line += " · " + t("Waiting list: {waiting}", waiting=c.waiting)
    return line


def place_line(
    gathering: Gathering, place: Place | None, t: Callable[..., str], *, show_contact: bool
) -> str:
    if place is not None:
        where = f"{place.name} ({place.id})"
        locality = ", ".join(p for p in (place.city, place.country) if p)
        if locality:
            where += f" — {locality}"
        if show_contact and place.contact:
            where += "\n" + t("Contact: {contact}", contact=place.contact)
        return where
    where = t("online") if gathering.place == "online" else gathering.place
    locality = ", ".join(p for p in (gathering.city, gathering.country) if p)
    if locality:
        where = f"{where} — {locality}" if where else locality
    if gathering.link:
        where = f"{where} {gathering.link}".strip()
    return where


def recurrence_text(gathering: Gathering, t: Text) -> str | None:
    """How the gathering repeats, in the room's language ("chaque lundi à 19:00")."""
    if not gathering.rrule or gathering.rrule_anchor is None:
        return None
    rule = Recurrence("rrule", gathering.rrule, gathering.tz, gathering.rrule_anchor)
    return describe(rule, t) + f" ({gathering.tz})"


def lead_text(seconds: int) -> str:
    """A compact, language-neutral length: '1 d', '24 h', '1 h 30 min', '90 s' -> '1 min 30 s'."""
    days, rest = divmod(seconds, 86400)
    if days and not rest and days != 1:
        return f"{days} d"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 s"


@dataclass(frozen=True)
class View:
    """Everything a rendering needs, already in the target room's language."""

    gathering: Gathering
    title: str
    description: str
    place: Place | None
    room_tz: ZoneInfo
    lang: str
    show_contact: bool


def details(view: View, answers: list[Rsvp], t: Text) -> str:
    """The full card for ``!event show``."""
    g = view.gathering
    lines = [f"**{view.title}** (`{g.id}`)"]
    if g.cancelled:
        lines.append("**" + t("Cancelled") + "**")
    lines.append(t("When: {when}", when=when_line(g, view.room_tz, view.lang, t)))
    repeat = recurrence_text(g, t)
    if repeat:
        lines.append(t("Repeats: {rule}", rule=repeat))
    where = place_line(g, view.place, t, show_contact=view.show_contact)
    if where:
        lines.append(t("Where: {place}", place=where))
    lines.append(t("Kind: {kind}", kind=t(KIND_LABELS.get(g.kind, g.kind))))
    if g.languages:
        lines.append(t("Languages spoken: {languages}", languages=g.languages))
    if g.capacity:
        lines.append(t("Capacity: {capacity}", capacity=g.capacity))
    if view.description:
        lines.append("")
        lines.append(view.description)
    lines.append("")
    lines.append(counts_line(g, answers, t))
    return "\n".join(lines)


def announcement(view: View, t: Text, command: Callable[[str], str]) -> str:
    """The post members react to."""
    g = view.gathering
    lines = []
    if g.cancelled:
        lines.append("**" + t("Cancelled: {title}", title=view.title) + "**")
        lines.append("~~" + when_line(g, view.room_tz, view.lang, t).replace("\n", " · ") + "~~")
        return "\n".join(lines)
    lines.append("📅 **" + view.title + "**")
    lines.append(when_line(g, view.room_tz, view.lang, t))
    repeat = recurrence_text(g, t)
    if repeat:
        lines.append(t("Repeats: {rule}", rule=repeat))
    where = place_line(g, view.place, t, show_contact=view.show_contact)
    if where:
        lines.append("📍 " + where)
    kind = t(KIND_LABELS.get(g.kind, g.kind))
    extra = [kind]
    if g.languages:
        extra.append(t("languages: {languages}", languages=g.languages))
    if g.capacity:
        extra.append(t.n("{count} place", "{count} places", g.capacity))
    lines.append(" · ".join(extra))
    if view.description:
        lines.append("")
        lines.append(view.description)
    lines.append("")
    lines.append(
        t(
            "React {yes} going, {maybe} maybe, {no} not going — or type {command}.",
            yes=REACTIONS["yes"],
            maybe=REACTIONS["maybe"],
            no=REACTIONS["no"],
            command=command(f"event rsvp {g.id} yes"),
        )
    )
    return "\n".join(lines)


def reminder(view: View, lead_seconds: int, t: Text) -> str:
    g = view.gathering
    text = "⏰ " + t(
        "Reminder: {title} starts in {lead}.",
        title=f"**{view.title}**",
        lead=lead_text(lead_seconds),
    )
    text += "\n" + when_line(g, view.room_tz, view.lang, t)
    where = place_line(g, view.place, t, show_contact=view.show_contact)
    if where:
        text += "\n📍 " + where
    return text
