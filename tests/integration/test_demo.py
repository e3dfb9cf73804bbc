"""`liaison demo` as a newcomer meets it: a quiet install, a banner with everything needed to
connect (aliases, two accounts, the web address), rooms in their language and zone, and one
log line per handled event."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from nio import AsyncClient, LoginResponse, RoomSendResponse

from bot.core.matrix.client import LIAISON_KEY
from tests.support.i18n import said, says

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def read_until(stream: asyncio.StreamReader, pattern: str, timeout: float) -> list[str]:  # noqa: ASYNC109
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError("demo exited early:\n" + "".join(lines))
            lines.append(raw.decode())
            if re.search(pattern, lines[-1]):
                return lines


def field(text: str, name: str) -> str:
    found = re.search(rf"^  {re.escape(name)}\s*: (\S+)", text, re.MULTILINE)
    assert found, f"no {name!r} in the banner:\n{text}"
    return found.group(1)


async def test_demo_comes_up_with_aliases_two_accounts_and_logs(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--data-dir",
        str(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        before = "".join(await read_until(proc.stdout, r"Stop with Ctrl-C", timeout=180))
        banner = before[before.index("Liaison demo is running") :]
        # nothing but the demo's own words before the banner: no warning from our packaging
        # or code (the per-event log lines are INFO)
        noise = [
            line
            for line in before[: before.index("Liaison demo is running")].splitlines()
            if line.strip() and " INFO " not in line
        ]
        assert noise == [], noise
        homeserver = field(banner, "homeserver")
        users = [field(banner, "user"), field(banner, "2nd user")]
        passwords = [field(banner, "password"), field(banner, "2nd pass")]
        assert users[0] != users[1]
        for alias in ("#mujawara-fr:localhost", "#mujawara-es:localhost", "#mujawara-en:localhost"):
            assert alias in banner, banner
        web = field(banner, "web")
        calendar = field(banner, "calendar")
        async with aiohttp.ClientSession() as session:
            async with session.get(web) as response:
                assert response.status == 200
            async with session.get(calendar) as response:
                assert response.status == 200
                assert "General assembly" in await response.text()
        state = json.loads((data_dir / "demo.json").read_text())
        rooms = {key: value["room_id"] for key, value in state["rooms"].items()}
        agenda = re.search(r"Public agenda \(.*\): (\S+)", banner).group(1)  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as session:
            async with session.get(agenda + "?lang=en") as page:
                assert page.status == 200
                assert "General assembly" in await page.text()
            async with session.get(agenda + "/places?lang=en") as page:
                assert "Mujawara Tunis" in await page.text()

        second = AsyncClient(homeserver, users[1])
        client = AsyncClient(homeserver, users[0])
        try:
            assert isinstance(await client.login(passwords[0]), LoginResponse)
            assert isinstance(await second.login(passwords[1]), LoginResponse)
            seen: list[tuple[str, dict]] = []

            async def wait_for(member: AsyncClient, predicate) -> dict:  # type: ignore[no-untyped-def]
                """Sync as any Matrix client would until a matching event shows up."""
                async with asyncio.timeout(60):
                    while True:
                        for room, source in seen:
                            if predicate(room, source):
                                return source
                        response = await member.sync(timeout=2000, full_state=False)
                        for room, info in response.rooms.join.items():
                            seen.extend((room, e.source) for e in info.timeline.events)

            def answer_to(event_id: str):  # type: ignore[no-untyped-def]
                return lambda room, e: (
                    e.get("content", {})
                    .get("m.relates_to", {})
                    .get("m.in_reply_to", {})
                    .get("event_id")
                    == event_id
                )

            # a first sync with a long timeline, as a client opening the rooms for the first time
            first = await client.sync(timeout=0, sync_filter={"room": {"timeline": {"limit": 100}}})
            for room, info in first.rooms.join.items():
                seen.extend((room, e.source) for e in info.timeline.events)
            # the French room was greeted in French, with the demo's zone
            greeting = await wait_for(
                client,
                lambda room, e: (
                    room == rooms["fr"]
                    and e.get("content", {}).get(LIAISON_KEY, {}).get("kind") == "greeting"
                ),
            )
            assert says("fr", "Hello! I am Liaison. In this room I answer in {language} ({code}) and read and show times in {zone}. A room admin can change them with {lang_command} and {tz_command}. Type {help} to see what I can do.", greeting["content"]["body"], zone="Europe/Paris"), greeting["content"]["body"]  # fmt: skip

            sent = await client.room_send(
                rooms["fr"], "m.room.message", {"msgtype": "m.text", "body": "!salon info"}
            )
            assert isinstance(sent, RoomSendResponse)
            info = await wait_for(client, answer_to(sent.event_id))
            assert info["content"]["body"] == said(
                "fr",
                "This room's language: {language} ({code}). Time zone: {zone}.",
                language="français",
                code="fr",
                zone="Europe/Paris",
            )

            # the second account is in the rooms and sees the first one's message translated
            await second.sync(timeout=0)
            french = "Bonjour à tous, la réunion commence demain."
            sent = await client.room_send(
                rooms["fr"], "m.room.message", {"msgtype": "m.text", "body": french}
            )
            assert isinstance(sent, RoomSendResponse)
            seen.clear()
            copy = await wait_for(
                second,
                lambda room, e: (
                    room == rooms["es"]
                    and e.get("content", {}).get(LIAISON_KEY, {}).get("source") == sent.event_id
                ),
            )
            assert "Hola" in copy["content"]["body"] or "reunión" in copy["content"]["body"]
        finally:
            await client.close()
            await second.close()
        # one log line per handled event, naming the room and what was done
        await read_until(proc.stdout, rf"event room={re.escape(rooms['fr'])} .*outcome=", 30)
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGINT)
            await asyncio.wait_for(proc.wait(), timeout=60)
    assert proc.returncode == 0


def test_the_package_builds_without_a_warning(tmp_path: Path) -> None:
    """What `make demo` installs: our own packaging (pyproject.toml) warns about nothing."""
    tree = tmp_path / "clone"
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in listed:
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(tmp_path / "wheels"),
            str(tree),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    output = [
        line
        for line in (built.stdout + built.stderr).splitlines()
        # the machine's own pip settings may name index folders that do not exist
        if line.strip() and "is ignored: it is neither a file nor a directory" not in line
    ]
    assert output == [], "\n".join(output)
    assert list((tmp_path / "wheels").glob("liaison-*.whl"))
