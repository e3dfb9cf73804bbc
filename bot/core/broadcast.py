"""The one way the bot posts its own words to rooms: one room or many, each in its language.

Announcements, reminders, aid notices and scheduled posts all come through here. Only the
member-written parts are machine-translated (:meth:`Broadcaster.translate`); the frame around
them comes from the bot's catalogs, so each feature renders its message per room language.
Files (calendars, exports) are uploaded and posted here too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.i18n import base_language
from bot.core.matrix.client import LIAISON_KEY, MatrixClient, MatrixError, txn_id_for
from bot.core.matrix.relations import in_thread
from bot.core.rooms import Rooms
from bot.core.text.markdown import message_content

if TYPE_CHECKING:
    from bot.translation.service import TranslationService

log = logging.getLogger(__name__)

Render = Callable[[str, str], Awaitable[str]]  # (room language, room id) -> Markdown text


class Broadcaster:
    def __init__(
        self, matrix: MatrixClient, rooms: Rooms, translation: TranslationService | None
    ) -> None:
        self.matrix = matrix
        self.rooms = rooms
        self.translation = translation

    async def translate(
        self,
        text: str,
        source: str,
        target: str,
        *,
        glossary: Sequence[str] = (),
        author: str | None = None,
        remember: bool = True,
    ) -> str:
        """``text`` in ``target``; the original when no engine can or will (never raises).

        ``author`` wrote it; ``remember=False`` keeps it out of the translation cache (what
        only some people may read: private requests, direct chats).
        """
        translated, _untranslated = await self.translated(
            text, source, target, glossary=glossary, author=author, remember=remember
        )
        return translated

    async def translated(
        self,
        text: str,
        source: str,
        target: str,
        *,
        glossary: Sequence[str] = (),
        author: str | None = None,
        remember: bool = True,
    ) -> tuple[str, bool]:
        """``text`` in ``target``, and whether it was left in ``source`` although it needed
        translating (no engine serves the pair, or every engine failed): the caller says so.

        ``author`` and ``remember`` as for :meth:`translate`."""
        if not text or base_language(source) == base_language(target):
            return text, False
        if self.translation is None:
            return text, any(c.isalpha() for c in text)
        try:
            outcome = await self.translation.translate(
                text, source, target, glossary=glossary, author=author, remember=remember
            )
        except Exception:
            log.exception("translation for a broadcast failed")
            return text, True
        return outcome.text, outcome.untranslated

    def forget_translations(self, texts: Sequence[str]) -> int:
        """Erase the cached translations of these texts (their author asked to be forgotten)."""
        if self.translation is None:
            return 0
        return self.translation.forget_texts(texts)

    async def post(
        self,
        room_ids: Sequence[str],
        render: Render,
        *,
        txn_key: str,
        msgtype: str = "m.notice",
        kind: str = "announcement",
        mentions: list[str] | None = None,
        extra_content: Mapping[str, Any] | None = None,
        marker: Mapping[str, Any] | None = None,
        replaces: Mapping[str, str] | None = None,
        reveal_links: bool = False,
        threads: Mapping[str, str | None] | None = None,
    ) -> dict[str, str | None]:
        """Render per room language and send to every room in parallel; event id or None per room.

        ``txn_key`` names the cause (e.g. ``reminder:42:1h``): the same key never posts twice.
        ``marker`` adds fields to the bot's marker; ``replaces`` (room -> event id) makes the
        post in that room an edit of an earlier one; ``threads`` (room -> thread root) posts
        into that room's thread. ``reveal_links`` is for text members wrote: a link whose text
        hides its target shows the target beside it.
        """

        async def one(room_id: str) -> tuple[str, str | None]:
            lang = self.rooms.language(room_id)
            try:
                text = await render(lang, room_id)
                content = message_content(
                    text,
                    msgtype=msgtype,
                    lang=lang,
                    kind=kind,
                    mentions=mentions,
                    reveal_links=reveal_links,
                )
                if marker:
                    content[LIAISON_KEY].update(marker)
                if extra_content:
                    content.update(extra_content)
                edited = replaces.get(room_id) if replaces else None
                root = threads.get(room_id) if threads else None
                if edited is not None:
                    content = as_edit(content, edited)
                elif root is not None:
                    content["m.relates_to"] = in_thread(root)
                event_id = await self.matrix.send(
                    room_id, content, txn_id=txn_id_for(txn_key, room_id)
                )
                return room_id, event_id
            except MatrixError as exc:
                log.warning("could not post %s to %s: %s", txn_key.split(":")[0], room_id, exc)
                return room_id, None

        results = await asyncio.gather(*(one(r) for r in dict.fromkeys(room_ids)))
        return dict(results)

    async def send(
        self,
        room_id: str,
        text: str,
        *,
        txn_key: str,
        kind: str,
        msgtype: str = "m.notice",
        mentions: list[str] | None = None,
    ) -> str | None:
        """One message already in ``room_id``'s language; its event id, or None if refused."""

        async def fixed(_lang: str, _room_id: str) -> str:
            return text

        posted = await self.post(
            [room_id], fixed, txn_key=txn_key, msgtype=msgtype, kind=kind, mentions=mentions
        )
        return posted[room_id]

    async def upload_file(
        self,
        room_id: str,
        data: bytes,
        *,
        mimetype: str,
        filename: str,
        txn_key: str,
        kind: str,
        reply_to: str | None = None,
        thread_root: str | None = None,
    ) -> str:
        """Upload ``data`` and post it in ``room_id`` as a file; the event id (MatrixError if not).

        In an encrypted room the file is encrypted before it leaves (the key goes only inside
        the encrypted event), so the media repository never holds it readable. With
        ``thread_root`` the file goes into that thread (the command's thread).
        """
        content: dict[str, Any] = {
            "msgtype": "m.file",
            "body": filename,
            "filename": filename,
            "info": {"mimetype": mimetype, "size": len(data)},
            "m.mentions": {},
            LIAISON_KEY: {"kind": kind},
        }
        if self.matrix.is_encrypted(room_id):
            content["file"] = await self.matrix.upload_encrypted(data, mimetype, filename)
        else:
            content["url"] = await self.matrix.upload(data, mimetype, filename)
        if thread_root is not None:
            content["m.relates_to"] = in_thread(thread_root, reply_to)
        elif reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.matrix.send(room_id, content, txn_id=txn_id_for(txn_key, room_id))


def as_edit(new: dict[str, Any], edited_event_id: str) -> dict[str, Any]:
    """``new`` as a replacement (``m.replace``) of the bot's earlier event."""
    content = dict(new)
    content["body"] = "* " + new["body"]
    if "formatted_body" in new:
        content["formatted_body"] = "* " + new["formatted_body"]
    content["m.new_content"] = {k: v for k, v in new.items() if k != LIAISON_KEY}
    content["m.relates_to"] = {"rel_type": "m.replace", "event_id": edited_event_id}
    return content
