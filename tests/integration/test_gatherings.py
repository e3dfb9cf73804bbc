"""Gatherings as members meet them: forms, natural dates, zones, RSVP, cancel, calendars, places."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from babel.dates import format_date
from icalendar import Calendar

from bot.core.matrix.client import LIAISON_KEY
from bot.core.matrix.intake import IncomingEvent
from bot.core.storage.database import Database
from tests.support.botharness import BotHarness
from tests.support.i18n import english_leaks, said, said_pattern, said_plural, says
from tests.support.members import Member
from tests.support.predicates import from_bot, reply_to, room_with_bot

pytestmark = pytest.mark.integration

ID = re.compile(r"`(?P<id>[2-9a-z]{4,5})`")


@pytest.fixture(scope="module")
async def harness(synapse, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotHarness]:
    bot = BotHarness(
        synapse, tmp_path_factory.mktemp("gatherings") / "bot", web={"enabled": True, "port": 0}
    )
    await bot.start()
    yield bot
    await bot.stop()


@pytest.fixture(scope="module")
async def people(synapse, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[Member]]:
    root = tmp_path_factory.mktemp("gathering-members")
    members = [
        await Member.create(synapse, f"{name}g{secrets.token_hex(3)}", store_dir=root / name)
        for name in ("alice", "bob", "carol")
    ]
    yield members
    for member in members:
        await member.close()


async def ask(member: Member, room: str, text: str) -> str:
    sent = await member.send_text(room, text)
    return str((await member.wait_for(room, reply_to(sent), timeout=20))["content"]["body"])


async def create(member: Member, room: str, text: str, lang: str = "en") -> str:
    """Create a gathering in a room speaking ``lang``; its id, read from the bot's answer."""
    body = await ask(member, room, text)
    match = said_pattern(lang, "Gathering {id} created.", id=ID).search(body)
    assert match, body
    return match.group("id")


async def shared_room(harness: BotHarness, people: list[Member], name: str) -> str:
    alice, *others = people
    room = await room_with_bot(alice, harness.user_id, name=name)
    for other in others:
        await alice.invite(room, other.user_id)
        await other.join(room)
    return room


def count_gatherings(db: Database) -> int:
    row = db.query_one("SELECT count(*) AS n FROM gatherings")
    assert row is not None
    return int(row["n"])


def next_weekday(weekday: int, at_hour: int, tz: ZoneInfo) -> date:
    now = datetime.now(tz)
    days = (weekday - now.weekday()) % 7
    if days == 0 and now.hour >= at_hour:
        days = 7
    return (now + timedelta(days=days)).date()


async def test_one_line_and_multi_line_forms_create_edit_cancel(harness, people) -> None:
    alice, bob, _ = people
    room = await shared_room(harness, people, "forms")
    one = await create(
        alice, room, "!event add Assembly | 2030-05-04 18:00 | Mujawara Tunis | kind: meeting"
    )
    shown = await ask(bob, room, f"!event show {one}")
    assert "Assembly" in shown
    assert "18:00 UTC" in shown
    assert "Mujawara Tunis" in shown
    assert "meeting" in shown

    multi = await create(
        alice,
        room,
        "!event add\ntitle: Training day\nwhen: 2030-06-01 09:30\nend: 17:00\n"
        "tz: Africa/Tunis\nplace: online https://meet.example.org/t\nkind: formation\n"
        "capacity: 12\nlanguages: ar, fr\ndescription: Bring questions.",
    )
    shown = await ask(bob, room, f"!event show {multi}")
    for expected in (
        "Training day",
        "09:30 CET – 17:00 (Africa/Tunis)",
        "08:30 UTC",
        "https://meet.example.org/t",
        "training",
        "Capacity: 12",
        "ar, fr",
        "Bring questions.",
    ):
        assert expected in shown, (expected, shown)

    # edit: one field on one line, and several fields on several lines
    edited = await ask(alice, room, f"!event edit {one} when 2030-05-04 19:30")
    assert "19:30 UTC" in edited
    edited = await ask(alice, room, f"!event edit {one}\ntitle: General assembly\ncapacity: 50")
    assert "General assembly" in edited
    assert "Capacity: 50" in edited

    assert "is cancelled" in await ask(alice, room, f"!event cancel {multi}")
    assert "Cancelled" in await ask(bob, room, f"!event show {multi}")
    listed = await ask(bob, room, "!event list")
    assert one in listed
    assert multi not in listed

    # replaying a creation command (as after a crash) does not create a second gathering
    db = harness.app.db
    before = count_gatherings(db)
    command = await alice.send_text(room, "!event add Replayed | 2030-07-01 10:00 | here")
    await alice.wait_for(room, reply_to(command))
    event = next(e for e in alice.events(room) if e.get("event_id") == command)
    await harness.app.router(IncomingEvent.from_source(room, event))
    assert count_gatherings(db) == before + 1


