"""The public agenda in a real browser: a 360 px phone and a desktop, links followed, the
language switched, screenshots kept, and axe-core's accessibility check on every page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from icalendar import Calendar
from selenium.webdriver.common.by import By

from tests.support.botharness import BotHarness
from tests.support.browser import ARTEFACTS, Browser
from tests.support.i18n import said
from tests.support.members import Member
from tests.support.predicates import reply_to
from tests.support.relaygroup import link_group

pytestmark = pytest.mark.integration

ID = re.compile(r"`(?P<id>[2-9a-z]{4,5})`")
URL = re.compile(r"https?://[^\s)>`]+")
PHONE = (360, 740)
DESKTOP = (1280, 900)


async def ask(member: Member, room: str, text: str) -> str:
    sent = await member.send_text(room, text)
    return str((await member.wait_for(room, reply_to(sent), timeout=30))["content"]["body"])


def serious(violations: list[dict[str, object]]) -> list[dict[str, object]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


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


@pytest.fixture
async def browser(tmp_path) -> AsyncIterator[Browser]:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    started = await asyncio.to_thread(Browser, tmp_path / "profile", downloads)
    yield started
    await asyncio.to_thread(started.close)


async def test_the_agenda_in_a_real_browser(bot, browser, new_member) -> None:
    alice = await new_member("alice")
    rooms = await link_group(alice, bot.user_id, ("fr", "en"), f"web{bot.localpart}")
    fr = rooms["fr"]
    await ask(alice, fr, "!room tz Europe/Paris")
    body = await ask(
        alice,
        fr,
        "!lieu add Maison des Luttes | Marseille | FR | adresse: 12 rue de la Solidarité | "
        "accès: plain-pied, toilettes accessibles | public: oui",
    )
    place = ID.search(body)
    assert place, body
    body = await ask(
        alice,
        fr,
        "!evenement add\ntitre: Assemblée générale des collectifs\nquand: 2030-06-08 18:00\n"
        f"fin: 21:00\nlieu: {place.group('id')}\nlangues: fr, ar\ntype: réunion\n"
        "description: Nous parlerons de la solidarité entre les collectifs.\npublic: oui",
    )
    gathering = ID.search(body)
    assert gathering, body
    gathering_id = gathering.group("id")
    await ask(
        alice, fr, "!evenement add Permanence | chaque mardi 17h | ville: Marseille | public: oui"
    )
    agenda = URL.search(await ask(alice, fr, "!agenda"))
    assert agenda
    agenda_url = agenda.group(0)

    def on_the_phone() -> dict[str, object]:
        seen: dict[str, object] = {}
        browser.viewport(*PHONE)
        browser.get(agenda_url + "?lang=fr")
        seen["width"] = browser.js(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        seen["agenda"] = browser.screenshot("agenda-phone-fr.png")
        seen["agenda_a11y"] = browser.accessibility_violations()
        browser.driver.find_element(By.LINK_TEXT, "Assemblée générale des collectifs").click()
        seen["url"] = browser.driver.current_url
        seen["heading"] = browser.driver.find_element(By.TAG_NAME, "h1").text
        seen["gathering"] = browser.screenshot("gathering-phone-fr.png")
        seen["gathering_a11y"] = browser.accessibility_violations()
        link = browser.driver.find_element(By.CSS_SELECTOR, "a[type='text/calendar']")
        seen["ics_href"] = link.get_attribute("href")
        link.click()
        seen["ics"] = browser.downloaded(f"{gathering_id}.ics")
        browser.driver.find_element(By.LINK_TEXT, "العربية").click()
        seen["ar_dir"] = browser.js(
            "return [document.documentElement.dir, document.documentElement.lang]"
        )
        seen["ar_when"] = browser.driver.find_element(By.TAG_NAME, "dt").text
        seen["ar_width"] = browser.js(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        seen["gathering_ar"] = browser.screenshot("gathering-phone-ar.png")
        seen["gathering_ar_a11y"] = browser.accessibility_violations()
        return seen

    def on_a_desktop() -> dict[str, object]:
        seen: dict[str, object] = {}
        browser.viewport(*DESKTOP)
        browser.get(agenda_url + "?lang=en")
        seen["title"] = browser.driver.title
        seen["agenda"] = browser.screenshot("agenda-desktop-en.png")
        seen["agenda_a11y"] = browser.accessibility_violations()
        browser.driver.find_element(By.LINK_TEXT, said("en", "Places")).click()
        seen["places_text"] = browser.driver.find_element(By.TAG_NAME, "main").text
        seen["places"] = browser.screenshot("places-desktop-en.png")
        seen["places_a11y"] = browser.accessibility_violations()
        browser.get(agenda_url + "?lang=ar")
        seen["agenda_ar"] = browser.screenshot("agenda-desktop-ar.png")
        seen["agenda_ar_a11y"] = browser.accessibility_violations()
        return seen

    phone = await asyncio.to_thread(on_the_phone)
    desktop = await asyncio.to_thread(on_a_desktop)

    inner, scroll = phone["width"]  # type: ignore[misc]
    assert inner == PHONE[0]
    assert scroll <= inner, "the agenda scrolls sideways on a 360 px phone"
    inner, scroll = phone["ar_width"]  # type: ignore[misc]
    assert scroll <= inner, "the Arabic page scrolls sideways on a 360 px phone"
    assert str(phone["url"]).endswith(f"/gathering/{gathering_id}?lang=fr")
    assert phone["heading"] == "Assemblée générale des collectifs"
    assert str(phone["ics_href"]).endswith(f"/gathering/{gathering_id}.ics")
    (event,) = Calendar.from_ical(phone["ics"]).walk("VEVENT")  # type: ignore[arg-type]
    assert str(event["summary"]) == "Assemblée générale des collectifs"
    assert phone["ar_dir"] == ["rtl", "ar"]
    assert phone["ar_when"] == said("ar", "When")
    assert said("en", "Upcoming gatherings") in str(desktop["title"])
    assert "Maison des Luttes" in str(desktop["places_text"])
    assert "12 rue de la Solidarité" in str(desktop["places_text"])

    for name, violations in {
        **{f"phone {k}": v for k, v in phone.items() if k.endswith("_a11y")},
        **{f"desktop {k}": v for k, v in desktop.items() if k.endswith("_a11y")},
    }.items():
        assert serious(violations) == [], (name, violations)  # type: ignore[arg-type]
    for shot in (
        "agenda-phone-fr",
        "gathering-phone-fr",
        "gathering-phone-ar",
        "agenda-desktop-en",
    ):
        assert (ARTEFACTS / f"{shot}.png").stat().st_size > 1000
