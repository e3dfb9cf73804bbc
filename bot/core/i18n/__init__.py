"""The bot's own words in the room's language.

Message ids are the English text with ``{name}`` placeholders (gettext style). Catalogs are
gettext ``.po`` files under ``locales/<lang>/LC_MESSAGES/liaison.po``, read with Babel, so the
usual translation tools work on them. A missing translation falls back to English.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "liaison"
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ckb"})


def N_(message: str) -> str:
    """Mark a message id for extraction where it is translated later."""
    return message


class Catalogs:
    """Every shipped catalog, loaded once at start."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._messages: dict[str, dict[str, str]] = {}
        for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            lang = po_path.parent.parent.name
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=None)
            self._messages[lang] = {
                str(m.id): str(m.string)
                for m in catalog
                if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
            }

    @property
    def languages(self) -> list[str]:
        return sorted({"en", *self._messages})

    def has(self, lang: str) -> bool:
        return lang == "en" or lang in self._messages

    def gettext(self, lang: str, message: str) -> str:
        return self._messages.get(base_language(lang), {}).get(message, message)

    def translate(self, lang: str, message: str, **params: Any) -> str:
        """The message in ``lang`` with its placeholders filled; English if untranslated."""
        text = self.gettext(lang, message)
        if not params:
            return text
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("catalog %s: placeholders do not match for a message; using English", lang)
            return message.format(**params)


def base_language(lang: str) -> str:
    return lang.split("-")[0].split("_")[0].lower()


def is_rtl(lang: str) -> bool:
    return base_language(lang) in RTL_LANGUAGES


def language_name(code: str, in_lang: str) -> str:
    """``code``'s name in ``in_lang`` ("French", "français", "francés"); the code if unknown."""
    try:
        return str(Locale.parse(base_language(code)).get_display_name(in_lang) or code)
    except (UnknownLocaleError, ValueError):
        return code


class Phrasebook:
    """What the bot says, in a room's language: catalog messages and commands to type."""

    def __init__(self, catalogs: Catalogs, command_prefix: str) -> None:
        self.catalogs = catalogs
        self.prefix = command_prefix

    def text(self, lang: str, message: str, **params: Any) -> str:
        """A catalog message in ``lang`` with its placeholders filled."""
        return self.catalogs.translate(lang, message, **params)

    def translator(self, lang: str) -> Callable[..., str]:
        """``text`` fixed to one language, for renderers that take a ``t`` function."""

        def t(message: str, **params: Any) -> str:
            return self.catalogs.translate(lang, message, **params) if message else ""

        return t

    def command(self, text: str) -> str:
        """A command for members to type, in code style with this bot's prefix: `!event list`."""
        return f"`{self.prefix}{text}`"