async def test_natural_dates_in_french_english_and_spanish(harness, people) -> None:
    alice, bob, _ = people
    rooms = {}
    for lang in ("fr", "en", "es"):
        rooms[lang] = await shared_room(harness, people, f"lang-{lang}")
        await ask(alice, rooms[lang], f"!room lang {lang}")
        await ask(alice, rooms[lang], "!room tz Europe/Paris")
    paris = ZoneInfo("Europe/Paris")
    cases = [
        ("fr", "!evenement add Assemblée | samedi 18h | La Grange", 5, 18, "18:00"),
        ("en", "!event add Film night | next friday 7pm | Cinema", 4, 19, "19:00"),
        ("es", "!evento add Asamblea | el sábado a las 18:00 | Madrid", 5, 18, "18:00"),
    ]
    for lang, command, weekday, hour, clock in cases:
        gathering = await create(alice, rooms[lang], command, lang)
        day = next_weekday(weekday, hour, paris)
        expected = format_date(day, "EEE d MMM y", locale=lang)
        shown = await ask(bob, rooms[lang], f"!event show {gathering}")
        assert f"{expected}, {clock}" in shown, (lang, expected, shown)
        assert "(Europe/Paris)" in shown


async def test_two_zones_across_a_dst_change(harness, people) -> None:
    alice, bob, _ = people
    room = await shared_room(harness, people, "zones")
    await ask(alice, room, "!room tz Europe/Paris")
    # New York has moved to summer time on 14 March 2027, Paris only on 28 March
    gathering = await create(
        alice, room, "!event add Call | 2027-03-20 18:00 | online | tz: America/New_York"
    )
    shown = await ask(bob, room, f"!event show {gathering}")
    assert "Sat 20 Mar 2027, 18:00 EDT" in shown
    assert "Sat 20 Mar 2027, 23:00 CET (Europe/Paris)" in shown
    shown = await ask(alice, room, f"!event edit {gathering} when 2027-04-03 18:00")
    assert "Sat 3 Apr 2027, 18:00 EDT" in shown
    assert "Sun 4 Apr 2027, 00:00 CEST (Europe/Paris)" in shown
    stored = harness.app.db.query_one(
        "SELECT starts_at, tz FROM gatherings WHERE id = ?", (gathering,)
    )
    assert stored == {"starts_at": "2027-04-03T22:00:00+00:00", "tz": "America/New_York"}


async def test_bad_dates_zones_and_past_dates_are_quoted_and_create_nothing(
    harness, people
) -> None:
    alice, _, _ = people
    room = await shared_room(harness, people, "bad")
    db = harness.app.db
    before = count_gatherings(db)
    for command, expected in [
        (
            "!event add Party | flurbsday 25h | here",
            "could not understand the date `flurbsday 25h`",
        ),
        ("!event add Party | 2020-01-01 10:00 | here", "`2020-01-01 10:00` is in the past"),
        (
            "!event add Party | 2030-01-01 10:00 | here | tz: Mars/Olympus",
            "`Mars/Olympus` is not a time zone",
        ),
        ("!event add Party | 2030-01-01 10:00 | here | kind: rave", "`rave` is not a kind"),
        ("!event add Party | 2030-01-01 10:00 | here | capacity: lots", "`lots`"),
        ("!event add Party | 2030-01-01 10:00 | here | reminders: soonish", "duration `soonish`"),
        (
            "!event add Party | 2030-01-01 10:00 | here | repeat: sometimes",
            "repetition `sometimes`",
        ),
        ("!event add Party", "needs a date"),
        ("!event add Party | 2030-01-01 10:00 | x | y | z", "I did not understand `y`"),
    ]:
        body = await ask(alice, room, command)
        assert expected in body, (command, body)
    assert count_gatherings(db) == before
    assert "No upcoming gatherings" in await ask(alice, room, "!event list")
    gathering = await create(alice, room, "!event add Party | 2030-01-01 10:00 | here")
    body = await ask(alice, room, f"!event edit {gathering} when yesterday 10:00")
    assert "in the past" in body
    assert "10:00 UTC" in await ask(alice, room, f"!event show {gathering}")
    assert "I know no gathering with the id `zzzz`" in await ask(alice, room, "!event show zzzz")


