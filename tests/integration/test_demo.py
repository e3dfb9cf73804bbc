"""`liaison demo` comes up on a fresh data directory and answers !help from a Matrix client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from nio import AsyncClient, LoginResponse, RoomSendResponse

pytestmark = pytest.mark.integration


async def read_until(stream: asyncio.StreamReader, pattern: str, timeout: float) -> list[str]:
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError("demo exited early:\n" + "".join(lines))
            lines.append(raw.decode())
            if re.search(pattern, lines[-1]):
                return lines


async def test_demo_comes_up_and_answers_help(tmp_path: Path) -> None:
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
    )
    assert proc.stdout is not None
    try:
        lines = await read_until(proc.stdout, r"Stop with Ctrl-C", timeout=180)
        text = "".join(lines)
        homeserver = re.search(r"homeserver : (\S+)", text).group(1)  # type: ignore[union-attr]
        user = re.search(r"user       : (\S+)", text).group(1)  # type: ignore[union-attr]
        password = re.search(r"password   : (\S+)", text).group(1)  # type: ignore[union-attr]
        state = json.loads((data_dir / "demo.json").read_text())
        agenda = re.search(r"Public agenda \(.*\): (\S+)", text).group(1)  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as session:
            async with session.get(agenda + "?lang=en") as page:
                assert page.status == 200
                assert "General assembly" in await page.text()
            async with session.get(agenda + "/places?lang=en") as page:
                assert "Mujawara Tunis" in await page.text()

        client = AsyncClient(homeserver, user)
        try:
            assert isinstance(await client.login(password), LoginResponse)
            seen: list[tuple[str, dict]] = []

            async def wait_for(predicate) -> dict:  # type: ignore[no-untyped-def]
                """Sync as any Matrix client would until a matching event shows up."""
                async with asyncio.timeout(60):
                    while True:
                        for room, source in seen:
                            if predicate(room, source):
                                return source
                        response = await client.sync(timeout=2000)
                        for room, info in response.rooms.join.items():
                            seen.extend((room, e.source) for e in info.timeline.events)

            await client.sync(timeout=0)
            rooms = {key: value["room_id"] for key, value in state["rooms"].items()}
            sent = await client.room_send(
                rooms["en"], "m.room.message", {"msgtype": "m.text", "body": "!help"}
            )
            assert isinstance(sent, RoomSendResponse)
            answer = await wait_for(
                lambda room, e: (
                    e.get("content", {})
                    .get("m.relates_to", {})
                    .get("m.in_reply_to", {})
                    .get("event_id")
                    == sent.event_id
                )
            )
            assert "!relay" in answer["content"]["body"]

            french = "Bonjour à tous, la réunion commence demain."
            sent = await client.room_send(
                rooms["fr"], "m.room.message", {"msgtype": "m.text", "body": french}
            )
            assert isinstance(sent, RoomSendResponse)
            copy = await wait_for(
                lambda room, e: (
                    room == rooms["es"]
                    and e.get("content", {}).get("org.mujawara.liaison", {}).get("source")
                    == sent.event_id
                )
            )
            assert "Hola" in copy["content"]["body"] or "reunión" in copy["content"]["body"]
            gathering = (
                state.get("gathering")
                or json.loads((data_dir / "demo.json").read_text())["gathering"]
            )
            assert gathering
        finally:
            await client.close()
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGINT)
            await asyncio.wait_for(proc.wait(), timeout=60)
    assert proc.returncode == 0
