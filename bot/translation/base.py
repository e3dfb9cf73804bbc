"""What every translation engine offers, and the one error they raise."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class TranslationError(Exception):
    """An engine could not translate: unreachable, timed out, refused, or answered garbage.

    The message is short and never contains the text being translated, so it is safe to log
    and to show in statistics.
    """


@runtime_checkable
class Translator(Protocol):
    """A translation engine speaking ISO 639-1 codes."""

    name: str

    async def pairs(self) -> set[tuple[str, str]]:
        """The (source, target) pairs the engine translates directly."""

    async def translate(self, text: str, source: str, target: str) -> str:
        """Translate plain text; raise TranslationError on any failure."""


def base_language(code: str) -> str:
    """``pt-BR``, ``pt_BR`` and ``PT`` all mean ``pt`` to the routing."""
    return code.strip().replace("_", "-").split("-", 1)[0].lower()
