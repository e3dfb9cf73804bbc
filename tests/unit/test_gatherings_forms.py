"""Gathering forms, answers, ids, and the waiting list, without a homeserver."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import CommandError, UsageError
from bot.core.storage.database import Database
from bot.core.text.forms import new_id
from bot.gatherings import forms, store
from bot.gatherings.render import lead_text
from bot.gatherings.store import Gathering

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def resolve(text: str, lang: str = "en") -> dict[str, object]:
    return forms.resolve(
        forms.parse_gathering(text),
        lang=lang,
        default_tz=PARIS,
        now=NOW,
        place_exists=lambda _: False,
    ).values


def test_one_line_form_with_named_fields() -> None:
    fields = forms.parse_gathering(
        "Assemblée | samedi 18h | La Grange | type: réunion | capacité: 20"
    )
    assert fields == {
        "title": "Assemblée",
        "start": "samedi 18h",
        "place": "La Grange",
        "kind": "réunion",
        "capacity": "20",
    }


def test_multi_line_form_accepts_spanish_field_names() -> None:
    values = resolve(
        "Asamblea\ncuando: el sábado a las 18:00\nlugar: en línea https://x.example\nrecordatorios: 2h, 30m",
        lang="es",
    )
    assert values["starts_at"] == datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
    assert values["place"] == "online"
    assert values["link"] == "https://x.example"
    assert values["reminder_leads"] == "7200,1800"


def test_recurring_start_materialises_the_next_occurrence() -> None:
    values = resolve("Call | every monday 19:00 | online | end: 1h30")
    assert values["starts_at"] == datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    assert values["ends_at"] == datetime(2026, 11, 30, 19, 30, tzinfo=UTC)
    assert values["rrule"] == "FREQ=WEEKLY;BYDAY=MO;BYHOUR=19;BYMINUTE=0"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("X | someday maybe | y", "`someday maybe`"),
        ("X | 2020-01-01 10:00 | y", "`2020-01-01 10:00`"),
        ("X | 2030-01-01 10:00 | y | tz: Nowhere/Land", "`Nowhere/Land`"),
        ("X | 2030-01-01 10:00 | y | end: 2029-01-01 10:00", "`2029-01-01 10:00`"),
    ],
)
def test_bad_times_quote_what_was_not_understood(text: str, quoted: str) -> None:
    with pytest.raises(CommandError) as caught:
        resolve(text)
    assert quoted in str(caught.value.params)


def test_a_field_given_twice_is_refused() -> None:
    with pytest.raises(UsageError):
        forms.parse_gathering("title: a\ntitre: b")


@pytest.mark.parametrize(
    ("word", "answer"),
    [("oui", "yes"), ("Sí", "yes"), ("✅", "yes"), ("✔️", "yes"), ("quizás", "maybe"),
     ("🤔", "maybe"), ("non", "no"), ("❌", "no"), ("whatever", None)],
)  # fmt: skip
def test_answers_in_three_languages_and_emoji(word: str, answer: str | None) -> None:
    assert forms.answer_for(word) == answer


def test_ids_are_short_and_unambiguous() -> None:
    seen = {new_id(lambda _: False) for _ in range(200)}
    assert all(len(i) == 4 and not set(i) & set("01ilo") for i in seen)
    assert len(new_id(lambda c: len(c) == 4)) == 5


def test_durations_accept_seconds_for_short_leads() -> None:
    assert forms.parse_leads("90s, 1h") == "3600,90"
    assert forms.parse_leads("aucun") == ""


def test_lead_text() -> None:
    assert [lead_text(s) for s in (86400, 3600, 5400, 90, 172800)] == [
        "24 h", "1 h", "1 h 30 min", "1 min 30 s", "2 d",
    ]  # fmt: skip


def test_waiting_list_promotes_in_order(fresh_db: Database) -> None:
    store.insert(
        fresh_db,
        Gathering(
            id="abcd", command_event_id="$e", room_id="!r", creator="@a:x", lang="en",
            title="T", starts_at=NOW, tz="UTC", capacity=1,
        ),
    )  # fmt: skip
    first, _ = store.set_rsvp(fresh_db, "abcd", "@a:x", "!r", "yes", capacity=1)
    second, _ = store.set_rsvp(fresh_db, "abcd", "@b:x", "!r", "yes", capacity=1)
    third, _ = store.set_rsvp(fresh_db, "abcd", "@c:x", "!r", "yes", capacity=1)
    assert (first.waiting, second.waiting, third.waiting) == (False, True, True)
    # answering yes again keeps one's place in the queue
    again, _ = store.set_rsvp(fresh_db, "abcd", "@b:x", "!r", "yes", capacity=1)
    assert again.waiting
    _, promoted = store.set_rsvp(fresh_db, "abcd", "@a:x", "!r", "no", capacity=1)
    assert [p.user_id for p in promoted] == ["@b:x"]
    assert [p.user_id for p in store.promote(fresh_db, "abcd", 3)] == ["@c:x"]


def test_replayed_creation_returns_the_first(fresh_db: Database) -> None:
    base = Gathering(
        id="abcd", command_event_id="$e", room_id="!r", creator="@a:x", lang="en",
        title="T", starts_at=NOW, tz="UTC",
    )  # fmt: skip
    assert store.insert(fresh_db, base) is not None
    again = store.insert(fresh_db, Gathering(**{**base.__dict__, "id": "wxyz"}))
    assert again is not None
    assert again.id == "abcd"
    assert store.get(fresh_db, "wxyz") is None


def test_arabic_answers_kinds_and_field_names_are_understood() -> None:
    from bot.gatherings.forms import answer_for, field_for, kind_for

    assert [answer_for(w) for w in ("نعم", "ربما", "لا")] == ["yes", "maybe", "no"]
    assert kind_for("مهرجان") == "festival"
    assert field_for("العنوان") == "title"
    assert field_for("المنطقة الزمنية") == "tz"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-12-05 18:00", "21h", datetime(2026, 12, 5, 21, 0, tzinfo=PARIS)),
        ("2026-12-05 18:00", "23h30", datetime(2026, 12, 5, 23, 30, tzinfo=PARIS)),
        ("2026-12-05 18:00", "2h", datetime(2026, 12, 5, 20, 0, tzinfo=PARIS)),
        ("2026-12-05 18:00", "18h", datetime(2026, 12, 6, 12, 0, tzinfo=PARIS)),
        ("2026-12-05 09:00", "3h", datetime(2026, 12, 5, 12, 0, tzinfo=PARIS)),
    ],
)
def test_an_hour_mark_ends_at_that_hour_when_it_comes_later_that_day(
    start: str, end: str, expected: datetime
) -> None:
    values = resolve(f"Festival | {start} | La Grange | fin: {end}", lang="fr")

    assert values["ends_at"] == expected
