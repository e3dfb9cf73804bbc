"""Turn what members type into times: one-off moments, durations and repeating rules.

Input comes from phones in the room's language ("samedi 18h", "el sábado a las 18:00",
"كل يوم 9:00", "every 2 hours"). Every word is first classified with the language's time words
(``bot/core/time/words.py``: the same tables the README's table of forms is generated from),
then the phrase is read deterministically; dateparser only handles the long tail of one-off
dates in languages we have no table for. Everything is interpreted in the room's zone and
returned in UTC.

A phrase is understood whole or refused: a word that is not a time word is never silently
dropped, and when a schedule's "<when> <text>" is split, the when ends where the time words
end, so "every 2 hours Two-hourly" is "every 2 hours" and the text "Two-hourly".
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_datetime
from croniter import croniter
from dateutil.rrule import rrule, rrulestr

from bot.core.time.recurrence import Recurrence, local_to_utc, utc_to_local_naive
from bot.core.time.tokens import (
    BYDAY,
    ISO,
    ISO_DAY,
    Token,
    clean,
    is_range,
    time_of,
    tokenize,
    when_length,
)
from bot.core.time.words import HOUR, MINUTE, MONTH, fold, lexicon

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
    {
        "unparseable",
        "past",
        "bad_zone",
        "bad_cron",
        "bad_recurrence",
        "bad_duration",
        "impossible_date",  # 31 February: ``month`` and ``days`` say why
        "no_time",  # a day without an hour where an hour is needed: ``value`` is the day
        "partial",  # "<when> <text>" whose text starts with time words: ``understood``, ``value``
    }
)


class TimeParseError(ValueError):
    """The text could not be read as a time; ``fragment`` is the part not understood.

    ``reason`` is one of :data:`REASONS`; callers turn it into a reply in the room's language.
    ``understood`` and ``value`` say what was read when only part of it was (``partial``,
    ``no_time``); ``month`` and ``days`` explain an ``impossible_date``.
    """

    def __init__(
        self,
        reason: str,
        fragment: str,
        *,
        understood: str | None = None,
        value: datetime | Recurrence | None = None,
        month: int | None = None,
        days: int | None = None,
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(f"{reason}: {fragment!r}")
        self.reason = reason
        self.fragment = fragment
        self.understood = understood
        self.value = value
        self.month = month
        self.days = days


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
        "w wk wks week weeks sem semaine semaines semana semanas woche wochen hafta اسبوع اسابيع",
    ),
    (timedelta(days=1), "d day days j jour jours jr jrs dia dias tag tage tagen gun يوم ايام"),
    (
        timedelta(hours=1),
        "h hr hrs hour hours heure heures hora horas std stunde stunden saat ساعة ساعات",
    ),
    (
        timedelta(minutes=1),
        "m mn min mins minute minutes minuto minutos minuten dk dakika دقيقة دقائق",
    ),
    (
        timedelta(seconds=1),
        "s sec secs second seconds seconde secondes segundo segundos sekunde sekunden sn saniye",
    ),
):
    for _w in _words_.split():
        _DURATION_UNITS[_w] = _unit
# Arabic duals: two of the unit, with no number written ("بعد ساعتين", in two hours).
_DURATION_PAIRS = {
    **dict.fromkeys(("ساعتين", "ساعتان"), timedelta(hours=2)),
    **dict.fromkeys(("دقيقتين", "دقيقتان"), timedelta(minutes=2)),
    **dict.fromkeys(("يومين", "يومان"), timedelta(days=2)),
    **dict.fromkeys(("اسبوعين", "اسبوعان"), timedelta(weeks=2)),
}

_DURATION_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([^\W\d_]+)?")


def parse_duration(text: str) -> timedelta:
    """'24h', '30m', '2d', '1h30m', '1h30', '90 min', '2 heures', '90s', 'ساعتين' -> a
    positive timedelta."""
    folded = fold(text).strip()
    if not folded:
        raise TimeParseError("bad_duration", text)
    if folded in _DURATION_PAIRS:
        return _DURATION_PAIRS[folded]
    if len(folded) >= 3 and folded in _DURATION_UNITS:
        return _DURATION_UNITS[folded]  # "in an hour" reads as one hour: "خلال ساعة"
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


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,;،]+", text) if w]


def _from_iso(text: str, tz: ZoneInfo) -> datetime | None:
    cleaned = text.strip()
    if not ISO.match(cleaned):
        return None
    _check_day(cleaned, *_iso_day(cleaned))
    try:
        parsed = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return local_to_utc(parsed, tz)
    return parsed.astimezone(UTC)


def _iso_day(text: str) -> tuple[int | None, int, int]:
    match = ISO_DAY.match(text)
    assert match is not None
    return int(match[1]), int(match[2]), int(match[3])


def _check_day(fragment: str, year: int | None, month: int, day: int) -> None:
    """Refuse a day its month does not have (31 February) with a reason members can act on."""
    if not 1 <= month <= 12:
        raise TimeParseError("unparseable", fragment)
    longest = calendar.monthrange(year, month)[1] if year else (29 if month == 2 else 0)
    longest = longest or calendar.monthrange(2001, month)[1]
    if not 1 <= day <= longest:
        raise TimeParseError(
            "impossible_date", fragment, month=month, days=longest if year else None
        )


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


@cache
def _dateparser_languages(lang: str) -> tuple[str, ...]:
    from dateparser.languages.loader import default_loader

    lang = lang.lower().split("-")[0].split("_")[0]
    if lang == "en":
        return ("en",)
    try:
        default_loader.get_locale(lang)
    except ValueError:
        return ("en",)
    return (lang, "en")


@dataclass
class _Moment:
    """What a one-off phrase said, before it is placed in time."""

    day: date | None = None
    weekday: int | None = None
    at: time | None = None
    part: int | None = None  # the hour a part of the day means
    span: timedelta | None = None  # "in 2 hours"


def _read_moment(tokens: Sequence[Token], today: date) -> _Moment | None:
    """The parts of a one-off phrase, or None when a word is not understood here."""
    found = _Moment()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.kind
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if kind in {"glue", "next", "at"}:
            pass
        elif kind == "iso":
            year, month, day = _iso_day(token.text)
            _check_day(token.text, year, month, day)
            found.day = date(year or today.year, month, day)
            rest = token.text[10:].strip(" T")
            if rest:
                found.at = time_of(rest[:5].rstrip(":"))
        elif kind == "time":
            if found.at is not None:
                return None
            found.at = token.value
        elif kind == "part":
            found.part = token.value
        elif kind == "tonight":
            found.day, found.part = today, token.value
        elif kind == "day":
            found.day = today + timedelta(days=token.value)
        elif kind == "weekday":
            found.weekday = token.value
        elif kind == "unit" and following is not None and following.kind == "weekday":
            pass  # "يوم السبت": the day Saturday
        elif kind == "relative" and following is not None:
            amount = tokens[index + 1 :]
            try:
                found.span = parse_duration(" ".join(t.text for t in amount[:2]))
            except TimeParseError:
                try:
                    found.span = parse_duration(amount[0].text)
                except TimeParseError:
                    return None
                index += 1
            else:
                index += min(2, len(amount))
        elif kind in {"number", "ordinal"} and _month_near(tokens, index):
            month_token = _month_near(tokens, index)
            assert month_token is not None
            year = next((t.value for t in tokens if t.kind == "year"), None)
            fragment = " ".join(
                t.text for t in tokens if t.kind in {"number", "ordinal", "month", "year"}
            )
            _check_day(fragment, year, month_token.value, token.value)
            found.day = _next_date(today, month_token.value, token.value, year)
        elif kind in {"month", "year"} and any(t.kind in {"number", "ordinal"} for t in tokens):
            pass  # read with its day number
        else:
            return None
        index += 1
    return found


def _month_near(tokens: Sequence[Token], index: int) -> Token | None:
    """The month beside a day number: "5 décembre", "5 de diciembre", "December 5"."""
    for step in (1, 2, -1):
        position = index + step
        if 0 <= position < len(tokens):
            candidate = tokens[position]
            if candidate.kind == "month":
                between = tokens[min(index, position) + 1 : max(index, position)]
                if all(t.kind == "glue" for t in between):
                    return candidate
    return None


def _next_date(today: date, month: int, day: int, year: int | None) -> date:
    if year is not None:
        return date(year, month, day)
    for candidate_year in range(today.year, today.year + 9):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue  # 29 February waits for a leap year
        if candidate >= today:
            return candidate
    return date(today.year, month, day)


def _next_weekday(weekday: int, at: time | None, tz: ZoneInfo, now: datetime) -> datetime:
    today = utc_to_local_naive(now, tz).date()
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    moment = local_to_utc(datetime.combine(day, at or time(0)), tz)
    if moment <= now:
        moment = local_to_utc(datetime.combine(day + timedelta(days=7), at or time(0)), tz)
    return moment


def _hour_with_part(at: time | None, part: int | None) -> time | None:
    """'8h du soir' is 20:00; 'soir' alone is the evening's hour."""
    if at is None:
        return time(part) if part is not None else None
    if part is not None and part >= 15 and at.hour < 12:
        return at.replace(hour=at.hour + 12)
    return at


