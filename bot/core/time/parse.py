"""Turn what members type into times: one-off moments, durations and repeating rules.

Input comes from phones in the room's language ("samedi 18h", "el sábado a las 18:00",
"every monday 18:00"), so the common shapes (a weekday or a day word plus a time of day) are
read here, deterministically; dateparser handles the long tail in whatever language it knows.
Everything is interpreted in the room's zone and returned in UTC.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_datetime
from croniter import croniter
from dateutil.rrule import rrule, rrulestr

from bot.core.time.recurrence import Recurrence, local_to_utc, utc_to_local_naive

__all__ = [
    "Recurrence",
    "TimeParseError",
    "format_local",
    "parse_datetime",
    "parse_duration",
    "parse_recurrence",
    "parse_when",
    "parse_zone",
    "rrule_from_text",
    "split_when_and_text",
]

log = logging.getLogger(__name__)

REASONS = frozenset(
    {"unparseable", "past", "bad_zone", "bad_cron", "bad_recurrence", "bad_duration"}
)


class TimeParseError(ValueError):
    """The text could not be read as a time; ``fragment`` is the part not understood.

    ``reason`` is one of :data:`REASONS`; callers turn it into a reply in the room's language.
    """

    def __init__(self, reason: str, fragment: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(f"{reason}: {fragment!r}")
        self.reason = reason
        self.fragment = fragment


# --- small text helpers -------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lowercase without accents, so 'Sábado', 'sabado' and 'SÁBADO' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _wordset(words: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in words.split())


# Words that only glue a phrase together ("el sábado a las 18:00", "on saturday at 7pm").
_FILLERS = _wordset(
    "at on the of and in "
    "à a le la les l' du de des et "
    "el las los del y "
    "às as o os do da e "
    "um am der die den "
    "saat alle om"
)
# Words that point at the coming weekday; "next friday" means the nearest Friday ahead.
_NEXT_WORDS = _wordset(
    "next this coming ce cette prochain prochaine proximo proxima que viene este esta "
    "nachsten nachster nachste kommenden diesen bu gelecek"
)

_WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EXTRA_WEEKDAYS = {
    0: "lundi lunes segunda montag",
    1: "mardi martes terca terça dienstag",
    2: "mercredi miercoles miércoles quarta mittwoch",
    3: "jeudi jueves quinta donnerstag",
    4: "vendredi viernes sexta freitag",
    5: "samedi sabado sábado samstag",
    6: "dimanche domingo sonntag",
}


@cache
def _locale_info(lang: str) -> dict[str, object]:
    from dateparser.languages.loader import default_loader

    try:
        return dict(default_loader.get_locale(lang).info)
    except ValueError:
        return {}


@cache
def _weekday_names(lang: str) -> dict[str, int]:
    """Folded weekday names (and plurals) of ``lang`` and English -> 0..6."""
    names: dict[str, int] = {}
    for source in {lang, "en", "fr", "es"}:
        info = _locale_info(source)
        for index, key in enumerate(_WEEKDAY_KEYS):
            for name in info.get(key, []) or []:  # type: ignore[attr-defined]
                names[_fold(str(name))] = index
    for index, words in _EXTRA_WEEKDAYS.items():
        for word in words.split():
            names[_fold(word)] = index
            names[_fold(word) + "-feira"] = index
    # Two-letter abbreviations ("sa", "mo") are ordinary words in too many languages.
    names = {name: i for name, i in names.items() if len(name) >= 3}
    # Plurals: "lundis", "mondays", "sábados".
    for name, index in list(names.items()):
        names.setdefault(name + "s", index)
    return names


@cache
def _dateparser_languages(lang: str) -> tuple[str, ...]:
    lang = lang.lower().split("-")[0].split("_")[0]
    if lang != "en" and _locale_info(lang):
        return (lang, "en")
    return ("en",)


# --- times of day ---------------------------------------------------------------------------

_TIME_PATTERNS = (
    # 7pm, 7:30 pm, 7 p.m.
    re.compile(
        r"(?<![\w:.\-/])(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>[ap])\.?m\.?(?!\w)",
        re.IGNORECASE,
    ),
    # 18:00, 18h30, 18H30, 18.30 is left alone (a date in many places)
    re.compile(r"(?<![\w:.\-/])(?P<h>\d{1,2})\s?[:hH]\s?(?P<m>\d{2})(?![\w:])"),
    # 18h, 18 h
    re.compile(r"(?<![\w:.\-/])(?P<h>\d{1,2})\s?[hH](?!\w)"),
    # 18 Uhr, 18 Uhr 30
    re.compile(r"(?<![\w:.\-/])(?P<h>\d{1,2})\s*uhr(?:\s*(?P<m>\d{2}))?(?!\w)", re.IGNORECASE),
)


def _extract_time(text: str) -> tuple[time | None, str, str]:
    """Find one time of day; return it, the text with it blanked out, and the matched text."""
    for pattern in _TIME_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        hour = int(match["h"])
        minute = int(match.groupdict().get("m") or 0)
        ampm = match.groupdict().get("ampm")
        if ampm:
            if not 1 <= hour <= 12:
                return None, text, ""
            hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
        if hour > 23 or minute > 59:
            return None, text, ""
        rest = text[: match.start()] + " " + text[match.end() :]
        return time(hour, minute), rest, match.group(0)
    return None, text, ""


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,;]+", text) if w]


def _strip_fillers(words: list[str]) -> list[str]:
    return [w for w in words if _fold(w) not in _FILLERS and _fold(w) not in _NEXT_WORDS]


# --- zones and formatting --------------------------------------------------------------------


@cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def parse_zone(name: str) -> ZoneInfo:
    """An IANA zone by name, case-insensitively ('europe/paris', 'UTC')."""
    cleaned = name.strip().replace(" ", "_")
    key = _zone_names().get(cleaned.casefold())
    if key is None and cleaned.casefold() in {"utc", "gmt", "z"}:
        key = "UTC"
    if key is None:
        raise TimeParseError("bad_zone", name)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeParseError("bad_zone", name) from exc


def format_local(moment: datetime, tz: ZoneInfo, lang: str | None = None) -> str:
    """'2026-12-05 18:00 CET' (locale-neutral), or with ``lang`` the day as that locale writes
    it: 'sam. 5 déc. 2026, 18:00 CET', 'السبت ٥ ديسمبر ٢٠٢٦، 18:00 CET'."""
    local = moment.astimezone(tz)
    if lang is None:
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    try:
        day = format_datetime(local, "EEE d MMM y", locale=lang)
    except (ValueError, LookupError):
        day = format_datetime(local, "EEE d MMM y", locale="en")
    return f"{day}, {local:%H:%M} {local.tzname()}"


# --- durations -------------------------------------------------------------------------------

_DURATION_UNITS: dict[str, timedelta] = {}
for _unit, _words_ in (
    (
        timedelta(weeks=1),
        "w wk wks week weeks sem semaine semaines semana semanas woche wochen hafta",
    ),
    (timedelta(days=1), "d day days j jour jours jr jrs dia dias tag tage tagen gun"),
    (
        timedelta(hours=1),
        "h hr hrs hour hours heure heures hora horas std stunde stunden saat",
    ),
    (
        timedelta(minutes=1),
        "m mn min mins minute minutes minuto minutos minuten dk dakika",
    ),
    (
        timedelta(seconds=1),
        "s sec secs second seconds seconde secondes segundo segundos sekunde sekunden sn saniye",
    ),
):
    for _w in _words_.split():
        _DURATION_UNITS[_w] = _unit

_DURATION_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([^\W\d_]+)?")


def parse_duration(text: str) -> timedelta:
    """'24h', '30m', '2d', '1h30m', '1h30', '90 min', '2 heures', '90s' -> a positive timedelta."""
    folded = _fold(text).strip()
    if not folded:
        raise TimeParseError("bad_duration", text)
    total = timedelta()
    pos = 0
    previous: timedelta | None = None
    for match in _DURATION_PART.finditer(folded):
        if folded[pos : match.start()].strip(" ,") not in {"", "et", "and", "y", "e", "und"}:
            raise TimeParseError("bad_duration", text)
        amount = float(match[1].replace(",", "."))
        unit_word = match[2]
        if unit_word is None:
            # "1h30": a bare number right after hours counts as minutes.
            if previous != timedelta(hours=1):
                raise TimeParseError("bad_duration", text)
            unit = timedelta(minutes=1)
        elif unit_word in _DURATION_UNITS:
            unit = _DURATION_UNITS[unit_word]
        else:
            raise TimeParseError("bad_duration", text)
        total += unit * amount
        previous = unit
        pos = match.end()
    if folded[pos:].strip() or total <= timedelta():
        raise TimeParseError("bad_duration", text)
    return total


# --- one-off moments ------------------------------------------------------------------------

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2})?)?(Z|[+-]\d{2}:?\d{2})?$")
_RELATIVE = re.compile(
    r"^(?:in|dans|en|em|daqui a|within|d'ici)\s+(?P<amount>.+)$",
    re.IGNORECASE,
)


def _from_iso(text: str, tz: ZoneInfo) -> datetime | None:
    cleaned = text.strip()
    if not _ISO.match(cleaned):
        return None
    try:
        parsed = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return local_to_utc(parsed, tz)
    return parsed.astimezone(UTC)


def _dateparser(text: str, lang: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """Ask dateparser; return an aware UTC datetime, or None when it understood nothing."""
    import dateparser

    settings = {
        "TIMEZONE": tz.key,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": utc_to_local_naive(now, tz),
    }
    try:
        parsed = dateparser.parse(
            text,
            languages=list(_dateparser_languages(lang)),
            settings=settings,  # type: ignore[arg-type]
        )
    except (ValueError, OverflowError):
        log.debug("dateparser rejected %r", text, exc_info=True)
        return None
    if parsed is None:
        return None
    # Read in the room's zone: re-place the wall clock with zoneinfo so gaps and folds follow
    # the same rule as everywhere else; an explicit zone in the text is kept as given.
    if getattr(parsed.tzinfo, "zone", None) == tz.key:
        return local_to_utc(parsed.replace(tzinfo=None), tz)
    return parsed.astimezone(UTC)


def _next_weekday(weekday: int, at: time | None, tz: ZoneInfo, now: datetime) -> datetime:
    today = utc_to_local_naive(now, tz).date()
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    moment = local_to_utc(datetime.combine(day, at or time(0)), tz)
    if moment <= now:
        moment = local_to_utc(datetime.combine(day + timedelta(days=7), at or time(0)), tz)
    return moment


def _parse_moment(text: str, lang: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    iso = _from_iso(text, tz)
    if iso is not None:
        return iso

    relative = _RELATIVE.match(text.strip())
    if relative:
        try:
            span = parse_duration(relative["amount"])
        except TimeParseError:
            pass
        else:
            if span % timedelta(days=1):
                return now + span
            # Whole days keep the wall-clock time across a DST change.
            return local_to_utc(utc_to_local_naive(now, tz) + span, tz)

    at, rest, _ = _extract_time(text)
    day_words = _words(rest)
    core = _strip_fillers(day_words)

    if at is not None and not core:
        today = utc_to_local_naive(now, tz).date()
        moment = local_to_utc(datetime.combine(today, at), tz)
        if moment <= now:
            moment = local_to_utc(datetime.combine(today + timedelta(days=1), at), tz)
        return moment

    if len(core) == 1:
        weekday = _weekday_names(lang).get(_fold(core[0]).rstrip("."))
        if weekday is not None:
            return _next_weekday(weekday, at, tz, now)

    if at is not None:
        for candidate in (" ".join(day_words), " ".join(core)):
            if not candidate:
                continue
            day = _dateparser(candidate, lang, tz, now)
            if day is not None:
                local_day: date = utc_to_local_naive(day, tz).date()
                return local_to_utc(datetime.combine(local_day, at), tz)
    return _dateparser(text, lang, tz, now)


def parse_datetime(
    text: str, *, lang: str, tz: ZoneInfo, now: datetime, allow_past: bool = False
) -> datetime:
    """A one-off moment in the room's language, read in ``tz``; returns aware UTC.

    Bare weekdays and times mean the next one ahead ("samedi 18h" on a Saturday morning is
    today). A moment before ``now`` is refused unless ``allow_past``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TimeParseError("unparseable", text)
    moment = _parse_moment(cleaned, lang, tz, now)
    if moment is None:
        raise TimeParseError("unparseable", text)
    if not allow_past and moment < now:
        raise TimeParseError("past", text)
    return moment


