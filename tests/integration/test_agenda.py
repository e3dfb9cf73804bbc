"""The public agenda as a collective and its visitors meet it: published from chat, read on the
web in the visitor's language, with nothing private on any page or feed."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
import feedparser
import pytest
from icalendar import Calendar

from bot.relay.notices import UNPUBLISHED_HERE, UNPUBLISHED_THERE
from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_pattern
from tests.support.members import Member
from tests.support.predicates import reply_to, room_with_bot
from tests.support.relaygroup import join_group, link_group

pytestmark = pytest.mark.integration

ID = re.compile(r"`(?P<id>[2-9a-z]{4,5})`")
URL = re.compile(r"https?://[^\s)>`]+")
MEETING = "https://meet.example.org/ag"
ROTATE_REFUSED = (
    "Only a steward of this room's relay group may give its public agenda a new address (an "
    "admin of one of its steward rooms, or a bot admin; for a room in no group, its admins). "
    "Nothing was changed."
)
PLACE_NOT_PUBLISHER = (
    "A place goes on the public pages only when the person who registered it publishes it and "
    "also answers for its room: a steward of the room's relay group, or an admin of the room when "
    "it is in no group (or a bot admin). Nothing was changed."
)
NOT_STEWARD = (
    "Only the stewards of the relay group where {id} was created may publish it on the group's "
    "public agenda or take it off (admins of its steward rooms, listed by {command}). Nothing was "
    "changed."
)
NOT_STEWARD_AT_CREATION = (
    "This room's gatherings go on the public agenda of its relay group {group}: only the group's "
    "stewards (admins of its steward rooms, listed by {command}) may publish on it. Nothing was "
    "created."
)


@dataclass
class Page:
    status: int
    body: str
    headers: Mapping[str, str]  # case-insensitive, as HTTP headers are


async def fetch(url: str, *, lang: str | None = None, etag: str | None = None) -> Page:
    headers = {}
    if lang is not None:
        headers["Accept-Language"] = lang
    if etag is not None:
        headers["If-None-Match"] = etag
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers, allow_redirects=False) as response,
    ):
        return Page(response.status, await response.text(), response.headers.copy())


async def ask(member: Member, room: str, text: str) -> str:
    sent = await member.send_text(room, text)
    return str((await member.wait_for(room, reply_to(sent), timeout=30))["content"]["body"])


async def create(member: Member, room: str, text: str, lang: str) -> str:
    body = await ask(member, room, text)
    match = said_pattern(lang, "Gathering {id} created.", id=ID).search(body)
    assert match, body
    return match.group("id")


def url_in(body: str) -> str:
    found = URL.search(body)
    assert found, body
    return found.group(0)


def h1(page: Page) -> tuple[str, str]:
    """(lang attribute, text) of the page's heading."""
    found = re.search(r'<h1 lang="(\w+)" dir="auto">(.*?)</h1>', page.body, re.S)
    assert found, page.body
    return found.group(1), html.unescape(found.group(2))


@pytest.fixture
async def bot(synapse, apertium, tmp_path) -> AsyncIterator[BotHarness]:
    harness = BotHarness(
        synapse,
        tmp_path / "bot",
        web={"enabled": True, "port": 0},
        translation={"engines": ["apertium"], "apertium": {"url": apertium.url}},
    )
    await harness.start()
    yield harness
    await harness.stop()


