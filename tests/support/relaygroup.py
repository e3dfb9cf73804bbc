"""Rooms linked into one relay group, for any bot (in-process harness or separate process).

Groups follow the consent rules: the first room linked creates the group and is its steward
room; a steward linking another room they administer links it at once; anyone else's room
sends a request that a steward approves (:func:`join_group`).
"""

from __future__ import annotations

import asyncio
import re

from commands.relay import MODE_LABELS
from tests.support.i18n import said, said_pattern, says
from tests.support.members import Member
from tests.support.predicates import reply_to, room_with_bot

LINKED = (
    "This room is now in the relay group {group} as {language} ({code}), {mode}. "
    "Rooms in the group: {count}."
)
REQUESTED = (
    "Request {request} sent to the stewards of {group}: they decide whether this room joins as "
    "{language} ({code}), {mode}. Nothing is relayed to or from this room until one of them "
    "approves."
)
APPROVED = (
    "Request {request} approved: {room} is now in {group} as {language} ({code}), {mode}, and "
    "was told so."
)


def is_linked_answer(answer: str, lang: str, group: str, mode: str = "two-way") -> bool:
    """Whether ``answer`` confirms a link to ``group`` as ``lang``, in that room's new language."""
    return says(
        lang, LINKED, answer, group=f"`{group}`", code=lang, mode=said(lang, MODE_LABELS[mode])
    )


def request_id(answer: str, lang: str, group: str) -> str:
    """The id of the request ``answer`` (in the room's language ``lang``) says was sent."""
    match = said_pattern(
        lang, REQUESTED, request=re.compile(r"`(?P<id>[a-z0-9]+)`"), group=f"`{group}`"
    ).search(answer)
    assert match, answer
    return match.group("id")


async def ask(member: Member, room: str, text: str, timeout: float = 30) -> str:  # noqa: ASYNC109
    """Send a command and return the bot's answer."""
    sent = await member.send_text(room, text)
    answer = await member.wait_for(room, reply_to(sent), timeout=timeout)
    return str(answer["content"]["body"])


async def link_group(
    member: Member, bot_user_id: str, languages: tuple[str, ...], group: str
) -> dict[str, str]:
    """One room per language, created by ``member`` with the bot, each linked to ``group``.

    The first room creates the group, so ``member`` (its admin) is a steward and links the
    others at once.
    """
    created = await asyncio.gather(
        *(room_with_bot(member, bot_user_id, name=f"{group}-{lang}") for lang in languages)
    )
    rooms = dict(zip(languages, created, strict=True))
    for lang, room in rooms.items():
        answer = await ask(member, room, f"!relay link {group} {lang}")
        # the answer comes in the room's new language
        assert is_linked_answer(answer, lang, group), answer
    return rooms


async def join_group(
    steward: Member,
    steward_room: str,
    member: Member,
    room: str,
    group: str,
    lang: str,
    mode: str = "two-way",
) -> str:
    """``member`` asks to link ``room``; ``steward`` approves it from ``steward_room``.

    Returns the request's id once the room has been told it is in.
    """
    answer = await ask(member, room, f"!relay link {group} {lang} {mode}")
    request = request_id(answer, lang, group)
    mark = member.mark(room)
    approved = await ask(steward, steward_room, f"!relay approve {request}")
    assert f"`{request}`" in approved, approved
    told = said_pattern(
        lang,
        "The stewards of {group} approved this room's request: it is in the relay group as {language}, {mode}.",
        group=f"`{group}`",
    )
    await member.wait_for(
        room,
        lambda e: told.search(str(e.get("content", {}).get("body", ""))) is not None,
        after=mark,
        timeout=30,
    )
    return request
