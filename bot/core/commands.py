"""How commands are declared, and what a handler gets when one is typed.

A family is declared once per module of ``commands/`` with a decorator per verb. The
declaration carries name, aliases, usage, help, examples and the permission needed, so help is
generated from it and the router checks permissions before any handler runs. A handler
receives the context and the one service its family was bound to by the composition root.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from bot.core.i18n import fold_word
from bot.core.matrix.client import MatrixClient, MatrixError, txn_id_for
from bot.core.matrix.intake import IncomingEvent
from bot.core.text.markdown import message_content

if TYPE_CHECKING:
    from bot.core.i18n import Phrasebook, Speaker
    from bot.core.rooms import Rooms

S = TypeVar("S")

_PLACEHOLDER = re.compile(r"<([^<>|]+)>")


def usage_line(usage: str, family: str, prefix: str, t: Callable[[str], str]) -> str:
    """A usage as members type it: every alternative with the prefix, in code style, and the
    ``<placeholders>`` in the room's language: `!event add <titre> | <quand> | <lieu>`."""
    alternatives: list[list[str]] = []
    for part in usage.split(" | "):
        if not alternatives or part.startswith(family + " ") or part == family:
            alternatives.append([part])
        else:
            alternatives[-1].append(part)
    shown = []
    for parts in alternatives:
        text = " | ".join(parts)
        # the placeholders' ids are declared with N_ beside the help command
        text = _PLACEHOLDER.sub(lambda m: t(m[0]), text)
        shown.append(f"`{prefix}{text}`")
    return " · ".join(shown)


def placeholders_of(usage: str) -> set[str]:
    """The ``<placeholders>`` a usage shows (translated in help): "<id>", "<when>"..."""
    return {f"<{name}>" for name in _PLACEHOLDER.findall(usage)}


class Permission(enum.IntEnum):
    MEMBER = 0
    ROOM_ADMIN = 1
    BOT_ADMIN = 2


Handler = Callable[["CommandContext", S], Awaitable[None]]


@dataclass(frozen=True)
class Command(Generic[S]):
    family: str
    verb: str | None
    handler: Handler[S]
    usage: str
    help: str
    permission: Permission = Permission.MEMBER
    aliases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.family} {self.verb}" if self.verb else self.family


@dataclass
class CommandFamily(Generic[S]):
    """One family of commands (``!event add``, ``!event list`` ...), declared in one module.

    ``aliases`` maps a language code to the family's name in that language (``{"fr":
    ("evenement",)}``): command names stay English, aliases make them easy to type.
    ``service`` is what the handlers act on, given by :meth:`bind` in the composition root.
    """

    name: str
    help: str
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    commands: dict[str | None, Command[S]] = field(default_factory=dict)
    service: S | None = None
    bound: bool = False

    def command(
        self,
        verb: str | None = None,
        *,
        usage: str,
        help: str,
        permission: Permission = Permission.MEMBER,
        aliases: tuple[str, ...] = (),
        examples: tuple[str, ...] = (),
    ) -> Callable[[Handler[S]], Handler[S]]:
        def register(handler: Handler[S]) -> Handler[S]:
            if verb in self.commands:
                raise ValueError(f"{self.name} {verb} declared twice")
            self.commands[verb] = Command(
                self.name, verb, handler, usage, help, permission, aliases, examples
            )
            return handler

        return register

    def bind(self, service: S) -> CommandFamily[S]:
        """This family acting on ``service`` (the declaration itself stays unbound)."""
        return dataclasses.replace(self, commands=dict(self.commands), service=service, bound=True)

    async def run(self, command: Command[S], ctx: CommandContext) -> None:
        if not self.bound:
            raise RuntimeError(f"the {self.name} family was never bound to its service")
        await command.handler(ctx, self.service)  # type: ignore[arg-type]

    def lookup(self, verb: str | None) -> Command[S] | None:
        """The command for a verb or one of its aliases (case and accents do not matter)."""
        if verb in self.commands:
            return self.commands[verb]
        if verb is None:
            return None
        return self.verbs().get(fold_word(verb))

    def verbs(self) -> dict[str, Command[S]]:
        """Every way of typing a verb of this family (folded) -> its command."""
        found: dict[str, Command[S]] = {}
        for command in self.commands.values():
            if command.verb is None:
                continue
            for name in (command.verb, *command.aliases):
                found.setdefault(fold_word(name), command)
        return found

    @property
    def lowest_permission(self) -> Permission:
        return min((c.permission for c in self.commands.values()), default=Permission.MEMBER)

    def all_aliases(self) -> tuple[str, ...]:
        return tuple(a for names in self.aliases.values() for a in names)


@dataclass
class CommandContext:
    """Who asked, where, the arguments, and how to answer (in the room's language)."""

    event: IncomingEvent
    lang: str
    args: list[str]
    rest: str  # the raw text after the verb, for multi-line forms
    phrases: Phrasebook
    rooms: Rooms
    matrix: MatrixClient
    family: str = ""
    verb: str | None = None
    _replies: int = field(default=0, repr=False)

    @property
    def room_id(self) -> str:
        return self.event.room_id

    @property
    def sender(self) -> str:
        return self.event.sender

    @property
    def thread_root(self) -> str | None:
        """The thread the command was typed in: answers and files go there too."""
        return self.event.thread_root

    @property
    def timezone(self) -> ZoneInfo:
        return self.rooms.timezone(self.room_id)

    def t(self, message: str, **params: Any) -> str:
        """A catalog message in this room's language."""
        return self.phrases.text(self.lang, message, **params)

    @property
    def speaker(self) -> Speaker:
        """This room's language as a ``t`` for renderers (``t(...)``, ``t.n(...)``)."""
        return self.phrases.translator(self.lang)

    def tn(self, singular: str, plural: str, count: int, **params: Any) -> str:
        """A counted catalog message in this room's language (``{count}`` is ``count``)."""
        return self.phrases.ntext(self.lang, singular, plural, count, **params)

    def command(self, text: str) -> str:
        """A command for members to type, with this bot's prefix: `!event list`."""
        return self.phrases.command(text)

    async def reply(self, message: str, **params: Any) -> str:
        """Answer as an m.notice in reply to the command; ``message`` is a catalog message id."""
        return await self.reply_text(self.t(message, **params))

    async def reply_text(
        self, text: str, *, mentions: list[str] | None = None, reveal_links: bool = False
    ) -> str:
        """Answer with text already in the room's language (Markdown).

        ``reveal_links`` when the text holds what members wrote (links show their target).
        """
        self._replies += 1
        content = message_content(
            text,
            lang=self.lang,
            reply_to=self.event.event_id,
            mentions=mentions,
            reveal_links=reveal_links,
            thread_root=self.thread_root,
        )
        # the same command answered again after a crash reuses these ids: no second reply
        txn = txn_id_for("reply", self.event.event_id, str(self._replies))
        try:
            return await self.matrix.send(self.room_id, content, txn_id=txn)
        except MatrixError:
            if self.thread_root is None:
                raise
        # a thread our homeserver does not know (a command relayed from a server that does not
        # check relations): the answer goes to the room rather than nowhere
        content = message_content(
            text,
            lang=self.lang,
            reply_to=self.event.event_id,
            mentions=mentions,
            reveal_links=reveal_links,
        )
        return await self.matrix.send(self.room_id, content, txn_id=txn + "-room")

    def is_room_admin(self) -> bool:
        return self.rooms.is_room_admin(self.room_id, self.sender)

    def is_bot_admin(self) -> bool:
        return self.rooms.is_bot_admin(self.sender)