async def test_permission_refusals_for_edit_and_cancel(harness, people) -> None:
    alice, bob, carol = people
    room = await shared_room(harness, people, "perms")
    gathering = await create(bob, room, "!event add Bob picnic | 2030-08-01 12:00 | Park")
    for command in (f"!event edit {gathering} title Carol picnic", f"!event cancel {gathering}"):
        assert "Only the person who created" in await ask(carol, room, command)
    shown = await ask(carol, room, f"!event show {gathering}")
    assert "Bob picnic" in shown
    assert "Cancelled" not in shown
    assert "Only the person who created" in await ask(carol, room, f"!event who {gathering}")
    # the creator may, and so may a room admin (alice created the room)
    assert "updated" in await ask(bob, room, f"!event edit {gathering} place Big park")
    assert "is cancelled" in await ask(alice, room, f"!event cancel {gathering}")


async def test_rsvp_by_reaction_and_command_with_waiting_list(harness, people) -> None:
    alice, bob, carol = people
    room = await shared_room(harness, people, "rsvp")
    gathering = await create(
        alice, room, "!event add Workshop | 2030-09-01 10:00 | Hall | capacity: 1"
    )
    mark = alice.mark(room)
    assert "Announced" in await ask(alice, room, f"!event announce {gathering}")
    post = await alice.wait_for(room, from_bot(harness.user_id, kind="announcement"), after=mark)
    assert "✅" in post["content"]["body"]
    assert "🤔" in post["content"]["body"]

    reaction = await bob.react(room, post["event_id"], "✅")
    answer = await ask(carol, room, f"!event rsvp {gathering} yes")
    assert "waiting list" in answer
    shown = await ask(alice, room, f"!event show {gathering}")
    assert "Going: 1 of 1" in shown
    assert "Waiting list: 1" in shown
    assert "Maybe: 0" in shown

    who = await ask(alice, room, f"!event who {gathering}")
    going_line = next(line for line in who.splitlines() if line.startswith("Going"))
    assert bob.user_id in going_line
    assert carol.user_id in next(line for line in who.splitlines() if line.startswith("Waiting"))

    # un-reacting frees the place: carol is promoted and told with a mention
    mark = carol.mark(room)
    await bob.redact(room, reaction)
    told = await carol.wait_for(
        room,
        from_bot(harness.user_id, kind="gathering-rsvp", contains="place freed up"),
        after=mark,
    )
    assert told["content"]["m.mentions"] == {"user_ids": [carol.user_id]}
    who = await ask(alice, room, f"!event who {gathering}")
    assert carol.user_id in next(line for line in who.splitlines() if line.startswith("Going"))
    assert bob.user_id not in who

    # maybe by reaction, then no by command in Spanish
    await bob.react(room, post["event_id"], "🤔")
    shown = await ask(alice, room, f"!event show {gathering}")
    assert "Maybe: 1" in shown
    assert "not going" in (await ask(bob, room, f"!event rsvp {gathering} no")).lower()
    assert "Not going: 1" in await ask(alice, room, f"!event show {gathering}")
    assert "`perhaps-not`" in await ask(bob, room, f"!event rsvp {gathering} perhaps-not")


async def test_cancel_edits_the_announcement_and_tells_who_answered(harness, people) -> None:
    alice, bob, _ = people
    room = await shared_room(harness, people, "cancel")
    gathering = await create(alice, room, "!event add Concert | 2030-10-10 20:00 | Yard")
    mark = alice.mark(room)
    await ask(alice, room, f"!event announce {gathering}")
    post = await alice.wait_for(room, from_bot(harness.user_id, kind="announcement"), after=mark)
    await ask(bob, room, f"!event rsvp {gathering} yes")
    mark = bob.mark(room)
    await ask(alice, room, f"!event cancel {gathering}")

    def replaces_post(event: dict[str, Any]) -> bool:
        relates = event.get("content", {}).get("m.relates_to", {})
        return (
            relates.get("rel_type") == "m.replace" and relates.get("event_id") == post["event_id"]
        )

    edit = await bob.wait_for(room, replaces_post, after=mark)
    assert "Cancelled: Concert" in edit["content"]["m.new_content"]["body"]
    told = await bob.wait_for(room, from_bot(harness.user_id, kind="gathering-change"), after=mark)
    assert "is cancelled" in told["content"]["body"]
    assert told["content"]["m.mentions"] == {"user_ids": [bob.user_id]}


