"""Configuration: every problem is reported with its dotted key; the example file cannot drift."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core import config as config_module
from bot.core.config import Config, from_dict, load
from bot.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"
# Values the example sets on purpose instead of the default (the keys a deployment must fill).
EXAMPLE_VALUES = {"matrix.homeserver", "matrix.user_id"}


def minimal(**sections: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "matrix": {
            "homeserver": "https://matrix.example.org",
            "user_id": "@liaison:example.org",
            "password": "pw",
        }
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return raw


def problems_of(raw: Any, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        from_dict(raw, environ={} if environ is None else environ)
    return caught.value.problems


def test_a_minimal_config_takes_every_default() -> None:
    config = from_dict(minimal(), environ={})
    assert config.bot == config_module.BotConfig()
    assert config.translation.engines == ("apertium",)
    assert config.storage.database == Path("data") / "liaison.db"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([1, 2], "(top level): must be a mapping"),
        ({**minimal(), "matrix": "x"}, "matrix: must be a mapping"),
        (minimal(bot={"colour": "red"}), "bot.colour: unknown key"),
        ({**minimal(), "extra": {}}, "extra: unknown key"),
        (minimal(bot={"admins": "@a:x.org"}), "bot.admins: must be a list of strings"),
        (minimal(bot={"admins": [1]}), "bot.admins: must be a list of strings"),
        (
            minimal(matrix={"encryption": "yes"}),
            "matrix.encryption: must be true or false, got str",
        ),
        (minimal(web={"port": "80"}), "web.port: must be a whole number, got str"),
        (minimal(web={"port": True}), "web.port: must be a whole number, got bool"),
        (
            minimal(translation={"timeout_seconds": "5"}),
            "translation.timeout_seconds: must be a number, got str",
        ),
        (minimal(bot={"command_prefix": 5}), "bot.command_prefix: must be a string, got int"),
    ],
)
def test_type_problems_name_the_key(raw: Any, expected: str) -> None:
    assert expected in problems_of(raw)


RULE_CASES = [
    (
        {"matrix": {"user_id": "@l:x.org", "password": "p"}},
        "matrix.homeserver: required (e.g. https://matrix.example.org)",
    ),
    (
        minimal(matrix={"homeserver": "matrix.example.org"}),
        "matrix.homeserver: must start with http:// or https://",
    ),
    (
        {"matrix": {"homeserver": "https://x.org", "password": "p"}},
        'matrix.user_id: required (e.g. "@liaison:example.org")',
    ),
    (minimal(matrix={"user_id": "liaison"}), "matrix.user_id: not a Matrix user id: 'liaison'"),
    (
        {"matrix": {"homeserver": "https://x.org", "user_id": "@l:x.org"}},
        "matrix.password: set a password or an access_token (or LIAISON_PASSWORD / LIAISON_ACCESS_TOKEN in the environment)",
    ),
    (minimal(matrix={"sync_timeout_ms": -1}), "matrix.sync_timeout_ms: must not be negative"),
    (
        minimal(bot={"command_prefix": ""}),
        "bot.command_prefix: must be non-empty and contain no spaces",
    ),
    (
        minimal(bot={"command_prefix": "! "}),
        "bot.command_prefix: must be non-empty and contain no spaces",
    ),
    (
        minimal(bot={"admins": ["@ok:x.org", "ana"]}),
        "bot.admins[1]: not a Matrix user id: 'ana'",
    ),
    (
        minimal(bot={"allowed_inviters": ["@Bad User:x"]}),
        "bot.allowed_inviters[0]: not a user id or server name: '@Bad User:x'",
    ),
    (
        minimal(bot={"admin_power_level": 101}),
        "bot.admin_power_level: must be between 0 and 100",
    ),
    (
        minimal(bot={"admin_power_level": -1}),
        "bot.admin_power_level: must be between 0 and 100",
    ),
    (
        minimal(bot={"default_language": "French"}),
        "bot.default_language: must be an ISO 639-1 code such as en, fr, ar",
    ),
    (
        minimal(bot={"default_timezone": "Mars/Olympus"}),
        "bot.default_timezone: unknown time zone 'Mars/Olympus' (e.g. Europe/Paris, UTC)",
    ),
    (
        minimal(bot={"command_burst": -1}),
        "bot.command_burst: must not be negative (0 turns the limit off)",
    ),
    (
        minimal(bot={"command_interval_seconds": 0}),
        "bot.command_interval_seconds: must be positive",
    ),
    (
        minimal(relay={"join_code_lifetime": "a day"}),
        "relay.join_code_lifetime: not a duration like 24h, 30m, 2d: 'a day'",
    ),
    (
        minimal(relay={"join_code_lifetime": "0h"}),
        "relay.join_code_lifetime: not a duration like 24h, 30m, 2d: '0h'",
    ),
    (minimal(relay={"audit_lines": 0}), "relay.audit_lines: must be at least 1"),
    (
        minimal(translation={"engines": ["apertium", "babelfish"]}),
        "translation.engines[1]: unknown engine 'babelfish' (one of apertium, libre, deepl, google, mymemory, microsoft, none)",
    ),
    (
        minimal(translation={"engines": ["libre"]}),
        "translation.libre.url: required when libre is in translation.engines",
    ),
    (
        minimal(translation={"engines": ["apertium"], "apertium": {"url": ""}}),
        "translation.apertium.url: required when apertium is in translation.engines",
    ),
    (
        minimal(translation={"engines": ["deepl"]}),
        "translation.deepl.api_key: required when deepl is in translation.engines",
    ),
    (
        minimal(translation={"engines": ["microsoft"]}),
        "translation.microsoft.api_key: required when microsoft is in translation.engines",
    ),
    (
        minimal(translation={"timeout_seconds": 0}),
        "translation.timeout_seconds: must be positive",
    ),
    (
        minimal(translation={"max_concurrency": 0}),
        "translation.max_concurrency: must be at least 1",
    ),
    (
        minimal(translation={"detect_min_confidence": 1.5}),
        "translation.detect_min_confidence: must be between 0 and 1",
    ),
    (minimal(web={"port": 70000}), "web.port: must be between 0 and 65535"),
    (minimal(scheduler={"grace_seconds": -5}), "scheduler.grace_seconds: must not be negative"),
    (
        minimal(events={"reminder_leads": ["24h", "tomorrow"]}),
        "events.reminder_leads[1]: not a duration like 24h, 1h, 30m: 'tomorrow'",
    ),
    (minimal(aid={"categories": []}), "aid.categories: must list at least one category"),
    (
        minimal(aid={"coordinator_rooms": ["!ok:x.org", "#ok:x.org", "coord"]}),
        "aid.coordinator_rooms[2]: not a room id or alias (such as !abc:example.org or #coordinators:example.org): 'coord'",
    ),
    (minimal(aid={"on_call": ["@ok:x.org", "bob"]}), "aid.on_call[1]: not a Matrix user id: 'bob'"),
    (
        minimal(web={"public_url": "liaison.example.org"}),
        "web.public_url: must start with http:// or https://",
    ),
    (minimal(aid={"stale_days": 0}), "aid.stale_days: must be at least 1"),
    (
        minimal(aid={"check_interval_seconds": 0}),
        "aid.check_interval_seconds: must be at least 1",
    ),
    (
        minimal(aid={"stale_after_seconds": -1}),
        "aid.stale_after_seconds: must not be negative",
    ),
    (
        minimal(matrix={"late_key_command_seconds": -1}),
        "matrix.late_key_command_seconds: must not be negative",
    ),
    (
        minimal(storage={"encrypted": True}),
        "storage.encrypted: set LIAISON_DATABASE_KEY in the environment (a passphrase of at least 16 characters)",
    ),
    (
        minimal(storage={"integrity_check_seconds": 5}),
        "storage.integrity_check_seconds: must be at least 60",
    ),
    (
        minimal(storage={"key": "in-the-file"}),
        "storage.key: never in the file; put it in the environment as LIAISON_DATABASE_KEY",
    ),
    (minimal(translation={"cache_days": 0}), "translation.cache_days: must be at least 1"),
    (minimal(logging={"level": "LOUD"}), "logging.level: one of DEBUG, INFO, WARNING, ERROR"),
    (minimal(logging={"format": "xml"}), "logging.format: one of text, json"),
]


@pytest.mark.parametrize(("raw", "expected"), RULE_CASES)
def test_rule_problems_are_one_line_each(raw: Any, expected: str) -> None:
    assert expected in problems_of(raw)


def test_every_rule_of_check_has_a_case_here() -> None:
    """A rule added to ``_check`` without a case above fails here (keys read from the source)."""
    source = inspect.getsource(config_module._check) + inspect.getsource(config_module._check_zone)
    keys = set(re.findall(r'"([a-z_]+\.[a-z_.]+)(?:\[\{i\}\])?: ', source))
    keys |= {"translation.libre.url", "translation.deepl.api_key"}  # from the f-string loops
    keys -= {"translation.{name}.url", "translation.{name}.api_key"}
    covered = {expected.split(":")[0].split("[")[0] for _, expected in RULE_CASES}
    assert sorted(k for k in keys if k not in covered) == []


def test_the_database_key_comes_from_the_environment_only() -> None:
    env = {"LIAISON_DATABASE_KEY": "a long enough passphrase"}
    config = from_dict(minimal(storage={"encrypted": True}), environ=env)
    assert config.storage.database_key == "a long enough passphrase"
    assert from_dict(minimal(), environ=env).storage.database_key is None


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        minimal(bot={"admin_power_level": 500, "default_language": "xx-long"}, web={"port": -2})
    )
    assert len(problems) == 3
    assert [p.split(":")[0] for p in problems] == [
        "bot.admin_power_level",
        "bot.default_language",
        "web.port",
    ]


def test_type_and_rule_problems_are_reported_in_one_run() -> None:
    # a wrong type takes its default for the rules, and is not reported twice
    assert problems_of(
        minimal(web={"port": "x"}, bot={"admin_power_level": 500}, matrix={"homeserver": 3})
    ) == [
        "matrix.homeserver: must be a string, got int",
        "web.port: must be a whole number, got str",
        "bot.admin_power_level: must be between 0 and 100",
    ]


def test_sixteen_mistakes_are_sixteen_lines_with_the_key_meant() -> None:
    raw = {
        "matrix": {
            "homeserver": "matrix.example.org",
            "user_id": "liaison",
            "pasword": "x",
            "sync_timeout": 5,
        },
        "bot": {
            "admins": ["ana"],
            "allowed_inviters": ["not a server"],
            "default_timezone": "Europe/Pariss",
            "default_languge": "fr",
        },
        "translation": {"engines": ["apertiun"]},
        "web": {"port": "eighty"},
        "aid": {"on_call": ["bob"], "coordinator_rooms": ["coord"], "stale_days": 0},
        "events": {"reminder_leads": ["soon"]},
        "loging": {},
    }
    problems = problems_of(raw)
    assert problems == [
        "matrix.pasword: unknown key (did you mean password?)",
        "matrix.sync_timeout: unknown key (did you mean sync_timeout_ms?)",
        "bot.default_languge: unknown key (did you mean default_language?)",
        "web.port: must be a whole number, got str",
        "loging: unknown key (did you mean logging?)",
        "matrix.homeserver: must start with http:// or https://",
        "matrix.user_id: not a Matrix user id: 'liaison'",
        "matrix.password: set a password or an access_token (or LIAISON_PASSWORD / LIAISON_ACCESS_TOKEN in the environment)",
        "bot.admins[0]: not a Matrix user id: 'ana'",
        "bot.allowed_inviters[0]: not a user id or server name: 'not a server'",
        "bot.default_timezone: unknown time zone 'Europe/Pariss' (e.g. Europe/Paris, UTC)",
        "translation.engines[0]: unknown engine 'apertiun' (did you mean apertium? one of apertium, libre, deepl, google, mymemory, microsoft, none)",
        "events.reminder_leads[0]: not a duration like 24h, 1h, 30m: 'soon'",
        "aid.coordinator_rooms[0]: not a room id or alias (such as !abc:example.org or #coordinators:example.org): 'coord'",
        "aid.on_call[0]: not a Matrix user id: 'bob'",
        "aid.stale_days: must be at least 1",
    ]


def test_a_null_string_is_empty_and_a_null_section_is_defaults() -> None:
    config = from_dict({**minimal(), "web": None, "bot": {"norelay_marker": None}}, environ={})
    assert config.web == config_module.WebConfig()
    assert config.bot.norelay_marker == ""


def test_secrets_come_from_the_environment_when_the_file_has_none() -> None:
    raw = {"matrix": {"homeserver": "https://x.org", "user_id": "@l:x.org"}}
    config = from_dict(raw, environ={"LIAISON_PASSWORD": "from-env"})
    assert config.matrix.password == "from-env"
    config = from_dict(raw, environ={"LIAISON_ACCESS_TOKEN": "syt_token"})
    assert config.matrix.access_token == "syt_token"
    assert config.matrix.password == ""


def test_the_file_wins_over_the_environment() -> None:
    config = from_dict(minimal(), environ={"LIAISON_PASSWORD": "from-env"})
    assert config.matrix.password == "pw"


def test_load_reports_a_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load(missing)
    assert caught.value.problems == [f"{missing}: file not found"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("matrix: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(broken)
    assert caught.value.problems[0].startswith(f"{broken}: not valid YAML (")


def test_an_empty_file_reports_the_required_keys(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(empty, environ={})
    keys = [p.split(":")[0] for p in caught.value.problems]
    assert keys == ["matrix.homeserver", "matrix.user_id", "matrix.password"]


# ---- config.example.yaml ---------------------------------------------------------------------


def leaf_fields(instance: Any, prefix: str = "") -> dict[str, Any]:
    """Every configurable key of the dataclass tree, dotted, with its default value.

    Defaults are read from instances, because a nested section may have defaults of its own
    (``translation.apertium.url``).
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value):
            out |= leaf_fields(value, f"{prefix}{f.name}.")
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def leaf_keys(raw: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in raw.items():
        if isinstance(value, dict):
            keys |= leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def test_the_example_config_loads(tmp_path: Path) -> None:
    config = load(EXAMPLE, environ={"LIAISON_PASSWORD": "secret"})
    assert config.matrix.password == "secret"


def test_the_example_config_documents_every_key() -> None:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    documented = leaf_keys(raw)
    expected = set(leaf_fields(Config()))
    assert sorted(expected - documented) == [], "keys missing from config.example.yaml"
    assert sorted(documented - expected) == [], "keys in config.example.yaml the code does not know"


def test_the_example_config_shows_the_defaults() -> None:
    config = load(EXAMPLE, environ={"LIAISON_PASSWORD": "secret"})
    defaults = leaf_fields(Config())
    differing = []
    for key, default in defaults.items():
        value: Any = config
        for part in key.split("."):
            value = getattr(value, part)
        if value != default and key not in EXAMPLE_VALUES | {"matrix.password"}:
            differing.append(f"{key}: example {value!r}, default {default!r}")
    assert differing == []


def test_every_key_of_the_example_has_a_comment() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    uncommented = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.endswith(":"):
            continue
        above = lines[i - 1].strip() if i else ""
        if "#" not in line and not above.startswith("#"):
            uncommented.append(stripped)
    assert uncommented == []
