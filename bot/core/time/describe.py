"""A time as the bot restates it, in the room's language: "every 2 hours", "chaque lundi à
18:00", "كل ساعتين", "once, on Thu 19 Mar 2026 at 09:00 CET".

Confirmations say what was understood in words, not only what was typed, so a member sees at
once when the bot read "every 2 hours" as something else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, get_day_names, get_month_names
from babel.lists import format_list

from bot.core.i18n import N_
from bot.core.time.parse import format_local
from bot.core.time.recurrence import Recurrence, utc_to_local_naive

_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_NTH = {
    1: N_("on the first {weekday} of every month at {time}"),
    2: N_("on the second {weekday} of every month at {time}"),
    3: N_("on the third {weekday} of every month at {time}"),
    4: N_("on the fourth {weekday} of every month at {time}"),
    -1: N_("on the last {weekday} of every month at {time}"),
}


class Speaks(Protocol):
    """The bot's words in one language (:class:`bot.core.i18n.Speaker`)."""

    lang: str

    def __call__(self, message: str, **params: Any) -> str: ...

    def n(self, singular: str, plural: str, count: int, **params: Any) -> str: ...


def locale_of(lang: str) -> Locale:
    try:
        return Locale.parse(lang.split("-")[0])
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def weekday_names(days: list[int], lang: str) -> str:
    """'Monday and Thursday', 'lundi et jeudi', 'الاثنين والخميس'."""
    locale = locale_of(lang)
    names = get_day_names("wide", locale=locale)
    return str(format_list([str(names[d]) for d in days], locale=locale))


def month_name(month: int, lang: str) -> str:
    return str(get_month_names("wide", context="stand-alone", locale=locale_of(lang))[month])


def _fields(expression: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in expression.upper().removeprefix("RRULE:").split(";"):
        key, _, value = item.partition("=")
        if key:
            fields[key] = value
    return fields


def describe(rule: Recurrence, t: Speaks) -> str:
    """The rule in words, in ``t``'s language (without its zone, which callers show)."""
    if rule.kind == "cron":
        return t("on the cron schedule {expression}", expression=f"`{rule.expression}`")
    start = utc_to_local_naive(rule.anchor, rule.zone)
    fields = _fields(rule.expression)
    freq = fields.get("FREQ", "")
    interval = int(fields.get("INTERVAL", "1") or 1)
    hour = int(fields.get("BYHOUR", str(start.hour)).split(",")[0])
    minute = int(fields.get("BYMINUTE", str(start.minute)).split(",")[0])
    at = f"{hour:02d}:{minute:02d}"
    byday = [d for d in fields.get("BYDAY", "").split(",") if d]
    plain_days = [_BYDAY.index(d) for d in byday if d in _BYDAY]
    lang = t.lang
    words: str | None = None
    if freq == "MINUTELY":
        words = t.n("every minute", "every {count} minutes", interval)
    elif freq == "HOURLY":
        words = t.n("every hour", "every {count} hours", interval)
    elif freq == "DAILY" and not byday:
        words = t.n("every day at {time}", "every {count} days at {time}", interval, time=at)
    elif freq == "WEEKLY" and len(plain_days) == len(byday):
        days = plain_days or [start.weekday()]
        if days == [0, 1, 2, 3, 4] and interval == 1:
            words = t("from Monday to Friday at {time}", time=at)
        elif interval == 1:
            words = t("every {days} at {time}", days=weekday_names(days, lang), time=at)
        else:
            words = t.n(
                "every week on {days} at {time}",
                "every {count} weeks on {days} at {time}",
                interval,
                days=weekday_names(days, lang),
                time=at,
            )
    elif freq == "MONTHLY" and len(byday) == 1 and interval == 1 and not plain_days:
        position, day = byday[0][:-2], byday[0][-2:]
        if position.lstrip("+").lstrip("-").isdigit() and int(position) in _NTH and day in _BYDAY:
            words = t(
                _NTH[int(position)],
                weekday=weekday_names([_BYDAY.index(day)], lang),
                time=at,
            )
    elif freq == "MONTHLY" and not byday:
        monthday = fields.get("BYMONTHDAY", str(start.day))
        if monthday.isdigit():
            words = t.n(
                "every month on day {day} at {time}",
                "every {count} months on day {day} at {time}",
                interval,
                day=int(monthday),
                time=at,
            )
    elif freq == "YEARLY" and not byday and "BYMONTH" not in fields:
        day = format_date(start.date(), "d MMMM", locale=locale_of(lang))
        words = t.n(
            "every year on {date} at {time}",
            "every {count} years on {date} at {time}",
            interval,
            date=day,
            time=at,
        )
    if words is None:
        return t("repeating by the rule {rule}", rule=f"`{rule.expression}`")
    if plain_days and freq in {"HOURLY", "MINUTELY"}:
        words += " " + t("on {days}", days=weekday_names(plain_days, lang))
    if "COUNT" in fields and fields["COUNT"].isdigit():
        words += " " + t.n("({count} time in all)", "({count} times in all)", int(fields["COUNT"]))
    if "UNTIL" in fields:
        until = fields["UNTIL"][:8]
        if until.isdigit():
            shown = format_date(
                datetime.strptime(until, "%Y%m%d").date(),  # noqa: DTZ007
                "long",
                locale=locale_of(lang),
            )
            words += " " + t("until {date}", date=shown)
    return words


def describe_when(when: datetime | Recurrence, tz: ZoneInfo, t: Speaks) -> str:
    """A schedule's when in words: the rule, or "once, Thu 19 Mar 2026, 09:00 CET"."""
    if isinstance(when, Recurrence):
        return describe(when, t)
    return t("once, {moment}", moment=format_local(when, tz, t.lang))