async def test_ics_file_and_feed(harness, people) -> None:
    alice, bob, _ = people
    room = await shared_room(harness, people, "calendar")
    gathering = await create(
        alice, room, "!event add Festival | 2030-12-05 18:00 | Tunis | tz: Africa/Tunis | end: 3h"
    )
    sent = await bob.send_text(room, f"!event ics {gathering}")

    def file_reply(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return content.get("msgtype") == "m.file" and reply_to(sent)(
            {**event, "content": {**content, "msgtype": "m.notice"}}
        )

    message = await bob.wait_for(room, file_reply)
    assert message["content"]["info"]["mimetype"] == "text/calendar"
    assert message["content"][LIAISON_KEY]["kind"] == "gathering-ics"
    downloaded = await bob.client.download(mxc=message["content"]["url"])
    calendar = Calendar.from_ical(downloaded.body)
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["summary"]) == "Festival"
    start = vevent.decoded("dtstart")
    assert (start.hour, str(start.tzinfo)) == (18, "Africa/Tunis")
    assert vevent.decoded("dtend") - start == timedelta(hours=3)

    assert "Only room admins" in await ask(bob, room, "!event feed")
    body = await ask(alice, room, "!event feed")
    url = re.search(r"(http://\S+\.ics)", body)
    assert url, body
    async with aiohttp.ClientSession() as http:
        async with http.get(url.group(1)) as response:
            assert response.status == 200
            assert response.content_type == "text/calendar"
            feed = Calendar.from_ical(await response.read())
        assert gathering + "@" in " ".join(str(e["uid"]) for e in feed.walk("VEVENT"))
        wrong = url.group(1).rsplit("/", 1)[0] + "/not-the-token.ics"
        async with http.get(wrong) as response:
            assert response.status == 404


async def test_places_directory_with_contact_only_where_registered(harness, people) -> None:
    alice, bob, _ = people
    home = await shared_room(harness, people, "places-home")
    other = await shared_room(harness, people, "places-other")
    body = await ask(
        alice,
        home,
        "!place add Mujawara Tunis | Tunis | TN | capacity: 60 | contact: mujawara@example.org",
    )
    place = re.search(r"Place `([2-9a-z]{4,5})` registered", body)
    assert place, body
    pid = place.group(1)
    assert "mujawara@example.org" in await ask(bob, home, f"!place show {pid}")
    shown = await ask(bob, other, f"!place show {pid}")
    assert "mujawara@example.org" not in shown
    assert "Mujawara Tunis" in shown
    assert pid in await ask(bob, other, "!place list TN")
    assert await ask(bob, other, "!place list XX") == "No place registered in `XX`."

    french = await ask(alice, home, f"!lieu edit {pid}\naccès: plain-pied\ncapacité: 80")
    assert "Capacity: 80" in french
    assert "plain-pied" in french
    assert "Only the person who registered" in await ask(bob, home, f"!place edit {pid} name Mine")
    assert "Only the person who registered" in await ask(bob, home, f"!place remove {pid}")

    gathering = await create(alice, other, f"!event add Meetup | 2030-11-11 11:00 | {pid}")
    assert "Tunis, TN" in await ask(bob, other, f"!event show {gathering}")
    assert pid in await ask(bob, other, "!event list Tunis")
    assert "No upcoming gathering matches" in await ask(bob, other, "!event list Lima")
    assert "removed" in await ask(alice, home, f"!place remove {pid}")
    assert pid not in await ask(bob, home, "!place list")


async def test_feed_says_when_the_web_server_is_off(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="no-web")
    assert "web server is off" in await ask(alice, room, "!event feed")


