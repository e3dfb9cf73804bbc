"""Members' data, whole: backups, exports and the right to be forgotten, through features' hooks.

Each feature declares what it exports (``Feature.export``, already filtered to what the
configured bot admins may see) and how it forgets one member (``Feature.forget``, with the
``N_``-marked sentences of what it keeps). Nothing here reads a feature's tables: a section no
feature can export is named in the export's ``missing`` list instead.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.feature import Feature
from bot.core.matrix import crosssigning
from bot.core.storage import roomstate
from bot.core.storage.database import Database, iso, utcnow

log = logging.getLogger(__name__)

EXPORT_FORMAT = "liaison-export"
EXPORT_VERSION = 1


def backup(db: Database, directory: Path, target: Path | None = None) -> Path:
    """A consistent copy of the live database (SQLite's online backup API, safe while the bot writes)."""
    if target is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = directory / "backups" / f"liaison-{stamp}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    db.backup_to(target)
    return target


def backup_keys(directory: Path, target: Path) -> Path | None:
    """Copy the cross-signing keys beside a database backup (owner-only); None if there are none."""
    source = directory / crosssigning.KEY_FILE
    if not source.exists():
        return None
    copy = target.with_name(target.stem + ".cross-signing.json")
    crosssigning.write_private(copy, source.read_text(encoding="utf-8"))
    return copy


@dataclass(frozen=True)
class ForgetReport:
    """What the features erased (label -> rows) and what stays (N_-marked sentences)."""

    erased: dict[str, int]
    kept: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.erased.values())


class DataRights:
    """Export and forget across every feature that declared a hook."""

    def __init__(self, db: Database, features: Sequence[Feature]) -> None:
        self.db = db
        self.features = list(features)

    def export(self, viewers: Sequence[str]) -> dict[str, Any]:
        """Every feature's rows for ``viewers``, as one JSON-ready document."""
        data: dict[str, list[dict[str, Any]]] = {}
        sources: dict[str, str] = {}
        missing: list[str] = []
        for feature in self.features:
            if feature.export is None:
                continue
            try:
                sections = feature.export(tuple(viewers))
            except sqlite3.Error as exc:
                log.error("the %s export failed: %s", feature.name, exc)
                missing.extend(
                    f"{s}: {feature.name} could not read it" for s in feature.export_sections
                )
                continue
            for section, rows in sections.items():
                if section in data:
                    raise ValueError(f"export section {section!r} given by two features")
                data[section] = [_row(row) for row in rows]
                sources[section] = feature.name
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": iso(utcnow()),
            "schema_version": self.db.schema_version(),
            "viewers": list(viewers),
            "data": data,
            "sources": sources,
            "missing": missing,
        }

    def write_export(self, viewers: Sequence[str], target: Path) -> Path:
        """Write :meth:`export` to ``target``, readable by its owner only (it holds personal data)."""
        document = self.export(viewers)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, indent=2, default=_json_value)
            handle.write("\n")
        return target

    def export_json(self, viewers: Sequence[str]) -> str:
        return json.dumps(self.export(viewers), ensure_ascii=False, indent=2, default=_json_value)

    def forget(self, user_id: str) -> ForgetReport:
        """Call every feature's forget hook.

        Each feature keeps its own erasure atomic (it may open its own transaction); running it
        again after a failure half-way erases the rest, so the command is safe to repeat.
        """
        erased: dict[str, int] = {}
        kept: list[str] = []
        for feature in self.features:
            if feature.forget is not None:
                for label, count in feature.forget(user_id).items():
                    erased[label] = erased.get(label, 0) + int(count)
            kept.extend(feature.forget_keeps)
        # the rooms' state names every member: erased (the next start asks for it again)
        roomstate.invalidate(self.db)
        # erased rows are zeroed in place (secure_delete); empty the write-ahead log as well
        self.db.checkpoint()
        log.info("forgot a member: %d row(s) in %d categorie(s)", sum(erased.values()), len(erased))
        return ForgetReport(erased, tuple(dict.fromkeys(kept)))


def _row(item: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    return dict(item) if isinstance(item, Mapping) else dict(item)


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime):
        return iso(value)
    return str(value)
