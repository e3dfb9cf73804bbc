"""The bot as members meet it: invites, help, unknown commands, permissions, restarts, encryption."""

from __future__ import annotations

import pytest

from bot.core.commands import CommandContext, CommandFamily
from bot.core.matrix.client import LIAISON_KEY
from tests.support.botharness import BotHarness
from tests.support.predicates import reply_to
from tests.support.predicates import room_with_bot as shared_room_with_bot

pytestmark = pytest.mark.integration


async def room_with_bot(member, bot: BotHarness, **kwargs) -> str:  # type: ignore[no-untyped-def]
    return await shared_room_with_bot(member, bot.user_id, name="assembly", **kwargs)


async def test_help_lists_families_as_a_notice_reply(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot)
    command = await alice.send_text(room, "!help")
    answer = await alice.wait_for(room, reply_to(command))
    body = answer["content"]["body"]
    assert "!room" in body
    assert answer["content"]["format"] == "org.matrix.custom.html"
    assert "<code>!room</code>" in answer["content"]["formatted_body"]
    assert answer["content"][LIAISON_KEY]["kind"] == "reply"

    family = await alice.send_text(room, "!help room")
    detail = (await alice.wait_for(room, reply_to(family)))["content"]["body"]
    assert "!room lang <code>" in detail
    assert "!room tz Europe/Paris" in detail


async def test_unknown_command_suggests_the_closest(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot)
    typo = await alice.send_text(room, "!hepl")
    body = (await alice.wait_for(room, reply_to(typo)))["content"]["body"]
    assert "`!hepl`" in body
    assert "`!help`" in body
    verb = await alice.send_text(room, "!room lnag fr")
    body = (await alice.wait_for(room, reply_to(verb)))["content"]["body"]
    assert "`!room lang`" in body


async def test_room_admin_command_refused_to_a_member(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    bob = await new_member("bob")
    room = await room_with_bot(alice, bot)
    await alice.invite(room, bob.user_id)
    await bob.join(room)
    attempt = await bob.send_text(room, "!room lang fr")
    body = (await bob.wait_for(room, reply_to(attempt)))["content"]["body"]
    assert "Only room admins" in body
    # nothing changed: the room still speaks the default language
    info = await bob.send_text(room, "!room info")
    assert "(en)" in (await bob.wait_for(room, reply_to(info)))["content"]["body"]
    # the creator (power 100) may
    allowed = await alice.send_text(room, "!room lang fr")
    await alice.wait_for(room, reply_to(allowed))
    info = await bob.send_text(room, "!room info")
    assert "(fr)" in (await bob.wait_for(room, reply_to(info)))["content"]["body"]


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot)
    for text, expected in [
        ('!room tz "Europe/Paris', "quote is not closed"),
        ("!room tz Mars/Olympus", "`Mars/Olympus` is not a time zone"),
        ("!room lang klingon-ish", "is not a language code"),
        ("!room lang", "Give exactly one language code"),
        ("!help nothing", "no command family called"),
    ]:
        sent = await alice.send_text(room, text)
        body = (await alice.wait_for(room, reply_to(sent)))["content"]["body"]
        assert expected in body, (text, body)
    info = await alice.send_text(room, "!room info")
    body = (await alice.wait_for(room, reply_to(info)))["content"]["body"]
    assert "(en)" in body
    assert "UTC" in body


async def test_a_failing_handler_apologises_and_the_bot_keeps_running(
    synapse, tmp_path, new_member
) -> None:
    broken: CommandFamily[None] = CommandFamily("broken", help="fails on purpose")

    @broken.command(usage="broken", help="fails")
    async def fail(ctx: CommandContext, service: None) -> None:
        raise RuntimeError("secret internal detail")

    harness = BotHarness(synapse, tmp_path / "bot", extra_families=[broken.bind(None)])
    try:
        await harness.start()
        alice = await new_member("alice")
        room = await room_with_bot(alice, harness)
        sent = await alice.send_text(room, "!broken")
        body = (await alice.wait_for(room, reply_to(sent)))["content"]["body"]
        assert "Sorry" in body
        assert "secret internal detail" not in body
        after = await alice.send_text(room, "!room info")
        await alice.wait_for(room, reply_to(after))
    finally:
        await harness.stop()


async def test_history_before_the_join_is_not_replayed(bot, new_member) -> None:
    alice = await new_member("alice")
    room = await alice.create_room(name="old")
    old = await alice.send_text(room, "!help")
    await bot.start()
    await alice.invite(room, bot.user_id)
    await alice.wait_for(
        room,
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == bot.user_id
            and e["content"].get("membership") == "join"
        ),
        timeout=30,
    )
    fresh = await alice.send_text(room, "!room info")
    await alice.wait_for(room, reply_to(fresh))
    assert not any(reply_to(old)(e) for e in alice.events(room))


async def test_restart_catches_up_exactly_once(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot)
    warm = await alice.send_text(room, "!room info")
    await alice.wait_for(room, reply_to(warm))
    await bot.stop()
    while_down = [await alice.send_text(room, f"!room info {n}") for n in range(3)]
    await bot.start()
    for event_id in while_down:
        await alice.wait_for(room, reply_to(event_id))
    await bot.restart()
    probe = await alice.send_text(room, "!room info")
    await alice.wait_for(room, reply_to(probe))
    for event_id in [warm, *while_down]:
        answers = [e for e in alice.events(room) if reply_to(event_id)(e)]
        assert len(answers) == 1, f"{len(answers)} answers to one command"


async def test_invite_from_someone_not_allowed_is_refused(synapse, tmp_path, new_member) -> None:
    alice = await new_member("alice")
    mallory = await new_member("mallory")
    harness = BotHarness(synapse, tmp_path / "bot", bot={"allowed_inviters": [alice.user_id]})
    try:
        await harness.start()
        room = await mallory.create_room(name="trap", invite=[harness.user_id])
        left = await mallory.wait_for(
            room,
            lambda e: (
                e.get("type") == "m.room.member"
                and e.get("state_key") == harness.user_id
                and e["content"].get("membership") == "leave"
            ),
            timeout=30,
        )
        assert left["sender"] == harness.user_id
        welcome = await room_with_bot(alice, harness)
        sent = await alice.send_text(welcome, "!help")
        await alice.wait_for(welcome, reply_to(sent))
    finally:
        await harness.stop()


async def test_encrypted_room_is_read_and_answered(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice", encryption=True)
    room = await room_with_bot(alice, bot, encrypted=True)
    sent = await alice.send_text(room, "!room info")
    answer = await alice.wait_for(room, reply_to(sent), timeout=30)
    assert answer.get("decrypted") is True
    assert "This room's language" in answer["content"]["body"]
