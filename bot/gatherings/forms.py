"""Reading what members type for a gathering: the one-line and the multi-line form.

One line, parts separated by ``|``: ``title | when | place | field: value ...``.
Several lines, one ``field: value`` per line (a first line without a field is the title).
Field names, kinds and answers are accepted in English, French and Spanish, without accents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_
from bot.core.text.echo import echo
from bot.core.text.forms import (
    aliases,
    clean_id,
    fold,
    parse_capacity,
    parse_edit,
    parse_form,
    parse_yes_no,
)
from bot.core.time.describe import Speaks
from bot.core.time.parse import (
    TimeParseError,
    parse_datetime,
    parse_duration,
    parse_recurrence,
    parse_when,
    parse_zone,
    rrule_from_text,
)
from bot.core.time.recurrence import Recurrence
from bot.core.time.refusals import time_refusal
from bot.core.time.tokens import time_of

FIELD_ALIASES = aliases(
    {
        "title": "title|titre|titulo|name|nom|nombre|عنوان|العنوان",
        "start": "when|start|date|starts|quand|debut|date de debut|cuando|inicio|fecha|متى|الموعد|البداية",
        "end": "end|ends|until|fin|hasta|jusqu'a|termine|النهاية|حتى",
        "tz": "tz|zone|timezone|time zone|fuseau|fuseau horaire|zona|zona horaria|huso horario|المنطقة الزمنية",
        "place": "place|where|venue|location|lieu|ou|lugar|donde|sitio|المكان|أين",
        "link": "link|url|lien|enlace|رابط|الرابط",
        "city": "city|town|ville|ciudad|المدينة",
        "country": "country|pays|pais|البلد",
        "description": "description|desc|details|about|descripcion|detalles|الوصف|التفاصيل",
        "kind": "kind|type|genre|tipo|category|categorie|categoria|النوع",
        "capacity": "capacity|max|seats|capacite|jauge|capacidad|cupo|plazas|السعة",
        "languages": "languages|language|langs|lang|langues|langue|idiomas|idioma|lenguas|اللغات|اللغة",
        "reminders": "reminders|reminder|remind|rappels|rappel|recordatorios|recordatorio|avisos|التذكيرات|تذكير",
        "repeat": "repeat|repeats|recurrence|rrule|repeter|repetition|repetir|repeticion|recurrencia|التكرار",
        "public": "public|publique|publico|publica|عام|علني|للعموم",
    }
)
FIELDS = tuple(dict.fromkeys(FIELD_ALIASES.values()))
POSITIONAL = ("title", "start", "place")

KINDS = ("meeting", "festival", "tour", "training", "action", "other")
KIND_LABELS = {
    "meeting": N_("meeting"),
    "festival": N_("festival"),
    "tour": N_("tour"),
    "training": N_("training"),
    "action": N_("action"),
    "other": N_("other"),
}
KIND_ALIASES = aliases(
    {
        "meeting": "meeting|meetings|assembly|call|reunion|assemblee|asamblea|encuentro|rencontre|اجتماع|لقاء",
        "festival": "festival|festivals|fest|fete|fiesta|مهرجان",
        "tour": "tour|tours|tournee|gira|itinerant|جولة",
        "training": "training|trainings|workshop|formation|atelier|formacion|taller|curso|تدريب|ورشة",
        "action": "action|actions|accion|acciones|manif|demo|protest|manifestation|manifestacion|تحرك|وقفة",
        "other": "other|autre|otro|otra|آخر|أخرى",
    }
)

ANSWERS = aliases(
    {
        "yes": "yes|y|going|go|oui|si|voy|j'y vais|نعم|سأحضر|✅|👍|✔",
        "maybe": "maybe|perhaps|peut-etre|peutetre|pe|quizas|quiza|tal vez|talvez|ربما|🤔|❓",
        "no": "no|n|not going|non|nope|لا|لن أحضر|❌|👎|✖",
    }
)
# The three documented reaction keys (others in ANSWERS are tolerated aliases).
REACTIONS = {"yes": "✅", "maybe": "🤔", "no": "❌"}

_ONLINE = re.compile(r"^(online|en ligne|en linea|en línea|visio|virtual)\b", re.IGNORECASE)
_URL = re.compile(r"https?://\S+")


def answer_for(word: str) -> str | None:
    """'oui', 'sí', '✅' -> 'yes' ...; None when not an answer."""
    cleaned = fold(word.replace("\ufe0f", ""))
    return ANSWERS.get(cleaned)


def kind_for(word: str, shown: Mapping[str, str] | None = None) -> str | None:
    """A kind from what members type: the aliases, and (``shown``) every kind's name as the
    bot shows it in any of its languages."""
    return KIND_ALIASES.get(fold(word)) or (shown or {}).get(fold(word))


def field_for(word: str) -> str | None:
    return FIELD_ALIASES.get(fold(word))


# --- from raw text to values ------------------------------------------------------------------


def time_error(
    exc: TimeParseError, t: Speaks | None = None, tz: ZoneInfo | None = None
) -> CommandError:
    """A reply quoting the part of the text that was not understood (``t``: the room's words,
    for the replies that restate what was understood)."""
    if t is not None and tz is not None:
        shared = time_refusal(exc, t, tz)
        if shared is not None:
            return shared
    fragment = echo(exc.fragment)
    if exc.reason == "past":
        return CommandError(
            "{fragment} is in the past: a gathering needs a date ahead. Nothing was changed.",
            fragment=fragment,
        )
    if exc.reason == "bad_zone":
        return CommandError(
            "{fragment} is not a time zone I know. Use a name such as Europe/Paris, Africa/Tunis or America/Bogota. Nothing was changed.",
            fragment=fragment,
        )
    if exc.reason in {"bad_recurrence", "bad_cron"}:
        return CommandError(
            "I could not understand the repetition {fragment}. Try `every monday`, `chaque mois`, `cada semana` or an RRULE such as `FREQ=WEEKLY;BYDAY=MO`. Nothing was changed.",
            fragment=fragment,
        )
    if exc.reason == "bad_duration":
        return CommandError(
            "I could not understand the duration {fragment}. Try `24h`, `1h30`, `30m` or `2d`. Nothing was changed.",
            fragment=fragment,
        )
    return CommandError(
        "I could not understand the date {fragment}. Try `2026-12-05 18:00`, `next friday 7pm`, `samedi 18h` or `el sábado a las 18:00`. Nothing was changed.",
        fragment=fragment,
    )


@dataclass
class Resolved:
    """Field values ready for storage (only the fields that were given)."""

    values: dict[str, object] = field(default_factory=dict)
    recurrence: Recurrence | None = None
    public: bool | None = None  # `public: yes|no`, given apart: publishing has its own rule


def parse_leads(text: str) -> str:
    """'24h, 1h' -> '86400,3600'; 'none' -> '' (no reminders)."""
    words = [w for w in re.split(r"[,\s;]+", text.strip()) if w]
    if len(words) == 1 and fold(words[0]) in {"none", "aucun", "ninguno", "no", "non", "0"}:
        return ""
    seconds: list[int] = []
    for word in words:
        try:
            seconds.append(int(parse_duration(word).total_seconds()))
        except TimeParseError as exc:
            raise time_error(exc) from None
    return ",".join(str(s) for s in sorted(set(seconds), reverse=True))


def parse_kind(text: str, shown: Mapping[str, str] | None = None) -> str:
    kind = kind_for(text, shown)
    if kind is None:
        raise CommandError(
            "{value} is not a kind of gathering I know. Use one of: {kinds}. Nothing was changed.",
            value=echo(text),
            kinds=", ".join(KINDS),
        )
    return kind


def parse_place(text: str, place_exists: Callable[[str], bool]) -> dict[str, object]:
    """A directory id, 'online <link>', or free text."""
    cleaned = text.strip()
    if place_exists(clean_id(cleaned)):
        return {"place_id": clean_id(cleaned), "place": ""}
    if _ONLINE.match(cleaned):
        url = _URL.search(cleaned)
        values: dict[str, object] = {"place": "online", "place_id": None}
        if url:
            values["link"] = url.group(0)
        return values
    return {"place": cleaned, "place_id": None}


def _recurrence_from(
    text: str, start: datetime, *, lang: str, tz: ZoneInfo, now: datetime
) -> Recurrence:
    """'every monday' / 'chaque mois' / 'FREQ=WEEKLY;BYDAY=MO', anchored on the start time."""
    cleaned = text.strip()
    if "FREQ=" in cleaned.upper():
        return rrule_from_text(cleaned, start, tz)
    rule = parse_recurrence(cleaned, lang=lang, tz=tz, now=now)
    if rule.kind != "rrule" or rule.expression.startswith(("FREQ=HOURLY", "FREQ=MINUTELY")):
        # a gathering repeats by the day at least; "every 2 hours" is a schedule's business
        raise TimeParseError("bad_recurrence", text)
    local = start.astimezone(tz)
    parts = [p for p in rule.expression.split(";") if not p.startswith(("BYHOUR=", "BYMINUTE="))]
    parts += [f"BYHOUR={local.hour}", f"BYMINUTE={local.minute}"]
    return Recurrence("rrule", ";".join(parts), tz.key, start)


def resolve(
    fields: dict[str, str],
    *,
    lang: str,
    default_tz: ZoneInfo,
    now: datetime,
    place_exists: Callable[[str], bool],
    current_start: datetime | None = None,
    current_end: datetime | None = None,
    t: Speaks | None = None,
    kinds: Mapping[str, str] | None = None,
) -> Resolved:
    """Turn raw fields into stored values; CommandError quoting whatever is not understood."""
    result = Resolved()
    values = result.values
    tz = default_tz
    if "tz" in fields:
        try:
            tz = parse_zone(fields["tz"])
        except TimeParseError as exc:
            raise time_error(exc) from None
        values["tz"] = tz.key
    start = current_start
    try:
        if "start" in fields:
            when = parse_when(fields["start"], lang=lang, tz=tz, now=now, need_time=True)
            if isinstance(when, Recurrence):
                if when.kind != "rrule" or when.expression.startswith(
                    ("FREQ=HOURLY", "FREQ=MINUTELY")
                ):
                    raise TimeParseError("bad_recurrence", fields["start"])
                first = when.next_after(now)
                if first is None:
                    raise TimeParseError("bad_recurrence", fields["start"])
                start = first
                result.recurrence = when
            else:
                start = when
            values["starts_at"] = start
        if "end" in fields:
            if start is None:
                raise UsageError("Give a start before an end.")
            values["ends_at"] = _end(fields["end"], start, lang=lang, tz=tz)
        elif "starts_at" in values and current_end is not None and current_start is not None:
            # moving the start keeps the length
            values["ends_at"] = start + (current_end - current_start) if start else None
        if "repeat" in fields:
            if fold(fields["repeat"]) in {"none", "never", "jamais", "nunca", "no", "non"}:
                values["rrule"] = None
                values["rrule_anchor"] = None
            else:
                if start is None:
                    raise UsageError("Give a start before a repetition.")
                result.recurrence = _recurrence_from(
                    fields["repeat"], start, lang=lang, tz=tz, now=now
                )
        if result.recurrence is not None:
            values["rrule"] = result.recurrence.expression
            values["rrule_anchor"] = start
    except TimeParseError as exc:
        raise time_error(exc, t, tz) from None
    for name in ("title", "description", "city", "country", "link"):
        if name in fields:
            values[name] = fields[name].strip()
    if "title" in fields and not values["title"]:
        raise UsageError("A gathering needs a title.")
    if "place" in fields:
        values.update(parse_place(fields["place"], place_exists))
    if "kind" in fields:
        values["kind"] = parse_kind(fields["kind"], kinds)
    if "capacity" in fields:
        values["capacity"] = parse_capacity(fields["capacity"])
    if "languages" in fields:
        codes = [c for c in re.split(r"[,\s;/]+", fields["languages"].lower()) if c]
        values["languages"] = ", ".join(dict.fromkeys(codes))
    if "reminders" in fields:
        values["reminder_leads"] = parse_leads(fields["reminders"])
    if "public" in fields:
        result.public = parse_yes_no(fields["public"])
    return result


def _end(text: str, start: datetime, *, lang: str, tz: ZoneInfo) -> datetime:
    """An end as a duration ('2h'), a time ('21h', '21:00') or a full date.

    ``<N>h`` is both a clock time and a length. It is read as the clock time when that hour comes
    later on the start's own day ('fin: 21h' after an 18:00 start ends at 21:00), otherwise as a
    length ('end: 2h' after 18:00 lasts two hours); the confirmation shows the end it understood.
    """
    clock = time_of(text)
    if clock is not None:
        local_start = start.astimezone(tz)
        at = datetime.combine(local_start.date(), clock, tzinfo=tz)
        if at > local_start:
            return at
    try:
        return start + parse_duration(text)
    except TimeParseError:
        pass
    end = parse_datetime(text, lang=lang, tz=tz, now=start, allow_past=True)
    if end <= start:
        raise CommandError(
            "The end {value} is not after the start. Nothing was changed.", value=echo(text)
        )
    if end - start > timedelta(days=366):
        raise CommandError(
            "The end {value} is more than a year after the start. Nothing was changed.",
            value=echo(text),
        )
    return end


def parse_gathering(text: str) -> dict[str, str]:
    """The raw fields of a new gathering (``title | when | place | field: value``)."""
    return parse_form(text, FIELD_ALIASES, POSITIONAL)


def parse_changes(text: str) -> dict[str, str]:
    """The fields of ``!event edit``: ``<field> <value>`` or ``field: value`` lines."""
    return parse_edit(text, FIELD_ALIASES)
