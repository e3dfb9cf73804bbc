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
