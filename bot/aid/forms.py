"""Reading aid requests and standing offers as members type them on a phone.

Two shapes, as for events:

- one line: ``housing today "Lyon, France" by:friday visibility:anonymous Bed for two nights``
  (category, urgency, location, then optional ``key:value`` words, then the description);
- several lines of ``field: value`` (field names in English, French, Spanish or Arabic).

Every refusal is a :class:`CommandError` that quotes what was not understood.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_
from bot.core.text.echo import echo
from bot.core.time.describe import Speaks
from bot.core.time.parse import TimeParseError, parse_datetime
from bot.core.time.recurrence import local_to_utc, utc_to_local_naive
from bot.core.time.refusals import time_refusal

# Labels of the default categories, for the catalogs (configured ones are shown as written).
CATEGORY_LABELS = (
    N_("material"),
    N_("financial"),
    N_("housing"),
    N_("legal"),
    N_("medical"),
    N_("transport"),
    N_("political"),
    N_("other"),
)

URGENCIES = ("today", "this_week", "this_month", "whenever")
URGENCY_LABELS = {
    "today": N_("today"),
    "this_week": N_("this week"),
    "this_month": N_("this month"),
    "whenever": N_("whenever"),
}
VISIBILITY_LABELS = {
    "network": N_("network"),
    "coordinators": N_("coordinators only"),
    "anonymous": N_("anonymous"),
}


def fold(text: str) -> str:
    """Lowercase without accents or extra spaces: 'Cette  Semaine' == 'cette semaine'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("_", " ").replace("-", " ").split())


def aliases(table: dict[str, str]) -> dict[str, str]:
    return {fold(k): v for k, v in table.items()}


URGENCY_WORDS = aliases(
    {
        "today": "today",
        "now": "today",
        "urgent": "today",
        "this week": "this_week",
        "week": "this_week",
        "this month": "this_month",
        "month": "this_month",
        "whenever": "whenever",
        "anytime": "whenever",
        "aujourd'hui": "today",
        "aujourdhui": "today",
        "cette semaine": "this_week",
        "semaine": "this_week",
        "ce mois": "this_month",
        "ce mois-ci": "this_month",
        "mois": "this_month",
        "quand possible": "whenever",
        "peu importe": "whenever",
        "hoy": "today",
        "esta semana": "this_week",
        "semana": "this_week",
        "este mes": "this_month",
        "mes": "this_month",
        "cuando sea": "whenever",
        "cuando se pueda": "whenever",
        "اليوم": "today",
        "هذا الأسبوع": "this_week",
        "الأسبوع": "this_week",
        "هذا الشهر": "this_month",
        "الشهر": "this_month",
        "في أي وقت": "whenever",
    }
)
VISIBILITY_WORDS = aliases(
    {
        "network": "network",
        "public": "network",
        "coordinators": "coordinators",
        "coordinators only": "coordinators",
        "private": "coordinators",
        "anonymous": "anonymous",
        "reseau": "network",
        "coordination": "coordinators",
        "coordinateurs": "coordinators",
        "anonyme": "anonymous",
        "red": "network",
        "coordinacion": "coordinators",
        "coordinadores": "coordinators",
        "anonimo": "anonymous",
        "anonima": "anonymous",
        "الشبكة": "network",
        "المنسقون": "coordinators",
        "المنسقين": "coordinators",
        "مجهول": "anonymous",
    }
)
YES_WORDS = frozenset(fold(w) for w in ("yes", "y", "true", "on", "oui", "si", "sí", "نعم"))
NO_WORDS = frozenset(fold(w) for w in ("no", "n", "false", "off", "non", "لا"))

