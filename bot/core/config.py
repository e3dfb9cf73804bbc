"""Configuration: frozen dataclasses read from YAML, failing fast with the dotted key path.

Unknown keys are errors (a typo must not silently fall back to a default), with the key that
was probably meant. Every problem of a file is reported in one run: a value of the wrong type
takes its default for the rest of the checks, which skip what depends on it. Secrets may come
from the environment (``LIAISON_PASSWORD``, ``LIAISON_ACCESS_TOKEN``) instead of the file; the
database key only comes from there (``LIAISON_DATABASE_KEY``).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.core.errors import ConfigError

ENGINE_NAMES = ("apertium", "libre", "deepl", "google", "mymemory", "microsoft", "none")
USER_ID = re.compile(r"^@[a-z0-9._=/+-]+:[A-Za-z0-9.-]+(:\d+)?$")
# "!opaque:server" (room versions up to 11) or "!opaque" (version 12 has no server part)
ROOM_ID = re.compile(r"^![A-Za-z0-9._=/+-]+(:[A-Za-z0-9.-]+(:\d+)?)?$")
ROOM_ALIAS = re.compile(r"^#[^\s:#]+:[A-Za-z0-9.-]+(:\d+)?$")
SERVER_NAME = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str = ""
    user_id: str = ""
    password: str = ""
    access_token: str = ""
    device_name: str = "liaison"
    encryption: bool = True
    sync_timeout_ms: int = 30000
    # the bot's own cross-signing identity (master, self-signing, user-signing keys)
    cross_signing: bool = True
    # how long an event whose room key arrives late is still worth handling
    late_key_command_seconds: int = 3600
    late_key_relay_seconds: int = 86400


@dataclass(frozen=True)
class StorageConfig:
    data_dir: str = "data"
    # SQLCipher encryption of the database file; the key comes from LIAISON_DATABASE_KEY only
    encrypted: bool = False
    key: str = ""
    integrity_check_seconds: int = 3600

    @property
    def path(self) -> Path:
        return Path(self.data_dir)

    @property
    def database_key(self) -> str | None:
        return self.key if self.encrypted else None

    @property
    def database(self) -> Path:
        return self.path / "liaison.db"


@dataclass(frozen=True)
class BotConfig:
    command_prefix: str = "!"
    admins: tuple[str, ...] = ()
    allowed_inviters: tuple[str, ...] = ()
    admin_power_level: int = 50
    default_language: str = "en"
    default_timezone: str = "UTC"
    norelay_marker: str = "!norelay"
    # trace mode: timings of each relayed message's way through the bot, in data/trace.jsonl
    trace: bool = False
    # per sender: this many commands at once, then one every command_interval_seconds (0: off)
    command_burst: int = 10
    command_interval_seconds: float = 3.0


@dataclass(frozen=True)
class RelayConfig:
    # how long a join code a steward issues stays valid (a duration: 24h, 30m, 2d)
    join_code_lifetime: str = "24h"
    # how many recent changes `!relay audit` shows
    audit_lines: int = 20


@dataclass(frozen=True)
class EngineConfig:
    url: str = ""
    api_key: str = ""
    region: str = ""
    email: str = ""
    free_api: bool = True


@dataclass(frozen=True)
class TranslationConfig:
    engines: tuple[str, ...] = ("apertium",)
    timeout_seconds: float = 10.0
    max_concurrency: int = 4
    cache: bool = True
    cache_days: int = 30
    detect: bool = True
    detect_min_confidence: float = 0.9
    detect_accuracy: str = "low"
    detect_languages: tuple[str, ...] = ()
    apertium: EngineConfig = EngineConfig(url="http://127.0.0.1:2737")
    libre: EngineConfig = EngineConfig()
    deepl: EngineConfig = EngineConfig()
    google: EngineConfig = EngineConfig()
    mymemory: EngineConfig = EngineConfig()
    microsoft: EngineConfig = EngineConfig()

    def engine(self, name: str) -> EngineConfig:
        return typing.cast(EngineConfig, getattr(self, name, EngineConfig()))


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = False
    bind: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""


@dataclass(frozen=True)
class SchedulerConfig:
    grace_seconds: int = 3600


@dataclass(frozen=True)
class EventsConfig:
    reminder_leads: tuple[str, ...] = ("24h", "1h")


@dataclass(frozen=True)
class AidConfig:
    categories: tuple[str, ...] = (
        "material",
        "financial",
        "housing",
        "legal",
        "medical",
        "transport",
        "political",
        "other",
    )
    coordinator_rooms: tuple[str, ...] = ()
    on_call: tuple[str, ...] = ()
    stale_days: int = 7
    check_interval_seconds: int = 86400
    # seconds instead of stale_days when > 0 (for tests and demos)
    stale_after_seconds: int = 0


@dataclass(frozen=True)
class RetentionConfig:
    """How long what grows with traffic is kept; pruned by one persisted job."""

    inbox_days: int = 7
    relay_map_days: int = 90
    every_seconds: int = 86400
    batch_rows: int = 500
    batch_pause_seconds: float = 0.05
    # seconds instead of days when > 0 (for tests and the soak benchmark)
    inbox_seconds: int = 0
    relay_map_seconds: int = 0
    translation_cache_seconds: int = 0

    @property
    def inbox(self) -> timedelta:
        return _horizon(self.inbox_seconds, self.inbox_days)

    @property
    def relay_map(self) -> timedelta:
        return _horizon(self.relay_map_seconds, self.relay_map_days)

    def translation_cache(self, cache_days: int) -> timedelta:
        return _horizon(self.translation_cache_seconds, cache_days)


def _horizon(seconds: int, days: int) -> timedelta:
    return timedelta(seconds=seconds) if seconds > 0 else timedelta(days=days)


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True)
class Config:
    matrix: MatrixConfig = field(default_factory=MatrixConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    translation: TranslationConfig = field(default_factory=TranslationConfig)
    web: WebConfig = field(default_factory=WebConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    aid: AidConfig = field(default_factory=AidConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


def load(path: Path | str, environ: typing.Mapping[str, str] | None = None) -> Config:
    """Read and validate a YAML file; raise ConfigError listing every problem."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None
    return from_dict(raw if raw is not None else {}, environ)