def _place(found: _Moment, tz: ZoneInfo, now: datetime) -> tuple[datetime, bool] | None:
    """The moment a one-off phrase means, and whether it named an hour."""
    local_now = utc_to_local_naive(now, tz)
    at = _hour_with_part(found.at, found.part)
    if found.span is not None:
        if found.day is not None or found.weekday is not None:
            return None
        if found.span % timedelta(days=1):
            return now + found.span, True
        # Whole days keep the wall-clock time across a DST change (and take an hour if given).
        moved = local_now + found.span
        if at is not None:
            moved = datetime.combine(moved.date(), at)
        return local_to_utc(moved, tz), True
    if found.day is not None:
        if found.weekday is not None and found.day.weekday() != found.weekday:
            return None
        return local_to_utc(datetime.combine(found.day, at or time(0)), tz), at is not None
    if found.weekday is not None:
        return _next_weekday(found.weekday, at, tz, now), at is not None
    if at is not None:
        moment = local_to_utc(datetime.combine(local_now.date(), at), tz)
        if moment <= now:
            moment = local_to_utc(datetime.combine(local_now.date() + timedelta(days=1), at), tz)
        return moment, True
    return None


def _parse_moment(
    text: str, lang: str, tz: ZoneInfo, now: datetime
) -> tuple[datetime, bool] | None:
    iso = _from_iso(text, tz)
    if iso is not None:
        return iso, len(text.strip()) > 10
    tokens = tokenize(_words(text), lexicon(lang))
    today = utc_to_local_naive(now, tz).date()
    found = _read_moment(tokens, today)
    if found is not None:
        placed = _place(found, tz, now)
        if placed is not None:
            return placed
    # the long tail, in languages we have no table for; an hour it shows counts as given
    moment = _dateparser(text, lang, tz, now)
    if moment is None:
        return None
    has_time = any(t.kind == "time" for t in tokens)
    return moment, has_time


