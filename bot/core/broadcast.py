"""Posting one text to several rooms, each in its own language (announcements, reminders, aid).

Only the member-written parts are machine-translated; the frame around them comes from the
bot's catalogs, so each feature renders its message per room language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.core.matrix.client import MatrixError, txn_id_for
from bot.core.text.markdown import message_content
from bot.services import Services

log = logging.getLogger(__name__)

Render = Callable[[str], Awaitable[str]]  # room language -> Markdown text


async def translate_text(
    services: Services, text: str, source: str, target: str, *, glossary: Sequence[str] = ()
) -> str:
    """``text`` in ``target``; the original when no engine can or will (never raises)."""
    if not text or source == target or services.translation is None:
        return text
    try:
        outcome = await services.translation.translate(text, source, target, glossary=glossary)
    except Exception:
        log.exception("translation for a broadcast failed")
        return text
    return outcome.text


async def post_to_rooms(
    services: Services,
    room_ids: Sequence[str],
    render: Render,
    *,
    txn_key: str,
    msgtype: str = "m.notice",
    kind: str = "announcement",
    mentions: list[str] | None = None,
    extra_content: dict[str, object] | None = None,
) -> dict[str, str | None]:
    """Render per room language and send to every room in parallel; event id or None per room.

    ``txn_key`` names the cause (e.g. ``reminder:42:1h``): the same key never posts twice.
    """

    async def one(room_id: str) -> tuple[str, str | None]:
        lang = services.room_language(room_id)
        try:
            text = await render(lang)
            content = message_content(
                text, msgtype=msgtype, lang=lang, kind=kind, mentions=mentions
            )
            if extra_content:
                content.update(extra_content)
            event_id = await services.matrix.send(
                room_id, content, txn_id=txn_id_for(txn_key, room_id)
            )
            return room_id, event_id
        except MatrixError as exc:
            log.warning("could not post %s to %s: %s", txn_key.split(":")[0], room_id, exc)
            return room_id, None

    results = await asyncio.gather(*(one(r) for r in dict.fromkeys(room_ids)))
    return dict(results)
