"""Replies for times that cannot be used, shared by every feature that reads one.

A date that does not exist or a day without an hour gets a reply saying exactly that, in the
room's language, with what was understood; other reasons stay with each feature, whose replies
name its own example ("Nothing was scheduled", "Nothing was changed").
"""

from __future__ import annotations

import calendar
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.core.errors import CommandError
from bot.core.text.echo import echo
from bot.core.time.describe import Speaks, locale_of, month_name
from bot.core.time.parse import TimeParseError
from bot.core.time.recurrence import utc_to_local_naive


def time_refusal(exc: TimeParseError, t: Speaks, tz: ZoneInfo) -> CommandError | None:
    """The reply for an impossible date or a missing hour; None for the other reasons."""
    fragment = echo(exc.fragment)
    if exc.reason == "impossible_date" and exc.month is not None:
        month = month_name(exc.month, t.lang)
        if exc.month == 2 and exc.days is None:
            return CommandError(
                "There is no {date}: {month} has 28 days, 29 in a leap year. Nothing was saved.",
                date=fragment,
                month=month,
            )
        days = exc.days or calendar.monthrange(2001, exc.month)[1]
        return CommandError(
            "There is no {date}: {month} has {days} days. Nothing was saved.",
            date=fragment,
            month=month,
            days=days,
        )
    if exc.reason == "no_time" and isinstance(exc.value, datetime):
        local = utc_to_local_naive(exc.value, tz).date()
        shown = format_date(local, "full", locale=locale_of(t.lang))
        return CommandError(
            "I read {when} as {day}, but not at what time. Nothing was saved. Add the hour, for example {example}.",
            when=fragment,
            day=shown,
            example=echo(f"{exc.understood or exc.fragment} 18:00"),
        )
    return None
