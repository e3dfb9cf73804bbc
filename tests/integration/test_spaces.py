"""A relay group as a Matrix space: created or adopted, kept in step as rooms join and leave."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.relay.notices import ACTIONS
from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_pattern, says
from tests.support.members import Member
from tests.support.predicates import joined, reply_to, room_with_bot
from tests.support.relaygroup import ask, join_group, link_group

pytestmark = pytest.mark.integration

SPACE_LINK = re.compile(r"https://matrix\.to/#/(![^?/)\s\"]+)")


def space_in(answer: dict[str, Any]) -> str:
    found = SPACE_LINK.search(answer["content"]["formatted_body"])
    assert found, answer["content"]["body"]
    return found.group(1)


def told(bot: BotHarness, msgid: str, **params: Any) -> Any:
    """A message from the bot saying ``msgid`` in English about some space."""
    pattern = said_pattern("en", msgid, space=re.compile(r"\[[^\]]*\]\([^)]*\)"), **params)

    def match(event: dict[str, Any]) -> bool:
        body = event.get("content", {}).get("body", "")
        return event.get("sender") == bot.user_id and pattern.search(body) is not None

    return match


async def answer_event(member: Member, room: str, text: str) -> dict[str, Any]:
    sent = await member.send_text(room, text)
    return await member.wait_for(room, reply_to(sent), timeout=30)


def children(state: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Room id -> child content, for the rooms a space lists (a child without via is gone)."""
    return {
        e["state_key"]: e["content"]
        for e in state
        if e["type"] == "m.space.child" and e.get("content", {}).get("via")
    }


def child_event(room_id: str, *, listed: bool) -> Any:
    def match(event: dict[str, Any]) -> bool:
        return (
            event.get("type") == "m.space.child"
            and event.get("state_key") == room_id
            and bool(event.get("content", {}).get("via")) == listed
        )

    return match


