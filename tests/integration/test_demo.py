"""`liaison demo` comes up on a fresh data directory and answers !help from a Matrix client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from nio import AsyncClient, LoginResponse, RoomMessagesResponse, RoomSendResponse

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
        room_id = state["rooms"]["en"]["room_id"]

        client = AsyncClient(homeserver, user)
        try:
            assert isinstance(await client.login(password), LoginResponse)
            sent = await client.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": "!help"}
            )
            assert isinstance(sent, RoomSendResponse)
            answer = None
            async with asyncio.timeout(30):
                while answer is None:
                    # the demo user's client reads the room the way any Matrix client would
                    await client.sync(timeout=2000)
                    messages = await client.room_messages(room_id, limit=20)
                    assert isinstance(messages, RoomMessagesResponse)
                    for event in messages.chunk:
                        relates = event.source.get("content", {}).get("m.relates_to", {})
                        if relates.get("m.in_reply_to", {}).get("event_id") == sent.event_id:
                            answer = event.source["content"]["body"]
            assert "!room" in answer
        finally:
            await client.close()
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGINT)
            await asyncio.wait_for(proc.wait(), timeout=60)
    assert proc.returncode == 0
