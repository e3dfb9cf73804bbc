"""How commands are declared: a family per module, a decorator per verb.

A declaration carries name, aliases, usage, help, examples and the permission needed, so help
is generated from it and the router checks permissions before any handler runs.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.context import CommandContext


class Permission(enum.IntEnum):
    MEMBER = 0
    ROOM_ADMIN = 1
    BOT_ADMIN = 2


Handler = Callable[["CommandContext"], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    family: str
    verb: str | None
    handler: Handler
    usage: str
    help: str
    permission: Permission = Permission.MEMBER
    aliases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.family} {self.verb}" if self.verb else self.family


@dataclass
class CommandFamily:
    """One family of commands (``!event add``, ``!event list`` ...), declared in one module.

    ``aliases`` maps a language code to the family's name in that language (``{"fr":
    ("evenement",)}``): command names stay English, aliases make them easy to type.
    """

    name: str
    help: str
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    commands: dict[str | None, Command] = field(default_factory=dict)

    def command(
        self,
        verb: str | None = None,
        *,
        usage: str,
        help: str,
        permission: Permission = Permission.MEMBER,
        aliases: tuple[str, ...] = (),
        examples: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if verb in self.commands:
                raise ValueError(f"{self.name} {verb} declared twice")
            self.commands[verb] = Command(
                self.name, verb, handler, usage, help, permission, aliases, examples
            )
            return handler

        return register

    def lookup(self, verb: str | None) -> Command | None:
        if verb in self.commands:
            return self.commands[verb]
        for command in self.commands.values():
            if verb is not None and verb in command.aliases:
                return command
        return None

    @property
    def lowest_permission(self) -> Permission:
        return min((c.permission for c in self.commands.values()), default=Permission.MEMBER)

    def all_aliases(self) -> tuple[str, ...]:
        return tuple(a for names in self.aliases.values() for a in names)