async def test_group_space_follows_the_group(bot: BotHarness, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    bob = await new_member("bob")
    group = "mujawara"
    rooms = await link_group(alice, bot.user_id, ("fr", "es"), group)
    fr, es = rooms["fr"], rooms["es"]

    created = await answer_event(alice, fr, "!relay space")
    space = space_in(created)
    assert says(
        "fr",
        "I created the space {space} for the relay group {group}; it lists the group's rooms by language: {rooms}. I invited you and made you its admin; members of the group's rooms may join it.",
        created["content"]["body"],
        space=re.compile(r"\[.*\]\(.*\)"),
        group=f"`{group}`",
        rooms=f"{group}-es (es), {group}-fr (fr)",
    ), created["content"]["body"]
    await alice.join(space)
    state = await alice.state(space)
    listed = children(state)
    assert set(listed) == {fr, es}
    assert listed[fr]["order"] == "fr"
    assert listed[es]["order"] == "es"
    assert all(content["via"] for content in listed.values())
    topic = next(e["content"]["topic"] for e in state if e["type"] == "m.room.topic")
    assert topic == f"{group} · español (es): {group}-es · français (fr): {group}-fr"
    rule = next(e["content"] for e in state if e["type"] == "m.room.join_rules")
    assert rule["join_rule"] == "restricted"
    assert {a["room_id"] for a in rule["allow"]} == {fr, es}

    # a room joining the group appears in the space; leaving takes it out again
    en = await room_with_bot(alice, bot.user_id, name=f"{group}-en")
    mark = alice.mark(space)
    linking = await alice.send_text(en, f"!relay link {group} en")
    added = await alice.wait_for(space, child_event(en, listed=True), after=mark)
    assert added["sender"] == bot.user_id
    await alice.wait_for(en, told(bot, "The group's space {space} now lists this room."))
    assert any(reply_to(linking)(e) for e in alice.events(en))
    listing = await ask(alice, es, "!relay list")
    assert f"](https://matrix.to/#/{space}" in listing, listing
    mark = alice.mark(space)
    await ask(alice, en, "!relay unlink")
    await alice.wait_for(space, child_event(en, listed=False), after=mark)
    await alice.wait_for(en, told(bot, "This room was taken out of the group's space {space}."))
    assert set(children(await alice.state(space))) == {fr, es}

    # the places directory names the space to the group's rooms, and only to them
    place = await ask(alice, fr, "!lieu add La Grange | Die | FR")
    place_id = re.search(r"`(\w{4})`", place)
    assert place_id, place
    assert f"(https://matrix.to/#/{space}" in place
    outside = await room_with_bot(bob, bot.user_id, name="elsewhere")
    card = await ask(bob, outside, f"!place show {place_id.group(1)}")
    assert "La Grange" in card
    assert space not in card

    # adopting a space: the bot must be in it already (a command never sends it anywhere)...
    elsewhere = await alice.create_room(name="not for the bot", space=True)
    refused = await ask(alice, fr, f"!relay space {elsewhere}")
    assert says(
        "fr",
        "I am not in the space {space}. Invite me there first, then try again. Nothing was changed.",
        refused,
        space=f"`{elsewhere}`",
    ), refused
    # ...the person asking must be able to change its rooms, and so must the bot
    theirs = await bob.create_room(name="bob's space", space=True, invite=[bot.user_id])
    await bob.wait_for(theirs, joined(bot.user_id), timeout=30)
    refused = await ask(alice, fr, f"!relay space {theirs}")
    assert says(
        "fr",
        "Only someone who may change the rooms of the space {space} may give it to the group. Nothing was changed.",
        refused,
        space=f"`{theirs}`",
    ), refused
    ours = await alice.create_room(name="Mujawara", space=True, invite=[bot.user_id])
    await alice.wait_for(ours, joined(bot.user_id), timeout=30)
    refused = await ask(alice, fr, f"!relay space {ours}")
    assert says(
        "fr",
        "I cannot change the rooms of the space {space}: that needs power level {needed} there and I have {have}. Ask an admin of the space to raise my power level, then try again. Nothing was changed.",
        refused,
        space=f"`{ours}`",
        needed=50,
        have=0,
    ), refused
    assert children(await alice.state(ours)) == {}
    await alice.set_power_level(ours, bot.user_id, 100)
    adopted = await answer_event(alice, fr, f"!relay space {ours}")
    assert space_in(adopted) == ours
    assert set(children(await alice.state(ours))) == {fr, es}
    assert children(await alice.state(space)) == {}  # the old space no longer lists them

    # without the power in the space, a room joining the group is told so, clearly
    await alice.set_power_level(ours, bot.user_id, 0)
    mark = alice.mark(en)
    await alice.send_text(en, f"!relay link {group} en")
    await alice.wait_for(
        en,
        told(
            bot,
            "I could not update the group's space {space}: changing its rooms needs power level {needed} there and I have {have}. Ask an admin of the space to raise my power level, then type {command}.",
            needed=50,
            have=0,
            command="`!relay space`",
        ),
        after=mark,
    )
    assert set(children(await alice.state(ours))) == {fr, es}

    # a space speaks for the whole group: the admin of a room that joined it later may not make,
    # adopt or stop one (the stewards may)
    joined_later = await room_with_bot(bob, bot.user_id, name=f"{group}-ar")
    await join_group(alice, fr, bob, joined_later, group, "ar")
    not_steward = said(
        "ar",
        "Only the stewards of the relay group {group} may do this, from one of its steward rooms ({command} shows them).",
        group=f"`{group}`",
        command="`!relay list`",
    )
    for attempt in ("!relay space", f"!relay space {ours}", "!relay space off"):
        assert await ask(bob, joined_later, attempt) == not_steward, attempt
    assert set(children(await alice.state(ours))) == {fr, es}
    # the stewards' history keeps who gave the group its spaces
    history = await ask(alice, fr, "!relay audit")
    assert says(
        "fr", ACTIONS["space"][0], history, actor=f"`{alice.user_id}`", group=f"`{group}`"
    ), history

    # the group can stop keeping a space: the space stays as it is, nothing more changes in it
    stopped = await ask(alice, fr, "!relay space off")
    assert says(
        "fr",
        "The relay group {group} no longer keeps a space: {space} stays as it is, and I stop changing it.",
        stopped,
        group=f"`{group}`",
    ), stopped
    left = await answer_event(alice, en, "!relay unlink")
    assert left["content"]["body"]
    assert "matrix.to" not in await ask(alice, fr, "!relay list")
    assert set(children(await alice.state(ours))) == {fr, es}
