"""Shared set-up for the relay tests: a bot with Apertium and rooms linked into one group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.core.matrix.client import LIAISON_KEY
from bot.dev.devserver.synapse import LocalSynapse
from tests.support.botharness import BotHarness
from tests.support.members import Member
from tests.support.predicates import reply_to, room_with_bot
from tests.support.relaygroup import is_linked_answer

Predicate = Callable[[dict[str, Any]], bool]


def relay_bot(
    synapse: LocalSynapse, data_dir: Path, apertium_url: str, **sections: Any
) -> BotHarness:
    translation = {"engines": ["apertium"], "apertium": {"url": apertium_url}}
    translation.update(sections.pop("translation", {}))
    return BotHarness(synapse, data_dir, translation=translation, **sections)


async def command(member: Member, room: str, text: str) -> str:
    """Send a command and return the bot's answer."""
    sent = await member.send_text(room, text)
    answer = await member.wait_for(room, reply_to(sent), timeout=20)
    return str(answer["content"]["body"])


async def linked_rooms(
    member: Member,
    bot: BotHarness,
    languages: tuple[str, ...] = ("fr", "es", "en"),
    group: str = "mujawara",
) -> dict[str, str]:
    """One room per language, each linked to ``group`` by ``member`` (their creator)."""
    created = await asyncio.gather(
        *(room_with_bot(member, bot.user_id, name=f"assembly-{lang}") for lang in languages)
    )
    rooms = dict(zip(languages, created, strict=True))
    for lang, room in rooms.items():
        answer = await command(member, room, f"!relay link {group} {lang}")
        assert is_linked_answer(answer, lang, group), answer
    return rooms


def copy_of(bot_user_id: str, source_event_id: str) -> Predicate:
    """The relayed copy of ``source_event_id`` (a message or a reaction)."""

    def match(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return (
            event.get("sender") == bot_user_id
            and content.get(LIAISON_KEY, {}).get("kind") == "relay"
            and content.get(LIAISON_KEY, {}).get("source") == source_event_id
        )

    return match


def relayed(bot_user_id: str, contains: str) -> Predicate:
    def match(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return (
            event.get("sender") == bot_user_id
            and event.get("type") == "m.room.message"
            and content.get(LIAISON_KEY, {}).get("kind") == "relay"
            and contains in content.get("body", "")
        )

    return match


def redaction_of(event_id: str) -> Predicate:
    def match(event: dict[str, Any]) -> bool:
        return event.get("type") == "m.room.redaction" and (
            event.get("redacts") == event_id or event.get("content", {}).get("redacts") == event_id
        )

    return match
