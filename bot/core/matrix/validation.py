"""nio's event validation, compiled: the same schemas and verdicts, about nine times faster.

matrix-nio checks every event of every sync against its JSON schemas with ``jsonschema``,
which walks the schema anew for each event: the full state of 1,000 rooms (7,500 events) took
about a second to validate at each restart, longer than everything else the bot does between
the homeserver's answer and being ready. ``fastjsonschema`` compiles each of nio's schemas once
into Python code and checks the same rules (draft 4, the schemas' defaults filled in as nio's
validator does, nio's own ``user_id`` and ``http_url`` formats). A failure is raised as
jsonschema's ``ValidationError``, the exception nio catches, so a malformed event still becomes
nio's ``BadEvent`` and a malformed response nio's error response.

Only the schemas nio ships are compiled (they live as long as the process); any other schema
goes to nio's own validator unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable
from typing import Any

import fastjsonschema
import jsonschema
from nio import schemas as nio_schemas

log = logging.getLogger(__name__)

DRAFT_4 = "http://json-schema.org/draft-04/schema#"


class CompiledValidator:
    """What nio's ``validate_json`` calls: ``Validator(schema, format_checker=...).validate(x)``."""

    def __init__(self, check: Callable[[Any], Any]) -> None:
        self._check = check

    def validate(self, instance: Any) -> None:
        try:
            self._check(instance)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise jsonschema.ValidationError(exc.message) from None


def _format_predicate(check: Callable[[Any], Any], raises: Any) -> Callable[[str], bool]:
    """nio's format checks raise on a bad value; fastjsonschema wants a yes or no."""

    def predicate(value: str) -> bool:
        try:
            return bool(check(value))
        except raises:
            return False

    return predicate


def nio_formats() -> dict[str, Callable[[str], bool]]:
    """The formats nio registered on its own checker (the standard ones fastjsonschema knows)."""
    standard = jsonschema.FormatChecker.checkers
    return {
        name: _format_predicate(check, raises)
        for name, (check, raises) in nio_schemas.Checker.checkers.items()
        if name not in standard
    }


def nio_validator() -> Any:
    """nio's own (jsonschema) validator class, whether or not ours is installed."""
    return getattr(nio_schemas.Validator, "original", nio_schemas.Validator)


def nio_schema_dicts() -> list[dict[str, Any]]:
    return [v for v in vars(nio_schemas.Schemas).values() if isinstance(v, dict)]


def compile_schema(
    schema: dict[str, Any], formats: dict[str, Callable[[str], bool]]
) -> CompiledValidator:
    prepared = {"$schema": DRAFT_4, **as_nio_reads_it(schema)}
    return CompiledValidator(fastjsonschema.compile(prepared, formats=formats))


SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SUBSCHEMA_MAPS = ("properties", "patternProperties", "definitions")


def as_nio_reads_it(schema: Any) -> Any:
    """A copy of ``schema`` that means, to fastjsonschema, what it means to nio's validator.

    nio's validator fills a property's default while it checks ``properties``, before any
    ``required`` that follows, and then checks the default it filled in (so a default ``{}``
    gets its own properties' defaults). fastjsonschema checks ``required`` first and fills a
    default as written. So: a property with a default is not required when ``properties``
    comes first, and an object or list default is given the defaults nio would fill into it.
    """
    if not isinstance(schema, dict):
        return schema
    prepared: dict[str, Any] = {}
    for key, value in schema.items():
        if key in SUBSCHEMA_MAPS and isinstance(value, dict):
            prepared[key] = {name: _with_full_default(sub) for name, sub in value.items()}
        elif key in SUBSCHEMA_LISTS and isinstance(value, list):
            prepared[key] = [as_nio_reads_it(sub) for sub in value]
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            prepared[key] = as_nio_reads_it(value)
        elif key == "items" and isinstance(value, list):
            prepared[key] = [as_nio_reads_it(sub) for sub in value]
        else:
            prepared[key] = value
    keys = list(schema)
    if (
        "required" in schema
        and "properties" in schema
        and (keys.index("properties") < keys.index("required"))
    ):
        defaulted = {n for n, sub in schema["properties"].items() if "default" in sub}
        prepared["required"] = [n for n in schema["required"] if n not in defaulted]
        if not prepared["required"]:
            del prepared["required"]  # draft 4: the list must not be empty
    return prepared


def _with_full_default(sub: Any) -> Any:
    prepared = as_nio_reads_it(sub)
    if isinstance(sub, dict) and isinstance(sub.get("default"), dict | list):
        filled = copy.deepcopy(sub["default"])
        with contextlib.suppress(jsonschema.ValidationError):
            nio_validator()(sub, format_checker=nio_schemas.Checker).validate(filled)
        prepared["default"] = filled
    return prepared


class ValidatorFactory:
    """Stands in for nio's ``Validator`` class: a compiled validator per nio schema, built once."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self._formats = nio_formats()
        # keyed by id: nio's schemas are module attributes, alive (and their ids unique) for good
        self._known = {id(schema): schema for schema in nio_schema_dicts()}
        self._compiled: dict[int, Any] = {}

    def __call__(self, schema: dict[str, Any], format_checker: Any = None) -> Any:
        key = id(schema)
        validator = self._compiled.get(key)
        if validator is not None:
            return validator
        if self._known.get(key) is not schema:
            return self.original(schema, format_checker=format_checker)
        try:
            validator = compile_schema(schema, self._formats)
        except fastjsonschema.JsonSchemaDefinitionException as exc:
            # one nio schema is itself malformed (delete_devices): nio's validator copes
            log.debug("nio schema not compiled, validated as before: %s", exc)
            validator = self.original(schema, format_checker=format_checker)
        self._compiled[key] = validator
        return validator


def install() -> None:
    """Route nio's validation through compiled schemas (idempotent)."""
    if not isinstance(nio_schemas.Validator, ValidatorFactory):
        nio_schemas.Validator = ValidatorFactory(nio_schemas.Validator)
