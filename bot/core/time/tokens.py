"""Words of a time phrase, classified with the room language's time words, and where a
schedule's when ends.

Each word (or phrase: "por la tarde", "day after tomorrow") becomes a :class:`Token` of a kind
(weekday, unit, time, part of the day, every, ...) from ``bot/core/time/words.py``; a word that
is no time word has no kind, and that is where a schedule's when ends.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

from bot.core.time.words import Lexicon, fold

_TIME_WORD = re.compile(
    r"^(?:(?P<h1>\d{1,2})(?::(?P<m1>\d{2}))?\s*(?P<ampm>[ap])\.?m\.?"
    r"|(?P<h2>\d{1,2})\s?[:hH]\s?(?P<m2>\d{2})"
    r"|(?P<h3>\d{1,2})\s?[hH])$",
    re.IGNORECASE,
)
_AMPM = re.compile(r"^[ap]\.?m\.?$", re.IGNORECASE)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?(?:Z|[+-]\d{2}:?\d{2})?$")
ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er|re|e|eme|ème|º|ª|o|a)\.?$")
_NUMBER = re.compile(r"^\d{1,4}$")
_TRAILING = '.,;!?»”"'
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

# Kinds that only bind a phrase together: they belong to it when a time word follows.
_BINDERS = frozenset({"glue", "at", "next", "relative", "to"})
# Kinds that name a day, or a repetition that picks its days.
_DAY_KINDS = frozenset(
    {"weekday", "day", "iso", "month", "every", "adverb", "workdays", "nth", "tonight"}
)


@dataclass(frozen=True)
class Token:
    kind: str | None  # None: not a time word
    start: int  # first word
    end: int  # one past the last word
    text: str  # as typed
    value: Any = None


def clean(word: str) -> str:
    return fold(word).strip(_TRAILING)


def time_of(text: str) -> time | None:
    """'18h', '18:30', '7pm', '7:30 p.m.' -> the time of day; None if not one (or invalid)."""
    match = _TIME_WORD.match(text.strip())
    if not match:
        return None
    hour = int(match["h1"] or match["h2"] or match["h3"])
    minute = int(match["m1"] or match["m2"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].lower() == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _hour_at(words: Sequence[str], start: int) -> tuple[time | None, int]:
    """A time of day written at ``start`` ("18h", "10", "7 pm", "18 Uhr") and its length in
    words; (None, 0) when there is none."""
    word = clean(words[start])
    unit = clean(words[start + 1]) if start + 1 < len(words) else ""
    if _NUMBER.match(word) and unit and (_AMPM.match(unit) or unit in {"h", "uhr"}):
        moment = time(int(word)) if unit == "uhr" and int(word) <= 23 else time_of(word + unit)
        if moment is not None:
            return moment, 2
    moment = time_of(word)
    if moment is not None:
        return moment, 1
    if _NUMBER.match(word) and int(word) <= 23:
        return time(int(word)), 1
    return None, 0


def _phrase(words: Sequence[str], start: int, lex: Lexicon) -> Token | None:
    """The longest multi-word time phrase at ``start`` ("por la tarde", "day after tomorrow")."""
    for size in range(min(lex.longest_phrase, len(words) - start), 1, -1):
        joined = " ".join(clean(w) for w in words[start : start + size])
        text = " ".join(words[start : start + size])
        for kind, table in (
            ("tonight", lex.tonight),
            ("part", lex.parts),
            ("day", lex.days),
            ("adverb", lex.adverbs),
            ("unit", lex.units),
        ):
            if joined in table:
                return Token(kind, start, start + size, text, table[joined])
        for kind, group in (
            ("workdays", lex.workdays),
            ("at", lex.at),
            ("relative", lex.relative),
            ("next", lex.next),
            ("every", lex.every),
        ):
            if joined in group:
                return Token(kind, start, start + size, text)
    return None


def _word(word: str, lex: Lexicon) -> tuple[str | None, Any]:
    folded = clean(word)
    if not folded:
        return None, None
    if ISO.match(word.strip(_TRAILING)):
        return "iso", word.strip(_TRAILING)
    moment = time_of(folded)
    if moment is not None:
        return "time", moment
    if _ORDINAL.match(folded) and not _NUMBER.match(folded):
        return "ordinal", int(_ORDINAL.match(folded)[1])  # type: ignore[index]
    if _NUMBER.match(folded):
        number = int(folded)
        return ("year", number) if len(folded) == 4 else ("number", number)
    for kind, table in (
        ("unit", lex.units),
        ("pair", lex.pairs),
        ("adverb", lex.adverbs),
        ("nth", lex.nth),
        ("day", lex.days),
        ("part", lex.parts),
        ("tonight", lex.tonight),
        ("weekday", lex.weekdays),
        ("month", lex.months),
    ):
        if folded in table:
            return kind, table[folded]
    for kind, group in (
        ("every", lex.every),
        ("workdays", lex.workdays),
        ("other", lex.other),
        ("next", lex.next),
        ("at", lex.at),
        ("relative", lex.relative),
        ("to", lex.to),
        ("glue", lex.glue),
    ):
        if folded in group:
            return kind, None
    # Arabic writes "and" onto the next word: "والخميس"
    if folded.startswith("و") and folded[1:] in lex.weekdays:
        return "weekday", lex.weekdays[folded[1:]]
    if folded.rstrip(".") in lex.weekdays:
        return "weekday", lex.weekdays[folded.rstrip(".")]
    return None, None


def tokenize(words: Sequence[str], lex: Lexicon) -> list[Token]:
    """Every word of ``words`` classified; phrases and "at 10" / "7 pm" / "cron ..." grouped."""
    tokens: list[Token] = []
    index = 0
    count = len(words)
    while index < count:
        word = words[index]
        if clean(word) == "cron":
            end = min(index + 6, count)
            tokens.append(Token("cron", index, end, " ".join(words[index:end])))
            index = end
            continue
        phrase = _phrase(words, index, lex)
        if phrase is not None and phrase.kind != "at":
            tokens.append(phrase)
            index = phrase.end
            continue
        kind, value = (phrase.kind, None) if phrase is not None else _word(word, lex)
        after = phrase.end if phrase is not None else index + 1
        if kind == "at" and after < count:
            # "at 10", "à 10", "a las 10", "um 18 Uhr", "الساعة 10": a bare hour
            hour, size = _hour_at(words, after)
            if hour is not None:
                end = after + size
                tokens.append(Token("time", index, end, " ".join(words[index:end]), hour))
                index = end
                continue
        counted = bool(tokens) and tokens[-1].kind in {"every", "relative"}
        if kind == "number" and not counted:
            hour, size = _hour_at(words, index)
            if hour is not None and size == 2:  # "7 pm", "18 h", "18 Uhr"
                tokens.append(
                    Token("time", index, index + 2, " ".join(words[index : index + 2]), hour)
                )
                index += 2
                continue
        if kind == "number" and after < count and isinstance(value, int) and value <= 23:
            part = _phrase(words, after, lex)
            part_kind = part.kind if part is not None else _word(words[after], lex)[0]
            if part_kind == "part":
                # "8 du soir", "9 صباحا", "7 de la tarde": an hour read with its part of the day
                tokens.append(Token("time", index, after, word, time(value)))
                index = after
                continue
        end = phrase.end if phrase is not None else index + 1
        tokens.append(Token(kind, index, end, " ".join(words[index:end]), value))
        index = end
    return tokens


def _next_real(tokens: Sequence[Token], index: int) -> int | None:
    """The first token at or after ``index`` that is more than a binding word."""
    for position in range(index, len(tokens)):
        if tokens[position].kind not in _BINDERS:
            return position
    return None


def _number_belongs(tokens: Sequence[Token], index: int) -> bool:
    """A bare number is part of the when only beside a unit, a month or a repetition."""
    previous = tokens[index - 1].kind if index > 0 else None
    if previous in {"every", "relative", "month"}:
        return True
    following = _next_real(tokens, index + 1)
    return following is not None and tokens[following].kind in {"unit", "month", "every", "year"}


def is_range(tokens: Sequence[Token], index: int) -> bool:
    """``monday to friday``: a "to" (or "à") word between two weekdays."""
    return (
        0 < index < len(tokens) - 1
        and tokens[index].kind in {"to", "at"}
        and tokens[index - 1].kind == "weekday"
        and tokens[index + 1].kind == "weekday"
    )


def when_length(tokens: Sequence[Token]) -> int:
    """How many leading tokens read as a when; the rest of the line is the text.

    The when ends at the first word that is not a time word, at a second time of day, and
    right after its time of day once it also names a day or a repetition ("every friday 18:00
    Friday assembly" keeps "Friday assembly" as the text).
    """
    index = 0
    length = 0
    has_day = has_time = repeats = False
    while index < len(tokens):
        token = tokens[index]
        kind = token.kind
        if kind is None:
            break
        if kind == "cron":
            return index + 1
        if kind in _BINDERS:
            if kind == "to" and not is_range(tokens, index):
                break
            following = _next_real(tokens, index + 1)
            if following is None or tokens[following].kind is None:
                break
            index += 1
            continue
        if kind == "number" and not _number_belongs(tokens, index):
            break
        if kind in {"time", "part", "tonight"}:
            if has_time:
                break
            has_time = True
            has_day = has_day or kind == "tonight"
            index += 1
            if kind == "time" and index < len(tokens) and tokens[index].kind == "part":
                index += 1  # "8h du soir"
            length = index
            if has_day:
                break
            continue
        if kind == "adverb" and repeats:
            break  # "every hour Hourly news": the second one starts the text
        if kind in _DAY_KINDS:
            has_day = True
        repeats = repeats or kind in {"every", "adverb", "unit", "pair"}
        index += 1
        length = index
    return length
