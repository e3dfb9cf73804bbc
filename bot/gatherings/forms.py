"""Reading what members type for a gathering: the one-line and the multi-line form.

One line, parts separated by ``|``: ``title | when | place | field: value ...``.
Several lines, one ``field: value`` per line (a first line without a field is the title).
Field names, kinds and answers are accepted in English, French and Spanish, without accents.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_
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

# No 0/o, 1/l/i: ids are read aloud and typed on phones.
ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ID_LENGTH = 4


def new_id(taken: Callable[[str], bool], length: int = ID_LENGTH) -> str:
    """A short random id not yet ``taken``; grows by one character if the space gets crowded."""
    for attempt in range(40):
        size = length + attempt // 20
        candidate = "".join(secrets.choice(ID_ALPHABET) for _ in range(size))
        if not taken(candidate):
            return candidate
    raise RuntimeError("no free id found")


def clean_id(text: str) -> str:
    return text.strip().lstrip("#").lower()


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _aliases(table: dict[str, str]) -> dict[str, str]:
    return {fold(word): key for key, words in table.items() for word in words.split("|")}


FIELD_ALIASES = _aliases(
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
KIND_ALIASES = _aliases(
    {
        "meeting": "meeting|meetings|assembly|call|reunion|assemblee|asamblea|encuentro|rencontre|اجتماع|لقاء",
        "festival": "festival|festivals|fest|fete|fiesta|مهرجان",
        "tour": "tour|tours|tournee|gira|itinerant|جولة",
        "training": "training|trainings|workshop|formation|atelier|formacion|taller|curso|تدريب|ورشة",
        "action": "action|actions|accion|acciones|manif|demo|protest|manifestation|manifestacion|تحرك|وقفة",
        "other": "other|autre|otro|otra|آخر|أخرى",
    }
)

ANSWERS = _aliases(
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
_FIELD_LINE = re.compile(r"^\s*([^\W\d][\w' \-]{0,30}?)\s*:\s*(.*)$", re.UNICODE)


def answer_for(word: str) -> str | None:
    """'oui', 'sí', '✅' -> 'yes' ...; None when not an answer."""
    cleaned = fold(word.replace("\ufe0f", ""))
    return ANSWERS.get(cleaned)


def kind_for(word: str) -> str | None:
    return KIND_ALIASES.get(fold(word))


def field_for(word: str) -> str | None:
    return FIELD_ALIASES.get(fold(word))


PLACE_FIELD_ALIASES = _aliases(
    {
        "name": "name|nom|nombre|title|titre",
        "city": "city|town|ville|ciudad|المدينة",
        "country": "country|pays|pais|البلد",
        "languages": "languages|language|langs|lang|langues|langue|idiomas|idioma|lenguas|اللغات|اللغة",
        "capacity": "capacity|max|capacite|jauge|capacidad|cupo|plazas",
        "accessibility": "accessibility|access|accessibilite|acces|accesibilidad|acceso",
        "contact": "contact|contacto|contacts",
    }
)
PLACE_POSITIONAL = ("name", "city", "country")


def _split_field(text: str, aliases: dict[str, str] = FIELD_ALIASES) -> tuple[str, str] | None:
    match = _FIELD_LINE.match(text)
    if not match:
        return None
    name = aliases.get(fold(match[1]))
    if name is None:
        return None
    return name, match[2].strip()


def _put(fields: dict[str, str], name: str, value: str) -> None:
    if name in fields:
        raise UsageError("The field {field} is given twice.", field=f"`{name}`")
    fields[name] = value


def parse_form(
    text: str,
    aliases: dict[str, str] = FIELD_ALIASES,
    positional: tuple[str, ...] = POSITIONAL,
) -> dict[str, str]:
    """Raw field values by canonical name, from either form; UsageError for what is unclear."""
    fields: dict[str, str] = {}
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return fields
    one_line = len(lines) == 1 and ("|" in lines[0] or _split_field(lines[0], aliases) is None)
    if one_line:
        parts = [p.strip() for p in lines[0].split("|")]
        position = 0
        for part in parts:
            if not part:
                continue
            named = _split_field(part, aliases)
            if named is not None:
                _put(fields, *named)
                continue
            while position < len(positional) and positional[position] in fields:
                position += 1
            if position >= len(positional):
                raise UsageError(
                    "I did not understand {part}: after the first parts ({fields}), write `field: value`.",
                    part=f"`{part}`",
                    fields=" | ".join(positional),
                )
            fields[positional[position]] = part
            position += 1
        return fields
    for index, line in enumerate(lines):
        named = _split_field(line, aliases)
        if named is not None:
            _put(fields, *named)
        elif index == 0:
            fields[positional[0]] = line
        else:
            raise UsageError(
                "I did not understand the line {line}: write one `field: value` per line.",
                line=f"`{line}`",
            )
    return fields


# --- from raw text to values ------------------------------------------------------------------


def time_error(exc: TimeParseError) -> CommandError:
    """A reply quoting the part of the text that was not understood."""
    fragment = f"`{exc.fragment}`"
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


def parse_capacity(text: str) -> int | None:
    cleaned = text.strip()
    if fold(cleaned) in {"none", "unlimited", "illimite", "ilimitado", "-", ""}:
        return None
    if not cleaned.isdigit() or int(cleaned) < 1:
        raise CommandError(
            "The capacity must be a whole number of people, such as 30 (you wrote {value}). Nothing was changed.",
            value=f"`{text}`",
        )
    return int(cleaned)


def parse_kind(text: str) -> str:
    kind = kind_for(text)
    if kind is None:
        raise CommandError(
            "{value} is not a kind of gathering I know. Use one of: {kinds}. Nothing was changed.",
            value=f"`{text}`",
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
    if rule.kind != "rrule":
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
            when = parse_when(fields["start"], lang=lang, tz=tz, now=now)
            if isinstance(when, Recurrence):
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
        raise time_error(exc) from None
    for name in ("title", "description", "city", "country", "link"):
        if name in fields:
            values[name] = fields[name].strip()
    if "title" in fields and not values["title"]:
        raise UsageError("A gathering needs a title.")
    if "place" in fields:
        values.update(parse_place(fields["place"], place_exists))
    if "kind" in fields:
        values["kind"] = parse_kind(fields["kind"])
    if "capacity" in fields:
        values["capacity"] = parse_capacity(fields["capacity"])
    if "languages" in fields:
        codes = [c for c in re.split(r"[,\s;/]+", fields["languages"].lower()) if c]
        values["languages"] = ", ".join(dict.fromkeys(codes))
    if "reminders" in fields:
        values["reminder_leads"] = parse_leads(fields["reminders"])
    return result


def _end(text: str, start: datetime, *, lang: str, tz: ZoneInfo) -> datetime:
    """An end as a duration ('2h'), a time ('20h', read after the start) or a full date."""
    try:
        return start + parse_duration(text)
    except TimeParseError:
        pass
    end = parse_datetime(text, lang=lang, tz=tz, now=start, allow_past=True)
    if end <= start:
        raise CommandError(
            "The end {value} is not after the start. Nothing was changed.", value=f"`{text}`"
        )
    if end - start > timedelta(days=366):
        raise CommandError(
            "The end {value} is more than a year after the start. Nothing was changed.",
            value=f"`{text}`",
        )
    return end


def parse_edit(text: str, aliases: dict[str, str] = FIELD_ALIASES) -> dict[str, str]:
    """``<field> <value>`` on one line, or ``field: value`` lines."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    known = ", ".join(f"`{name}`" for name in dict.fromkeys(aliases.values()))
    if not lines:
        raise UsageError(
            "Say which field to change and its new value. Fields: {fields}.", fields=known
        )
    if len(lines) == 1 and _split_field(lines[0], aliases) is None:
        name, _, value = lines[0].partition(" ")
        canonical = aliases.get(fold(name.rstrip(":")))
        if canonical is None:
            raise UsageError(
                "I don't know the field {field}. Fields: {fields}.",
                field=f"`{name}`",
                fields=known,
            )
        return {canonical: value.strip()}
    fields: dict[str, str] = {}
    for line in lines:
        named = _split_field(line, aliases)
        if named is None:
            raise UsageError(
                "I did not understand the line {line}: write one `field: value` per line.",
                line=f"`{line}`",
            )
        _put(fields, *named)
    return fields
