"""Reading a place as members type it: ``name | city | country | field: value ...``."""

from __future__ import annotations

import re

from bot.core.errors import UsageError
from bot.core.text.forms import aliases, parse_capacity, parse_edit, parse_form, parse_yes_no

FIELD_ALIASES = aliases(
    {
        "name": "name|nom|nombre|title|titre|الاسم|اسم",
        "city": "city|town|ville|ciudad|المدينة",
        "country": "country|pays|pais|البلد",
        "address": "address|public address|adresse|adresse publique|direccion|direccion publica|العنوان|عنوان",
        "languages": "languages|language|langs|lang|langues|langue|idiomas|idioma|lenguas|اللغات|اللغة",
        "capacity": "capacity|max|capacite|jauge|capacidad|cupo|plazas|السعة",
        "accessibility": "accessibility|access|accessibilite|acces|accesibilidad|acceso|إمكانية الوصول|الوصول",
        "contact": "contact|contacto|contacts|التواصل|اتصال",
        "public": "public|publique|publico|publica|عام|علني|للعموم",
    }
)
POSITIONAL = ("name", "city", "country")

PlaceValues = dict[str, str | int | bool | None]


def parse_place(text: str) -> PlaceValues:
    """A new place's values; UsageError when it has no name."""
    values = _values(parse_form(text, FIELD_ALIASES, POSITIONAL))
    if not values.get("name"):
        raise UsageError("A place needs a name.")
    return values


def parse_changes(text: str) -> PlaceValues:
    """``<field> <value>`` or ``field: value`` lines of ``!place edit``."""
    return _values(parse_edit(text, FIELD_ALIASES))


def _values(fields: dict[str, str]) -> PlaceValues:
    values: PlaceValues = {}
    for name, raw in fields.items():
        if name == "capacity":
            values[name] = parse_capacity(raw)
        elif name == "public":
            values[name] = parse_yes_no(raw)
        elif name == "languages":
            codes = [c for c in re.split(r"[,\s;/]+", raw.lower()) if c]
            values[name] = ", ".join(dict.fromkeys(codes))
        else:
            values[name] = raw.strip()
    if "name" in values and not values["name"]:
        raise UsageError("A place needs a name.")
    return values