async def test_a_french_room_in_paris_time_from_creation_to_rollover(synapse, tmp_path) -> None:
    """A room that starts in the bot's configured language and zone; the words it shows are
    accepted back; RSVP notices speak French; a recurring gathering rolls over."""
    bot = BotHarness(
        synapse,
        tmp_path / "bot",
        bot={"default_language": "fr", "default_timezone": "Europe/Paris"},
    )
    root = tmp_path / "members"
    people = [
        await Member.create(synapse, f"{name}p{secrets.token_hex(3)}", store_dir=root / name)
        for name in ("alice", "bob", "carol")
    ]
    alice, bob, carol = people
    await bot.start()
    try:
        room = await shared_room(bot, people, "salon-paris")
        greeting = next(e for e in alice.events(room) if from_bot(bot.user_id, kind="greeting")(e))
        assert says(
            "fr",
            "Hello! I am Liaison. In this room I answer in {language} ({code}) and read and show times in {zone}. A room admin can change them with {lang_command} and {tz_command}. Type {help} to see what I can do.",
            greeting["content"]["body"],
            code="fr",
            zone="Europe/Paris",
        ), greeting["content"]["body"]

        # "samedi prochain 18h" is 18:00 in Paris, and says so; "réunion" is read as a kind
        body = await ask(
            alice,
            room,
            "!evenement ajouter Assemblée | samedi prochain 18h | La Grange | type: réunion | capacité: 1",
        )
        match = said_pattern("fr", "Gathering {id} created.", id=ID).search(body)
        assert match, body
        gathering = match.group("id")
        assert re.search(r" 18:00 CES?T \(Europe/Paris\)", body), body
        assert said("fr", "Kind: {kind}", kind=said("fr", "meeting")) in body
        # an unknown verb gets the verb meant, not one that merely looks alike
        assert await ask(alice, room, "!evenement ajoute Fête | samedi 20h | Cour") == said(
            "fr",
            "I don't know the command {command}. Did you mean {suggestion}? Type {help} for the list.",
            command="`!event ajoute`",
            suggestion="`!event add`",
            help="`!help event`",
        )
        refused = await ask(alice, room, "!evenement ajouter Soirée | demain | La Grange")
        assert says(
            "fr",
            "I read {when} as {day}, but not at what time. Nothing was saved. Add the hour, for example {example}.",
            refused,
            when="`demain`",
        ), refused

        # RSVP by reaction: the waiting list and the freed place are told in French
        mark = alice.mark(room)
        await ask(alice, room, f"!evenement annoncer {gathering}")
        post = await alice.wait_for(room, from_bot(bot.user_id, kind="announcement"), after=mark)
        reaction = await bob.react(room, post["event_id"], "✅")
        await ask(alice, room, f"!evenement voir {gathering}")  # bob's answer is counted
        mark = carol.mark(room)
        await carol.react(room, post["event_id"], "✅")
        waiting = await carol.wait_for(
            room, from_bot(bot.user_id, kind="gathering-rsvp"), after=mark
        )
        assert says(
            "fr",
            "{name}: {title} ({id}) is full — you are on the waiting list and will be told when a place frees up.",
            waiting["content"]["body"],
            id=f"`{gathering}`",
        ), waiting["content"]["body"]
        mark = carol.mark(room)
        await bob.redact(room, reaction)
        promoted = await carol.wait_for(
            room, from_bot(bot.user_id, kind="gathering-rsvp"), after=mark
        )
        assert says(
            "fr",
            "{name}: a place freed up — you are now going to {title} ({id}).",
            promoted["content"]["body"],
            id=f"`{gathering}`",
        ), promoted["content"]["body"]

        # a recurring gathering, once over, moves to its next occurrence and says so
        start = datetime.now(UTC) + timedelta(seconds=3)
        body = await ask(
            alice,
            room,
            f"!evenement ajouter\ntitre: Permanence\nquand: {start:%Y-%m-%dT%H:%M:%SZ}\n"
            "fin: 1s\nlieu: en ligne\nrépéter: FREQ=MINUTELY",
        )
        rolling = said_pattern("fr", "Gathering {id} created.", id=ID).search(body)
        assert rolling, body
        repeats = said_plural("fr", ("every minute", "every {count} minutes"), 1)
        assert said("fr", "Repeats: {rule}", rule=f"{repeats} (Europe/Paris)") in body, body
        mark = alice.mark(room)
        await ask(alice, room, f"!evenement annoncer {rolling.group('id')}")
        announced = await alice.wait_for(
            room, from_bot(bot.user_id, kind="announcement", contains="Permanence"), after=mark
        )

        def rolled(event: dict[str, Any]) -> bool:
            relates = event.get("content", {}).get("m.relates_to", {})
            return (
                relates.get("rel_type") == "m.replace"
                and relates.get("event_id") == announced["event_id"]
            )

        edit = await alice.wait_for(room, rolled, after=mark, timeout=30)
        stored = bot.app.db.query_one(  # type: ignore[union-attr]
            "SELECT starts_at FROM gatherings WHERE id = ?", (rolling.group("id"),)
        )["starts_at"]
        moved = datetime.fromisoformat(stored)
        assert moved - start >= timedelta(seconds=59), (stored, start)
        local = moved.astimezone(ZoneInfo("Europe/Paris"))
        assert f"{local:%H:%M}" in edit["content"]["m.new_content"]["body"]
        leaks = [
            leak for m in people for r in m.rooms_seen() for leak in english_leaks(m.events(r))
        ]
        assert leaks == []
    finally:
        await bot.stop()
        for member in people:
            await member.close()
