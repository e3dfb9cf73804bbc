"""Operator tasks that run beside the bot (backup, export) and the data-rights registry.

Storage domains opt in by convention, so a new domain never edits this module:

- ``export_rows(db, viewers) -> dict[str, list[dict]]``: the domain's rows for an export made
  on behalf of ``viewers`` (the configured bot admins), already filtered to what they may see;
- ``forget_user(db, user_id) -> dict[str, int]``: erase (or anonymise) what the domain holds
  about one member; keys are English labels marked with ``N_`` (shown translated), values the
  number of rows erased;
- ``FORGET_KEEPS: tuple[str, ...]``: ``N_``-marked sentences saying what the domain keeps after
  ``forget_user`` (for instance anonymised aid records).

A storage domain is a module ``bot.storage.<name>``, ``bot.<feature>.storage`` or a module in a
``bot.<feature>.storage`` package, imported by :mod:`bot.storage` like every domain.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.core.config import Config
from bot.core.storage.database import Database, iso, utcnow

log = logging.getLogger(__name__)

EXPORT_FORMAT = "liaison-export"
EXPORT_VERSION = 1
_DOMAIN_NAME = re.compile(r"^bot\.(storage\.[a-z0-9_]+|[a-z0-9_]+\.storage(\.[a-z0-9_]+)?)$")
# What an export must hold, and (for domains without ``export_rows``) the tables that hold it.
# Aid requests have visibility rules only their domain knows: never exported from raw tables.
EXPORT_SECTIONS: dict[str, tuple[str, ...]] = {
    "events": ("gathering", "event", "rsvp"),
    "places": ("place",),
    "schedules": ("schedule", "announcement"),
    "aid_requests": (),
}
# A domain's own listing function (called with the database only) where one lists a section whole.
SECTION_LISTINGS: dict[str, tuple[str, str]] = {"places": ("bot.places.store", "listing")}
# Raw-table fallback never exports capabilities (feed tokens) or credentials.
_SECRET_COLUMN = re.compile(r"token|secret|password", re.IGNORECASE)


def backup(config: Config, target: Path | None = None) -> Path:
    """A consistent copy of the live database (SQLite's online backup API, safe while the bot writes)."""
    if target is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = config.storage.path / "backups" / f"liaison-{stamp}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    db = Database(config.storage.database)
    try:
        db.backup_to(target)
    finally:
        db.close()
    return target


def storage_domains() -> list[ModuleType]:
    """Every imported storage domain module, in a stable order."""
    from bot.stores import DOMAINS

    extra = [m for n, m in sorted(sys.modules.items()) if m is not None and _DOMAIN_NAME.match(n)]
    return [*DOMAINS, *extra]


# ---- export ---------------------------------------------------------------------------------


def export(config: Config) -> dict[str, Any]:
    """Events, places, schedules and the aid requests the configured admins may see, as JSON data.

    Domains that provide ``export_rows`` decide what goes out; for the others the export falls
    back to their tables, and ``missing`` says which sections could not be exported at all.
    """
    db = Database(config.storage.database)
    try:
        return export_database(db, config.bot.admins)
    finally:
        db.close()


def export_database(
    db: Database, viewers: Sequence[str], domains: Iterable[ModuleType] | None = None
) -> dict[str, Any]:
    data: dict[str, list[dict[str, Any]]] = {}
    sources: dict[str, str] = {}
    modules = list(storage_domains() if domains is None else domains)
    for module in modules:
        hook = getattr(module, "export_rows", None)
        if not callable(hook):
            continue
        for section, rows in hook(db, tuple(viewers)).items():
            if section in data:
                raise ValueError(f"export section {section!r} given by two domains")
            data[section] = [dict(row) for row in rows]
            sources[section] = f"{module.__name__}.export_rows"
    tables = _tables(db)
    missing: list[str] = []
    for section, prefixes in EXPORT_SECTIONS.items():
        if section in data or any(s.startswith(section + ".") for s in sources):
            continue
        listing = _listing(section, {m.__name__: m for m in modules})
        if listing is not None:
            data[section] = [_row(item) for item in listing(db)]
            sources[section] = f"{listing.__module__}.{listing.__name__}"
            continue
        found = [t for t in tables if t.startswith(prefixes)] if prefixes else []
        for table in found:
            key = section if len(found) == 1 else f"{section}.{table}"
            rows = db.query(f'SELECT * FROM "{table}" ORDER BY rowid')  # noqa: S608
            data[key] = [
                {k: v for k, v in row.items() if not _SECRET_COLUMN.search(k)} for row in rows
            ]
            sources[key] = f"table {table}"
        if not found:
            missing.append(
                f"{section}: no storage domain provides export_rows(db, viewers)"
                + ("" if not prefixes else " and no table holds it")
            )
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": iso(utcnow()),
        "schema_version": db.schema_version(),
        "viewers": list(viewers),
        "data": data,
        "sources": sources,
        "missing": missing,
    }


def write_export(config: Config, target: Path) -> Path:
    """Write :func:`export` to ``target``, readable by its owner only (it holds personal data)."""
    document = export(config)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2, default=_json_value)
        handle.write("\n")
    return target


def export_json(config: Config) -> str:
    return json.dumps(export(config), ensure_ascii=False, indent=2, default=_json_value)


def _listing(
    section: str, modules: dict[str, ModuleType]
) -> Callable[[Database], Iterable[Any]] | None:
    module_name, function = SECTION_LISTINGS.get(section, ("", ""))
    module = modules.get(module_name)
    listing = getattr(module, function, None) if module is not None else None
    return listing if callable(listing) else None


def _row(item: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    return dict(item)


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def _tables(db: Database) -> list[str]:
    rows = db.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name"
    )
    return [r["name"] for r in rows]


# ---- the right to be forgotten ---------------------------------------------------------------


@dataclass(frozen=True)
class ForgetReport:
    """What ``forget_user`` erased (label -> rows) and what stays (N_-marked sentences)."""

    erased: dict[str, int]
    kept: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.erased.values())


def forget_user(
    db: Database, user_id: str, domains: Iterable[ModuleType] | None = None
) -> ForgetReport:
    """Call every domain's ``forget_user``.

    Each domain keeps its own erasure atomic (it may open its own transaction); running it
    again after a failure half-way erases the rest, so the command is safe to repeat.
    """
    erased: dict[str, int] = {}
    kept: list[str] = []
    chosen = list(storage_domains() if domains is None else domains)
    for module in chosen:
        hook = getattr(module, "forget_user", None)
        if callable(hook):
            for label, count in hook(db, user_id).items():
                erased[label] = erased.get(label, 0) + int(count)
        kept.extend(getattr(module, "FORGET_KEEPS", ()))
    log.info("forgot a member: %d row(s) in %d categorie(s)", sum(erased.values()), len(erased))
    return ForgetReport(erased, tuple(dict.fromkeys(kept)))
