"""!schedule against the real homeserver: parsing in the room's language, firing, permissions."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.schedules import store
from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_plural, says
from tests.support.predicates import from_bot, reply_to, room_with_bot

pytestmark = pytest.mark.integration


def soon(seconds: float) -> str:
    """An exact moment a few seconds ahead, as an ISO time the parser reads in UTC."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def announcement(bot_user: str, contains: str) -> Any:
    def match(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return from_bot(bot_user, contains=contains, kind="announcement")(event) and (
            content.get("msgtype") == "m.text"
        )

    return match


async def ask(member: Any, room: str, text: str, timeout: float = 15) -> str:  # noqa: ASYNC109
    sent = await member.send_text(room, text)
    answer = await member.wait_for(room, reply_to(sent), timeout=timeout)
    return str(answer["content"]["body"])


async def test_one_off_in_french_and_spanish_natural_dates(bot: BotHarness, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    fr_room = await room_with_bot(alice, bot.user_id, name="collectif")
    es_room = await room_with_bot(alice, bot.user_id, name="colectivo")
    await ask(alice, fr_room, "!room lang fr")
    await ask(alice, fr_room, "!room tz Europe/Paris")
    await ask(alice, es_room, "!room lang es")
    await ask(alice, es_room, "!room tz America/Bogota")

    body = await ask(alice, fr_room, "!programme add demain 9h Réunion du collectif")
    assert says("fr", "Schedule #{id} is set.", body), body
    # what was understood, in words, and what it was read from
    assert says("fr", "When: {when} (time zone {zone})", body, zone="Europe/Paris"), body
    assert said("fr", "Read from: {typed}", typed="`demain 9h`") in body, body
    times = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(times) == 1
    assert " 09:00 " in times[0]

    body = await ask(alice, es_room, "!programa add el sábado a las 18:00 Asamblea general")
    assert says("es", "Schedule #{id} is set.", body), body
    assert says("es", "When: {when} (time zone {zone})", body, zone="America/Bogota"), body
    times = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(times) == 1
    assert " 18:00 -05" in times[0]
    listing = await ask(alice, es_room, "!schedule list")
    assert "Asamblea general" in listing
    assert "Réunion" not in listing


def shown_day(line: str) -> date:
    return datetime.strptime(line[2:].split(",")[0], "%a %d %b %Y").date()  # noqa: DTZ007


async def test_recurring_by_words_and_cron_show_three_next_times(
    bot: BotHarness, new_member
) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="calls")
    await ask(alice, room, "!room tz Europe/Paris")
    body = await ask(alice, room, "!schedule add every monday 18:00 **Weekly call** at 19:00")
    times = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(times) == 3, body
    assert all(" 18:00 CE" in t for t in times)
    # shown the way the room's locale writes a day: "- Mon 7 Dec 2026, 18:00 CET"
    days = [shown_day(t) for t in times]
    assert all(d.weekday() == 0 for d in days)
    assert days[1] - days[0] == timedelta(days=7)

    body = await ask(alice, room, "!schedule add cron 0 9 1 * * Monthly assembly notice")
    times = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(times) == 3, body
    assert all(shown_day(t).day == 1 and " 09:00 " in t for t in times), body
    assert "`cron 0 9 1 * *`" in body

    listing = await ask(alice, room, "!schedule list")
    assert "#1" in listing
    assert "#2" in listing
    shown = await ask(alice, room, "!schedule show 1")
    assert "> **Weekly call** at 19:00" in shown
    assert "Europe/Paris" in shown


async def test_one_off_fires_once_with_markdown(bot: BotHarness, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="assembly")
    mark = alice.mark(room)
    body = await ask(alice, room, f"!schedule add {soon(4)} **Assembly** tonight at the hall")
    assert "Schedule #1 is set" in body
    posted = await alice.wait_for(room, announcement(bot.user_id, "Assembly"), after=mark)
    assert posted["content"]["body"] == "**Assembly** tonight at the hall"
    assert "<strong>Assembly</strong>" in posted["content"]["formatted_body"]
    assert posted["content"]["m.mentions"] == {}
    shown = await ask(alice, room, "!schedule show 1")
    assert "posted" in shown
    assert "done" in shown
    copies = [e for e in alice.events(room) if announcement(bot.user_id, "Assembly")(e)]
    assert len(copies) == 1


async def test_bad_when_quotes_the_part_not_understood_and_creates_nothing(
    bot: BotHarness, new_member
) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="typos")
    for text, expected in [
        ("!schedule add blurgsday 18h hello", "`blurgsday 18h hello`"),
        ("!schedule add cron 0 18 * * Weekly", "cron"),
        ("!schedule add 2001-01-01 10:00 Too late", "already past"),
        ("!schedule add every monday 18:00", "Give the text"),
        ("!schedule add --planet tomorrow 9:00 hi", "`--planet`"),
    ]:
        body = await ask(alice, room, text)
        assert expected in body, (text, body)
    assert "No posts are scheduled" in await ask(alice, room, "!schedule list")