async def test_a_collective_publishes_and_visitors_read_it_in_their_language(
    bot, new_member
) -> None:
    alice = await new_member("alice")  # creates the rooms: their admin
    bob = await new_member("bob")  # a member
    group = f"agenda{bot.localpart}"
    rooms = await link_group(alice, bot.user_id, ("fr", "en"), group)
    fr = rooms["fr"]
    await alice.invite(fr, bob.user_id)
    await bob.join(fr)
    await ask(alice, fr, "!room tz Europe/Paris")

    # a place with a contact (private) and a public address, published by who registered it
    body = await ask(
        alice,
        fr,
        "!lieu add\nnom: Maison des Luttes\nville: Marseille\npays: FR\n"
        "adresse: 12 rue de la Solidarité\ncontact: secret-contact@example.org\npublic: oui",
    )
    place = ID.search(body)
    assert place, body
    place_id = place.group("id")
    assert said("fr", "On the public pages: {url}", url=url_in(body)) in body

    gathering = await create(
        alice,
        fr,
        "!evenement add\ntitre: Assemblée générale des collectifs\nquand: 2030-06-08 18:00\n"
        f"lieu: {place_id}\nlien: {MEETING}\ncapacité: 30\n"
        "description: Nous parlerons de la solidarité. <script>alert(1)</script>",
        "fr",
    )
    await ask(bob, fr, f"!evenement rsvp {gathering} oui")
    await ask(bob, fr, '!entraide request housing "this week" "Lyon, France" Lit pour deux')

    # the public address of the group's agenda; nothing is public yet
    body = await ask(alice, fr, "!agenda")
    agenda = url_in(body)
    assert f"/{group}" not in agenda  # the group's name never appears in its address
    page = await fetch(agenda, lang="fr")
    assert page.status == 200
    assert gathering not in page.body

    # a member who is not a steward of the group may not publish; nothing changes
    refused = await ask(bob, fr, f"!evenement publish {gathering}")
    assert refused == said("fr", NOT_STEWARD, id=f"`{gathering}`", command="`!relay list`")
    # nor put a place before the world: registered without `public`, it stays off the pages
    refused = await ask(
        bob, fr, "!lieu add Chez Bob | Lyon | FR | adresse: 3 rue Cachée | public: oui"
    )
    assert refused == said("fr", PLACE_NOT_PUBLISHER)
    listing = await ask(bob, fr, "!lieu list FR")
    assert "Maison des Luttes" in listing
    assert "Chez Bob" not in listing
    page_url = f"{agenda}/gathering/{gathering}"
    unpublished = await fetch(page_url, lang="fr")
    unknown = await fetch(f"{agenda}/gathering/zzzz", lang="fr")
    no_group = await fetch(agenda.rsplit("/", 1)[0] + "/NotAnAgendaAddress1234", lang="fr")
    assert unpublished.status == unknown.status == no_group.status == 404
    assert unpublished.body == unknown.body == no_group.body

    body = await ask(alice, fr, f"!evenement publish {gathering}")
    assert (
        said(
            "fr",
            "Gathering {id} is now on the public agenda: {url}",
            id=f"`{gathering}`",
            url=page_url,
        )
        in body
    )

    # a recurring gathering published at creation, and a cancelled one
    weekly = await create(
        alice,
        fr,
        "!evenement add Permanence juridique | chaque mardi 17h | ville: Marseille | public: oui",
        "fr",
    )
    cancelled = await create(
        alice,
        fr,
        "!evenement add Concert de soutien | 2030-07-01 20:00 | ville: Lyon | public: oui",
        "fr",
    )
    await ask(alice, fr, f"!evenement cancel {cancelled}")

    # a French visitor: the original, French dates, the three gatherings
    page = await fetch(agenda, lang="fr-FR,fr;q=0.9")
    assert page.status == 200
    assert '<html lang="fr" dir="ltr">' in page.body
    assert "Assemblée générale des collectifs" in page.body
    assert "samedi 8 juin 2030, 18:00" in page.body
    assert "heure d’été d’Europe centrale (Europe/Paris)" in page.body
    assert page.body.count(f"/gathering/{weekly}") == 4  # its next four dates
    assert "mardi" in page.body
    assert f"/gathering/{cancelled}" in page.body
    assert said("fr", "Cancelled") in page.body
    assert "Juin 2030" in page.body
    assert "Juillet 2030" in page.body

    # an English visitor: the title translated by Apertium (fr->es->en), marked, original kept
    page = await fetch(page_url, lang="en-GB,en;q=0.8")
    lang, title = h1(page)
    assert (lang, page.headers["Content-Language"]) == ("en", "en")
    assert "assembly" in title.lower()
    assert "Assemblée" not in title
    assert "solidarity" in page.body.lower()
    assert said("en", "Machine translation: show the original") in page.body
    assert (
        '<p class="original-title" lang="fr" dir="auto">Assemblée générale des collectifs</p>'
        in page.body
    )
    assert "Saturday, June 8, 2030, 6:00\u202fPM" in page.body  # CLDR's narrow space
    assert "Central European Summer Time (Europe/Paris)" in page.body
    assert "Maison des Luttes, 12 rue de la Solidarité, Marseille, France" in page.body
    assert f'href="{MEETING}"' in page.body
    # member-written HTML is text, never markup
    assert "<script>" not in page.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.body

    # an Arabic visitor: right to left, Arabic dates; no engine knows French to Arabic, so the
    # title stays as written, marked as French
    page = await fetch(page_url, lang="ar")
    assert '<html lang="ar" dir="rtl">' in page.body
    assert h1(page) == ("fr", "Assemblée générale des collectifs")
    assert said("ar", "Machine translation: show the original") not in page.body
    assert "السبت، 8 يونيو 2030، 6:00 م" in page.body
    assert said("ar", "When") in page.body
    assert "فرنسا" in page.body  # the country, named in Arabic
    # ?lang= wins over Accept-Language, and links keep it
    page = await fetch(agenda + "?lang=es", lang="ar")
    assert '<html lang="es" dir="ltr">' in page.body
    assert f'/gathering/{gathering}?lang=es"' in page.body
    assert "Próximos encuentros" in page.body

    # the places directory shows the published place and what is held there
    places = await fetch(agenda + "/places", lang="fr")
    assert "Maison des Luttes" in places.body
    assert "12 rue de la Solidarité" in places.body
    assert f"/gathering/{gathering}" in places.body

    # feeds: a real iCal parser and a real Atom parser
    ics = await fetch(page_url + ".ics")
    assert ics.headers["Content-Type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(ics.body).walk("VEVENT")
    assert str(event["summary"]) == "Assemblée générale des collectifs"
    assert event.decoded("dtstart").isoformat() == "2030-06-08T18:00:00+02:00"
    assert "12 rue de la Solidarité" in str(event["location"])
    calendar = Calendar.from_ical((await fetch(agenda + "/calendar.ics")).body)
    by_uid = {str(e["uid"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(by_uid) == {gathering, weekly, cancelled}
    assert str(by_uid[cancelled]["status"]) == "CANCELLED"
    assert "RRULE" in by_uid[weekly]
    atom = await fetch(agenda + "/feed.atom?lang=en")
    feed = feedparser.parse(atom.body)
    assert not feed.bozo, feed.bozo_exception
    assert {entry.link.rsplit("/", 1)[1].split("?")[0] for entry in feed.entries} == {
        gathering,
        weekly,
        cancelled,
    }
    assert feed.feed.language == "en"

    # caching: a strong ETag, revalidated each time; a strict policy, nothing from elsewhere
    page = await fetch(page_url, lang="fr")
    assert page.headers["Cache-Control"] == "public, no-cache"
    assert (await fetch(page_url, lang="fr", etag=page.headers["ETag"])).status == 304
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    host = "/".join(agenda.split("/")[:3]) + "/"
    for reference in re.findall(r'(?:src|href)="([^"]*)"', page.body):
        assert reference.startswith(("/", "?", "#", host)) or reference == MEETING, reference

    # nothing private anywhere: RSVPs, contacts, aid requests, rooms, capacity, people
    everything = [
        await fetch(url, lang=lang)
        for url in (
            agenda,
            page_url,
            page_url + ".ics",
            agenda + "/places",
            agenda + "/calendar.ics",
            agenda + "/feed.atom",
        )
        for lang in ("fr", "en", "ar")
    ]
    for page in everything:
        for secret in (
            "secret-contact@example.org",
            bob.user_id,
            bob.user_id.split(":")[0][1:],
            alice.user_id.split(":")[0][1:],
            fr,
            rooms["en"],
            "Lit pour deux",
            group,
            said("fr", "Capacity: {capacity}", capacity=30),
            said("en", "Capacity: {capacity}", capacity=30),
        ):
            assert secret not in page.body, (secret, page.body[:200])

    # unpublishing takes it off every page and feed at once
    body = await ask(alice, fr, f"!evenement unpublish {gathering}")
    assert body == said(
        "fr",
        "Gathering {id} is no longer public: the agenda, its page and the feeds no longer show it.",
        id=f"`{gathering}`",
    )
    gone = await fetch(page_url, lang="fr")
    assert (gone.status, gone.body) == (404, unknown.body)
    assert (await fetch(page_url + ".ics")).status == 404
    for url in (agenda, agenda + "/places", agenda + "/calendar.ics", agenda + "/feed.atom"):
        assert f"{gathering}" not in (await fetch(url, lang="fr")).body, url
    # the place taken off: the directory forgets it
    await ask(alice, fr, f"!lieu unpublish {place_id}")
    assert "Maison des Luttes" not in (await fetch(agenda + "/places")).body

    # a new address: a member may not; a steward (the group's first room's admin) may; the old one
    # is gone
    assert await ask(bob, fr, "!agenda rotate") == said("fr", ROTATE_REFUSED)
    body = await ask(alice, rooms["en"], "!agenda rotate")
    fresh = url_in(body)
    assert fresh != agenda
    assert (await fetch(agenda)).status == 404
    assert f"/gathering/{weekly}" in (await fetch(fresh)).body


async def test_a_linked_rooms_admin_cannot_speak_for_the_group_its_stewards_can(
    bot, new_member
) -> None:
    alice = await new_member("alice")  # creates the group: its steward
    carol = await new_member("carol")  # admin of a room that joined later, by consent
    group = f"stewards{bot.localpart}"
    fr = (await link_group(alice, bot.user_id, ("fr",), group))["fr"]
    es = await room_with_bot(carol, bot.user_id, name=f"{group}-es")
    await ask(carol, es, "!sala idioma es")

    # before joining, carol's room has its own agenda, and publishes on it
    gathering = await create(
        carol,
        es,
        "!evento add Asamblea de barrio | 2030-06-09 18:00 | ciudad: Madrid | público: sí",
        "es",
    )
    own = url_in(await ask(carol, es, "!agenda"))
    assert (await fetch(f"{own}/gathering/{gathering}")).status == 200

    # joining the group does not carry it onto the group's agenda: it is taken off, and both
    # the room and the steward who approved are told
    mark_es, mark_fr = carol.mark(es), alice.mark(fr)
    await join_group(alice, fr, carol, es, group, "es")
    here = said("es", UNPUBLISHED_HERE, count=1, command="`!event publish <id>`")
    await carol.wait_for(es, lambda e: here in str(e["content"].get("body", "")), after=mark_es)
    there = said_pattern("fr", UNPUBLISHED_THERE, count=1, command="`!event publish <id>`")
    await alice.wait_for(
        fr, lambda e: there.search(str(e["content"].get("body", ""))) is not None, after=mark_fr
    )
    agenda = url_in(await ask(carol, es, "!agenda"))
    assert agenda == url_in(await ask(alice, fr, "!agenda"))  # one agenda for the group
    assert agenda != own
    assert (await fetch(f"{own}/gathering/{gathering}")).status == 404
    assert "Asamblea de barrio" not in (await fetch(agenda)).body

    # carol administers her room, not the group: her gathering stays off its public agenda
    refusal = said("es", NOT_STEWARD, id=f"`{gathering}`", command="`!relay list`")
    assert await ask(carol, es, f"!evento publish {gathering}") == refusal
    assert await ask(carol, es, "!agenda rotate") == said("es", ROTATE_REFUSED)
    assert await ask(
        carol, es, "!evento add Otra asamblea | 2030-06-10 18:00 | público: sí"
    ) == said("es", NOT_STEWARD_AT_CREATION, group=f"`{group}`", command="`!relay list`")
    page_url = f"{agenda}/gathering/{gathering}"
    assert (await fetch(page_url)).status == 404
    assert "Otra asamblea" not in (await fetch(agenda)).body
    assert "Otra asamblea" not in await ask(carol, es, "!evento list")  # nor created privately

    # the steward publishes it, from the steward room; carol cannot take it off either
    body = await ask(alice, fr, f"!evenement publish {gathering}")
    assert (
        said(
            "fr",
            "Gathering {id} is now on the public agenda: {url}",
            id=f"`{gathering}`",
            url=page_url,
        )
        in body
    )
    assert "Asamblea de barrio" in (await fetch(agenda, lang="es")).body
    assert await ask(carol, es, f"!evento unpublish {gathering}") == refusal
    assert (await fetch(page_url, lang="es")).status == 200
    # and a new address is the steward's to give
    fresh = url_in(await ask(alice, fr, "!agenda rotate"))
    assert (await fetch(agenda)).status == 404
    assert f"/gathering/{gathering}" in (await fetch(fresh)).body
