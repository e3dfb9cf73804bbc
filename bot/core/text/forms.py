"""Reading what members type into forms, for every feature that takes one.

One line, parts separated by ``|`` (the first parts positional, then ``field: value``), or
one ``field: value`` per line (a first line without a field is the first positional part).
Field names are matched case- and accent-insensitively through each feature's alias table.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable

from bot.core.errors import CommandError, UsageError
from bot.core.text.echo import echo

# No 0/o, 1/l/i: ids are read aloud and typed on phones.
ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ID_LENGTH = 4
_FIELD_LINE = re.compile(r"^\s*([^\W\d][\w' \-]{0,30}?)\s*:\s*(.*)$", re.UNICODE)


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
    """Lower case without accents, for matching words typed on any keyboard."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def aliases(table: dict[str, str]) -> dict[str, str]:
    """``{"title": "title|titre|título"}`` -> every folded word mapped to its canonical name."""
    return {fold(word): key for key, words in table.items() for word in words.split("|")}


def split_field(text: str, names: dict[str, str]) -> tuple[str, str] | None:
    """``field: value`` -> (canonical field, value) when the field is one of ``names``."""
    match = _FIELD_LINE.match(text)
    if not match:
        return None
    name = names.get(fold(match[1]))
    if name is None:
        return None
    return name, match[2].strip()


def _put(fields: dict[str, str], name: str, value: str) -> None:
    if name in fields:
        raise UsageError("The field {field} is given twice.", field=echo(name))
    fields[name] = value


def parse_form(text: str, names: dict[str, str], positional: tuple[str, ...]) -> dict[str, str]:
    """Raw field values by canonical name, from either form; UsageError for what is unclear."""
    fields: dict[str, str] = {}
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return fields
    one_line = len(lines) == 1 and ("|" in lines[0] or split_field(lines[0], names) is None)
    if one_line:
        parts = [p.strip() for p in lines[0].split("|")]
        position = 0
        for part in parts:
            if not part:
                continue
            named = split_field(part, names)
            if named is not None:
                _put(fields, *named)
                continue
            while position < len(positional) and positional[position] in fields:
                position += 1
            if position >= len(positional):
                raise UsageError(
                    "I did not understand {part}: after the first parts ({fields}), write `field: value`.",
                    part=echo(part),
                    fields=" | ".join(positional),
                )
            fields[positional[position]] = part
            position += 1
        return fields
    for index, line in enumerate(lines):
        named = split_field(line, names)
        if named is not None:
            _put(fields, *named)
        elif index == 0:
            fields[positional[0]] = line
        else:
            raise UsageError(
                "I did not understand the line {line}: write one `field: value` per line.",
                line=echo(line),
            )
    return fields


def parse_edit(text: str, names: dict[str, str]) -> dict[str, str]:
    """``<field> <value>`` on one line, or ``field: value`` lines."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    known = ", ".join(f"`{name}`" for name in dict.fromkeys(names.values()))
    if not lines:
        raise UsageError(
            "Say which field to change and its new value. Fields: {fields}.", fields=known
        )
    if len(lines) == 1 and split_field(lines[0], names) is None:
        name, _, value = lines[0].partition(" ")
        canonical = names.get(fold(name.rstrip(":")))
        if canonical is None:
            raise UsageError(
                "I don't know the field {field}. Fields: {fields}.",
                field=echo(name),
                fields=known,
            )
        return {canonical: value.strip()}
    fields: dict[str, str] = {}
    for line in lines:
        named = split_field(line, names)
        if named is None:
            raise UsageError(
                "I did not understand the line {line}: write one `field: value` per line.",
                line=echo(line),
            )
        _put(fields, *named)
    return fields


def parse_capacity(text: str) -> int | None:
    """A number of people, or None for "no limit"; CommandError for anything else."""
    cleaned = text.strip()
    if fold(cleaned) in {"none", "unlimited", "illimite", "ilimitado", "-", ""}:
        return None
    if not cleaned.isdigit() or int(cleaned) < 1:
        raise CommandError(
            "The capacity must be a whole number of people, such as 30 (you wrote {value}). Nothing was changed.",
            value=echo(text),
        )
    return int(cleaned)


YES_NO = aliases(
    {
        "yes": "yes|y|true|on|oui|si|vrai|نعم|أجل",
        "no": "no|n|false|off|non|faux|لا",
    }
)


def parse_yes_no(text: str) -> bool:
    """``yes``/``oui``/``sí``/``نعم`` -> True, ``no``/``non``/``لا`` -> False; else CommandError."""
    answer = YES_NO.get(fold(text))
    if answer is None:
        raise CommandError(
            "I did not understand {value}: write yes or no. Nothing was changed.",
            value=f"`{text}`",
        )
    return answer == "yes"