async def test_room_admin_only_and_room_ping_needs_power(bot: BotHarness, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    bob = await new_member("bob")
    room = await room_with_bot(alice, bot.user_id, name="pings")
    await alice.invite(room, bob.user_id)
    await bob.join(room)
    body = await ask(bob, room, "!schedule add tomorrow 9:00 Hello")
    assert "Only room admins" in body
    # the bot has power 0 here, so it may not notify the room
    body = await ask(alice, room, "!schedule add tomorrow 9:00 @room meeting")
    # it is the bot that lacks the power, and the room is named as members know it
    assert says(
        "en",
        "`@room` would notify everyone, but I (the bot) do not have the power to notify the whole room in {rooms}. Nothing was scheduled. A room admin can give me that power (the room's `notifications.room` level), or remove `@room` from the text.",
        body,
        rooms="**pings**",
    ), body
    assert room not in body
    assert "No posts are scheduled" in await ask(alice, room, "!schedule list")

    await alice.set_power_level(room, bot.user_id, 50)
    await ask(alice, room, "!room info")  # the bot has seen the new power levels
    mark = alice.mark(room)
    body = await ask(alice, room, f"!schedule add {soon(4)} @room meeting now")
    assert "notifies everyone" in body
    posted = await alice.wait_for(room, announcement(bot.user_id, "meeting now"), after=mark)
    assert posted["content"]["m.mentions"] == {"room": True}


async def test_rooms_target_checked_at_creation_and_demotion_pauses_at_firing(
    bot: BotHarness, new_member
) -> None:
    await bot.start()
    alice = await new_member("alice")
    bob = await new_member("bob")
    hub = await room_with_bot(alice, bot.user_id, name="hub")
    other = await room_with_bot(alice, bot.user_id, name="other")
    for room in (hub, other):
        await alice.invite(room, bob.user_id)
        await bob.join(room)
    await alice.set_power_level(hub, bob.user_id, 100)
    await ask(bob, hub, "!room info")  # the bot has seen bob's new power
    body = await ask(bob, hub, f"!schedule add --rooms {hub},{other} tomorrow 9:00 Hi all")
    assert "not a room admin in" in body
    assert "**other**" in body
    assert "No posts are scheduled" in await ask(bob, hub, "!schedule list")

    body = await ask(bob, hub, f"!schedule add --rooms {hub} {soon(6)} Meeting moved")
    assert "Schedule #1 is set" in body
    await alice.set_power_level(hub, bob.user_id, 0)
    await ask(alice, hub, "!schedule list")  # the bot has seen the demotion
    notice = await alice.wait_for(
        hub, from_bot(bot.user_id, contains="Schedule #1 is paused"), timeout=20
    )
    assert bob.user_id in notice["content"]["body"]
    shown = await ask(alice, hub, "!schedule show 1")
    assert "no longer a room admin" in shown
    assert not any(announcement(bot.user_id, "Meeting moved")(e) for e in alice.events(hub))
    app = bot.app
    assert app is not None
    schedule = store.get(app.db, 1)
    assert schedule is not None
    assert schedule.status == store.PAUSED
    # a room admin takes it over: active again, with alice answering for it
    body = await ask(alice, hub, "!schedule edit 1 when " + soon(4))
    body = await ask(alice, hub, "!schedule resume 1")
    assert "active again" in body
    await alice.wait_for(hub, announcement(bot.user_id, "Meeting moved"), timeout=20)


async def test_member_drafts_need_approval(bot: BotHarness, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    bob = await new_member("bob")
    room = await room_with_bot(alice, bot.user_id, name="drafts")
    await alice.invite(room, bob.user_id)
    await bob.join(room)
    assert "Members may now" in await ask(alice, room, "!schedule approval on")
    body = await ask(bob, room, f"!schedule add {soon(3)} Bring chairs")
    assert "Draft #1" in body
    body = await ask(bob, room, "!schedule approve 1")
    assert "Only room admins" in body
    preview = await ask(bob, room, "!schedule preview 1")
    assert "Bring chairs" in preview
    # the draft's moment passed without a post; approving plans it from now
    body = await ask(alice, room, "!schedule edit 1 when " + soon(5))
    body = await ask(alice, room, "!schedule approve 1")
    assert "approved" in body
    posted = await alice.wait_for(room, announcement(bot.user_id, "Bring chairs"), timeout=20)
    assert posted["content"]["body"] == "Bring chairs"


def firing_times(body: str) -> list[datetime]:
    """The local times listed in a confirmation ("- Mon 7 Dec 2026, 18:00 CET")."""
    times = []
    for line in body.splitlines():
        found = re.match(r"^- .*?(\d{1,2}:\d{2}) ", line)
        if found:
            times.append(datetime.strptime(found.group(1), "%H:%M"))  # noqa: DTZ007
    return times


async def test_every_when_of_the_trial_reads_right_or_is_refused_in_its_language(
    bot: BotHarness, new_member
) -> None:
    """The phrases members typed in the trial, exactly as typed, in four languages."""
    await bot.start()
    alice = await new_member("alice")
    rooms = {}
    for lang in ("en", "fr", "es", "ar"):
        rooms[lang] = await room_with_bot(alice, bot.user_id, name=f"when-{lang}")
        if lang != "en":
            await ask(alice, rooms[lang], f"!room lang {lang}")
        await ask(alice, rooms[lang], "!room tz Europe/Paris")
    en, fr, es, ar = rooms["en"], rooms["fr"], rooms["es"], rooms["ar"]

    def when(lang: str, words: str) -> str:
        return said(lang, "When: {when} (time zone {zone})", when=words, zone="Europe/Paris")

    body = await ask(alice, en, "!schedule add every 2 hours Two-hourly")
    assert when("en", "every 2 hours") in body, body
    times = firing_times(body)
    assert len(times) == 3
    assert [(b - a).seconds for a, b in itertools.pairwise(times)] == [7200, 7200]
    body = await ask(alice, en, "!schedule add every 2 minutes Ping")
    assert when("en", "every 2 minutes") in body, body
    body = await ask(alice, en, "!schedule add every hour Hourly news")
    assert when("en", "every hour") in body, body
    body = await ask(alice, en, "!schedule add next monday at 10 Meeting reminder")
    assert " 10:00 " in body, body
    assert (
        shown_day(next(line for line in body.splitlines() if line.startswith("- "))).weekday() == 0
    )
    body = await ask(alice, en, "!schedule add first monday of every month 18:00 Assembly")
    assert when("en", "on the first Monday of every month at 18:00") in body, body
    # the text is what follows the time, never part of the time
    shown = [await ask(alice, en, f"!schedule show {n}") for n in range(1, 6)]
    texts = ["Two-hourly", "Ping", "Hourly news", "Meeting reminder", "Assembly"]
    assert [f"> {text}" in body for text, body in zip(texts, shown, strict=True)] == [True] * 5

    # refused with what was understood, and nothing created
    body = await ask(alice, en, "!schedule add every monday 18:00 19:00 Call")
    assert says(
        "en",
        "I read {understood} as {meaning}, but not {rest} that follows it. Nothing was scheduled. Write the whole time before the text, for example {example}; or, if {rest} belongs to the text, put the time in quotes: {quoted}.",
        body,
        understood="`every monday 18:00`",
        meaning="every Monday at 18:00",
    ), body
    body = await ask(alice, fr, "!programme add demain Bonjour")
    assert says(
        "fr",
        "I read {when} as {day}, but not at what time. Nothing was saved. Add the hour, for example {example}.",
        body,
        when="`demain`",
        example="`demain 18:00`",
    ), body
    body = await ask(alice, fr, "!programme add 31 février Fête")
    assert body == said(
        "fr",
        "There is no {date}: {month} has 28 days, 29 in a leap year. Nothing was saved.",
        date="`31 février`",
        month="février",
    ), body

    # parts of the day, and repetitions in French, Spanish and Arabic
    body = await ask(alice, fr, "!programme add demain soir Apéro")
    assert firing_times(body) == [datetime.strptime("19:00", "%H:%M")], body  # noqa: DTZ007
    body = await ask(alice, es, "!programa add mañana por la tarde Asamblea")
    assert firing_times(body) == [datetime.strptime("17:00", "%H:%M")], body  # noqa: DTZ007
    body = await ask(alice, ar, "!جدولة add كل يوم 9:00 اجتماع")
    daily = said_plural(
        "ar", ("every day at {time}", "every {count} days at {time}"), 1, time="09:00"
    )
    assert when("ar", daily) in body, body
    body = await ask(alice, fr, "!programme add toutes les 2 heures Tour de garde")
    assert when("fr", "toutes les 2 heures") in body, body

    app = bot.app
    assert app is not None
    made = [(s.room_id, s.text) for s in store.in_room(app.db, en)]
    assert [text for _room, text in made] == texts
    assert [s.text for s in store.in_room(app.db, fr)] == ["Apéro", "Tour de garde"]
