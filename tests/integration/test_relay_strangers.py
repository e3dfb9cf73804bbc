"""A stranger's room cannot read the network, change its glossary, see its calendar or post
to it; a linked room that is no steward acts on itself only; links never hide their target.

The four attacks of the trial that found the gap, each from a stranger's room with the bot
invited: link to the group and listen; change the glossary; list and subscribe to the group's
gatherings; post an official-looking notice to every room. Probe messages prove the relay kept
working for the group's own rooms all along.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.core.matrix.client import LIAISON_KEY
from tests.integration.test_relay_support import command, copy_of
from tests.integration.test_schedule import soon
from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_pattern, said_plural, says
from tests.support.members import Member
from tests.support.predicates import from_bot, reply_to, room_with_bot
from tests.support.relaygroup import join_group, link_group, request_id

pytestmark = pytest.mark.integration

ID = re.compile(r"`(?P<id>[2-9a-z]{4,5})`")
EVIL = "https://evil.example/login"
ANNOUNCED = ("Announced {id} in {count} room.", "Announced {id} in {count} rooms.")
STEWARDS_ONLY = (
    "Only the stewards of the relay group {group} (admins of its steward rooms, listed by "
    "{command}) may post to all of its rooms or see all of their gatherings, so this stays in "
    "this room."
)


def later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d 18:00")


async def created(member: Member, room: str, text: str, lang: str) -> str:
    body = await command(member, room, text)
    match = said_pattern(lang, "Gathering {id} created.", id=ID).search(body)
    assert match, body
    return match.group("id")


def bot_posts(member: Member, room: str, bot_user_id: str, after: int = 0) -> list[str]:
    """What the bot posted in ``room`` (not its replies to commands)."""
    return [
        str(e["content"].get("body", ""))
        for e in member.events(room)[after:]
        if e.get("sender") == bot_user_id
        and e.get("content", {}).get(LIAISON_KEY, {}).get("kind") != "reply"
    ]


async def test_a_strangers_room_learns_and_changes_nothing_of_the_group(
    synapse, new_member, tmp_path
) -> None:
    bot = BotHarness(synapse, tmp_path / "bot", web={"enabled": True, "port": 0})
    await bot.start()
    try:
        await strangers_story(bot, new_member)
    finally:
        await bot.stop()


async def strangers_story(bot: BotHarness, new_member: Any) -> None:
    me = bot.user_id
    assert bot.app is not None
    db = bot.app.db
    alice = await new_member("alice")
    mallory = await new_member("mallory")
    bob = await new_member("bob")
    group = "mujawara"
    rooms = await link_group(alice, me, ("fr", "es"), group)
    fr, es = rooms["fr"], rooms["es"]
    await command(alice, fr, "!relay glossary add Mujawara")
    secret = await created(alice, fr, f"!event add Assemblée interne | {later(20)} | Tunis", "fr")
    public = await created(alice, fr, f"!event add Fête publique | {later(21)} | Tunis", "fr")
    await command(alice, fr, f"!event announce {public}")
    glossary = list(db.query("SELECT * FROM relay_glossary"))

    pirates = await room_with_bot(mallory, me, name="pirates")
    marks = {room: alice.mark(room) for room in (fr, es)}

    # 1. link and listen: a request, and nothing arrives
    request = request_id(
        await command(mallory, pirates, f"!relay link {group} en receive"), "en", group
    )
    probe = await alice.send_text(fr, "Ordre du jour de l'assemblée")
    await alice.wait_for(es, copy_of(me, probe))
    # 2. change the group's glossary
    refusal = await command(mallory, pirates, "!relay glossary add Pirate")
    assert says(
        "en",
        "This room's request {request} to join the relay group {group} waits for a steward's approval: nothing is relayed to or from it yet.",
        refusal,
        request=f"`{request}`",
    ), refusal
    # 3. the group's gatherings and their calendar
    listed = await command(mallory, pirates, "!event list")
    assert "Assemblée" not in listed, listed
    assert "Fête" not in listed, listed
    feed = await command(mallory, pirates, "!event feed")
    url = re.search(r"https?://\S+\.ics", feed)
    assert url, feed
    async with aiohttp.ClientSession() as session, session.get(url[0]) as response:
        assert response.status == 200
        calendar = await response.text()
    assert "Assembl" not in calendar
    assert "publique" not in calendar
    # 4. an official-looking notice to every room, as a schedule and as a gathering
    await command(mallory, pirates, "!relay unlink")  # withdraw, then ask for two-way
    request_id(await command(mallory, pirates, f"!relay link {group} en"), "en", group)
    scheduled = await command(
        mallory,
        pirates,
        f"!schedule add --group {soon(2)} **Official notice**: re-verify at [this link]({EVIL})",
    )
    assert (
        said("en", "This room is not in a relay group, so there is no group to announce to.")
        in scheduled
    ), scheduled
    fake = await created(
        mallory,
        pirates,
        f"!event add Fake assembly [verify here]({EVIL}) | {later(3)} | Online",
        "en",
    )
    announced = await command(mallory, pirates, f"!event announce {fake}")
    assert said_plural("en", ANNOUNCED, 1, id=f"`{fake}`") in announced
    # a 10,000-character unknown command gets a short answer
    huge = await command(mallory, pirates, "!" + "x" * 10_000)
    assert len(huge) < 300, huge
    assert "x" * 65 not in huge, huge

    # the group's rooms: the relay still works, and nothing of the stranger arrived
    probe = await alice.send_text(es, "Seguimos aquí")
    await alice.wait_for(fr, copy_of(me, probe))
    for room in (fr, es):
        await command(alice, room, "!room info")  # everything queued before has arrived
        posts = bot_posts(alice, room, me, marks[room])
        assert not any("evil" in p or "Fake" in p or "Official" in p for p in posts), posts
    assert not any(copy_of(me, probe)(e) for e in mallory.events(pirates))
    assert list(db.query("SELECT * FROM relay_glossary")) == glossary
    assert "Seguimos" not in str(mallory.events(pirates))

    # ---- a room the stewards let in, whose admin is no steward: their own room only ----------
    home = await room_with_bot(bob, me, name="bobs")
    await join_group(alice, fr, bob, home, group, "en")
    # a gathering only the group-wide view shows; stewards see it from any room of the group
    assert "Assembl" in await command(alice, es, "!event list")
    assert "Assembl" not in await command(bob, home, "!event list")
    refused = await command(bob, home, f"!schedule add --group {soon(60)} Hello everyone")
    assert says("en", STEWARDS_ONLY, refused, group=f"`{group}`"), refused
    party = await created(bob, home, f"!event add Bob's party | {later(4)} | Berlin", "en")
    mark_fr = alice.mark(fr)
    sent = await bob.send_text(home, f"!event announce {party}")
    answer = await bob.wait_for(home, reply_to(sent), timeout=20)
    assert said_plural("en", ANNOUNCED, 1, id=f"`{party}`") in str(answer["content"]["body"])
    note = said_pattern("en", STEWARDS_ONLY, group=f"`{group}`")
    await bob.wait_for(
        home, lambda e: reply_to(sent)(e) and note.search(e["content"]["body"]) is not None
    )
    await command(bob, home, "!event feed")
    await bob.wait_for(
        home,
        from_bot(
            me,
            contains=said(
                "en",
                "This feed holds the gatherings of this room only: the feed of the whole relay group is for its stewards.",
            ),
        ),
    )
    await command(alice, fr, "!room info")
    assert not any("Bob's party" in p for p in bot_posts(alice, fr, me, mark_fr))
    # the same from a steward reaches the whole group
    mark_es = alice.mark(es)
    assert said_plural("fr", ANNOUNCED, 3, id=f"`{secret}`") in (
        await command(alice, fr, f"!event announce {secret}")
    )
    await alice.wait_for(
        es, from_bot(me, contains="Assemblée interne", kind="announcement"), after=mark_es
    )

    # ---- a receive-only room never posts into the group, even for a steward --------------------
    news = await room_with_bot(alice, me, name="news")
    await command(alice, news, f"!relay link {group} fr receive")
    refused = await command(alice, news, f"!schedule add --group {soon(60)} Bonjour")
    assert (
        said(
            "fr",
            "This room only receives the relay group {group}: nothing posted here goes out to the group.",
            group=f"`{group}`",
        )
        in refused
    ), refused


async def test_links_show_their_target_in_every_posting_path(synapse, new_member, tmp_path) -> None:
    bot = BotHarness(synapse, tmp_path / "bot")
    await bot.start()
    try:
        me = bot.user_id
        alice = await new_member("alice")
        rooms = await link_group(alice, me, ("fr", "es"), "links")
        fr, es = rooms["fr"], rooms["es"]
        hidden = f'<a href="{EVIL}">formulaire</a>'

        def shows_target(event: dict[str, Any]) -> bool:
            html = str(event.get("content", {}).get("formatted_body", ""))
            return "</a> (evil.example)" in html

        # a relayed copy
        sent = await alice.send_text(
            fr,
            f"Remplissez le formulaire ({EVIL})",
            html=f'Remplissez le {hidden} ou <a href="https://example.org">https://example.org</a>',
        )
        copy = await alice.wait_for(es, copy_of(me, sent))
        assert shows_target(copy), copy["content"]
        assert "example.org</a> (" not in copy["content"]["formatted_body"]
        # a scheduled post to the group
        await command(alice, fr, f"!schedule add --group {soon(3)} Avis : [formulaire]({EVIL})")
        for room in (fr, es):
            await alice.wait_for(
                room,
                lambda e: (
                    from_bot(me, kind="announcement")(e)
                    and "Avis" in e["content"]["body"]
                    and shows_target(e)
                ),
                timeout=20,
            )
        # an announced gathering
        gathering = await created(
            alice,
            fr,
            f"!event add Fausse assemblée [vérifiez ici]({EVIL}) | {later(5)} | Tunis",
            "fr",
        )
        await command(alice, fr, f"!event announce {gathering}")
        for room in (fr, es):
            post = await alice.wait_for(room, from_bot(me, contains=gathering, kind="announcement"))
            assert shows_target(post), post["content"]["formatted_body"]
    finally:
        await bot.stop()
