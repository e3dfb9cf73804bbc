"""What members type on a phone, turned into times: one-offs, durations, repeating rules, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.time.parse import (
    TimeParseError,
    format_local,
    parse_datetime,
    parse_duration,
    parse_recurrence,
    parse_when,
    parse_zone,
    rrule_from_text,
    split_when_and_text,
)
from bot.core.time.recurrence import Recurrence

PARIS = ZoneInfo("Europe/Paris")
SANTIAGO = ZoneInfo("America/Santiago")
# Wednesday 18 March 2026, 11:00 in Paris (CET, UTC+1).
NOW = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)


def typed(text: str) -> list[str]:
    """The words of a command line, as the router hands them over."""
    return text.split()


def local(moment: datetime, tz: ZoneInfo = PARIS) -> str:
    return format_local(moment, tz)


# --- one-off moments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "2026-12-05 18:00", "2026-12-05 18:00 CET"),
        ("en", "2026-12-05T18:00", "2026-12-05 18:00 CET"),
        ("fr", "samedi 18h", "2026-03-21 18:00 CET"),
        ("fr", "samedi 18h30", "2026-03-21 18:30 CET"),
        ("en", "next friday 7pm", "2026-03-20 19:00 CET"),
        ("fr", "vendredi prochain 19h", "2026-03-20 19:00 CET"),
        ("es", "el sábado a las 18:00", "2026-03-21 18:00 CET"),
        ("es", "sabado 18:00", "2026-03-21 18:00 CET"),
        ("es", "mañana 9:00", "2026-03-19 09:00 CET"),
        ("fr", "demain 9h", "2026-03-19 09:00 CET"),
        ("en", "in 2 hours", "2026-03-18 13:00 CET"),
        ("fr", "dans 2h", "2026-03-18 13:00 CET"),
        ("fr", "dans 3 jours", "2026-03-21 11:00 CET"),
        ("fr", "18h", "2026-03-18 18:00 CET"),
        ("fr", "le 5 décembre à 18h", "2026-12-05 18:00 CET"),
        ("pt", "sábado às 18h", "2026-03-21 18:00 CET"),
        ("de", "Samstag um 18 Uhr", "2026-03-21 18:00 CET"),
        ("tr", "cumartesi 18:00", "2026-03-21 18:00 CET"),
        ("ar", "السبت 18:00", "2026-03-21 18:00 CET"),
        # A language dateparser does not know still gets the ISO and English forms.
        ("ku", "2026-12-05 18:00", "2026-12-05 18:00 CET"),
    ],
)
def test_phrases_in_each_language(lang: str, text: str, expected: str) -> None:
    moment = parse_datetime(text, lang=lang, tz=PARIS, now=NOW)
    assert moment.tzinfo is UTC
    assert local(moment) == expected


def test_result_is_utc_and_honours_the_room_zone() -> None:
    moment = parse_datetime("samedi 18h", lang="fr", tz=SANTIAGO, now=NOW)
    assert moment == datetime(2026, 3, 21, 21, 0, tzinfo=UTC)  # 18:00 at UTC-3


def test_explicit_offset_in_iso_is_kept() -> None:
    moment = parse_datetime("2026-12-05T18:00+00:00", lang="en", tz=PARIS, now=NOW)
    assert moment == datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


def test_weekday_today_means_today_while_the_time_is_ahead() -> None:
    saturday_morning = datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
    saturday_evening = datetime(2026, 3, 21, 19, 0, tzinfo=UTC)
    assert local(parse_datetime("samedi 18h", lang="fr", tz=PARIS, now=saturday_morning)) == (
        "2026-03-21 18:00 CET"
    )
    assert local(parse_datetime("samedi 18h", lang="fr", tz=PARIS, now=saturday_evening)) == (
        "2026-03-28 18:00 CET"
    )


def test_bare_time_already_gone_today_means_tomorrow() -> None:
    evening = datetime(2026, 3, 18, 19, 0, tzinfo=UTC)  # 20:00 in Paris
    assert local(parse_datetime("18:00", lang="en", tz=PARIS, now=evening)) == (
        "2026-03-19 18:00 CET"
    )


def test_whole_days_keep_the_wall_clock_across_dst() -> None:
    saturday = datetime(2026, 3, 28, 17, 0, tzinfo=UTC)  # 18:00 CET, DST starts that night
    assert local(parse_datetime("dans 2 jours", lang="fr", tz=PARIS, now=saturday)) == (
        "2026-03-30 18:00 CEST"
    )


def test_nonexistent_local_time_moves_forward() -> None:
    moment = parse_datetime("2026-03-29 02:30", lang="en", tz=PARIS, now=NOW)
    assert local(moment) == "2026-03-29 03:30 CEST"


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "yesterday"), ("en", "2026-03-01 18:00"), ("fr", "hier 18h"), ("en", "2 hours ago")],
)
def test_past_is_refused(lang: str, text: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_datetime(text, lang=lang, tz=PARIS, now=NOW)
    assert caught.value.reason == "past"
    assert caught.value.fragment == text


def test_past_allowed_when_asked() -> None:
    moment = parse_datetime("2026-03-01 18:00", lang="en", tz=PARIS, now=NOW, allow_past=True)
    assert local(moment) == "2026-03-01 18:00 CET"


@pytest.mark.parametrize("text", ["blah blah", "samedi Réunion générale", "   ", "25:00", "??"])
def test_garbage_is_refused_with_the_text_as_fragment(text: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_datetime(text, lang="fr", tz=PARIS, now=NOW)
    assert caught.value.reason == "unparseable"
    assert caught.value.fragment == text


# --- durations, zones, formatting ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("1h", timedelta(hours=1)),
        ("30m", timedelta(minutes=30)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1h30", timedelta(minutes=90)),
        ("90 min", timedelta(minutes=90)),
        ("2 heures", timedelta(hours=2)),
        ("1 semana", timedelta(weeks=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1x", "0m", "90", "h30"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_duration(text)
    assert caught.value.reason == "bad_duration"
    assert caught.value.fragment == text


def test_zones_are_case_insensitive() -> None:
    assert parse_zone("europe/paris") == PARIS
    assert parse_zone("America/Santiago") == SANTIAGO
    assert parse_zone("utc").key == "UTC"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Paris"])
def test_bad_zone(name: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_zone(name)
    assert caught.value.reason == "bad_zone"
    assert caught.value.fragment == name


def test_format_local_names_the_zone_abbreviation() -> None:
    assert format_local(datetime(2026, 12, 5, 17, 0, tzinfo=UTC), PARIS) == "2026-12-05 18:00 CET"
    assert format_local(datetime(2026, 7, 5, 16, 0, tzinfo=UTC), PARIS) == "2026-07-05 18:00 CEST"


# --- repeating rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expression", "first_three"),
    [
        (
            "en",
            "every monday 18:00",
            "FREQ=WEEKLY;BYDAY=MO;BYHOUR=18;BYMINUTE=0",
            ["2026-03-23 18:00 CET", "2026-03-30 18:00 CEST", "2026-04-06 18:00 CEST"],
        ),
        (
            "en",
            "every day 9am",
            "FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
            ["2026-03-19 09:00 CET", "2026-03-20 09:00 CET", "2026-03-21 09:00 CET"],
        ),
        (
            "en",
            "every 2 weeks",
            "FREQ=WEEKLY;INTERVAL=2;BYHOUR=11;BYMINUTE=0",
            ["2026-04-01 11:00 CEST", "2026-04-15 11:00 CEST", "2026-04-29 11:00 CEST"],
        ),
        (
            "en",
            "every month on the 1st at 9:00",
            "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0",
            ["2026-04-01 09:00 CEST", "2026-05-01 09:00 CEST", "2026-06-01 09:00 CEST"],
        ),
        (
            "fr",
            "tous les lundis 18h",
            "FREQ=WEEKLY;BYDAY=MO;BYHOUR=18;BYMINUTE=0",
            ["2026-03-23 18:00 CET", "2026-03-30 18:00 CEST", "2026-04-06 18:00 CEST"],
        ),
        (
            "fr",
            "tous les jours 9h",
            "FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
            ["2026-03-19 09:00 CET", "2026-03-20 09:00 CET", "2026-03-21 09:00 CET"],
        ),
        (
            "fr",
            "tous les 1er du mois 9h",
            "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0",
            ["2026-04-01 09:00 CEST", "2026-05-01 09:00 CEST", "2026-06-01 09:00 CEST"],
        ),
        (
            "fr",
            "toutes les 2 semaines",
            "FREQ=WEEKLY;INTERVAL=2;BYHOUR=11;BYMINUTE=0",
            ["2026-04-01 11:00 CEST", "2026-04-15 11:00 CEST", "2026-04-29 11:00 CEST"],
        ),
        (
            "fr",
            "le 1er de chaque mois 9h",
            "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0",
            ["2026-04-01 09:00 CEST", "2026-05-01 09:00 CEST", "2026-06-01 09:00 CEST"],
        ),
        (
            "fr",
            "tous les lundis et jeudis 18h",
            "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=18;BYMINUTE=0",
            ["2026-03-19 18:00 CET", "2026-03-23 18:00 CET", "2026-03-26 18:00 CET"],
        ),
        (
            "es",
            "cada lunes 18:00",
            "FREQ=WEEKLY;BYDAY=MO;BYHOUR=18;BYMINUTE=0",
            ["2026-03-23 18:00 CET", "2026-03-30 18:00 CEST", "2026-04-06 18:00 CEST"],
        ),
        (
            "es",
            "todos los días 9:00",
            "FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
            ["2026-03-19 09:00 CET", "2026-03-20 09:00 CET", "2026-03-21 09:00 CET"],
        ),
        (
            "es",
            "cada 2 semanas",
            "FREQ=WEEKLY;INTERVAL=2;BYHOUR=11;BYMINUTE=0",
            ["2026-04-01 11:00 CEST", "2026-04-15 11:00 CEST", "2026-04-29 11:00 CEST"],
        ),
        (
            "es",
            "el día 15 de cada mes 10:00",
            "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=10;BYMINUTE=0",
            ["2026-04-15 10:00 CEST", "2026-05-15 10:00 CEST", "2026-06-15 10:00 CEST"],
        ),
        (
            "en",
            "every other week on friday 17:00",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=17;BYMINUTE=0",
            ["2026-03-20 17:00 CET", "2026-04-03 17:00 CEST", "2026-04-17 17:00 CEST"],
        ),
    ],
)
def test_recurrence_phrases(lang: str, text: str, expression: str, first_three: list[str]) -> None:
    rule = parse_recurrence(text, lang=lang, tz=PARIS, now=NOW)
    assert rule.kind == "rrule"
    assert rule.expression == expression
    assert rule.tz == "Europe/Paris"
    assert [local(t) for t in rule.next_times(NOW)] == first_three


def test_describe() -> None:
    rule = parse_recurrence("every monday 18:00", lang="en", tz=PARIS, now=NOW)
    assert rule.describe() == "every Monday at 18:00 (Europe/Paris)"
    monthly = parse_recurrence("tous les 1er du mois 9h", lang="fr", tz=PARIS, now=NOW)
    assert monthly.describe() == "every month on day 1 at 09:00 (Europe/Paris)"
    cron = parse_recurrence("cron 0 18 * * 1", lang="en", tz=PARIS, now=NOW)
    assert cron.describe() == "cron 0 18 * * 1 (Europe/Paris)"


def test_cron() -> None:
    rule = parse_recurrence("cron 0 18 * * 1", lang="en", tz=PARIS, now=NOW)
    assert (rule.kind, rule.expression) == ("cron", "0 18 * * 1")
    assert [local(t) for t in rule.next_times(NOW)] == [
        "2026-03-23 18:00 CET",
        "2026-03-30 18:00 CEST",
        "2026-04-06 18:00 CEST",
    ]


@pytest.mark.parametrize(
    "text", ["cron 0 25 * * 1", "cron 0 18 * *", "cron every monday", "cron", "cron 0 18 * * 1 *"]
)
def test_bad_cron(text: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_recurrence(text, lang="en", tz=PARIS, now=NOW)
    assert caught.value.reason == "bad_cron"
    assert caught.value.fragment == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("every monday 18:00 Assembly", "Assembly"),
        ("tous les lundis à la Mujawara", "Mujawara"),
        ("every blursday", "blursday"),
        ("every 18:00", "every 18:00"),
        ("every monday 18:00 19:00", "19:00"),
    ],
)
def test_bad_recurrence_names_the_part_not_understood(text: str, fragment: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_recurrence(text, lang="fr", tz=PARIS, now=NOW)
    assert caught.value.reason == "bad_recurrence"
    assert caught.value.fragment == fragment


def test_next_after_is_strictly_after() -> None:
    rule = parse_recurrence("every monday 18:00", lang="en", tz=PARIS, now=NOW)
    first = rule.next_after(NOW)
    assert first is not None
    assert rule.next_after(first) == first + timedelta(weeks=1) - timedelta(hours=1)  # DST
    assert rule.next_after(first - timedelta(seconds=1)) == first


def test_recurrence_round_trips_through_its_fields() -> None:
    rule = parse_recurrence("tous les lundis 18h", lang="fr", tz=PARIS, now=NOW)
    rebuilt = Recurrence(rule.kind, rule.expression, rule.tz, rule.anchor)
    assert rebuilt.next_times(NOW, 5) == rule.next_times(NOW, 5)


# --- DST, both directions, both hemispheres ----------------------------------------------


@pytest.mark.parametrize("text", ["every monday 18:00", "cron 0 18 * * 1"])
def test_weekly_keeps_local_time_across_both_paris_changes(text: str) -> None:
    rule = parse_recurrence(text, lang="en", tz=PARIS, now=NOW)
    spring = rule.next_times(datetime(2026, 3, 20, tzinfo=UTC), 2)
    assert spring == [datetime(2026, 3, 23, 17, tzinfo=UTC), datetime(2026, 3, 30, 16, tzinfo=UTC)]
    autumn = rule.next_times(datetime(2026, 10, 20, tzinfo=UTC), 2)
    assert autumn == [datetime(2026, 10, 26, 17, tzinfo=UTC), datetime(2026, 11, 2, 17, tzinfo=UTC)]
    before = rule.next_times(datetime(2026, 10, 13, tzinfo=UTC), 1)  # a Tuesday
    assert before == [datetime(2026, 10, 19, 16, tzinfo=UTC)]


@pytest.mark.parametrize("text", ["every day 2:30", "cron 30 2 * * *"])
def test_paris_gap_skips_forward_and_fold_fires_once(text: str) -> None:
    rule = parse_recurrence(text, lang="en", tz=PARIS, now=datetime(2026, 1, 5, tzinfo=UTC))
    spring = rule.next_times(datetime(2026, 3, 28, tzinfo=UTC), 3)
    assert [local(t) for t in spring] == [
        "2026-03-28 02:30 CET",
        "2026-03-29 03:30 CEST",
        "2026-03-30 02:30 CEST",
    ]
    autumn = rule.next_times(datetime(2026, 10, 24, tzinfo=UTC), 3)
    assert autumn == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # first of the two 02:30s
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]


@pytest.mark.parametrize("text", ["every day 0:30", "cron 30 0 * * *"])
def test_santiago_spring_gap_at_midnight(text: str) -> None:
    # Chile moves from -04 to -03 at 00:00 on 6 September 2026: 00:30 does not exist that day.
    rule = parse_recurrence(text, lang="es", tz=SANTIAGO, now=datetime(2026, 8, 1, tzinfo=UTC))
    times = rule.next_times(datetime(2026, 9, 4, 12, tzinfo=UTC), 3)
    assert [local(t, SANTIAGO) for t in times] == [
        "2026-09-05 00:30 -04",
        "2026-09-06 01:30 -03",
        "2026-09-07 00:30 -03",
    ]


@pytest.mark.parametrize("text", ["todos los días 23:30", "cron 30 23 * * *"])
def test_santiago_autumn_fold_fires_once(text: str) -> None:
    # Chile moves from -03 back to -04 at 24:00 on 4 April 2026: 23:30 happens twice.
    rule = parse_recurrence(text, lang="es", tz=SANTIAGO, now=datetime(2026, 3, 1, tzinfo=UTC))
    times = rule.next_times(datetime(2026, 4, 3, 12, tzinfo=UTC), 3)
    assert times == [
        datetime(2026, 4, 4, 2, 30, tzinfo=UTC),
        datetime(2026, 4, 5, 2, 30, tzinfo=UTC),
        datetime(2026, 4, 6, 3, 30, tzinfo=UTC),
    ]


def test_santiago_weekly_across_both_changes() -> None:
    rule = parse_recurrence("cada domingo 18:00", lang="es", tz=SANTIAGO, now=NOW)
    assert rule.next_times(datetime(2026, 3, 30, tzinfo=UTC), 2) == [
        datetime(2026, 4, 5, 22, tzinfo=UTC),  # -04 after the April change
        datetime(2026, 4, 12, 22, tzinfo=UTC),
    ]
    assert rule.next_times(datetime(2026, 9, 1, tzinfo=UTC), 2) == [
        datetime(2026, 9, 6, 21, tzinfo=UTC),  # -03 after the September change
        datetime(2026, 9, 13, 21, tzinfo=UTC),
    ]


# --- RRULE text from events ---------------------------------------------------------------


def test_rrule_from_text_uses_the_start_time_in_local_wall_clock() -> None:
    start = datetime(2026, 10, 15, 16, 0, tzinfo=UTC)  # Thursday 18:00 CEST
    rule = rrule_from_text("FREQ=WEEKLY;BYDAY=TH", start, PARIS)
    assert rule.describe() == "every Thursday at 18:00 (Europe/Paris)"
    assert rule.next_times(start - timedelta(minutes=1), 3) == [
        datetime(2026, 10, 15, 16, tzinfo=UTC),
        datetime(2026, 10, 22, 16, tzinfo=UTC),
        datetime(2026, 10, 29, 17, tzinfo=UTC),
    ]


def test_rrule_from_text_honours_until_and_count() -> None:
    start = datetime(2026, 10, 1, 16, 0, tzinfo=UTC)
    until = rrule_from_text("RRULE:FREQ=WEEKLY;BYDAY=TH;UNTIL=20261016T000000Z", start, PARIS)
    assert len(until.next_times(start - timedelta(seconds=1), 10)) == 3
    count = rrule_from_text("FREQ=DAILY;COUNT=2", start, PARIS)
    assert len(count.next_times(start - timedelta(seconds=1), 10)) == 2
    assert count.next_after(datetime(2027, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    "rule", ["FREQ=WEEKLY;BYDAY=XX", "blah", "FREQ=SECONDLY", "FREQ=FORTNIGHTLY"]
)
def test_bad_rrule_text(rule: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        rrule_from_text(rule, NOW, PARIS)
    assert caught.value.reason == "bad_recurrence"
    assert caught.value.fragment == rule


# --- either, and splitting "<when> <text>" ------------------------------------------------


def test_parse_when_picks_the_kind() -> None:
    assert isinstance(parse_when("every monday 18:00", lang="en", tz=PARIS, now=NOW), Recurrence)
    assert isinstance(parse_when("chaque lundi 18h", lang="fr", tz=PARIS, now=NOW), Recurrence)
    assert isinstance(parse_when("cron 0 18 * * 1", lang="en", tz=PARIS, now=NOW), Recurrence)
    one_off = parse_when("samedi 18h", lang="fr", tz=PARIS, now=NOW)
    assert isinstance(one_off, datetime)
    assert local(one_off) == "2026-03-21 18:00 CET"


def test_split_recurrence_and_text() -> None:
    words = typed("every monday 18:00 Assembly at the Mujawara")
    when, text = split_when_and_text(words, lang="en", tz=PARIS, now=NOW)
    assert isinstance(when, Recurrence)
    assert when.expression == "FREQ=WEEKLY;BYDAY=MO;BYHOUR=18;BYMINUTE=0"
    assert text == "Assembly at the Mujawara"


def test_split_one_off_and_text() -> None:
    words = typed("samedi 18h Réunion générale")
    when, text = split_when_and_text(words, lang="fr", tz=PARIS, now=NOW)
    assert isinstance(when, datetime)
    assert local(when) == "2026-03-21 18:00 CET"
    assert text == "Réunion générale"


def test_split_does_not_swallow_leading_glue_words_of_the_text() -> None:
    words = typed("every monday 18:00 at the park")
    when, text = split_when_and_text(words, lang="en", tz=PARIS, now=NOW)
    assert isinstance(when, Recurrence)
    assert text == "at the park"


def test_split_cron_and_text() -> None:
    words = typed("cron 0 18 * * 1 Weekly call")
    when, text = split_when_and_text(words, lang="en", tz=PARIS, now=NOW)
    assert isinstance(when, Recurrence)
    assert (when.kind, when.expression, text) == ("cron", "0 18 * * 1", "Weekly call")


def test_split_english_one_off() -> None:
    words = typed("tomorrow 9am Meeting in the park")
    when, text = split_when_and_text(words, lang="en", tz=PARIS, now=NOW)
    assert isinstance(when, datetime)
    assert local(when) == "2026-03-19 09:00 CET"
    assert text == "Meeting in the park"


def test_split_without_any_time_names_the_first_words() -> None:
    with pytest.raises(TimeParseError) as caught:
        split_when_and_text(typed("hello there dear friends of mine"), lang="en", tz=PARIS, now=NOW)
    assert caught.value.reason == "unparseable"
    assert caught.value.fragment == "hello there dear friends"


def test_split_reports_a_past_time_rather_than_garbage() -> None:
    with pytest.raises(TimeParseError) as caught:
        split_when_and_text(typed("2026-03-01 18:00 Old news"), lang="en", tz=PARIS, now=NOW)
    assert caught.value.reason == "past"


def test_split_reports_a_bad_cron() -> None:
    with pytest.raises(TimeParseError) as caught:
        split_when_and_text(typed("cron 0 99 * * 1 Text"), lang="en", tz=PARIS, now=NOW)
    assert caught.value.reason == "bad_cron"
