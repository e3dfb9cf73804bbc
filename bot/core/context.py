"""What a command handler gets: who asked, where, the arguments, and how to answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.matrix.client import txn_id_for
from bot.core.matrix.intake import IncomingEvent
from bot.core.text.markdown import message_content
from bot.services import Services


@dataclass
class CommandContext:
    services: Services
    event: IncomingEvent
    lang: str
    args: list[str]
    rest: str  # the raw text after the verb, for multi-line forms
    family: str = ""
    verb: str | None = None
    _replies: int = field(default=0, repr=False)

    @property
    def room_id(self) -> str:
        return self.event.room_id

    @property
    def sender(self) -> str:
        return self.event.sender

    def t(self, message: str, **params: Any) -> str:
        """A catalog message in this room's language."""
        return self.services.text(self.lang, message, **params)

    async def reply(self, message: str, **params: Any) -> str:
        """Answer as an m.notice in reply to the command; ``message`` is a catalog message id."""
        return await self.reply_text(self.t(message, **params))

    async def reply_text(self, text: str, *, mentions: list[str] | None = None) -> str:
        """Answer with text already in the room's language (Markdown)."""
        self._replies += 1
        content = message_content(
            text, lang=self.lang, reply_to=self.event.event_id, mentions=mentions
        )
        # the same command answered again after a crash reuses these ids: no second reply
        txn = txn_id_for("reply", self.event.event_id, str(self._replies))
        return await self.services.matrix.send(self.room_id, content, txn_id=txn)

    def is_room_admin(self) -> bool:
        return self.services.is_room_admin(self.room_id, self.sender)

    def is_bot_admin(self) -> bool:
        return self.services.is_bot_admin(self.sender)
