"""Rooms linked into one relay group, for any bot (in-process harness or separate process)."""

from __future__ import annotations

import asyncio

from commands.relay import MODE_LABELS
from tests.support.i18n import said, says
from tests.support.members import Member
from tests.support.predicates import reply_to, room_with_bot

LINKED = (
    "This room is now in the relay group {group} as {language} ({code}), {mode}. "
    "Rooms in the group: {count}."
)


def is_linked_answer(answer: str, lang: str, group: str, mode: str = "two-way") -> bool:
    """Whether ``answer`` confirms a link to ``group`` as ``lang``, in that room's new language."""
    return says(
        lang, LINKED, answer, group=f"`{group}`", code=lang, mode=said(lang, MODE_LABELS[mode])
    )


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
        # the answer comes in the room's new language
        assert is_linked_answer(answer, lang, group), answer
    return rooms
