"""Repeating schedules evaluated in local wall-clock time.

A rule like "every Monday at 18:00" means 18:00 on the wall clock of its zone, whatever the UTC
offset is that day. So rules are iterated on naive local datetimes and each occurrence is only
then placed in the zone: a time that does not exist (spring-forward gap) moves forward by the
gap, an ambiguous one (autumn fold) takes its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter
from dateutil.rrule import rrule, rrulestr

# An occurrence can be up to one DST shift (at most 2 h anywhere) away from the naive local
# reading of the reference moment; start the naive search this much earlier.
_SEARCH_SLACK = timedelta(hours=3)
# A safety bound on occurrences examined for one answer; no sane rule needs more.
_MAX_STEPS = 10_000

_DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
_FREQ_UNITS = {
    "YEARLY": "year",
    "MONTHLY": "month",
    "WEEKLY": "week",
    "DAILY": "day",
    "HOURLY": "hour",
    "MINUTELY": "minute",
}


def local_to_utc(naive: datetime, tz: ZoneInfo) -> datetime:
    """Place a wall-clock time in ``tz``: gaps skip forward, folds take the first occurrence."""
    # fold=0 selects the earlier offset; for a time inside a gap that offset is the pre-shift
    # one, so the UTC instant lands after the gap by exactly the gap's length.
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def utc_to_local_naive(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Recurrence:
    """A validated repeating rule: an RFC 5545 RRULE or a 5-field cron, read in zone ``tz``."""

    kind: str  # 'rrule' | 'cron'
    expression: str
    tz: str
    anchor: datetime  # aware; first occurrence is not before it (DTSTART for rrule)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def _rule(self) -> rrule:
        dtstart = utc_to_local_naive(self.anchor, self.zone)
        rule = rrulestr(self.expression, dtstart=dtstart)
        if not isinstance(rule, rrule):
            raise ValueError(f"not a single RRULE: {self.expression!r}")
        return rule

    def _naive_candidates(self, start: datetime) -> Iterator[datetime]:
        """Wall-clock occurrences at or after the naive local ``start``, in order."""
        if self.kind == "rrule":
            yield from self._rule().xafter(start, inc=True)
        elif self.kind == "cron":
            # croniter returns occurrences strictly after its start, and gives up (raises) on a
            # rule that matches no date any more ("0 9 30 2 *"): that rule has ended.
            it = croniter(self.expression, start - timedelta(microseconds=1))
            while True:
                try:
                    yield it.get_next(datetime)
                except CroniterBadDateError:
                    return
        else:
            raise ValueError(f"unknown recurrence kind {self.kind!r}")

    def next_after(self, moment: datetime) -> datetime | None:
        """The next firing strictly after ``moment`` (aware UTC), or None when the rule ended."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        zone = self.zone
        anchor = self.anchor.astimezone(UTC)
        after = moment.astimezone(UTC)
        start = utc_to_local_naive(max(after, anchor), zone) - _SEARCH_SLACK
        for steps, naive in enumerate(self._naive_candidates(start)):
            if steps >= _MAX_STEPS:
                break
            when = local_to_utc(naive, zone)
            if when > after and when >= anchor:
                return when
        return None

    def next_times(self, moment: datetime, count: int = 3) -> list[datetime]:
        """Up to ``count`` successive firings after ``moment``."""
        times: list[datetime] = []
        current = moment
        while len(times) < count:
            nxt = self.next_after(current)
            if nxt is None:
                break
            times.append(nxt)
            current = nxt
        return times

    def describe(self) -> str:
        """A short English description, e.g. 'every Monday at 18:00 (Europe/Paris)'."""
        if self.kind == "cron":
            return f"cron {self.expression} ({self.tz})"
        dtstart = utc_to_local_naive(self.anchor, self.zone)
        return f"{_describe_rrule(self.expression, dtstart)} ({self.tz})"


def _describe_rrule(expression: str, dtstart: datetime) -> str:
    parts: dict[str, str] = {}
    for item in expression.upper().removeprefix("RRULE:").split(";"):
        key, _, value = item.partition("=")
        if key:
            parts[key] = value
    freq = parts.get("FREQ", "")
    interval = int(parts.get("INTERVAL", "1") or 1)
    unit = _FREQ_UNITS.get(freq, freq.lower())
    words = [f"every {interval} {unit}s" if interval > 1 else f"every {unit}"]
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    if days:
        names = [_DAY_NAMES.get(d[-2:], d) for d in days]
        if freq == "WEEKLY" and interval == 1:
            words = ["every " + _join(names)]
        else:
            words.append("on " + _join(names))
    if "BYMONTHDAY" in parts:
        words.append("on day " + parts["BYMONTHDAY"].replace(",", ", "))
    if freq in {"YEARLY", "MONTHLY", "WEEKLY", "DAILY"}:
        hours = parts.get("BYHOUR", str(dtstart.hour)).split(",")
        minute = int(parts.get("BYMINUTE", str(dtstart.minute)).split(",")[0])
        words.append("at " + _join([f"{int(h):02d}:{minute:02d}" for h in hours]))
    if "COUNT" in parts:
        words.append(f"({parts['COUNT']} times)")
    if "UNTIL" in parts:
        words.append(f"until {parts['UNTIL'][:8]}")
    return " ".join(words)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
