"""Reading aid requests and offers as members type them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.aid.forms import location_of, parse_request, parse_standing_offer
from bot.core.errors import CommandError, UsageError

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday
PARIS = ZoneInfo("Europe/Paris")
CATEGORIES = ("material", "housing", "legal", "medical")


def read(text: str, lang: str = "en"):  # type: ignore[no-untyped-def]
    return parse_request(text, categories=CATEGORIES, lang=lang, tz=PARIS, now=NOW)


def test_one_line_with_two_word_urgency_and_options() -> None:
    form = read('housing "this week" "Lyon, France" by:2026-12-05 visibility:anonymous Bed for two')
    assert (form.category, form.urgency, form.city, form.country) == (
        "housing",
        "this_week",
        "Lyon",
        "France",
    )
    assert form.visibility == "anonymous"
    assert form.description == "Bed for two"
    # a bare day lasts until its end, in the room's zone
    assert form.needed_by is not None
    assert form.needed_by.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") == "2026-12-05 23:59"


def test_french_multi_line_form_with_accents_and_apostrophes() -> None:
    form = read(
        "catégorie: legal\nurgence: aujourd'hui\nlieu: Tunis/Tunisie\nvisibilité: coordination\n"
        "dm: oui\nbesoin: un avocat pour l'audience\nde demain",
        lang="fr",
    )
    assert (form.urgency, form.city, form.country) == ("today", "Tunis", "Tunisie")
    assert form.visibility == "coordinators"
    assert form.notify_dm is True
    assert form.description == "un avocat pour l'audience\nde demain"


def test_unquoted_two_word_urgency() -> None:
    form = read("material this week Quito/Ecuador A van")
    assert (form.urgency, form.city, form.country, form.description) == (
        "this_week",
        "Quito",
        "Ecuador",
        "A van",
    )


def test_default_visibility_is_network() -> None:
    assert read("medical whenever Colombia insulin").visibility == "network"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("weapons today Lyon/France x", "`weapons` is not an aid category"),
        ("housing someday Lyon/France x", "`someday` is not an urgency"),
        ('housing today "12 rue de la Paix, Paris" x', "looks like a street address"),
        ("housing today Lyon/France by:blorp x", "I could not read `blorp` as a date"),
        ("housing today Lyon/France by:2020-01-01 x", "`2020-01-01` is already past"),
        ("housing today Lyon/France visibility:secret x", "`secret` is not a visibility"),
    ],
)
def test_bad_input_quotes_what_was_not_understood(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        read(text)
    error = caught.value
    assert fragment in error.message.format(**error.params)


def test_missing_description_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="description is missing"):
        read("housing today Lyon/France")
    with pytest.raises(UsageError, match="missing"):
        read("category: housing\nlocation: Lyon, France\ndescription: x")


def test_locations() -> None:
    assert location_of("Berlin, Germany") == ("Berlin", "Germany")
    assert location_of("Chile") == ("", "Chile")
    assert location_of("St Petersburg, Russia") == ("St Petersburg", "Russia")
    for address in ("Calle Mayor, Madrid", "Hauptstraße 5, Berlin", "شارع الحبيب بورقيبة"):
        with pytest.raises(CommandError):
            location_of(address)


def test_standing_offer_one_line() -> None:
    offer = parse_standing_offer(
        'housing "Berlin, Germany" until:2026-12-31 Can host two people',
        categories=CATEGORIES,
        lang="en",
        tz=PARIS,
        now=NOW,
    )
    assert (offer.category, offer.country, offer.text) == (
        "housing",
        "Germany",
        "Can host two people",
    )
    assert offer.until is not None
