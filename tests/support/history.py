"""A room's whole history as the homeserver stores it, for counting copies after a fault.

A member's sync may cut a burst into a gap; ``/messages`` does not, so "exactly once, in
order" is checked against the homeserver's own record of the room.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import aiohttp

from bot.core.matrix.client import LIAISON_KEY
from tests.support.members import Member


async def room_history(member: Member, room_id: str) -> list[dict[str, Any]]:
    """Every event of ``room_id`` visible to ``member``, oldest first."""
    url = f"{member.hs.url}/_matrix/client/v3/rooms/{room_id}/messages"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    events: list[dict[str, Any]] = []
    params = {"dir": "b", "limit": "1000"}
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url, params=params, headers=headers) as response:
                body = await response.json()
                if response.status != 200:
                    raise AssertionError(f"/messages in {room_id}: {response.status} {body}")
            chunk = body.get("chunk") or []
            events.extend(chunk)
            end = body.get("end")
            if not chunk or not end:
                break
            params = {**params, "from": end}
    events.reverse()
    return events


def relayed_sources(events: list[dict[str, Any]], bot_user_id: str) -> list[str]:
    """The source event id of each relayed message copy, in the room's order."""
    return [
        e["content"][LIAISON_KEY]["source"]
        for e in events
        if e.get("sender") == bot_user_id
        and e.get("type") == "m.room.message"
        and e.get("content", {}).get(LIAISON_KEY, {}).get("kind") == "relay"
    ]


def duplicates(items: list[str]) -> dict[str, int]:
    """Items present more than once, with their counts (empty when all are unique)."""
    return {item: n for item, n in Counter(items).items() if n > 1}