def parse_datetime(
    text: str,
    *,
    lang: str,
    tz: ZoneInfo,
    now: datetime,
    allow_past: bool = False,
    need_time: bool = False,
) -> datetime:
    """A one-off moment in the room's language, read in ``tz``; returns aware UTC.

    Bare weekdays and times mean the next one ahead ("samedi 18h" on a Saturday morning is
    today). A moment before ``now`` is refused unless ``allow_past``. With ``need_time`` a day
    without an hour ("demain") is refused (``no_time``) instead of meaning midnight.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TimeParseError("unparseable", text)
    placed = _parse_moment(cleaned, lang, tz, now)
    if placed is None:
        raise TimeParseError("unparseable", text)
    moment, has_time = placed
    if need_time and not has_time:
        raise TimeParseError("no_time", text, understood=cleaned, value=moment)
    if not allow_past and moment < now and not (not has_time and _today(moment, tz, now)):
        raise TimeParseError("past", text)
    return moment


def _today(moment: datetime, tz: ZoneInfo, now: datetime) -> bool:
    """A day without an hour that is today is not past (it lasts until midnight)."""
    local = utc_to_local_naive(moment, tz)
    return local.time() == time(0) and local.date() == utc_to_local_naive(now, tz).date()


# --- repeating rules ------------------------------------------------------------------------


def _cron(expression: str, fragment: str, tz: ZoneInfo, now: datetime) -> Recurrence:
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise TimeParseError("bad_cron", fragment)
    return Recurrence("cron", " ".join(fields), tz.key, now.astimezone(UTC))


def _is_repetition(tokens: Sequence[Token]) -> bool:
    return any(t.kind in {"every", "adverb", "workdays", "cron"} for t in tokens) or any(
        is_range(tokens, i) for i in range(len(tokens))
    )


@dataclass
class _Rule:
    freq: str | None = None
    interval: int | None = None
    monthday: int | None = None
    weekdays: list[int] | None = None
    nth: int | None = None
    at: time | None = None
    part: int | None = None


def _read_rule(tokens: Sequence[Token]) -> tuple[_Rule, list[str]]:
    """The parts of a repeating phrase, and the words that are not understood in one."""
    rule = _Rule()
    days: list[int] = []
    unknown: list[str] = []
    pending_nth: int | None = None
    # a day number needs a month around it: "every 2" alone is not "on the 2nd"
    monthly = any(t.kind in {"unit", "pair", "adverb"} and t.value == MONTH for t in tokens)
    for index, token in enumerate(tokens):
        kind = token.kind
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if kind in {"every", "glue", "next"}:
            continue
        if kind in {"to", "at"} and is_range(tokens, index):
            assert following is not None
            first, last = tokens[index - 1].value, following.value
            days.extend((first + step) % 7 for step in range(1, (last - first) % 7))
            continue
        if kind == "at":
            continue
        if kind == "unit" and following is not None and following.kind == "weekday":
            continue  # "كل أسبوعين يوم الجمعة": "day" only names Friday
        if kind == "adverb":
            rule.freq = token.value
        elif kind == "workdays":
            days.extend(range(5))
        elif kind == "other":
            rule.interval = 2
        elif kind == "pair":
            rule.freq, rule.interval = token.value, rule.interval or 2
        elif kind == "unit":
            unit = token.value
            if rule.freq is not None and rule.freq != unit and MONTH not in {rule.freq, unit}:
                unknown.append(token.text)
            # "el día 15 de cada mes": the month is the period, "día" only names the day.
            elif rule.freq is None or unit == MONTH:
                rule.freq = unit
        elif kind == "number" and following is not None and following.kind in {"unit", "pair"}:
            if rule.interval is not None:
                unknown.append(token.text)
            rule.interval = token.value
        elif (
            kind in {"number", "ordinal"} and following is not None and following.kind == "weekday"
        ):
            pending_nth = token.value if 1 <= token.value <= 4 else None
            if pending_nth is None:
                unknown.append(token.text)
        elif (
            kind in {"number", "ordinal"}
            and monthly
            and 1 <= token.value <= 31
            and rule.monthday is None
        ):
            rule.monthday = token.value
        elif kind == "nth":
            if following is None or following.kind != "weekday":
                unknown.append(token.text)
            pending_nth = token.value
        elif kind == "weekday":
            if pending_nth is not None:
                rule.nth = pending_nth
                pending_nth = None
            days.append(token.value)
        elif kind == "time":
            if rule.at is not None:
                unknown.append(token.text)
            rule.at = token.value
        elif kind == "part":
            rule.part = token.value
        else:
            unknown.append(token.text)
    rule.weekdays = days
    return rule, unknown


def parse_recurrence(text: str, *, lang: str, tz: ZoneInfo, now: datetime) -> Recurrence:
    """A repeating rule from words ("every monday 18:00", "tous les jours 9h", "cada 2 horas",
    "كل يوم 9:00", "first monday of every month 18:00") or "cron <5 fields>". Times of
    day-or-longer rules default to now's local time; hourly and shorter ones count from now.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cleaned = " ".join(text.split())
    words = _words(cleaned)
    if words and clean(words[0]) == "cron":
        return _cron(" ".join(cleaned.split(" ")[1:]), cleaned, tz, now)
    tokens = tokenize(words, lexicon(lang))
    rule, unknown = _read_rule(tokens)
    if unknown:
        raise TimeParseError("bad_recurrence", " ".join(unknown))
    if not _is_repetition(tokens):
        raise TimeParseError("bad_recurrence", cleaned)
    if rule.interval is not None and rule.interval < 1:
        raise TimeParseError("bad_recurrence", cleaned)
    days = sorted(set(rule.weekdays or []))
    parts: list[str]
    if rule.nth is not None:
        if len(days) != 1:
            raise TimeParseError("bad_recurrence", cleaned)
        parts = ["FREQ=MONTHLY", f"BYDAY={rule.nth}{BYDAY[days[0]]}"]
    elif rule.monthday is not None:
        parts = ["FREQ=MONTHLY", f"BYMONTHDAY={rule.monthday}"]
    elif days and rule.freq in {HOUR, MINUTE}:
        parts = [f"FREQ={rule.freq}", "BYDAY=" + ",".join(BYDAY[d] for d in days)]
    elif days:
        parts = ["FREQ=WEEKLY", "BYDAY=" + ",".join(BYDAY[d] for d in days)]
    elif rule.freq is not None:
        parts = [f"FREQ={rule.freq}"]
    else:
        raise TimeParseError("bad_recurrence", cleaned)
    if rule.interval and rule.interval > 1:
        parts.insert(1, f"INTERVAL={rule.interval}")

    local_now = utc_to_local_naive(now, tz).replace(second=0, microsecond=0)
    at = _hour_with_part(rule.at, rule.part)
    if parts[0] in {f"FREQ={HOUR}", f"FREQ={MINUTE}"}:
        # counted from the given hour, or from the minute it is added
        start = datetime.combine(local_now.date(), at) if at else local_now
        return Recurrence("rrule", ";".join(parts), tz.key, local_to_utc(start, tz))
    at = at or local_now.time()
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


