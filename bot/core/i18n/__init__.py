"""The bot's own words in the room's language.

Message ids are the English text with ``{name}`` placeholders (gettext style). Catalogs are
gettext ``.po`` files under ``locales/<lang>/LC_MESSAGES/liaison.po``, read with Babel, so the
usual translation tools work on them. A missing translation falls back to English.

Counts go through plural forms (``ngettext``): each catalog declares how many forms its language
has (Arabic six: zero, one, two, few, many, other) and the rule choosing one for a number.
"""

from __future__ import annotations

import gettext
import logging
import unicodedata
from collections.abc import Callable, Mapping
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


def N_n(singular: str, plural: str) -> tuple[str, str]:
    """Mark a counted message (singular, plural) for extraction where it is translated later."""
    return singular, plural


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


class Catalogs:
    """Every shipped catalog, loaded once at start."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._messages: dict[str, dict[str, str]] = {}
        # singular id -> the forms, and the rule picking a form for a number
        self._plurals: dict[str, dict[str, tuple[str, ...]]] = {}
        self._rules: dict[str, Callable[[int], int]] = {}
        self._missed: set[tuple[str, str]] = set()
        for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            lang = po_path.parent.parent.name
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=None)
            self._messages[lang] = {
                str(m.id): str(m.string)
                for m in catalog
                if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
            }
            self._plurals[lang] = {
                str(m.id[0]): tuple(str(form) for form in m.string)
                for m in catalog
                if isinstance(m.id, tuple | list)
                and isinstance(m.string, tuple | list)
                and all(m.string)
                and not m.fuzzy
            }
            self._rules[lang] = _plural_rule(catalog.plural_expr)

    @property
    def languages(self) -> list[str]:
        return sorted({"en", *self._messages})

    def has(self, lang: str) -> bool:
        return lang == "en" or lang in self._messages

    def gettext(self, lang: str, message: str) -> str:
        base = base_language(lang)
        known = self._messages.get(base)
        if known is None:
            return message  # English, or a language without a catalog: English it is
        text = known.get(message)
        if text is None:
            self._missing(base, message)
            return message
        return text

    def _missing(self, lang: str, message: str) -> None:
        """A room of a shipped language would read English: say so once (the message id is
        the bot's own text, never a member's)."""
        if (lang, message) not in self._missed:
            self._missed.add((lang, message))
            log.warning("catalog %s has no translation for %r; English was used", lang, message)

    def ngettext(self, lang: str, singular: str, plural: str, n: int) -> str:
        """The form of a counted message for ``n`` in ``lang`` (English rules if untranslated)."""
        base = base_language(lang)
        forms = self._plurals.get(base, {}).get(singular)
        if forms is None:
            if base in self._plurals:
                self._missing(base, singular)
            return singular if _english_plural(n) == 0 else plural
        try:
            index = self._rules[base](n)
        except (ArithmeticError, ValueError):
            index = len(forms) - 1
        return forms[min(max(index, 0), len(forms) - 1)]

    def translate(self, lang: str, message: str, **params: Any) -> str:
        """The message in ``lang`` with its placeholders filled; English if untranslated."""
        return self._fill(lang, self.gettext(lang, message), message, params)

    def translate_plural(self, lang: str, singular: str, plural: str, n: int, **params: Any) -> str:
        """A counted message (``{count}`` is ``n`` unless given) in the form ``n`` needs."""
        params.setdefault("count", n)
        english = singular if _english_plural(n) == 0 else plural
        return self._fill(lang, self.ngettext(lang, singular, plural, n), english, params)

    @staticmethod
    def _fill(lang: str, text: str, english: str, params: dict[str, Any]) -> str:
        if not params:
            return text
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("catalog %s: placeholders do not match for a message; using English", lang)
            return english.format(**params)


def _plural_rule(expression: str) -> Callable[[int], int]:
    """A catalog's ``Plural-Forms`` expression as a function (gettext's own reading of it)."""
    try:
        return gettext.c2py(expression or "(n != 1)")
    except (ValueError, SyntaxError):
        log.warning("unreadable plural rule %r; using English rules", expression)
        return _english_plural


def fold_word(text: str) -> str:
    """Lower case without accents or extra spaces, for matching words typed on any keyboard
    ("Réunion" == "reunion"; Arabic hamza seats and short vowels fold away too)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("_", " ").replace("ـ", "").split())


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


class Speaker:
    """The bot's words in one language, for renderers: ``t(msgid, ...)`` and ``t.n(...)``."""

    def __init__(self, catalogs: Catalogs, lang: str) -> None:
        self.catalogs = catalogs
        self.lang = lang

    def __call__(self, message: str, **params: Any) -> str:
        return self.catalogs.translate(self.lang, message, **params) if message else ""

    def n(self, singular: str, plural: str, count: int, **params: Any) -> str:
        """A counted message: "1 room" / "3 rooms" / Arabic's six forms."""
        return self.catalogs.translate_plural(self.lang, singular, plural, count, **params)


class Phrasebook:
    """What the bot says, in a room's language: catalog messages and commands to type."""

    def __init__(self, catalogs: Catalogs, command_prefix: str) -> None:
        self.catalogs = catalogs
        self.prefix = command_prefix

    def text(self, lang: str, message: str, **params: Any) -> str:
        """A catalog message in ``lang`` with its placeholders filled."""
        return self.catalogs.translate(lang, message, **params)

    def ntext(self, lang: str, singular: str, plural: str, count: int, **params: Any) -> str:
        """A counted catalog message in ``lang`` (``{count}`` is filled with ``count``)."""
        return self.catalogs.translate_plural(lang, singular, plural, count, **params)

    def translator(self, lang: str) -> Speaker:
        """``text`` fixed to one language, for renderers that take a ``t`` function."""
        return Speaker(self.catalogs, lang)

    def accepted(
        self, labels: Mapping[str, str], fold: Callable[[str], str] | None = None
    ) -> dict[str, str]:
        """Every word the bot shows for ``labels`` (key -> msgid), in every catalog language,
        folded -> key: what members read in their language is accepted back as input."""
        return accepted_words(self.catalogs, labels, fold)

    def command(self, text: str) -> str:
        """A command for members to type, in code style with this bot's prefix: `!event list`."""
        return f"`{self.prefix}{text}`"


def accepted_words(
    catalogs: Catalogs, labels: Mapping[str, str], fold: Callable[[str], str] | None = None
) -> dict[str, str]:
    """See :meth:`Phrasebook.accepted`; ``fold`` is how the caller compares words."""
    folding = fold or fold_word
    words: dict[str, str] = {}
    for key, msgid in labels.items():
        words.setdefault(folding(msgid), key)
        for lang in catalogs.languages:
            words.setdefault(folding(catalogs.translate(lang, msgid)), key)
    return words
