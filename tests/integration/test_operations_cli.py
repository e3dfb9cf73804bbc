"""The operator's command line, run as a subprocess like an operator would."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.core.storage.database import Database
from tests.support.schema import ALL_MIGRATIONS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def liaison(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env={**os.environ, "LIAISON_PASSWORD": "", "LIAISON_ACCESS_TOKEN": "", **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


GOOD = """
matrix:
  homeserver: https://matrix.example.org
  user_id: "@liaison:example.org"
storage:
  data_dir: {data}
"""

BAD = """
matrix:
  homeserver: matrix.example.org
  user_id: liaison
  colour: blue
bot:
  admin_power_level: 500
web:
  port: 70000
"""


async def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.format(data=tmp_path / "data"), encoding="utf-8")
    code, out, err = await liaison("check-config", "-c", str(path), env={"LIAISON_PASSWORD": "pw"})
    assert (code, out.strip(), err) == (0, f"{path}: OK", "")


async def test_check_config_prints_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    code, out, err = await liaison("check-config", "-c", str(path))
    assert code == 1
    assert out == ""
    # every problem at once, the unknown key with the one probably meant, then a count
    assert err.splitlines() == [
        "matrix.colour: unknown key",
        "matrix.homeserver: must start with http:// or https://",
        "matrix.user_id: not a Matrix user id: 'liaison'",
        "matrix.password: set a password or an access_token "
        "(or LIAISON_PASSWORD / LIAISON_ACCESS_TOKEN in the environment)",
        "bot.admin_power_level: must be between 0 and 100",
        "web.port: must be between 0 and 65535",
        f"{path}: 6 problems",
    ]
    path.write_text(BAD.replace("colour: blue", "sync_timeout: 5"), encoding="utf-8")
    code, _, err = await liaison("check-config", "-c", str(path))
    assert err.splitlines()[0] == "matrix.sync_timeout: unknown key (did you mean sync_timeout_ms?)"


async def test_check_config_reports_a_missing_file(tmp_path: Path) -> None:
    code, _, err = await liaison("check-config", "-c", str(tmp_path / "none.yaml"))
    assert code == 1
    assert err.strip() == f"{tmp_path / 'none.yaml'}: file not found"


async def test_the_example_config_passes_check_config() -> None:
    code, out, _ = await liaison(
        "check-config", "-c", str(ROOT / "config.example.yaml"), env={"LIAISON_PASSWORD": "pw"}
    )
    assert code == 0
    assert out.strip().endswith("config.example.yaml: OK")


async def test_migrate_applies_everything_and_prints_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.format(data=tmp_path / "data"), encoding="utf-8")
    env = {"LIAISON_PASSWORD": "pw"}
    code, out, err = await liaison("migrate", "-c", str(path), env=env)
    assert code == 0, err
    lines = out.splitlines()
    db = Database(tmp_path / "data" / "liaison.db")
    version = db.schema_version()
    assert db.pending_migrations(ALL_MIGRATIONS) == []
    db.close()
    assert version >= 4
    assert lines[-1] == f"schema version {version}"
    assert "applied liaison.operations:m001_operations" in lines
    assert len(lines) == version + 1
    # a second run applies nothing and prints the same version
    code, out, _ = await liaison("migrate", "-c", str(path), env=env)
    assert (code, out.splitlines()) == (0, [f"schema version {version}"])


async def test_backup_and_export_refuse_a_missing_database(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.format(data=tmp_path / "nothing"), encoding="utf-8")
    for command in ("backup", "export"):
        code, out, err = await liaison(command, "-c", str(path), env={"LIAISON_PASSWORD": "pw"})
        assert code == 1
        assert "no database there" in err
    assert not (tmp_path / "nothing" / "liaison.db").exists()