def parse_when(
    text: str, *, lang: str, tz: ZoneInfo, now: datetime, need_time: bool = False
) -> datetime | Recurrence:
    """A :class:`Recurrence` when the text reads like one ("every ...", "tous les ...",
    "cada ...", "كل ...", "weekdays", "cron ..."), else a one-off moment in the future."""
    tokens = tokenize(_words(text), lexicon(lang))
    if _is_repetition(tokens):
        return parse_recurrence(text, lang=lang, tz=tz, now=now)
    return parse_datetime(text, lang=lang, tz=tz, now=now, need_time=need_time)


# Time words that, at the start of a schedule's text, mean the when was not read whole: a
# second hour ("every monday 18:00 19:00"), a part of the day ("demain 9h soir").
_LEFT_OVER = frozenset({"time", "part", "tonight"})


def split_when_and_text(
    words: list[str], *, lang: str, tz: ZoneInfo, now: datetime, need_time: bool = True
) -> tuple[datetime | Recurrence, str]:
    """Split unquoted "<when> <text>": the when is the leading run of time words.

    What follows must not start with time words that were left out ("every monday 18:00
    19:00 Call", "demain soir 20h Apéro"): that is refused as ``partial`` with what was
    understood, rather than saved with part of the time glued onto the text.
    """
    lex = lexicon(lang)
    tokens = tokenize(words, lex)
    length = when_length(tokens)
    if length == 0:
        reason = "bad_recurrence" if tokens and tokens[0].kind == "every" else "unparseable"
        raise TimeParseError(reason, " ".join(words[:4]))
    used = tokens[length - 1].end
    head = " ".join(words[:used])
    try:
        when = parse_when(head, lang=lang, tz=tz, now=now, need_time=need_time)
    except TimeParseError as exc:
        if exc.reason in {"bad_recurrence", "unparseable"}:
            # show the word that stopped the reading too: "every 2 hourz"
            shown = " ".join(words[: used + 1])
            raise TimeParseError(exc.reason, shown, understood=head) from None
        raise
    rest = tokens[length:]
    if rest:
        first = rest[0]
        if first.kind in _LEFT_OVER:
            shown = " ".join(words[first.start : min(first.start + 3, len(words))])
            raise TimeParseError("partial", shown, understood=head, value=when)
    return when, " ".join(words[used:])