# field name (folded) -> canonical field
FIELDS = aliases(
    {
        "category": "category",
        "type": "category",
        "categorie": "category",
        "categoria": "category",
        "فئة": "category",
        "الفئة": "category",
        "urgency": "urgency",
        "when": "urgency",
        "urgence": "urgency",
        "urgencia": "urgency",
        "الاستعجال": "urgency",
        "location": "location",
        "where": "location",
        "place": "location",
        "lieu": "location",
        "ville": "location",
        "lugar": "location",
        "ciudad": "location",
        "المكان": "location",
        "needed by": "needed_by",
        "by": "needed_by",
        "deadline": "needed_by",
        "date": "needed_by",
        "avant le": "needed_by",
        "pour le": "needed_by",
        "para el": "needed_by",
        "fecha": "needed_by",
        "قبل": "needed_by",
        "until": "until",
        "jusqu'au": "until",
        "jusqu'a": "until",
        "hasta": "until",
        "حتى": "until",
        "visibility": "visibility",
        "visibilite": "visibility",
        "visibilidad": "visibility",
        "الظهور": "visibility",
        "dm": "dm",
        "direct": "dm",
        "message prive": "dm",
        "mensaje directo": "dm",
        "رسالة خاصة": "dm",
        "description": "description",
        "need": "description",
        "text": "description",
        "offer": "description",
        "besoin": "description",
        "texte": "description",
        "offre": "description",
        "descripcion": "description",
        "necesidad": "description",
        "texto": "description",
        "oferta": "description",
        "الوصف": "description",
        "الحاجة": "description",
        "العرض": "description",
    }
)

# A house number, a postcode or a street word: that is an address, not a city.
_STREET_TEXT = (
    "street str strasse straße road rd avenue ave av boulevard blvd bd lane ln drive "
    "weg gasse platz allee square sq rue chemin allée allee impasse quai cours route "
    "calle avenida carrer carretera paseo plaza rua travessa via viale piazza corso "
    "شارع طريق حي زقاق"
)
_STREET_WORDS = frozenset(fold(w) for w in _STREET_TEXT.split())
_DIGIT = re.compile(r"\d")
_LINE_FIELD = re.compile(r"^\s*([^\W\d][\w' ]{0,30}?)\s*:\s*(.*)$")
# a request id: the short random ones (k3m9), or the numbers of requests made before them
_ID = re.compile(r"^#?([0-9a-z]{1,12})$")


@dataclass(frozen=True)
class RequestForm:
    category: str
    urgency: str
    city: str
    country: str
    needed_by: datetime | None
    description: str
    visibility: str
    notify_dm: bool


@dataclass(frozen=True)
class OfferForm:
    category: str
    city: str
    country: str
    until: datetime | None
    text: str


def parse_id(word: str) -> str | None:
    """The request id in ``word`` (``#k3m9``, ``K3M9``, ``12``), or None if it cannot be one."""
    match = _ID.match(word.strip().lower())
    return match[1] if match else None


@dataclass(frozen=True)
class Words:
    """Words the bot shows for categories, urgencies and visibilities, in every language it
    speaks (folded -> key): what members read in their language is accepted back."""

    categories: dict[str, str] = field(default_factory=dict)
    urgencies: dict[str, str] = field(default_factory=dict)
    visibilities: dict[str, str] = field(default_factory=dict)


def category_of(
    word: str,
    categories: tuple[str, ...],
    words: Words | None = None,
    t: Callable[..., str] | None = None,
) -> str:
    wanted = fold(word)
    for category in categories:
        if fold(category) == wanted:
            return category
    shown = (words.categories if words else {}).get(wanted)
    if shown in categories:
        return shown
    show = t or (lambda message: message)
    raise CommandError(
        "{category} is not an aid category here. Choose one of: {categories}.",
        category=echo(word),
        categories=", ".join(f"`{show(c)}`" for c in categories),
    )


def urgency_of(words: str, shown: Words | None = None) -> str:
    urgency = URGENCY_WORDS.get(fold(words)) or (shown.urgencies if shown else {}).get(fold(words))
    if urgency is None:
        raise CommandError(
            "{urgency} is not an urgency I know. Use today, this week, this month or whenever.",
            urgency=echo(words),
        )
    return urgency


def visibility_of(word: str, shown: Words | None = None) -> str:
    visibility = VISIBILITY_WORDS.get(fold(word)) or (shown.visibilities if shown else {}).get(
        fold(word)
    )
    if visibility is None:
        raise CommandError(
            "{visibility} is not a visibility I know. Use network, coordinators or anonymous.",
            visibility=echo(word),
        )
    return visibility


