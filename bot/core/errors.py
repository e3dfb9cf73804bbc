"""Errors that carry a user-safe message, and configuration errors."""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    """A refusal or failure the member should read: ``message`` is a catalog message id.

    The router translates it into the room's language with ``params``; the text must never
    contain anything the room may not see.
    """

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class UsageError(CommandError):
    """The command was malformed: the reply adds the command's usage line."""


class PermissionDenied(CommandError):
    """The sender lacks the level the command needs."""


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds one line per bad key (dotted path first)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
