"""`liaison demo`: a local homeserver, the offline translator, linked demo rooms, and the bot.

Everything lives under one data directory (``data/demo`` by default), so a second run reuses
the same accounts and rooms. The demo user sets the rooms up by sending ordinary commands, the
way a room admin would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.agenda.service import Agenda
from bot.app import Application
from bot.core.config import MatrixConfig, from_dict
from bot.core.matrix.client import MatrixClient, txn_id_for
from bot.dev.devserver import apertium as apertium_server
from bot.dev.devserver.synapse import LocalSynapse

log = logging.getLogger(__name__)

BOT_LOCALPART = "liaison"
DEMO_LOCALPART = "demo"


@dataclass(frozen=True)
class DemoRoom:
    key: str
    name: str
    language: str
    setup: tuple[str, ...]


# The demo's rooms and the commands their admin sends once, right after creating them.
DEMO_ROOMS = (
    DemoRoom("fr", "Liaison démo — français", "fr", ("!relay link mujawara fr",)),
    DemoRoom("es", "Liaison demo — español", "es", ("!relay link mujawara es",)),
    DemoRoom(
        "en",
        "Liaison demo — English",
        "en",
        (
            "!relay link mujawara en",
            "!relay glossary add Mujawara",
            "!place add Mujawara Tunis | Tunis | TN | languages: ar, fr | public: yes",
        ),
    ),
)
_GATHERING_ID = re.compile(r"`([a-z0-9]{4,6})`")
SAMPLE_GATHERING = (
    "!event add General assembly | next friday 7pm | Mujawara Tunis | kind: meeting | capacity: 40"
    " | city: Tunis | country: TN | public: yes"
)


def _load_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    data.setdefault("bot_password", secrets.token_urlsafe(18))
    data.setdefault("demo_password", secrets.token_urlsafe(12))
    data.setdefault("rooms", {})
    return data


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    path.chmod(0o600)


async def run_demo(
    data_dir: Path, stop: asyncio.Event, *, ready: asyncio.Event | None = None
) -> None:
    """Bring the demo up, print how to connect, and run until ``stop`` is set."""
    state_path = data_dir / "demo.json"
    state = _load_state(state_path)
    _save_state(state_path, state)

    hs = LocalSynapse(data_dir / "synapse")
    apy = apertium_server.LocalApertium() if apertium_server.available() else None
    app: Application | None = None
    demo_client: MatrixClient | None = None
    try:
        await hs.start()
        if apy is not None:
            await apy.start()
        else:
            log.warning("apertium-apy is not installed: the demo relays without translation")
        bot_user = await hs.register(BOT_LOCALPART, state["bot_password"])
        demo_user = await hs.register(DEMO_LOCALPART, state["demo_password"], admin=True)
        config = from_dict(
            {
                "matrix": {
                    "homeserver": hs.url,
                    "user_id": bot_user,
                    "password": state["bot_password"],
                    "encryption": True,
                },
                "storage": {"data_dir": str(data_dir / "bot")},
                "bot": {"admins": [demo_user], "allowed_inviters": [hs.server_name]},
                "translation": {
                    "engines": ["apertium"] if apy is not None else [],
                    "apertium": {"url": apy.url if apy is not None else "http://127.0.0.1:2737"},
                },
                "web": {"enabled": True, "port": 0},
            },
            environ={},
        )
        app = Application(config)
        await app.runtime.start()
        await asyncio.wait_for(app.ready.wait(), timeout=60)

        demo_client = MatrixClient(
            MatrixConfig(
                homeserver=hs.url,
                user_id=demo_user,
                password=state["demo_password"],
                device_name="liaison-demo",
                encryption=False,
            ),
            data_dir / "demo-member",
        )
        await demo_client.login()
        await _set_up_rooms(demo_client, app, bot_user, state)
        _save_state(state_path, state)
        if "gathering" not in state:
            state["gathering"] = await _announce_sample_gathering(
                demo_client, state["rooms"]["en"]["room_id"]
            )
            _save_state(state_path, state)
        _print_banner(hs, demo_user, state, app)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        if demo_client is not None:
            await demo_client.close()
        if app is not None:
            await app.stop()
        if apy is not None:
            await apy.stop()
        await hs.stop()


async def _set_up_rooms(
    client: MatrixClient, app: Application, bot_user: str, state: dict[str, Any]
) -> None:
    """Create the demo rooms once; the demo user (a bot admin) configures them by command."""
    for room in DEMO_ROOMS:
        if room.key in state["rooms"]:
            continue
        room_id = await client.create_room(room.name, invite=[bot_user])
        await _wait_until_joined(app, room_id)
        for command in (f"!room lang {room.language}", *room.setup):
            await _send(client, room_id, command)
        state["rooms"][room.key] = {"room_id": room_id, "name": room.name}


async def _send(client: MatrixClient, room_id: str, body: str) -> str:
    content = {"msgtype": "m.text", "body": body}
    return await client.send(room_id, content, txn_id=txn_id_for("demo", room_id, body))


async def _announce_sample_gathering(client: MatrixClient, room_id: str) -> str:
    """One sample gathering, created and announced by command like a member would: the id is
    read from the bot's answer, as a member reads it."""
    since: str | None = None
    since = (await client.sync(since, timeout_ms=0)).next_batch
    command_id = await _send(client, room_id, SAMPLE_GATHERING)
    async with asyncio.timeout(60):
        while True:
            batch = await client.sync(since, timeout_ms=5000)
            since = batch.next_batch
            for event in batch.timelines.get(room_id, []):
                content = event.get("content") or {}
                replied = (content.get("m.relates_to") or {}).get("m.in_reply_to") or {}
                found = _GATHERING_ID.search(str(content.get("body", "")))
                if replied.get("event_id") == command_id and found:
                    await _send(client, room_id, f"!event announce {found.group(1)}")
                    return found.group(1)


async def _wait_until_joined(app: Application, room_id: str, timeout: float = 30) -> None:
    """The bot joins on its next sync after the invite; give it a bounded moment."""
    sync = app.runtime.sync
    async with asyncio.timeout(timeout), sync.state:
        await sync.state.wait_for(lambda: app.matrix.is_joined(room_id))


def _agenda_url(app: Application, state: dict[str, Any]) -> str:
    agenda = app.feature("agenda").service
    assert isinstance(agenda, Agenda)
    return agenda.address(state["rooms"]["en"]["room_id"])


def _print_banner(
    hs: LocalSynapse, demo_user: str, state: dict[str, Any], app: Application
) -> None:
    lines = [
        "",
        "Liaison demo is running. Connect with any Matrix client (e.g. Element, with a custom homeserver):",
        f"  homeserver : {hs.url}",
        f"  user       : {demo_user}",
        f"  password   : {state['demo_password']}",
        "  rooms      : " + ", ".join(r["name"] for r in state["rooms"].values()),
        "Type !help in any room. What you write in one room appears, translated, in the others.",
        f"A sample gathering is announced in the English room: try !event show {state.get('gathering', '')}",
        f"Public agenda (a web page, in fr/en/ar/es): {_agenda_url(app, state)}",
        "Stop with Ctrl-C.",
        "",
    ]
    for line in lines:
        print(line, flush=True)  # noqa: T201
