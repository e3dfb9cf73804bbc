"""Quoting back what a member typed, briefly.

A reply that repeats a member's words in full lets anyone make the bot post ten thousand
characters (or a wall of hostile text) under its own name. Every reply that quotes input
quotes at most an excerpt of about :data:`ECHO_LIMIT` characters, on one line, in code style.
"""

from __future__ import annotations

from bot.core.text.safety import strip_invisible

ECHO_LIMIT = 64
ELLIPSIS = "…"


def excerpt(text: str, limit: int = ECHO_LIMIT) -> str:
    """At most ``limit`` characters of ``text`` on one line, ending with … when cut."""
    flat = " ".join(strip_invisible(text).split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 1)].rstrip() + ELLIPSIS


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """A member's words quoted back in code style: an excerpt that cannot close the code span."""
    quoted = excerpt(text.replace("`", "'"), limit)
    return f"`{quoted}`"
