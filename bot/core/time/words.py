"""What each language says about time, as the parser reads it, and the forms members may type.

One table per language (English, French, Spanish, Arabic; other languages get the common words
and the weekday and month names dateparser knows). The parser (``bot/core/time/parse.py``)
reads only these tables, and the README's table of supported forms is generated from
:data:`FORMS` and these tables (``python -m bot.core.time.table``), so the documentation and
the parser cannot drift apart; a test parses every example of every row.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

# The hour each part of the day means when no hour is given ("demain soir" is 19:00).
PART_HOURS = {"morning": 9, "noon": 12, "afternoon": 15, "evening": 19, "night": 21}

# Units a repetition or a delay counts in.
MINUTE, HOUR, DAY, WEEK, MONTH = "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY"

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹،", "01234567890123456789,")


def fold(text: str) -> str:
    """Lower case without accents, Arabic digits as ASCII digits: 'Sábado' == 'sabado',
    'إثنين' == 'اثنين', '٩' == '9'."""
    typed = text.translate(_ARABIC_DIGITS).replace("’", "'").casefold()
    decomposed = unicodedata.normalize("NFKD", typed)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("\u0640", "")


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.replace("_", " ") for w in text.split())


@dataclass(frozen=True)
class Words:
    """One language's time words. Multi-word phrases are written with ``_`` for spaces."""

    every: tuple[str, ...] = ()  # a repetition follows: every, tous, cada, كل
    units: Mapping[str, str] = field(default_factory=dict)  # word -> unit
    pairs: Mapping[str, str] = field(default_factory=dict)  # Arabic duals: two of a unit
    adverbs: Mapping[str, str] = field(default_factory=dict)  # daily, يوميا: a repetition alone
    workdays: tuple[str, ...] = ()  # Monday to Friday
    other: tuple[str, ...] = ()  # "every other week"
    nth: Mapping[str, int] = field(default_factory=dict)  # first..fourth, last (-1)
    days: Mapping[str, int] = field(default_factory=dict)  # today 0, tomorrow 1, ...
    parts: Mapping[str, int] = field(default_factory=dict)  # part of day -> hour
    tonight: Mapping[str, int] = field(default_factory=dict)  # today, at this hour
    next: tuple[str, ...] = ()  # next monday
    at: tuple[str, ...] = ()  # a bare hour follows: at 10, à 10, a las 10, الساعة 10
    relative: tuple[str, ...] = ()  # in 2 hours, dans 3 jours, بعد ساعتين
    to: tuple[str, ...] = ()  # monday to friday
    glue: tuple[str, ...] = ()  # only binds the phrase together
    weekdays: Mapping[str, int] = field(default_factory=dict)  # beyond dateparser's names


