"""What the bot keeps about a member, against the real homeserver and translator: private
requests never cached, everything erased by !forget me down to the file's bytes, no count a
shared room should not see, request ids that tell nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_relay_support import copy_of
from tests.support.botharness import BotHarness
from tests.support.i18n import said
from tests.support.predicates import from_bot, room_with_bot
from tests.support.relaygroup import ask, is_linked_answer

pytestmark = pytest.mark.integration

PRIVATE_WORD = "zorblaxine"  # unknown to the translator: it stays as it is in a translation
PUBLIC_WORD = "quixoblix"


def file_bytes(database: Path) -> bytes:
    """The database as it lies on disk: the file, its write-ahead log and shared memory."""
    parts = [database, database.with_name(database.name + "-wal")]
    parts.append(database.with_name(database.name + "-shm"))
    return b"".join(p.read_bytes() for p in parts if p.exists())


async def test_private_words_are_never_cached_and_forget_me_leaves_no_byte_of_them(
    synapse: Any, apertium: Any, tmp_path: Path, new_member: Any
) -> None:
    admin = await new_member("admin")
    alice = await new_member("alice", encryption=True)  # reads her report in a direct chat
    bob = await new_member("bob")
    bot = BotHarness(
        synapse,
        tmp_path / "bot",
        bot={"admins": [admin.user_id]},
        translation={"engines": ["apertium"], "apertium": {"url": apertium.url}},
    )
    try:
        app = await bot.start()
        fr = await room_with_bot(alice, bot.user_id, name="quartier-fr")
        es = await room_with_bot(alice, bot.user_id, name="barrio-es")
        await alice.invite(fr, bob.user_id)
        await bob.join(fr)
        for lang, room in (("fr", fr), ("es", es)):
            assert is_linked_answer(
                await ask(alice, room, f"!relay link voisins {lang}"), lang, "voisins"
            )
        coord = await room_with_bot(admin, bot.user_id, name="coordination")
        assert "coordinators' room" in await ask(admin, coord, "!aid coordinators add")
        assert "(es)" in await ask(admin, coord, "!room lang es")

        # a relayed message: its translation is cached, with who wrote it
        sent = await alice.send_text(fr, f"Le marché {PUBLIC_WORD} est fermé aujourd'hui")
        copy = await alice.wait_for(es, copy_of(bot.user_id, sent), timeout=30)
        assert PUBLIC_WORD in copy["content"]["body"]
        cached = app.db.query("SELECT translation FROM translation_cache")
        assert any(PUBLIC_WORD in row["translation"] for row in cached)

        # a coordinators-only request: translated for the coordinators, never cached
        mark = admin.mark(coord)
        answer = await ask(
            alice,
            fr,
            f"!aid request medical today Lyon/France visibility:coordinators "
            f"{PRIVATE_WORD} pour une personne diabétique",
        )
        assert PRIVATE_WORD not in answer
        post = await admin.wait_for(coord, from_bot(bot.user_id, contains=PRIVATE_WORD), after=mark)
        # the id tells nothing of how many requests came before
        shown = re.search(r"#([0-9a-z]+)", post["content"]["body"])
        assert shown, post["content"]["body"]
        assert not shown[1].isdigit()
        assert len(shown[1]) >= 4
        cached = app.db.query("SELECT translation FROM translation_cache")
        assert not any(PRIVATE_WORD in row["translation"] for row in cached)

        # !forget me in the shared room: no count there, the full report in a direct chat
        await ask(alice, fr, "!forget me")
        body = await ask(alice, fr, "!forget me confirm")
        assert body.startswith(
            said(
                "fr",
                "Done. I erased what I held about you. The detailed report is in a direct chat I opened with you: accept my invitation to read it.",
            )
        )
        assert not re.search(r": \d", body), body
        report_room = await alice.wait_for_invite(bot.user_id, said("fr", "What I erased"))
        report = await alice.wait_for(
            report_room, from_bot(bot.user_id, contains=said("fr", "What remains:"))
        )
        text = report["content"]["body"]
        for label in ("aid requests you made (anonymised)", "cached translations of your messages"):
            assert said("fr", "{what}: {count}", what=said("fr", label), count=1) in text, text

        # nothing she wrote, nor its translation, is anywhere in the database file any more
        on_disk = file_bytes(bot.config.storage.database)
        assert PRIVATE_WORD.encode() not in on_disk
        assert PUBLIC_WORD.encode() not in on_disk
        assert app.db.query_one("SELECT count(*) AS n FROM translation_cache_authors")["n"] == 0
    finally:
        await bot.stop()
