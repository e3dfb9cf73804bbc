"""The bot's own words in the room's language.

Message ids are the English text with ``{name}`` placeholders (gettext style). Catalogs are
gettext ``.po`` files under ``locales/<lang>/LC_MESSAGES/liaison.po``, read with Babel, so the
usual translation tools work on them. A missing translation falls back to English.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

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