ENGLISH = Words(
    every=_words("every each"),
    units={
        **dict.fromkeys(_words("minute minutes min mins"), MINUTE),
        **dict.fromkeys(_words("hour hours hr hrs"), HOUR),
        **dict.fromkeys(_words("day days"), DAY),
        **dict.fromkeys(_words("week weeks"), WEEK),
        **dict.fromkeys(_words("month months"), MONTH),
    },
    adverbs={"hourly": HOUR, "daily": DAY, "weekly": WEEK, "monthly": MONTH},
    workdays=_words("weekday weekdays workday workdays"),
    other=_words("other"),
    nth={"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1},
    days={"today": 0, "tomorrow": 1, "day_after_tomorrow": 2},
    parts={
        "morning": PART_HOURS["morning"],
        "in_the_morning": PART_HOURS["morning"],
        "noon": PART_HOURS["noon"],
        "midday": PART_HOURS["noon"],
        "afternoon": PART_HOURS["afternoon"],
        "in_the_afternoon": PART_HOURS["afternoon"],
        "evening": PART_HOURS["evening"],
        "in_the_evening": PART_HOURS["evening"],
        "night": PART_HOURS["night"],
        "at_night": PART_HOURS["night"],
    },
    tonight={"tonight": PART_HOURS["evening"], "this_evening": PART_HOURS["evening"]},
    next=_words("next this coming"),
    at=_words("at"),
    relative=_words("in within"),
    to=_words("to through till until -"),
    glue=_words("on the of and"),
)

FRENCH = Words(
    every=_words("tous toutes tout toute chaque"),
    units={
        **dict.fromkeys(_words("minute minutes min"), MINUTE),
        **dict.fromkeys(_words("heure heures h"), HOUR),
        **dict.fromkeys(_words("jour jours"), DAY),
        **dict.fromkeys(_words("semaine semaines"), WEEK),
        **dict.fromkeys(_words("mois"), MONTH),
    },
    adverbs={"quotidiennement": DAY, "hebdomadaire": WEEK, "mensuellement": MONTH},
    workdays=_words("en_semaine jours_ouvrables jours_de_semaine jour_ouvrable"),
    other=_words("autre"),
    nth={
        "premier": 1,
        "première": 1,
        "deuxième": 2,
        "second": 2,
        "seconde": 2,
        "troisième": 3,
        "quatrième": 4,
        "dernier": -1,
        "dernière": -1,
    },
    days={"aujourd'hui": 0, "demain": 1, "après-demain": 2, "après_demain": 2},
    parts={
        "matin": PART_HOURS["morning"],
        "du_matin": PART_HOURS["morning"],
        "midi": PART_HOURS["noon"],
        "après-midi": PART_HOURS["afternoon"],
        "après_midi": PART_HOURS["afternoon"],
        "aprem": PART_HOURS["afternoon"],
        "de_l'après-midi": PART_HOURS["afternoon"],
        "soir": PART_HOURS["evening"],
        "soirée": PART_HOURS["evening"],
        "du_soir": PART_HOURS["evening"],
        "nuit": PART_HOURS["night"],
        "la_nuit": PART_HOURS["night"],
    },
    tonight={"ce_soir": PART_HOURS["evening"], "cette_nuit": PART_HOURS["night"]},
    next=_words("prochain prochaine ce cette"),
    at=_words("à vers"),
    relative=_words("dans d'ici"),
    to=_words("au à jusqu'au"),
    glue=_words("le la les l' du de des et en"),
)

SPANISH = Words(
    every=_words("cada todos todas"),
    units={
        **dict.fromkeys(_words("minuto minutos min"), MINUTE),
        **dict.fromkeys(_words("hora horas"), HOUR),
        **dict.fromkeys(_words("día días"), DAY),
        **dict.fromkeys(_words("semana semanas"), WEEK),
        **dict.fromkeys(_words("mes meses"), MONTH),
    },
    adverbs={"diariamente": DAY, "a_diario": DAY, "semanalmente": WEEK, "mensualmente": MONTH},
    workdays=_words("entre_semana días_laborables día_laborable días_hábiles"),
    other=_words("otro otra"),
    nth={
        "primer": 1,
        "primero": 1,
        "primera": 1,
        "segundo": 2,
        "segunda": 2,
        "tercer": 3,
        "tercero": 3,
        "tercera": 3,
        "cuarto": 4,
        "cuarta": 4,
        "último": -1,
        "última": -1,
    },
    days={"hoy": 0, "mañana": 1, "pasado_mañana": 2},
    parts={
        "por_la_mañana": PART_HOURS["morning"],
        "de_la_mañana": PART_HOURS["morning"],
        "mediodía": PART_HOURS["noon"],
        "al_mediodía": PART_HOURS["noon"],
        # "la tarde" runs from lunch to nightfall: the bot reads it as 17:00
        "tarde": 17,
        "por_la_tarde": 17,
        "de_la_tarde": 17,
        "noche": PART_HOURS["night"],
        "por_la_noche": PART_HOURS["night"],
        "de_la_noche": PART_HOURS["night"],
    },
    tonight={"esta_noche": PART_HOURS["night"], "esta_tarde": 17},
    next=_words("próximo próxima que_viene este esta"),
    at=_words("a_las a_la"),
    relative=_words("en dentro_de"),
    to=_words("a al hasta"),
    glue=_words("el la las los del de y"),
)

ARABIC = Words(
    every=_words("كل"),
    units={
        **dict.fromkeys(_words("دقيقة دقائق"), MINUTE),
        **dict.fromkeys(_words("ساعة ساعات"), HOUR),
        **dict.fromkeys(_words("يوم أيام"), DAY),
        **dict.fromkeys(_words("أسبوع أسابيع"), WEEK),
        **dict.fromkeys(_words("شهر أشهر شهور"), MONTH),
    },
    pairs={
        **dict.fromkeys(_words("دقيقتين دقيقتان"), MINUTE),
        **dict.fromkeys(_words("ساعتين ساعتان"), HOUR),
        **dict.fromkeys(_words("يومين يومان"), DAY),
        **dict.fromkeys(_words("أسبوعين أسبوعان"), WEEK),
        **dict.fromkeys(_words("شهرين شهران"), MONTH),
    },
    adverbs={"يوميا": DAY, "أسبوعيا": WEEK, "شهريا": MONTH},
    nth={
        "أول": 1,
        "الأول": 1,
        "ثاني": 2,
        "الثاني": 2,
        "ثالث": 3,
        "الثالث": 3,
        "رابع": 4,
        "الرابع": 4,
        "آخر": -1,
        "الأخير": -1,
    },
    days={"اليوم": 0, "غدا": 1, "بكرة": 1, "بكره": 1, "بعد_غد": 2, "بعد_الغد": 2},
    parts={
        "صباحا": PART_HOURS["morning"],
        "صباح": PART_HOURS["morning"],
        "الصباح": PART_HOURS["morning"],
        "ظهرا": PART_HOURS["noon"],
        "الظهر": PART_HOURS["noon"],
        "بعد_الظهر": PART_HOURS["afternoon"],
        "عصرا": PART_HOURS["afternoon"],
        "العصر": PART_HOURS["afternoon"],
        "مساء": PART_HOURS["evening"],
        "مساءً": PART_HOURS["evening"],
        "المساء": PART_HOURS["evening"],
        "ليلا": PART_HOURS["night"],
        "الليل": PART_HOURS["night"],
    },
    tonight={"الليلة": PART_HOURS["night"], "هذا_المساء": PART_HOURS["evening"]},
    next=_words("القادم القادمة المقبل المقبلة هذا هذه"),
    at=_words("الساعة عند"),
    relative=_words("بعد خلال"),
    to=_words("إلى الى حتى"),
    glue=_words("في من و على"),
    weekdays={
        "اثنين": 0,
        "الاثنين": 0,
        "الإثنين": 0,
        "ثلاثاء": 1,
        "الثلاثاء": 1,
        "أربعاء": 2,
        "الأربعاء": 2,
        "خميس": 3,
        "الخميس": 3,
        "جمعة": 4,
        "الجمعة": 4,
        "سبت": 5,
        "السبت": 5,
        "أحد": 6,
        "الأحد": 6,
    },
)

# Words of languages without a table of their own (the parser also knows their weekday and
# month names from dateparser): enough for "sábado às 18h" or "Samstag um 18 Uhr".
COMMON = Words(
    every=_words("todos todas todo toda jeden jede jeder"),
    units={
        **dict.fromkeys(_words("tag tage"), DAY),
        **dict.fromkeys(_words("woche wochen"), WEEK),
        **dict.fromkeys(_words("monat monate"), MONTH),
    },
    next=_words("nachsten nachster nachste kommenden diesen bu gelecek"),
    at=_words("as um alle om saat"),
    relative=_words("em daqui_a"),
    glue=_words("o os do da e der die den am"),
)

VOCABULARY: dict[str, Words] = {"en": ENGLISH, "fr": FRENCH, "es": SPANISH, "ar": ARABIC}
TABLE_LANGUAGES = ("en", "fr", "es", "ar")


@dataclass(frozen=True)
class Lexicon:
    """The words the parser accepts in a room of one language: its own, English, the common
    ones, and dateparser's weekday and month names. Everything is folded."""

    every: frozenset[str]
    units: dict[str, str]
    pairs: dict[str, str]
    adverbs: dict[str, str]
    workdays: frozenset[str]
    other: frozenset[str]
    nth: dict[str, int]
    days: dict[str, int]
    parts: dict[str, int]
    tonight: dict[str, int]
    next: frozenset[str]
    at: frozenset[str]
    relative: frozenset[str]
    to: frozenset[str]
    glue: frozenset[str]
    weekdays: dict[str, int]
    months: dict[str, int]
    longest_phrase: int


_WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH_KEYS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


@cache
def _locale_info(lang: str) -> dict[str, object]:
    from dateparser.languages.loader import default_loader

    try:
        return dict(default_loader.get_locale(lang).info)
    except ValueError:
        return {}


def _names(lang: str, keys: tuple[str, ...]) -> dict[str, int]:
    names: dict[str, int] = {}
    for index, key in enumerate(keys):
        for name in _locale_info(lang).get(key, []) or []:  # type: ignore[attr-defined]
            folded = fold(str(name)).rstrip(".")
            # two-letter abbreviations ("sa", "mo") are ordinary words in too many languages
            if len(folded) >= 3:
                names.setdefault(folded, index)
    return names


@cache
def lexicon(lang: str) -> Lexicon:
    """The folded words for a room speaking ``lang`` (its own table first, then English)."""
    base = lang.lower().split("-")[0].split("_")[0]
    tables = [VOCABULARY[base]] if base in VOCABULARY else []
    tables += [ENGLISH, COMMON] if base != "en" else [ENGLISH]

    def merged_set(name: str) -> frozenset[str]:
        return frozenset(fold(w) for t in tables for w in getattr(t, name))

    def merged_map(name: str) -> dict[str, object]:
        result: dict[str, object] = {}
        for table in tables:
            for word, value in getattr(table, name).items():
                result.setdefault(fold(word.replace("_", " ")), value)
        return result

    weekdays: dict[str, int] = {}
    months: dict[str, int] = {}
    for source in dict.fromkeys([base, "en", "fr", "es"]):
        for name, index in _names(source, _WEEKDAY_KEYS).items():
            weekdays.setdefault(name, index)
        for name, index in _names(source, _MONTH_KEYS).items():
            months.setdefault(name, index + 1)
    for table in tables:
        for name, index in table.weekdays.items():
            weekdays.setdefault(fold(name), index)
    # plurals: "lundis", "mondays", "sábados"
    for name, index in list(weekdays.items()):
        if name.isascii():
            weekdays.setdefault(name + "s", index)
    every = merged_set("every")
    parts = {k: int(v) for k, v in merged_map("parts").items()}  # type: ignore[call-overload]
    phrases = [
        *every,
        *merged_map("units"),
        *merged_map("adverbs"),
        *merged_set("workdays"),
        *parts,
        *merged_map("tonight"),
        *merged_map("days"),
        *merged_set("next"),
        *merged_set("at"),
        *merged_set("relative"),
    ]
    return Lexicon(
        every=every,
        units={k: str(v) for k, v in merged_map("units").items()},
        pairs={k: str(v) for k, v in merged_map("pairs").items()},
        adverbs={k: str(v) for k, v in merged_map("adverbs").items()},
        workdays=merged_set("workdays"),
        other=merged_set("other"),
        nth={k: int(v) for k, v in merged_map("nth").items()},  # type: ignore[call-overload]
        days={k: int(v) for k, v in merged_map("days").items()},  # type: ignore[call-overload]
        parts=parts,
        tonight={k: int(v) for k, v in merged_map("tonight").items()},  # type: ignore[call-overload]
        next=merged_set("next"),
        at=merged_set("at"),
        relative=merged_set("relative"),
        to=merged_set("to"),
        glue=merged_set("glue"),
        weekdays=weekdays,
        months=months,
        longest_phrase=max(len(p.split()) for p in phrases),
    )


# --- the forms members may type, for the README's table (each example is tested) ------------


@dataclass(frozen=True)
class Form:
    """One way of saying when, with an example per language and what it must be read as.

    ``expect`` is, for a one-off, the local time it means when typed on Wednesday 18 March
    2026 at 11:00 in Europe/Paris ("2026-03-21 18:00"); for a repetition its rule ("FREQ=...");
    for a refusal the reason ("impossible_date"). A language may differ (``expect_in``).
    """

    kind: str  # once | repeating | refused
    name: str
    examples: Mapping[str, str]
    expect: str
    expect_in: Mapping[str, str] = field(default_factory=dict)

    def expected(self, lang: str) -> str:
        return self.expect_in.get(lang, self.expect)


FORMS: tuple[Form, ...] = (
    Form(
        "once",
        "date and time",
        {l: "2026-12-05 18:00" for l in TABLE_LANGUAGES},  # noqa: E741
        "2026-12-05 18:00",
    ),
    Form(
        "once",
        "weekday and time",
        {
            "en": "saturday 7pm",
            "fr": "samedi 18h",
            "es": "el sábado a las 18:00",
            "ar": "السبت 18:00",
        },
        "2026-03-21 18:00",
        {"en": "2026-03-21 19:00"},
    ),
    Form(
        "once",
        "next weekday at an hour",
        {
            "en": "next monday at 10",
            "fr": "lundi prochain à 10h",
            "es": "el próximo lunes a las 10",
            "ar": "الاثنين القادم الساعة 10",
        },
        "2026-03-23 10:00",
    ),
    Form(
        "once",
        "tomorrow and time",
        {"en": "tomorrow 9:00", "fr": "demain 9h", "es": "mañana 9:00", "ar": "غدا 9:00"},
        "2026-03-19 09:00",
    ),
    Form(
        "once",
        "a day and a part of the day",
        {
            "en": "tomorrow evening",
            "fr": "demain soir",
            "es": "mañana por la tarde",
            "ar": "غدا مساء",
        },
        "2026-03-19 19:00",
        {"es": "2026-03-19 17:00"},
    ),
    Form(
        "once",
        "tonight",
        {"en": "tonight", "fr": "ce soir", "es": "esta noche", "ar": "الليلة"},
        "2026-03-18 19:00",
        {"es": "2026-03-18 21:00", "ar": "2026-03-18 21:00"},
    ),
    Form(
        "once",
        "day and month",
        {
            "en": "5 december 18:00",
            "fr": "le 5 décembre à 18h",
            "es": "5 de diciembre 18:00",
            "ar": "5 ديسمبر 18:00",
        },
        "2026-12-05 18:00",
    ),
    Form(
        "once",
        "in a few hours",
        {"en": "in 2 hours", "fr": "dans 2 heures", "es": "en 2 horas", "ar": "بعد ساعتين"},
        "2026-03-18 13:00",
    ),
    Form(
        "once",
        "in a few days",
        {"en": "in 3 days", "fr": "dans 3 jours", "es": "en 3 días", "ar": "بعد 3 أيام"},
        "2026-03-21 11:00",
    ),
    Form(
        "repeating",
        "every few minutes",
        {
            "en": "every 30 minutes",
            "fr": "toutes les 30 minutes",
            "es": "cada 30 minutos",
            "ar": "كل 30 دقيقة",
        },
        "FREQ=MINUTELY;INTERVAL=30",
    ),
    Form(
        "repeating",
        "every hour",
        {"en": "every hour", "fr": "toutes les heures", "es": "cada hora", "ar": "كل ساعة"},
        "FREQ=HOURLY",
    ),
    Form(
        "repeating",
        "every few hours",
        {
            "en": "every 2 hours",
            "fr": "toutes les 2 heures",
            "es": "cada 2 horas",
            "ar": "كل ساعتين",
        },
        "FREQ=HOURLY;INTERVAL=2",
    ),
    Form(
        "repeating",
        "every day at an hour",
        {
            "en": "every day 9:00",
            "fr": "tous les jours 9h",
            "es": "todos los días 9:00",
            "ar": "كل يوم 9:00",
        },
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
    ),
    Form(
        "repeating",
        "every few days",
        {
            "en": "every 3 days 9:00",
            "fr": "tous les 3 jours 9h",
            "es": "cada 3 días 9:00",
            "ar": "كل 3 أيام 9:00",
        },
        "FREQ=DAILY;INTERVAL=3;BYHOUR=9;BYMINUTE=0",
    ),
    Form(
        "repeating",
        "one weekday every week",
        {
            "en": "every monday 18:00",
            "fr": "tous les lundis 18h",
            "es": "cada lunes 18:00",
            "ar": "كل اثنين 18:00",
        },
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=18;BYMINUTE=0",
    ),
    Form(
        "repeating",
        "every few weeks",
        {
            "en": "every 2 weeks on friday 17:00",
            "fr": "toutes les 2 semaines le vendredi 17h",
            "es": "cada 2 semanas el viernes 17:00",
            "ar": "كل أسبوعين يوم الجمعة 17:00",
        },
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=17;BYMINUTE=0",
    ),
    Form(
        "repeating",
        "Monday to Friday",
        {
            "en": "weekdays 8:00",
            "fr": "du lundi au vendredi 8h",
            "es": "de lunes a viernes 8:00",
            "ar": "من الاثنين إلى الجمعة 8:00",
        },
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=0",
    ),
    Form(
        "repeating",
        "a day of every month",
        {
            "en": "every month on the 1st at 9:00",
            "fr": "le 1er de chaque mois 9h",
            "es": "el día 1 de cada mes 9:00",
            "ar": "يوم 1 من كل شهر 9:00",
        },
        "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0",
    ),
    Form(
        "repeating",
        "first weekday of every month",
        {
            "en": "first monday of every month 18:00",
            "fr": "le premier lundi de chaque mois 18h",
            "es": "el primer lunes de cada mes 18:00",
            "ar": "أول اثنين من كل شهر 18:00",
        },
        "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=18;BYMINUTE=0",
    ),
    Form(
        "repeating",
        "last weekday of every month",
        {
            "en": "last friday of every month 17:00",
            "fr": "le dernier vendredi de chaque mois 17h",
            "es": "el último viernes de cada mes 17:00",
            "ar": "آخر جمعة من كل شهر 17:00",
        },
        "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17;BYMINUTE=0",
    ),
    Form(
        "repeating",
        "cron (minute hour day month weekday)",
        {l: "cron 0 18 * * 1" for l in TABLE_LANGUAGES},  # noqa: E741
        "cron 0 18 * * 1",
    ),
    Form(
        "refused",
        "a date that does not exist",
        {"en": "february 31", "fr": "31 février", "es": "31 de febrero", "ar": "31 فبراير"},
        "impossible_date",
    ),
    Form(
        "refused",
        "a day without an hour (where an hour is needed)",
        {"en": "tomorrow", "fr": "demain", "es": "mañana", "ar": "غدا"},
        "no_time",
    ),
)
