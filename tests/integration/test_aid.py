"""Mutual aid against the real homeserver: forms, visibility, lifecycle, offers, export."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.core.matrix.client import LIAISON_KEY
from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_plural, says
from tests.support.members import Member
from tests.support.predicates import from_bot, joined, reply_to, room_with_bot
from tests.support.relaygroup import join_group

pytestmark = pytest.mark.integration


@dataclass
class Desk:
    bot: BotHarness
    admin: Member  # bot admin, creator of the coordinators' room
    alice: Member  # asks for help
    bob: Member  # helps
    carol: Member  # coordinator
    public: str  # alice's and bob's room
    coord: str  # coordinators' room (admin + carol)

    @property
    def db(self) -> Any:
        assert self.bot.app is not None
        return self.bot.app.db


async def ask(member: Member, room: str, text: str, timeout: float = 20) -> str:
    sent = await member.send_text(room, text)
    answer = await member.wait_for(room, reply_to(sent), timeout=timeout)
    return str(answer["content"]["body"])


def rows(db: Any, sql: str) -> list[dict[str, Any]]:
    return list(db.query(sql))


def state(db: Any) -> list[tuple[Any, ...]]:
    return [
        tuple(r.values())
        for r in db.query("SELECT id, status, claimer, description FROM aid_requests ORDER BY id")
    ] + [(r["n"],) for r in db.query("SELECT count(*) AS n FROM aid_history")]


@pytest.fixture
async def desk(synapse, tmp_path, new_member, apertium):  # type: ignore[no-untyped-def]
    admin = await new_member("admin")
    # alice follows private requests in a direct chat with the bot, which is encrypted
    alice = await new_member("alice", encryption=True)
    bob = await new_member("bob")
    carol = await new_member("carol")
    oncall = await new_member("oncall")
    harness = BotHarness(
        synapse,
        tmp_path / "bot",
        bot={"admins": [admin.user_id]},
        aid={"on_call": [oncall.user_id]},
        translation={"engines": ["apertium"], "apertium": {"url": apertium.url}},
    )
    await harness.start()
    public = await room_with_bot(alice, harness.user_id, name="neighbourhood")
    await alice.invite(public, bob.user_id)
    await bob.join(public)
    coord = await room_with_bot(admin, harness.user_id, name="coordinators")
    await admin.invite(coord, carol.user_id)
    await carol.join(coord)
    await admin.wait_for(coord, joined(carol.user_id))
    assert "coordinators' room" in await ask(admin, coord, "!aid coordinators add")
    yield Desk(harness, admin, alice, bob, carol, public, coord)
    await harness.stop()


async def media(member: Member, url: str) -> bytes:
    server, media_id = url.removeprefix("mxc://").split("/", 1)
    endpoint = f"{member.hs.url}/_matrix/client/v1/media/download/{server}/{media_id}"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with aiohttp.ClientSession() as session, session.get(endpoint, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read()


async def export(member: Member, room: str) -> list[dict[str, str]]:
    sent = await member.send_text(room, "!aid export")
    event = await member.wait_for(room, lambda e: reply_to(sent)(e) or _file_reply(e, sent))
    assert event["content"]["msgtype"] == "m.file", event["content"].get("body")
    data = await media(member, event["content"]["url"])
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _file_reply(event: dict[str, Any], to: str) -> bool:
    content = event.get("content", {})
    relates = content.get("m.relates_to", {}).get("m.in_reply_to", {})
    return content.get("msgtype") == "m.file" and relates.get("event_id") == to


FORMS = {
    "one-line": 'housing today "Lyon, France" by:2030-12-05 visibility:{v} {d}',
    "multi-line": (
        "\ncategory: medical\nurgency: this week\nlocation: Tunis, Tunisia\n"
        "needed by: 2030-12-05\nvisibility: {v}\ndescription: {d}"
    ),
}


async def test_each_form_and_visibility_reaches_only_where_it_may(desk: Desk) -> None:
    bot, alice, admin = desk.bot, desk.alice, desk.admin
    assert "(es)" in await ask(admin, desk.coord, "!room lang es")
    made: dict[tuple[str, str], str] = {}
    for visibility in ("network", "coordinators", "anonymous"):
        for shape, form in FORMS.items():
            secret = f"need-{visibility}-{shape}"
            mark = admin.mark(desk.coord)
            body = await ask(
                alice, desk.public, "!aid request " + form.format(v=visibility, d=secret)
            )
            post = await admin.wait_for(
                desk.coord, from_bot(bot.user_id, contains=secret), after=mark
            )
            number = re.search(r"#([0-9a-z]+)", post["content"]["body"])[1]  # type: ignore[index]
            made[(visibility, shape)] = number
            if visibility == "network":
                assert secret in body
                assert f"#{number}" in body
            else:
                # a private request is never described in the shared room
                assert secret not in body
                assert "#" not in body
                assert "only to the coordinators" in body
            # the coordinators' room speaks Spanish
            card = post["content"]["body"]
            if visibility == "anonymous":
                assert alice.user_id not in card
                assert said("es", "Asked by: {who}", who=said("es", "anonymous")) in card, card
            else:
                assert alice.user_id in card
            if shape == "one-line":
                # today: highlighted and the on-call person mentioned
                assert says("es", "🔴 **Urgent: needed today.** On call: {people}", card), card
                assert post["content"]["m.mentions"]["user_ids"] == list(bot.config.aid.on_call)
            else:
                assert post["content"]["m.mentions"] == {}
    stored = {r["public_id"]: r["visibility"] for r in rows(desk.db, "SELECT * FROM aid_requests")}
    assert stored == {n: v for (v, _s), n in made.items()}
    network_ids = {made[("network", s)] for s in FORMS}
    private_ids = set(made.values()) - network_ids

    # the coordinators' room speaks Spanish: the member's words arrive translated
    translated = [
        e
        for e in admin.events(desk.coord)
        if said("es", "Original: {text}", text="need-network-one-line")
        in e.get("content", {}).get("body", "")
    ]
    assert translated, "the description was not shown with its original under a translation"

    # the public room's list shows only network requests; the coordinators see all
    listed = await ask(alice, desk.public, "!aid list")
    assert set(re.findall(r"#([0-9a-z]+)", listed)) == network_ids
    assert "need-coordinators" not in listed
    assert "need-anonymous" not in listed
    listed = await ask(desk.carol, desk.coord, "!aid list")
    assert set(re.findall(r"#([0-9a-z]+)", listed)) == set(made.values())

    # an id that may not be seen here is answered exactly like one that does not exist
    for verb in ("show", "claim", "offer", "close"):
        hidden = min(private_ids)
        extra = {"offer": " I can help", "close": " fulfilled"}.get(verb, "")
        forbidden = await ask(desk.bob, desk.public, f"!aid {verb} {hidden}{extra}")
        unknown = await ask(desk.bob, desk.public, f"!aid {verb} 99999{extra}")
        assert forbidden.replace(f"#{hidden}", "#N") == unknown.replace("#99999", "#N")
        assert "need-" not in forbidden
    assert all(r["status"] == "open" for r in rows(desk.db, "SELECT * FROM aid_requests"))

    # the person who asked follows a private request in a direct chat with the bot
    dm = desk.db.query_one("SELECT room_id FROM aid_dm_rooms WHERE user_id = ?", (alice.user_id,))[
        "room_id"
    ]
    await alice.join(dm)
    await alice.wait_for(dm, from_bot(bot.user_id, contains="need-anonymous-multi-line"))
    mine = await ask(alice, dm, "!aid list mine")
    assert set(re.findall(r"#([0-9a-z]+)", mine)) == set(made.values())

    # exports: only what may be seen where it is asked
    await alice.invite(desk.public, admin.user_id)
    await admin.join(desk.public)
    public_csv = await export(admin, desk.public)
    assert {r["id"] for r in public_csv} == network_ids
    assert not any("need-coordinators" in r["description"] for r in public_csv)
    coord_csv = await export(desk.carol, desk.coord)
    assert {r["id"] for r in coord_csv} == set(made.values())
    for row in coord_csv:
        hidden = row["visibility"] == "anonymous"
        # a cell starting with @ is written after a ' so no spreadsheet reads it as a formula
        assert row["requester"] == ("" if hidden else "'" + alice.user_id)
    refused = await ask(desk.bob, desk.public, "!aid export")
    assert "Only coordinators and the bot's administrators" in refused

    # only a bot admin, alone with the bot, learns who asked anonymously
    anonymous = made[("anonymous", "one-line")]
    refused = await ask(admin, desk.coord, f"!aid audit {anonymous}")
    assert (
        said("es", "For privacy, I answer audits only in a direct chat between you and me.")
        in refused
    ), refused
    assert alice.user_id not in refused
    private = await room_with_bot(admin, bot.user_id, name="audit")
    audit = await ask(admin, private, f"!aid audit {anonymous}")
    assert alice.user_id in audit


async def test_private_request_never_reaches_a_relay_linked_public_room(desk: Desk) -> None:
    relay = pytest.importorskip("bot.relay.store")
    bot, alice, admin = desk.bot, desk.alice, desk.admin
    assert "relay group" in await ask(admin, desk.coord, "!relay link mutual en")
    # the coordinators' room created the group: its admin approves the public room's request
    await join_group(admin, desk.coord, alice, desk.public, "mutual", "en")
    assert relay.room_link(desk.db, desk.public).group == "mutual"
    secret = "insulin-for-the-hidden-person"
    ack = await ask(
        alice,
        desk.public,
        f"!aid request medical today Bogota/Colombia visibility:coordinators {secret}",
    )
    assert secret not in ack
    await admin.wait_for(desk.coord, from_bot(bot.user_id, contains=secret))
    # the link is live: an ordinary message from the coordinators' room is relayed
    await desk.carol.send_text(desk.coord, "we are on it")
    await alice.wait_for(desk.public, lambda e: "we are on it" in e["content"].get("body", ""))
    listed = await ask(alice, desk.public, "!aid list")
    for event in alice.events(desk.public):
        if event.get("sender") != alice.user_id:
            assert secret not in str(event.get("content", {})), listed


async def test_claim_close_duplicate_lifecycle_with_history(desk: Desk) -> None:
    alice, bob, carol = desk.alice, desk.bob, desk.carol
    first = await ask(
        alice, desk.public, '!aid request material "this month" Lyon/France Blankets x50'
    )
    a = re.search(r"#([0-9a-z]+)", first)[1]  # type: ignore[index]
    second = await ask(
        alice, desk.public, "!aid request material whenever Lyon/France Blankets again"
    )
    b = re.search(r"#([0-9a-z]+)", second)[1]  # type: ignore[index]

    mark = alice.mark(desk.public)
    assert "in progress" in await ask(bob, desk.public, f"!aid claim {a}")
    await alice.wait_for(
        desk.public, from_bot(desk.bot.user_id, contains=f"#{a} was claimed by"), after=mark
    )
    assert "not open any more" in await ask(carol, desk.coord, f"!aid claim {a}")
    assert "partly fulfilled" in await ask(bob, desk.public, f"!aid partial {a} 20 of 50 delivered")
    before = state(desk.db)
    refused = await ask(alice, desk.public, f"!aid claim {a}")
    assert "cannot claim your own" in refused or "not open" in refused
    assert state(desk.db) == before

    mark = alice.mark(desk.public)
    assert "fulfilled" in await ask(bob, desk.public, f"!aid close {a} fulfilled all delivered")
    await alice.wait_for(
        desk.public, from_bot(desk.bot.user_id, contains=f"#{a} was closed: fulfilled"), after=mark
    )
    assert "duplicate" in await ask(carol, desk.coord, f"!aid close {b} duplicate {a}")
    row = desk.db.query_one("SELECT * FROM aid_requests WHERE public_id = ?", (b,))
    original = desk.db.query_one("SELECT id FROM aid_requests WHERE public_id = ?", (a,))
    assert (row["status"], row["duplicate_of"]) == ("duplicate", original["id"])

    history = await ask(carol, desk.coord, f"!aid history {a}")
    for expected in (
        "asked",
        "claimed",
        "(partly fulfilled): 20 of 50 delivered",
        "closed",
        bob.user_id,
    ):
        assert expected in history, history
    assert "only in the coordinators' rooms" in await ask(alice, desk.public, f"!aid history {a}")

    # data minimisation: the personal parts go, the record stays
    assert "still open" not in await ask(alice, desk.public, f"!aid forget {a}")
    row = desk.db.query_one("SELECT * FROM aid_requests WHERE public_id = ?", (a,))
    assert (row["requester"], row["description"], row["claimer"]) == (None, "", None)
    assert (row["category"], row["country"], row["status"]) == ("material", "France", "fulfilled")


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(desk: Desk, new_member) -> None:
    alice, bob = desk.alice, desk.bob
    made = await ask(alice, desk.public, "!aid request legal whenever Tunis/Tunisia Lawyer needed")
    number = re.search(r"#([0-9a-z]+)", made)[1]  # type: ignore[index]
    dave = await new_member("dave")
    await alice.invite(desk.public, dave.user_id)
    await dave.join(desk.public)
    before = state(desk.db)
    for sender, text, expected in [
        (alice, "!aid request weapons today Lyon/France x", "`weapons` is not an aid category"),
        (alice, "!aid request housing today Lyon/France by:blorp x", "`blorp` as a date"),
        (alice, "!aid request housing today Lyon/France", "description is missing"),
        (alice, '!aid request housing today "3 rue Haute, Lyon" x', "looks like a street address"),
        (alice, "!aid request housing sometime Lyon/France x", "`sometime` is not an urgency"),
        (dave, f"!aid close {number} fulfilled", "Only the person who asked"),
        (dave, f"!aid partial {number} half", "Only the person who asked"),
        (alice, f"!aid close {number} maybe", "`maybe` is not an outcome"),
        (alice, f"!aid forget {number}", "still open"),
        (bob, "!aid claim twelve?", "`twelve?` is not a request number"),
        (bob, "!aid coordinators add", "Only the bot's administrators"),
    ]:
        body = await ask(sender, desk.public, text)
        assert expected in body, (text, body)
    assert state(desk.db) == before
    assert desk.db.query_one("SELECT count(*) AS n FROM aid_coordinator_rooms")["n"] == 1


async def test_offers_and_matching_notify_the_coordinators(desk: Desk) -> None:
    alice, bob, admin, bot = desk.alice, desk.bob, desk.admin, desk.bot
    standing = await ask(
        bob,
        desk.public,
        '!aid offer housing "Berlin, Germany" until:2030-12-31 Can host two people',
    )
    offer_id = re.search(r"#([0-9a-z]+)", standing)[1]  # type: ignore[index]
    mark = admin.mark(desk.coord)
    made = await ask(
        alice, desk.public, "!aid request housing whenever berlin/germany Room for two"
    )
    request_id = re.search(r"#([0-9a-z]+)", made)[1]  # type: ignore[index]
    match = await admin.wait_for(
        desk.coord, from_bot(bot.user_id, contains="Possible match"), after=mark
    )
    assert f"#{offer_id}" in match["content"]["body"]
    assert f"#{request_id}" in match["content"]["body"]

    # the other way round: the request first, then the offer
    made = await ask(alice, desk.public, "!aid request transport this week Quito/Ecuador A van")
    later = re.search(r"#([0-9a-z]+)", made)[1]  # type: ignore[index]
    mark = admin.mark(desk.coord)
    await ask(bob, desk.public, "!aid offer transport Ecuador I have a van")
    match = await admin.wait_for(
        desk.coord, from_bot(bot.user_id, contains="Possible match"), after=mark
    )
    assert f"#{later}" in match["content"]["body"]
    assert desk.db.query_one("SELECT count(*) AS n FROM aid_matches")["n"] == 2

    # an offer on a request reaches the coordinators too
    mark = admin.mark(desk.coord)
    await ask(bob, desk.public, f"!aid offer {later} I can drive on Saturday")
    note = await admin.wait_for(
        desk.coord, from_bot(bot.user_id, contains=f"New offer on aid request #{later}"), after=mark
    )
    assert note["content"][LIAISON_KEY]["kind"] == "aid"
    shown = await ask(alice, desk.public, f"!aid show {later}")
    assert "I can drive on Saturday" in shown


async def test_requests_are_never_told_to_nobody_and_are_answered_in_the_room_language(
    synapse, tmp_path, new_member
) -> None:
    """No coordinators' room yet: the requester hears it plainly, the admins hear how to add
    one, and the requests wait for it; French words the bot shows are accepted back."""
    admin = await new_member("admin", encryption=True)  # reads the direct chat, encrypted
    alice = await new_member("alice")
    bob = await new_member("bob")
    bot = BotHarness(synapse, tmp_path / "bot", bot={"admins": [admin.user_id]})
    await bot.start()
    try:
        public = await room_with_bot(alice, bot.user_id, name="quartier")
        await alice.invite(public, bob.user_id)
        await bob.join(public)
        assert "(fr)" in await ask(alice, public, "!room lang fr")

        legal = await ask(
            alice,
            public,
            "!aid request legal today Tunis/Tunisia visibility:coordinators Lawyer for a hearing",
        )
        nobody = said(
            "fr",
            "Nobody could be told yet: this network has no coordinators' room. The bot's administrators were asked to make one with {command}; your request is saved and will be posted there as soon as it exists.",
            command="`!aid coordinators add`",
        )
        assert nobody in legal, legal
        assert "Lawyer" not in legal  # a private request is never described in a shared room
        # the admin hears, in a direct chat with the bot, how to make a coordinators' room
        dm = bot.app.db.query_one(  # type: ignore[union-attr]
            "SELECT room_id FROM aid_dm_rooms WHERE user_id = ?", (admin.user_id,)
        )["room_id"]
        await admin.join(dm)
        advice = await admin.wait_for(dm, from_bot(bot.user_id, contains="`!aid coordinators add`"))
        assert advice["content"]["m.mentions"] == {"user_ids": [admin.user_id]}

        # the words the bot shows in French are accepted back: logement, cette semaine
        housing = await ask(
            alice, public, '!entraide request logement "cette semaine" "Lyon, France" Lit pour deux'
        )
        number = re.search(r"#([0-9a-z]+)", housing)[1]  # type: ignore[index]
        assert says("fr", "Recorded as aid request #{id}. Follow it with {show}.", housing), housing
        assert nobody in housing
        assert said("fr", "housing") in housing
        again = await ask(
            alice, public, '!entraide request logement "cette semaine" "Lyon, France" Lit pour deux'
        )
        assert says(
            "fr",
            "This looks like aid request #{other}, which you asked on {date} and which is still {status}. If it is the same need, close this one with {close}.",
            again,
            other=number,
        ), again
        long = "Un très long récit. " * 250
        echoed = await ask(alice, public, f"!entraide request material whenever Lyon/France {long}")
        assert len(echoed) < 2000, len(echoed)
        shown = re.search(r"#([0-9a-z]+)", echoed)[1]  # type: ignore[index]
        assert (
            said_plural(
                "fr",
                (
                    "(shortened from {count} character: {show} shows it whole)",
                    "(shortened from {count} characters: {show} shows it whole)",
                ),
                len(long.strip()),
                show=f"`!aid show {shown}`",
            )
            in echoed
        ), echoed

        # a coordinators' room gets every request still open, at once
        coord = await room_with_bot(admin, bot.user_id, name="coordination")
        added = await ask(admin, coord, "!aid coordinators add")
        assert (
            said_plural(
                "en",
                (
                    "The {count} request still open was posted here just now.",
                    "The {count} requests still open were posted here just now.",
                ),
                4,
            )
            in added
        ), added
        posted = await admin.wait_for(coord, from_bot(bot.user_id, contains="Lawyer for a hearing"))
        assert posted["content"][LIAISON_KEY]["kind"] == "aid"
        big = await admin.wait_for(coord, from_bot(bot.user_id, contains="Un très long récit."))
        assert len(big["content"]["body"]) < 2000

        # the one who asked is named, and answered in reply to the request itself
        mark = alice.mark(public)
        claimed = await ask(bob, public, f"!aid claim {number}")
        assert said("fr", "in progress") in claimed
        notice = await alice.wait_for(
            public, from_bot(bot.user_id, contains=f"#{number}"), after=mark
        )
        request_event = bot.app.db.query_one(  # type: ignore[union-attr]
            "SELECT event_id FROM aid_requests WHERE public_id = ?", (number,)
        )["event_id"]
        assert notice["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == request_event
        assert notice["content"]["m.mentions"] == {"user_ids": [alice.user_id]}
        assert alice.user_id in notice["content"]["formatted_body"]
        noted = await ask(bob, public, f"!aid update {number} Found a sofa-bed")
        assert noted == said(
            "fr",
            "Noted on aid request {id}: {note}. It is {status}.",
            id=f"#{number}",
            note="“Found a sofa-bed”",
            status=said("fr", "in progress"),
        ), noted

        # a standing offer can be withdrawn before its end date
        offered = await ask(
            bob, public, '!entraide offre logement "Berlin, Germany" until:2030-12-31 Deux lits'
        )
        offer = int(re.search(r"#(\d+)", offered)[1])  # type: ignore[index]
        refused = await ask(alice, public, f"!entraide retirer {offer}")
        assert says(
            "fr",
            "Only the person who made standing offer {id}, a coordinator or a bot admin may withdraw it.",
            refused,
            id=f"#{offer}",
        ), refused
        withdrawn = await ask(bob, public, f"!entraide retirer {offer}")
        assert withdrawn == said(
            "fr",
            "Standing offer {id} is withdrawn: coordinators will no longer hear of requests it matches.",
            id=f"#{offer}",
        )
        assert await ask(bob, public, "!aid offers") == said(
            "fr", "There are no standing offers at the moment."
        )
    finally:
        await bot.stop()
