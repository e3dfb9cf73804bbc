"""Reading what members type after ``!schedule``: targets, the when, the text."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.errors import CommandError, UsageError
from bot.core.storage.database import utcnow
from bot.core.text.echo import echo
from bot.core.time.describe import Speaks, describe_when
from bot.core.time.parse import TimeParseError, parse_when, split_when_and_text
from bot.core.time.recurrence import Recurrence
from bot.core.time.refusals import time_refusal
from bot.schedules import store

GROUP_FLAGS = frozenset({"--group", "--groupe", "--grupo", "--مجموعة"})
ROOMS_FLAGS = frozenset({"--rooms", "--salons", "--salas", "--غرف"})
WHEN_WORDS = frozenset({"when", "time", "quand", "date", "cuando", "fecha", "متى", "وقت"})
TEXT_WORDS = frozenset({"text", "texte", "texto", "نص"})
ON_WORDS = frozenset({"on", "oui", "si", "sí", "yes", "نعم", "تشغيل"})
OFF_WORDS = frozenset({"off", "non", "no", "لا", "إيقاف"})
QUOTES = '"“”«»„'
_TOKEN = re.compile(r"\S+")
_ROOM_ID = re.compile(r"^![^\s,]+$")  # room v12 ids have no server part


def when_error(exc: TimeParseError, t: Speaks, tz: ZoneInfo, command: str = "") -> CommandError:
    """The reply for a when that cannot be used, in the room's language (``t``)."""
    fragment = echo(exc.fragment)
    shared = time_refusal(exc, t, tz)
    if shared is not None:
        return shared
    if exc.reason == "partial" and exc.value is not None and exc.understood:
        return CommandError(
            "I read {understood} as {meaning}, but not {rest} that follows it. Nothing was scheduled. Write the whole time before the text, for example {example}; or, if {rest} belongs to the text, put the time in quotes: {quoted}.",
            understood=echo(exc.understood),
            meaning=describe_when(exc.value, tz, t),
            rest=fragment,
            example="`every monday 18:00`",
            quoted=echo(f'{command}"{exc.understood}" {exc.fragment} …'),
        )
    if exc.reason == "past":
        return CommandError("{when} is already past: give a moment in the future.", when=fragment)
    if exc.reason == "bad_cron":
        return CommandError(
            "{when} is not a cron expression I can use: it needs five fields, such as `cron 0 18 * * 1`.",
            when=fragment,
        )
    if exc.reason == "bad_zone":
        return CommandError("{when} is not a time zone I know.", when=fragment)
    if exc.reason == "bad_recurrence":
        return CommandError(
            "I did not understand {when} as a repetition. Try `every monday 18:00`, `tous les jours 9h` or `cron 0 18 * * 1`. Nothing was scheduled.",
            when=fragment,
        )
    return CommandError(
        "I did not understand {when} as a date or time. Try `tomorrow 9:00`, `samedi 18h` or `2026-05-01 10:00`. Nothing was scheduled.",
        when=fragment,
    )


def parse_id(word: str | None, list_command: str) -> int:
    cleaned = (word or "").lstrip("#")
    if not cleaned.isdigit():
        if word is None:
            raise UsageError("Give the schedule's number, as shown by {list}.", list=list_command)
        raise UsageError("{word} is not a schedule number.", word=echo(word))
    return int(cleaned)


def first_line_tokens(rest: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(rest.split("\n", 1)[0]))


def read_when(
    rest: str, start: int, *, lang: str, tz: ZoneInfo, t: Speaks, command: str = ""
) -> tuple[datetime | Recurrence, str, str]:
    """From ``rest[start:]``: the when (quoted, or the leading run of time words), the words
    it was read from, and the text after it (newlines and Markdown kept)."""
    now = utcnow()
    body = rest[start:].lstrip(" ")
    if body[:1] and body[0] in QUOTES:
        first_line = body.split("\n", 1)[0]
        close = next((i for i in range(1, len(first_line)) if first_line[i] in QUOTES), -1)
        if close < 0:
            raise UsageError("The time in quotes has no closing quote.")
        when_text = first_line[1:close].strip()
        try:
            when = parse_when(when_text, lang=lang, tz=tz, now=now, need_time=True)
        except TimeParseError as exc:
            raise when_error(exc, t, tz, command) from None
        return when, when_text, body[close + 1 :].strip()
    tokens = first_line_tokens(body)
    words = [t.group(0) for t in tokens]
    if not words:
        raise UsageError("Give a time and the text to post.")
    try:
        when, remaining = split_when_and_text(words, lang=lang, tz=tz, now=now)
    except TimeParseError as exc:
        raise when_error(exc, t, tz, command) from None
    used = len(words) - len(remaining.split())
    return when, " ".join(words[:used]), body[tokens[used - 1].end() :].strip()


def _room_list(value: str) -> list[str]:
    rooms = [r.strip() for r in value.split(",") if r.strip()]
    bad = [r for r in rooms if not _ROOM_ID.match(r)]
    if bad or not rooms:
        raise UsageError(
            "{rooms} is not a list of room ids (such as `!abc:example.org,!def:example.org`).",
            rooms=echo(value),
        )
    return list(dict.fromkeys(rooms))


def read_target(rest: str) -> tuple[str, list[str], int]:
    """Leading ``--group`` / ``--rooms a,b``: the target, its rooms, where the when starts."""
    target, rooms, position = store.TARGET_ROOM, [], 0
    tokens = first_line_tokens(rest)
    index = 0
    while index < len(tokens):
        word = tokens[index].group(0)
        flag, _, value = word.partition("=")
        if flag.lower() in GROUP_FLAGS and not value:
            target = store.TARGET_GROUP
        elif flag.lower() in ROOMS_FLAGS:
            if not value:
                index += 1
                if index >= len(tokens):
                    raise UsageError("Give the rooms after {flag}.", flag=echo(flag))
                value = tokens[index].group(0)
            target, rooms = store.TARGET_ROOMS, _room_list(value)
        elif word.startswith("--"):
            raise UsageError("I do not know the option {option}.", option=echo(word))
        else:
            break
        position = tokens[index].end()
        index += 1
    return target, rooms, position
