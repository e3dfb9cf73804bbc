"""What a member sees in a room of a given language: the bot's catalog messages, translated.

Tests assert the text a member in that room would read, so they build it from the same
catalogs the bot uses instead of hard-coding English.
"""

from __future__ import annotations

import re
import string
from functools import cache
from typing import Any

from bot.core.i18n import Catalogs


@cache
def catalogs() -> Catalogs:
    """The shipped catalogs, read once per test session."""
    return Catalogs()


def said(lang: str, msgid: str, **params: Any) -> str:
    """``msgid`` as the bot says it in ``lang``, placeholders filled with ``params``."""
    return catalogs().translate(lang, msgid, **params)


def said_plural(lang: str, msgid: tuple[str, str], count: int, **params: Any) -> str:
    """A counted message as the bot says it in ``lang`` for ``count``."""
    return catalogs().translate_plural(lang, msgid[0], msgid[1], count, **params)


def said_pattern(lang: str, msgid: str, **params: Any) -> re.Pattern[str]:
    """A regex for ``msgid`` in ``lang``: placeholders in ``params`` filled, the others any text.

    For messages whose parameters the test does not know (a date, a count); search it in a body
    with ``pattern.search(body)``. A parameter given as a compiled regex is matched by that regex.
    """
    template = catalogs().gettext(lang, msgid)
    parts: list[str] = []
    for literal, field, spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        value = params.get(field)
        if isinstance(value, re.Pattern):
            parts.append(f"(?:{value.pattern})")
        elif field in params:
            parts.append(re.escape(format(params[field], spec or "")))
        else:
            parts.append(r"(?s:.+?)")
    return re.compile("".join(parts))


def says(lang: str, msgid: str, body: str, **params: Any) -> bool:
    """Whether ``body`` holds ``msgid`` in ``lang`` (unknown placeholders match any text)."""
    return said_pattern(lang, msgid, **params).search(body) is not None


# --- no English frame in a French, Spanish or Arabic room ----------------------------------------

CHECKED_LANGUAGES = ("fr", "es", "ar")
# A fragment is this many words of a message id's own text, so that members' words (quoted
# descriptions, titles) never look like a leak by chance.
_MIN_WORDS = 4
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _fragments(text: str) -> list[str]:
    """The literal runs of a message id between its placeholders, Markdown markers dropped."""
    runs: list[str] = []
    for literal, _field, _spec, _conv in string.Formatter().parse(text):
        for piece in re.split(r"[*_`>#\n]+", literal):
            cleaned = " ".join(piece.split()).strip(" .,:;()[]—–-")
            if len(_WORD.findall(cleaned)) >= _MIN_WORDS:
                runs.append(cleaned)
    return runs


@cache
def english_fragments(lang: str) -> tuple[str, ...]:
    """English runs of every catalog message that ``lang``'s translation does not contain."""
    found: set[str] = set()
    books = catalogs()
    for msgid in _message_ids():
        english = [msgid] if isinstance(msgid, str) else list(msgid)
        if isinstance(msgid, str):
            translated = books.translate(lang, msgid)
        else:
            translated = " ".join(books.ngettext(lang, msgid[0], msgid[1], n) for n in range(12))
        for text in english:
            found.update(f for f in _fragments(text) if f not in translated)
    return tuple(sorted(found))


@cache
def _message_ids() -> tuple[str | tuple[str, str], ...]:
    from bot.core.i18n.extract import extract_messages

    return tuple(m.msgid for m in extract_messages())


def english_leaks(events: list[dict[str, Any]]) -> list[str]:
    """The bot's messages in a French, Spanish or Arabic room that still carry English frames.

    The bot tags what it says with the language it spoke (``org.mujawara.liaison.lang``);
    relayed copies are members' words and are not checked.
    """
    from bot.core.matrix.client import LIAISON_KEY

    leaks: list[str] = []
    for event in events:
        content = event.get("content") or {}
        marker = content.get(LIAISON_KEY) or {}
        lang = marker.get("lang")
        if lang not in CHECKED_LANGUAGES or marker.get("kind") == "relay":
            continue
        body = " ".join(str(content.get("body", "")).split())
        for fragment in english_fragments(lang):
            if fragment in body:
                leaks.append(f"[{lang}] {fragment!r} in {body[:160]!r}")
    return leaks
