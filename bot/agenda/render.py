"""How the public pages read: dates in the visitor's locale, places, and the Jinja2 templates.

Templates are autoescaped: every value, member-written or not, is escaped where it is
written into the page. Interface texts are catalog messages (``t("...")`` in the templates,
extracted with the bot's own messages).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.agenda.service import Occurrence
from bot.core.i18n import base_language, is_rtl
from bot.gatherings.forms import KIND_LABELS
from bot.gatherings.public import PublicGathering

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = Path(__file__).parent / "assets"
# The languages the pages speak, each named in itself for the switcher.
LANGUAGES = ("fr", "en", "ar", "es")

Text = Callable[..., str]


def _locale(lang: str) -> str:
    try:
        Locale.parse(base_language(lang))
    except (UnknownLocaleError, ValueError):
        return "en"
    return base_language(lang)


def own_name(lang: str) -> str:
    """'français', 'English', 'العربية', 'español': each language in itself."""
    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


def day_text(moment: datetime, zone: ZoneInfo, lang: str) -> str:
    return format_date(moment.astimezone(zone), "full", locale=_locale(lang))


def time_text(moment: datetime, zone: ZoneInfo, lang: str) -> str:
    return format_time(moment.astimezone(zone), "short", locale=_locale(lang))


def zone_text(moment: datetime, zone: ZoneInfo, lang: str) -> str:
    """The zone named in the visitor's language, with its IANA name: 'heure normale d’Europe
    centrale (Africa/Tunis)'."""
    local = moment.astimezone(zone)
    return f"{get_timezone_name(local, 'long', locale=_locale(lang))} ({zone.key})"


def when_text(start: datetime, end: datetime | None, tz: str, lang: str) -> str:
    """'samedi 5 décembre 2026, 18:00 – 21:00' in the gathering's zone (the zone apart)."""
    zone = ZoneInfo(tz)
    # the locale's own way of joining a date and a time ("{1}, {0}", "{1}، {0}")
    joined = str(get_datetime_format("full", locale=_locale(lang)))
    text = joined.format(time_text(start, zone, lang), day_text(start, zone, lang))
    if end is not None:
        if end.astimezone(zone).date() == start.astimezone(zone).date():
            text += f" – {time_text(end, zone, lang)}"
        else:
            text += " – " + joined.format(time_text(end, zone, lang), day_text(end, zone, lang))
    return text


def month_text(first_day: date, lang: str) -> str:
    label = format_date(first_day, "LLLL y", locale=_locale(lang))
    return label[:1].upper() + label[1:]


def country_text(country: str, lang: str) -> str:
    """A two-letter code as the visitor's language names it ('TN' -> 'Tunisie'); else as typed."""
    code = country.strip()
    if len(code) == 2 and code.isalpha():
        try:
            return str(Locale.parse(_locale(lang)).territories.get(code.upper(), country))
        except (UnknownLocaleError, ValueError):
            return country
    return country


def where_parts(gathering: PublicGathering, lang: str, t: Text) -> list[str]:
    """Public place parts: a published place's name and address, else city and country."""
    parts: list[str] = []
    place = gathering.place
    if place is not None:
        parts += [place.name, place.address]
        city, country = place.city or gathering.city, place.country or gathering.country
    else:
        city, country = gathering.city, gathering.country
        if gathering.online:
            parts.append(t("online"))
    parts += [city, country_text(country, lang) if country else ""]
    return [p for p in parts if p]


def web_link(url: str) -> str | None:
    """Only http(s) links become links: no ``javascript:`` or ``data:`` from members."""
    cleaned = url.strip()
    return cleaned if cleaned.lower().startswith(("https://", "http://")) else None


def kind_label(kind: str, t: Text) -> str:
    return t(KIND_LABELS.get(kind, KIND_LABELS["other"]))


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, HTML and Atom alike
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        when_text=when_text,
        zone_text=lambda start, tz, lang: zone_text(start, ZoneInfo(tz), lang),
        month_text=month_text,
        where_parts=where_parts,
        web_link=web_link,
        kind_label=kind_label,
        country_text=country_text,
        is_rtl=is_rtl,
    )
    return env


def occurrence_iso(occurrence: Occurrence) -> str:
    zone = ZoneInfo(occurrence.shown.gathering.tz)
    return occurrence.starts_at.astimezone(zone).isoformat(timespec="minutes")


class Pages:
    """Renders the templates; one environment for the process."""

    def __init__(self) -> None:
        self.env = environment()
        self.env.globals["occurrence_iso"] = occurrence_iso

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)