def yes_no(word: str) -> bool:
    folded = fold(word)
    if folded in YES_WORDS:
        return True
    if folded in NO_WORDS:
        return False
    raise CommandError("{value} is not yes or no.", value=echo(word))


def location_of(text: str) -> tuple[str, str]:
    """(city, country) from 'City, Country', 'City/Country' or 'Country'; never an address."""
    cleaned = " ".join(text.split()).strip(" ,/")
    if not cleaned:
        raise CommandError(
            "Give a location as a city and a country, for example {example}.",
            example="`Lyon, France`",
        )
    words = {fold(w).strip(".,") for w in re.split(r"[\s,/]+", cleaned)}
    if _DIGIT.search(cleaned) or words & _STREET_WORDS:
        raise CommandError(
            "{location} looks like a street address. Give only a city and a country, for example {example}: exact addresses are shared person to person, never here.",
            location=echo(text),
            example="`Lyon, France`",
        )
    parts = [p.strip() for p in re.split(r"[,/]", cleaned) if p.strip()]
    if len(parts) > 2:
        raise CommandError(
            "{location} has too many parts. Give only a city and a country, for example {example}.",
            location=echo(text),
            example="`Lyon, France`",
        )
    if len(parts) == 1:
        return "", parts[0]
    return parts[0], parts[1]


def date_of(
    text: str, *, lang: str, tz: ZoneInfo, now: datetime, t: Speaks | None = None
) -> datetime:
    """A needed-by or until date; a bare day means the end of that day in the room's zone."""
    try:
        moment = parse_datetime(text, lang=lang, tz=tz, now=now)
    except TimeParseError as exc:
        shared = time_refusal(exc, t, tz) if t is not None else None
        if shared is not None:
            raise shared from None
        if exc.reason == "past":
            raise CommandError(
                "{date} is already past. Give a date to come, for example {example}.",
                date=echo(text),
                example="`2026-12-05`",
            ) from None
        raise CommandError(
            "I could not read {date} as a date. Try for example {example}.",
            date=echo(text),
            example="`2026-12-05`",
        ) from None
    local = utc_to_local_naive(moment, tz)
    if local.time() == time(0) and not re.search(r"\d{1,2}\s*[:hH]\s*\d{2}|\d\s*[ap]m", text):
        # "friday" or "2026-12-05": the need lasts the whole day
        moment = local_to_utc(local + timedelta(days=1) - timedelta(minutes=1), tz)
    return moment


def split_fields(rest: str) -> dict[str, str]:
    """Multi-line ``field: value`` text -> canonical field -> value.

    A line without a known field continues the description (descriptions may span lines).
    """
    fields: dict[str, str] = {}
    last: str | None = None
    for line in rest.splitlines():
        if not line.strip():
            continue
        match = _LINE_FIELD.match(line)
        name = FIELDS.get(fold(match[1])) if match else None
        if match and name is not None:
            if name in fields:
                raise CommandError("The field {field} is given twice.", field=echo(match[1]))
            fields[name] = match[2].strip()
            last = name
        elif last == "description" or (last is None and "description" not in fields):
            fields["description"] = (fields.get("description", "") + "\n" + line.strip()).strip()
            last = "description"
        else:
            raise CommandError(
                "I did not understand the line {line}. Write one {form} per line.",
                line=echo(line.strip()),
                form="`field: value`",
            )
    return fields


def _is_form(rest: str) -> bool:
    return "\n" in rest.strip()


