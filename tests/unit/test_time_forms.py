"""Every form of the README's table of times, in every language, read as the table says; and
the README's table is the one generated from the parser's own words."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.i18n import Catalogs, Speaker
from bot.core.time.describe import describe
from bot.core.time.parse import TimeParseError, parse_when, split_when_and_text
from bot.core.time.recurrence import Recurrence
from bot.core.time.table import END, START, render
from bot.core.time.words import FORMS, TABLE_LANGUAGES

PARIS = ZoneInfo("Europe/Paris")
# Wednesday 18 March 2026, 11:00 in Paris, as the table's expectations say.
NOW = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[2] / "README.md"


def read(text: str, lang: str) -> str:
    """What the parser made of ``text``: local time, rule, or the reason it refused."""
    try:
        when = parse_when(text, lang=lang, tz=PARIS, now=NOW, need_time=True)
    except TimeParseError as exc:
        return exc.reason
    if isinstance(when, Recurrence):
        return f"cron {when.expression}" if when.kind == "cron" else when.expression
    return when.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("form", "lang"),
    [(form, lang) for form in FORMS for lang in TABLE_LANGUAGES],
    ids=[f"{form.name}-{lang}" for form in FORMS for lang in TABLE_LANGUAGES],
)
def test_every_row_of_the_table_reads_as_documented(form, lang: str) -> None:  # type: ignore[no-untyped-def]
    assert read(form.examples[lang], lang) == form.expected(lang)


def test_the_readme_table_is_generated_from_the_parser_tables() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text, "README.md lost its time-forms markers"
    assert END in text, "README.md lost its time-forms markers"
    shown = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert shown == render(), "run: python -m bot.core.time.table --write README.md"


@pytest.mark.parametrize(
    ("lang", "typed", "rule", "text"),
    [
        ("en", "every 2 hours Two-hourly", "FREQ=HOURLY;INTERVAL=2", "Two-hourly"),
        ("en", "every 2 minutes Ping", "FREQ=MINUTELY;INTERVAL=2", "Ping"),
        ("en", "every hour Hourly news", "FREQ=HOURLY", "Hourly news"),
        ("ar", "كل يوم 9:00 اجتماع", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "اجتماع"),
        (
            "en",
            "first monday of every month 18:00 Assembly",
            "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=18;BYMINUTE=0",
            "Assembly",
        ),
        (
            "en",
            "every friday 18:00 Friday assembly",
            "FREQ=WEEKLY;BYDAY=FR;BYHOUR=18;BYMINUTE=0",
            "Friday assembly",
        ),
        ("en", "every day 9:00 Day of action", "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "Day of action"),
    ],
)
def test_the_when_ends_where_the_time_words_end(
    lang: str, typed: str, rule: str, text: str
) -> None:
    when, rest = split_when_and_text(typed.split(), lang=lang, tz=PARIS, now=NOW)
    assert isinstance(when, Recurrence)
    assert (when.expression, rest) == (rule, text)


def test_next_monday_at_ten_is_ten_oclock_not_midnight() -> None:
    typed = ["next", "monday", "at", "10", "Meeting", "reminder"]
    when, rest = split_when_and_text(typed, lang="en", tz=PARIS, now=NOW)
    assert isinstance(when, datetime)
    assert when.astimezone(PARIS).strftime("%a %Y-%m-%d %H:%M") == "Mon 2026-03-23 10:00"
    assert rest == "Meeting reminder"


@pytest.mark.parametrize(
    ("lang", "typed", "reason", "fragment", "understood"),
    [
        ("fr", "demain Bonjour", "no_time", "demain", "demain"),
        ("en", "every monday 18:00 19:00 Call", "partial", "19:00 Call", "every monday 18:00"),
        ("fr", "demain soir 20h Apéro", "partial", "20h Apéro", "demain soir"),
        ("en", "every 2 hourz Two-hourly", "bad_recurrence", "every 2 hourz", "every 2"),
        ("fr", "31 février Fête", "impossible_date", "31 février", None),
    ],
)
def test_half_understood_whens_are_refused_with_what_was_understood(
    lang: str, typed: str, reason: str, fragment: str, understood: str | None
) -> None:
    with pytest.raises(TimeParseError) as caught:
        split_when_and_text(typed.split(), lang=lang, tz=PARIS, now=NOW)
    error = caught.value
    assert (error.reason, error.fragment, error.understood) == (reason, fragment, understood)


def test_impossible_dates_say_how_long_the_month_is() -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_when("2027-02-29 10:00", lang="en", tz=PARIS, now=NOW)
    assert (caught.value.reason, caught.value.month, caught.value.days) == (
        "impossible_date",
        2,
        28,
    )
    with pytest.raises(TimeParseError) as caught:
        parse_when("31 avril 18h", lang="fr", tz=PARIS, now=NOW)
    assert (caught.value.month, caught.value.days) == (4, None)


@pytest.mark.parametrize(
    ("lang", "typed", "said"),
    [
        ("en", "every 2 hours", "every 2 hours"),
        ("en", "every hour", "every hour"),
        ("fr", "toutes les 2 heures", "toutes les 2 heures"),
        ("fr", "tous les lundis et jeudis 18h", "chaque lundi et jeudi à 18:00"),
        ("es", "cada 2 horas", "cada 2 horas"),
        ("ar", "كل ساعة", "كل ساعة"),
        ("ar", "كل ساعتين", "كل ساعتين"),
        ("ar", "كل 3 ساعات", "كل 3 ساعات"),
        ("ar", "كل 11 ساعة", "كل 11 ساعة"),
        ("en", "first monday of every month 18:00", "on the first Monday of every month at 18:00"),
        (
            "fr",
            "le dernier vendredi de chaque mois 17h",
            "le dernier vendredi de chaque mois à 17:00",
        ),
    ],
)
def test_rules_are_restated_in_the_room_language(lang: str, typed: str, said: str) -> None:
    rule = parse_when(typed, lang=lang, tz=PARIS, now=NOW)
    assert isinstance(rule, Recurrence)
    assert describe(rule, Speaker(Catalogs(), lang)) == said