# --- repeating rules ------------------------------------------------------------------------

# Words that say "this repeats" and then carry no more meaning.
_MARKERS = _wordset(
    "every each tous toutes tout toute chaque cada todos todas todo toda jeden jede jeder"
)
# A marker that may appear anywhere ("le 1er de chaque mois"); the rest only lead.
_INNER_MARKERS = frozenset({"every", "each", "chaque", "cada"})
_UNITS = {
    **dict.fromkeys(_wordset("day days jour jours dia dias tag tage"), "DAILY"),
    **dict.fromkeys(_wordset("week weeks semaine semaines semana semanas woche wochen"), "WEEKLY"),
    **dict.fromkeys(_wordset("month months mois mes meses monat monate"), "MONTHLY"),
}
_WORKDAYS = frozenset({"weekday", "weekdays", "workday", "workdays"})
_OTHER = frozenset({"other", "autre"})
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er|re|e|eme|ème|º|ª|o|a)?\.?$")
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _cron(expression: str, fragment: str, tz: ZoneInfo, now: datetime) -> Recurrence:
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise TimeParseError("bad_cron", fragment)
    return Recurrence("cron", " ".join(fields), tz.key, now.astimezone(UTC))


def parse_recurrence(text: str, *, lang: str, tz: ZoneInfo, now: datetime) -> Recurrence:
    """A repeating rule from words ("every monday 18:00", "tous les jours 9h", "cada 2 semanas",
    "every month on the 1st at 9:00") or "cron <5 fields>". Times default to now's local time.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cleaned = " ".join(text.split())
    words = cleaned.split(" ")
    if words and _fold(words[0]) == "cron":
        return _cron(" ".join(words[1:]), cleaned, tz, now)

    at, rest, _ = _extract_time(cleaned)
    tokens = _words(rest)
    weekdays_by_name = _weekday_names(lang)
    unknown: list[str] = []
    marked = False
    freq: str | None = None
    interval: int | None = None
    monthday: int | None = None
    days: list[int] = []

    for index, token in enumerate(tokens):
        word = _fold(token).rstrip(".")
        following = _fold(tokens[index + 1]) if index + 1 < len(tokens) else ""
        if word in _MARKERS:
            marked = True
        elif word in _FILLERS:
            continue
        elif word in _OTHER:
            interval = 2
        elif word in _WORKDAYS:
            days.extend(range(5))
        elif word in weekdays_by_name:
            days.append(weekdays_by_name[word])
        elif word in _UNITS:
            unit = _UNITS[word]
            if freq is not None and freq != unit and "MONTHLY" not in {freq, unit}:
                unknown.append(token)
            # "el día 15 de cada mes": the month is the period, "día" only names the day.
            elif freq is None or unit == "MONTHLY":
                freq = unit
        elif word.isdigit() and following in _UNITS and interval is None:
            interval = int(word)
        elif (ordinal := _ORDINAL.match(word)) and 1 <= int(ordinal[1]) <= 31 and not monthday:
            monthday = int(ordinal[1])
        else:
            unknown.append(token)

    if unknown:
        raise TimeParseError("bad_recurrence", " ".join(unknown))
    if not marked and not any(_fold(t) == "cron" for t in tokens):
        raise TimeParseError("bad_recurrence", cleaned)
    if interval is not None and interval < 1:
        raise TimeParseError("bad_recurrence", cleaned)

    parts: list[str]
    if monthday is not None:
        parts = ["FREQ=MONTHLY", f"BYMONTHDAY={monthday}"]
    elif days:
        byday = ",".join(_BYDAY[d] for d in sorted(set(days)))
        parts = ["FREQ=WEEKLY", f"BYDAY={byday}"]
    elif freq is not None:
        parts = [f"FREQ={freq}"]
    else:
        raise TimeParseError("bad_recurrence", cleaned)
    if interval and interval > 1:
        parts.insert(1, f"INTERVAL={interval}")

    local_now = utc_to_local_naive(now, tz)
    at = at or time(local_now.hour, local_now.minute)
    parts += [f"BYHOUR={at.hour}", f"BYMINUTE={at.minute}"]
    dtstart = datetime.combine(local_now.date(), at)
    return Recurrence("rrule", ";".join(parts), tz.key, local_to_utc(dtstart, tz))


def rrule_from_text(rule: str, dtstart: datetime, tz: ZoneInfo) -> Recurrence:
    """An RFC 5545 RRULE ('FREQ=WEEKLY;BYDAY=TH') starting at ``dtstart``, read in ``tz``."""
    if dtstart.tzinfo is None:
        raise ValueError("dtstart must be timezone-aware")
    expression = rule.strip().upper().removeprefix("RRULE:")
    if not expression.startswith("FREQ=") and ";FREQ=" not in expression:
        raise TimeParseError("bad_recurrence", rule)
    if "DTSTART" in expression or "\n" in expression:
        raise TimeParseError("bad_recurrence", rule)
    fields = dict(part.partition("=")[::2] for part in expression.split(";") if part)
    if fields.get("FREQ") == "SECONDLY":
        raise TimeParseError("bad_recurrence", rule)
    until = fields.get("UNTIL", "")
    if until.endswith("Z"):
        # Rules are iterated on naive local times, so UNTIL is turned into local time too.
        try:
            moment = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise TimeParseError("bad_recurrence", rule) from exc
        local = utc_to_local_naive(moment, tz)
        expression = expression.replace(f"UNTIL={until}", f"UNTIL={local:%Y%m%dT%H%M%S}")
    try:
        parsed = rrulestr(expression, dtstart=utc_to_local_naive(dtstart, tz))
    except (ValueError, TypeError, KeyError) as exc:
        raise TimeParseError("bad_recurrence", rule) from exc
    if not isinstance(parsed, rrule):
        raise TimeParseError("bad_recurrence", rule)
    return Recurrence("rrule", expression, tz.key, dtstart.astimezone(UTC))


# --- either ---------------------------------------------------------------------------------


def _looks_recurring(text: str) -> bool:
    words = [_fold(w) for w in _words(text)]
    if not words:
        return False
    return words[0] in _MARKERS or words[0] == "cron" or any(w in _INNER_MARKERS for w in words)


def parse_when(text: str, *, lang: str, tz: ZoneInfo, now: datetime) -> datetime | Recurrence:
    """A :class:`Recurrence` when the text reads like one ("every ...", "tous les ...",
    "cada ...", "cron ..."), else a one-off moment in the future (aware UTC)."""
    if _looks_recurring(text):
        return parse_recurrence(text, lang=lang, tz=tz, now=now)
    return parse_datetime(text, lang=lang, tz=tz, now=now)


_MAX_WHEN_WORDS = 12
_ERROR_PRIORITY = {"bad_cron": 3, "past": 2, "bad_zone": 1}


def split_when_and_text(
    words: list[str], *, lang: str, tz: ZoneInfo, now: datetime
) -> tuple[datetime | Recurrence, str]:
    """Split unquoted "<when> <text>": the longest leading run of words that reads as a time.

    A run never ends on a glue word, so "every monday 18:00 at the park" keeps "at the park".
    """
    best_error: TimeParseError | None = None
    for size in range(min(len(words), _MAX_WHEN_WORDS), 0, -1):
        head = words[:size]
        if _fold(head[-1]) in _FILLERS:
            continue
        try:
            when = parse_when(" ".join(head), lang=lang, tz=tz, now=now)
        except TimeParseError as exc:
            rank = _ERROR_PRIORITY.get(exc.reason, 0)
            if rank and (best_error is None or rank > _ERROR_PRIORITY.get(best_error.reason, 0)):
                best_error = exc
            continue
        return when, " ".join(words[size:])
    if best_error is not None:
        raise best_error
    reason = "bad_recurrence" if words and _looks_recurring(words[0]) else "unparseable"
    raise TimeParseError(reason, " ".join(words[:4]))