def _options(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """Leading ``key:value`` words (known keys only); the rest is the description."""
    options: dict[str, str] = {}
    index = 0
    while index < len(words):
        key, sep, value = words[index].partition(":")
        name = FIELDS.get(fold(key)) if sep else None
        if name is None or name in ("category", "location", "urgency", "description"):
            break
        if name in options:
            raise CommandError("The field {field} is given twice.", field=echo(key))
        options[name] = value
        index += 1
    return options, words[index:]


def _split_words(rest: str) -> list[str]:
    """Words, with double quotes grouping ("Lyon, France"); apostrophes stay letters."""
    table = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
    lexer = shlex.shlex(rest.translate(table), posix=True)
    lexer.quotes = '"'
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise UsageError("I could not read that command: a quote is not closed.") from exc


def parse_request(
    rest: str,
    *,
    categories: tuple[str, ...],
    lang: str,
    tz: ZoneInfo,
    now: datetime,
    words: Words | None = None,
    t: Speaks | None = None,
) -> RequestForm:
    """A request from the text after ``!aid request`` (either shape)."""
    if not rest.strip():
        raise UsageError("Tell me what is needed: category, urgency, location and a description.")
    if _is_form(rest):
        fields = split_fields(rest)
        for name, example in (
            ("category", "category: housing"),
            ("urgency", "urgency: this week"),
            ("location", "location: Lyon, France"),
        ):
            if not fields.get(name):
                raise UsageError("The field {field} is missing.", field=f"`{example}`")
    else:
        typed = _split_words(rest)
        if len(typed) < 3:
            raise UsageError(
                "Tell me what is needed: category, urgency, location and a description."
            )
        fields = {"category": typed[0]}
        # urgency may be two words ("this week", "cette semaine")
        two = fold(f"{typed[1]} {typed[2]}") if len(typed) > 3 else ""
        if two and (two in URGENCY_WORDS or (words is not None and two in words.urgencies)):
            typed = [typed[0], f"{typed[1]} {typed[2]}", *typed[3:]]
        fields["urgency"] = typed[1]
        fields["location"] = typed[2]
        options, tail = _options(typed[3:])
        fields.update(options)
        fields["description"] = " ".join(tail)
    category = category_of(fields["category"], categories, words, t)
    urgency = urgency_of(fields["urgency"], words)
    city, country = location_of(fields["location"])
    needed_by = (
        date_of(fields["needed_by"], lang=lang, tz=tz, now=now, t=t)
        if fields.get("needed_by")
        else None
    )
    visibility = (
        visibility_of(fields["visibility"], words) if fields.get("visibility") else "network"
    )
    notify_dm = yes_no(fields["dm"]) if fields.get("dm") else False
    unexpected = set(fields) - {
        "category",
        "urgency",
        "location",
        "needed_by",
        "visibility",
        "dm",
        "description",
    }
    if unexpected:
        raise CommandError(
            "The field {field} does not belong in a request.", field=echo(sorted(unexpected)[0])
        )
    description = fields.get("description", "").strip()
    if not description:
        raise UsageError("Describe what is needed: the description is missing.")
    return RequestForm(
        category, urgency, city, country, needed_by, description, visibility, notify_dm
    )


def parse_standing_offer(
    rest: str,
    *,
    categories: tuple[str, ...],
    lang: str,
    tz: ZoneInfo,
    now: datetime,
    words: Words | None = None,
    t: Speaks | None = None,
) -> OfferForm:
    """A standing offer: ``<category> <location> [until:<date>] <text>`` or a multi-line form."""
    if _is_form(rest):
        fields = split_fields(rest)
        for name, example in (
            ("category", "category: housing"),
            ("location", "location: Berlin, Germany"),
        ):
            if not fields.get(name):
                raise UsageError("The field {field} is missing.", field=f"`{example}`")
    else:
        typed = _split_words(rest)
        if len(typed) < 2:
            raise UsageError("Tell me what you offer: category, location and a description.")
        fields = {"category": typed[0], "location": typed[1]}
        options, tail = _options(typed[2:])
        fields.update(options)
        fields["description"] = " ".join(tail)
    unexpected = set(fields) - {"category", "location", "until", "needed_by", "description"}
    if unexpected:
        raise CommandError(
            "The field {field} does not belong in an offer.", field=echo(sorted(unexpected)[0])
        )
    category = category_of(fields["category"], categories, words, t)
    city, country = location_of(fields["location"])
    until_text = fields.get("until") or fields.get("needed_by")
    until = date_of(until_text, lang=lang, tz=tz, now=now, t=t) if until_text else None
    text = fields.get("description", "").strip()
    if not text:
        raise UsageError("Describe what you offer: the description is missing.")
    return OfferForm(category, city, country, until, text)
