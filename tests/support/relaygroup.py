"""Rooms linked into one relay group, for any bot (in-process harness or separate process)."""

from __future__ import annotations

import asyncio

from tests.support.members import Member
from tests.support.predicates import reply_to, room_with_bot


async def ask(member: Member, room: str, text: str, timeout: float = 30) -> str:  # noqa: ASYNC109
    """Send a command and return the bot's answer."""
    sent = await member.send_text(room, text)
    answer = await member.wait_for(room, reply_to(sent), timeout=timeout)
    return str(answer["content"]["body"])


async def link_group(
    member: Member, bot_user_id: str, languages: tuple[str, ...], group: str
) -> dict[str, str]:
    """One room per language, created by ``member`` with the bot, each linked to ``group``."""
    created = await asyncio.gather(
        *(room_with_bot(member, bot_user_id, name=f"{group}-{lang}") for lang in languages)
    )
    rooms = dict(zip(languages, created, strict=True))
    for lang, room in rooms.items():
        answer = await ask(member, room, f"!relay link {group} {lang}")
        # the answer comes in the room's new language: check the group it names
        assert f"`{group}`" in answer, answer
    return rooms