def from_dict(raw: Any, environ: typing.Mapping[str, str] | None = None) -> Config:
    """Build a Config from parsed YAML; environment secrets fill empty credentials."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    config = _build(Config, raw, "", problems)
    if config.storage.key:
        problems.append(
            "storage.key: never in the file; put it in the environment as LIAISON_DATABASE_KEY"
        )
    matrix = config.matrix
    matrix = dataclasses.replace(
        matrix,
        password=matrix.password or env.get("LIAISON_PASSWORD", ""),
        access_token=matrix.access_token or env.get("LIAISON_ACCESS_TOKEN", ""),
    )
    storage = dataclasses.replace(config.storage, key=env.get("LIAISON_DATABASE_KEY", ""))
    config = dataclasses.replace(config, matrix=matrix, storage=storage)
    # the rules run on what could be read; a key already reported for its type is not reported
    # again for the default that stood in for it
    reported = {p.split(":")[0] for p in problems}
    problems.extend(p for p in _check(config) if _key_of(p) not in reported)
    if problems:
        raise ConfigError(problems)
    return config


def _key_of(problem: str) -> str:
    """'bot.admins[1]: ...' -> 'bot.admins'."""
    return problem.split(":")[0].split("[")[0]


def _build(cls: type, raw: Any, prefix: str, problems: list[str]) -> Any:
    if not isinstance(raw, dict):
        problems.append(f"{prefix or '(top level)'}: must be a mapping")
        return cls()
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), sorted(names), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{path}: unknown key{hint}")
            continue
        values[key] = _convert(hints[key], value, path, problems)
    return cls(**{k: v for k, v in values.items() if v is not _INVALID})


_INVALID = object()


def _convert(hint: Any, value: Any, path: str, problems: list[str]) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type, hint), value if value is not None else {}, path, problems)
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{path}: must be a list of strings")
            return _INVALID
        return tuple(value)
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    expected = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    if hint is str and value is None:
        return ""
    problems.append(f"{path}: must be {expected.get(hint, hint)}, got {type(value).__name__}")
    return _INVALID


def _check(config: Config) -> list[str]:
    """Rules that span more than one value's type."""
    problems: list[str] = []
    m = config.matrix
    if not m.homeserver:
        problems.append("matrix.homeserver: required (e.g. https://matrix.example.org)")
    elif not re.match(r"^https?://", m.homeserver):
        problems.append("matrix.homeserver: must start with http:// or https://")
    if not m.user_id:
        problems.append('matrix.user_id: required (e.g. "@liaison:example.org")')
    elif not USER_ID.match(m.user_id):
        problems.append(f"matrix.user_id: not a Matrix user id: {m.user_id!r}")
    if not m.password and not m.access_token:
        problems.append(
            "matrix.password: set a password or an access_token "
            "(or LIAISON_PASSWORD / LIAISON_ACCESS_TOKEN in the environment)"
        )
    if m.sync_timeout_ms < 0:
        problems.append("matrix.sync_timeout_ms: must not be negative")
    for name in ("late_key_command_seconds", "late_key_relay_seconds"):
        if getattr(m, name) < 0:
            problems.append(f"matrix.{name}: must not be negative")
    st = config.storage
    if st.encrypted and len(st.key) < 16:
        problems.append(
            "storage.encrypted: set LIAISON_DATABASE_KEY in the environment "
            "(a passphrase of at least 16 characters)"
        )
    if st.integrity_check_seconds < 60:
        problems.append("storage.integrity_check_seconds: must be at least 60")
    b = config.bot
    if not b.command_prefix or any(c.isspace() for c in b.command_prefix):
        problems.append("bot.command_prefix: must be non-empty and contain no spaces")
    for i, admin in enumerate(b.admins):
        if not USER_ID.match(admin):
            problems.append(f"bot.admins[{i}]: not a Matrix user id: {admin!r}")
    for i, inviter in enumerate(b.allowed_inviters):
        valid = USER_ID.match(inviter) if inviter.startswith("@") else SERVER_NAME.match(inviter)
        if not valid:
            problems.append(f"bot.allowed_inviters[{i}]: not a user id or server name: {inviter!r}")
    if not 0 <= b.admin_power_level <= 100:
        problems.append("bot.admin_power_level: must be between 0 and 100")
    if not re.fullmatch(r"[a-z]{2,3}", b.default_language):
        problems.append("bot.default_language: must be an ISO 639-1 code such as en, fr, ar")
    problems.extend(_check_zone("bot.default_timezone", b.default_timezone))
    if b.command_burst < 0:
        problems.append("bot.command_burst: must not be negative (0 turns the limit off)")
    if b.command_interval_seconds <= 0:
        problems.append("bot.command_interval_seconds: must be positive")
    lifetime = config.relay.join_code_lifetime
    if not re.fullmatch(r"(\d+[dhms])+", lifetime) or not any(
        int(n) for n in re.findall(r"\d+", lifetime)
    ):
        problems.append(f"relay.join_code_lifetime: not a duration like 24h, 30m, 2d: {lifetime!r}")
    if config.relay.audit_lines < 1:
        problems.append("relay.audit_lines: must be at least 1")
    t = config.translation
    for i, name in enumerate(t.engines):
        if name not in ENGINE_NAMES:
            close = difflib.get_close_matches(name, ENGINE_NAMES, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            problems.append(
                f"translation.engines[{i}]: unknown engine {name!r} ({hint}one of {', '.join(ENGINE_NAMES)})"
            )
    for name in ("libre", "apertium"):
        if name in t.engines and not t.engine(name).url:
            problems.append(
                f"translation.{name}.url: required when {name} is in translation.engines"
            )
    for name in ("deepl", "microsoft"):
        if name in t.engines and not t.engine(name).api_key:
            problems.append(
                f"translation.{name}.api_key: required when {name} is in translation.engines"
            )
    if t.timeout_seconds <= 0:
        problems.append("translation.timeout_seconds: must be positive")
    if t.cache_days < 1:
        problems.append("translation.cache_days: must be at least 1")
    if t.max_concurrency < 1:
        problems.append("translation.max_concurrency: must be at least 1")
    if not 0 <= t.detect_min_confidence <= 1:
        problems.append("translation.detect_min_confidence: must be between 0 and 1")
    if t.detect_accuracy not in ("low", "high"):
        problems.append("translation.detect_accuracy: one of low, high")
    for i, code in enumerate(t.detect_languages):
        if not re.fullmatch(r"[a-z]{2}", code):
            problems.append(f"translation.detect_languages[{i}]: not an ISO 639-1 code: {code!r}")
    if not 0 <= config.web.port <= 65535:
        problems.append("web.port: must be between 0 and 65535")
    if config.web.public_url and not re.match(r"^https?://", config.web.public_url):
        problems.append("web.public_url: must start with http:// or https://")
    if config.scheduler.grace_seconds < 0:
        problems.append("scheduler.grace_seconds: must not be negative")
    for i, lead in enumerate(config.events.reminder_leads):
        if not re.fullmatch(r"(\d+[dhm])+", lead):
            problems.append(
                f"events.reminder_leads[{i}]: not a duration like 24h, 1h, 30m: {lead!r}"
            )
    if not config.aid.categories:
        problems.append("aid.categories: must list at least one category")
    for i, room in enumerate(config.aid.coordinator_rooms):
        if not (ROOM_ID.match(room) or ROOM_ALIAS.match(room)):
            problems.append(
                f"aid.coordinator_rooms[{i}]: not a room id or alias "
                f"(such as !abc:example.org or #coordinators:example.org): {room!r}"
            )
    for i, person in enumerate(config.aid.on_call):
        if not USER_ID.match(person):
            problems.append(f"aid.on_call[{i}]: not a Matrix user id: {person!r}")
    if config.aid.stale_days < 1:
        problems.append("aid.stale_days: must be at least 1")
    if config.aid.check_interval_seconds < 1:
        problems.append("aid.check_interval_seconds: must be at least 1")
    if config.aid.stale_after_seconds < 0:
        problems.append("aid.stale_after_seconds: must not be negative")
    r = config.retention
    for name in ("inbox_days", "relay_map_days", "every_seconds", "batch_rows"):
        if getattr(r, name) < 1:
            problems.append(f"retention.{name}: must be at least 1")
    for name in ("inbox_seconds", "relay_map_seconds", "translation_cache_seconds"):
        if getattr(r, name) < 0:
            problems.append(f"retention.{name}: must not be negative")
    if not 0 <= r.batch_pause_seconds <= 10:
        problems.append("retention.batch_pause_seconds: must be between 0 and 10")
    if config.logging.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append("logging.level: one of DEBUG, INFO, WARNING, ERROR")
    if config.logging.format not in ("text", "json"):
        problems.append("logging.format: one of text, json")
    return problems


def _check_zone(path: str, name: str) -> list[str]:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"{path}: unknown time zone {name!r} (e.g. Europe/Paris, UTC)"]
    return []
