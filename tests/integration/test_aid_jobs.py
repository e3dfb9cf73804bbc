"""The daily check: expiry and stale nudges fire once, even across a restart."""

from __future__ import annotations

import re

import pytest

from bot.core.storage.database import iso, utcnow
from tests.support.botharness import BotHarness
from tests.support.predicates import from_bot, reply_to, room_with_bot

pytestmark = pytest.mark.integration


async def test_expiry_and_stale_nudges_fire_once_across_a_restart(
    synapse, tmp_path, new_member
) -> None:
    admin = await new_member("admin")
    alice = await new_member("alice")
    bob = await new_member("bob")
    bot = BotHarness(
        synapse,
        tmp_path / "bot",
        bot={"admins": [admin.user_id]},
        aid={"check_interval_seconds": 1, "stale_after_seconds": 3},
    )
    try:
        await bot.start()
        public = await room_with_bot(alice, bot.user_id, name="neighbourhood")
        await alice.invite(public, bob.user_id)
        await bob.join(public)
        coord = await room_with_bot(admin, bot.user_id, name="coordinators")
        sent = await admin.send_text(coord, "!aid coordinators add")
        await admin.wait_for(coord, reply_to(sent))

        async def ask(member, text: str) -> str:  # type: ignore[no-untyped-def]
            sent = await member.send_text(public, text)
            return str((await member.wait_for(public, reply_to(sent)))["content"]["body"])

        expiring = await ask(alice, "!aid request housing whenever Lyon/France by:2030-01-01 Bed")
        expiring_id = re.search(r"#([0-9a-z]+)", expiring)[1]  # type: ignore[index]
        stalling = await ask(alice, "!aid request material whenever Lyon/France Blankets")
        stalling_id = re.search(r"#([0-9a-z]+)", stalling)[1]  # type: ignore[index]
        await ask(bob, f"!aid claim {stalling_id}")

        # time passes for the first request: its needed-by date is now behind us
        assert bot.app is not None
        bot.app.db.execute(
            "UPDATE aid_requests SET needed_by = ? WHERE public_id = ?",
            (iso(utcnow()), expiring_id),
        )
        await admin.wait_for(
            coord, from_bot(bot.user_id, contains=f"#{expiring_id} (housing, Lyon, France) expired")
        )
        await alice.wait_for(
            public, from_bot(bot.user_id, contains=f"request #{expiring_id} expired")
        )
        nudge = await bob.wait_for(
            public, from_bot(bot.user_id, contains=f"#{stalling_id} has had no news"), timeout=20
        )
        assert nudge["content"]["m.mentions"]["user_ids"] == [bob.user_id]

        await bot.restart()
        # still no news after the reminder: the coordinators are told
        await admin.wait_for(
            coord,
            from_bot(bot.user_id, contains=f"#{stalling_id}, claimed by"),
            timeout=20,
        )
        # a later answer proves the checks ran again after the restart
        probe = await admin.send_text(coord, "!aid list")
        await admin.wait_for(coord, reply_to(probe))

        def count(member, room: str, text: str) -> int:  # type: ignore[no-untyped-def]
            return sum(
                1
                for e in member.events(room)
                if e.get("sender") == bot.user_id and text in e["content"].get("body", "")
            )

        assert count(admin, coord, f"#{expiring_id} (housing, Lyon, France) expired") == 1
        assert count(alice, public, f"request #{expiring_id} expired") == 1
        assert count(bob, public, f"#{stalling_id} has had no news") == 1
        assert count(admin, coord, f"#{stalling_id}, claimed by") == 1
        nudges = bot.app.db.query("SELECT kind, sent_at FROM aid_nudges ORDER BY id")
        assert [n["kind"] for n in nudges] == ["expired", "stale_claimer", "stale_coordinators"]
        assert all(n["sent_at"] for n in nudges)
        status = bot.app.db.query_one(
            "SELECT status FROM aid_requests WHERE public_id = ?", (expiring_id,)
        )
        assert status is not None
        assert status["status"] == "expired"
    finally:
        await bot.stop()
