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
# A second member, so a newcomer can watch a conversation from both sides (two clients, or
# two browser profiles).
SECOND_LOCALPART = "demo2"
DEMO_TIMEZONE = "Europe/Paris"


@dataclass(frozen=True)
class DemoRoom:
    key: str
    name: str
    alias: str  # the local part of the room's alias: #mujawara-fr:localhost
    language: str
    setup: tuple[str, ...]


# The demo's rooms and the commands their admin sends once, right after creating them.
DEMO_ROOMS = (
    DemoRoom("fr", "Liaison démo — français", "mujawara-fr", "fr", ("!relay link mujawara fr",)),
    DemoRoom("es", "Liaison demo — español", "mujawara-es", "es", ("!relay link mujawara es",)),
    DemoRoom(
        "en",
        "Liaison demo — English",
        "mujawara-en",
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
    data.setdefault("second_password", secrets.token_urlsafe(12))
    data.setdefault("rooms", {})
    return data


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    path.chmod(0o600)


def _member(hs: LocalSynapse, user_id: str, password: str, store: Path) -> MatrixClient:
    return MatrixClient(
        MatrixConfig(
            homeserver=hs.url,
            user_id=user_id,
            password=password,
            device_name="liaison-demo",
            encryption=False,
        ),
        store,
    )


async def run_demo(
    data_dir: Path, stop: asyncio.Event, *, ready: asyncio.Event | None = None
) -> None:
    """Bring the demo up, print how to connect, and run until ``stop`` is set."""
    state_path = data_dir / "demo.json"
    state = _load_state(state_path)
    _save_state(state_path, state)
    # one line per handled event while the demo runs (room, event, family, outcome, time)
    logging.getLogger("bot.core.matrix.intake").setLevel(logging.INFO)
    # the demo's account is thrown away with its data directory: no recovery key to keep
    logging.getLogger("bot.core.runtime.recovery").setLevel(logging.ERROR)

    hs = LocalSynapse(data_dir / "synapse")
    apy = apertium_server.LocalApertium() if apertium_server.available() else None
    app: Application | None = None
    members: list[MatrixClient] = []
    try:
        await hs.start()
        if apy is not None:
            await apy.start()
        else:
            log.warning("apertium-apy is not installed: the demo relays without translation")
        bot_user = await hs.register(BOT_LOCALPART, state["bot_password"])
        demo_user = await hs.register(DEMO_LOCALPART, state["demo_password"], admin=True)
        second_user = await hs.register(SECOND_LOCALPART, state["second_password"])
        config = from_dict(
            {
                "matrix": {
                    "homeserver": hs.url,
                    "user_id": bot_user,
                    "password": state["bot_password"],
                    "encryption": True,
                },
                "storage": {"data_dir": str(data_dir / "bot")},
                "bot": {
                    "admins": [demo_user],
                    "allowed_inviters": [hs.server_name],
                    "default_timezone": DEMO_TIMEZONE,
                },
                "translation": {
                    "engines": ["apertium"] if apy is not None else [],
                    "apertium": {"url": apy.url if apy is not None else "http://127.0.0.1:2737"},
                },
                "web": {"enabled": True, "port": 0},
            },
            environ={},
        )
        app = Application(config, owns_process=True)
        await app.runtime.start()
        await asyncio.wait_for(app.ready.wait(), timeout=60)

        demo_client = _member(hs, demo_user, state["demo_password"], data_dir / "demo-member")
        members.append(demo_client)
        await demo_client.login()
        second = _member(hs, second_user, state["second_password"], data_dir / "demo2-member")
        members.append(second)
        await second.login()
        await _set_up_rooms(demo_client, second, app, bot_user, state)
        _save_state(state_path, state)
        if "gathering" not in state:
            state["gathering"] = await _announce_sample_gathering(
                demo_client, state["rooms"]["en"]["room_id"]
            )
            _save_state(state_path, state)
        _print_banner(hs, state, app, (demo_user, state["demo_password"]), second_user)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        for client in members:
            await client.close()
        if app is not None:
            await app.stop()
        if apy is not None:
            await apy.stop()
        await hs.stop()


async def _set_up_rooms(
    client: MatrixClient,
    second: MatrixClient,
    app: Application,
    bot_user: str,
    state: dict[str, Any],
) -> None:
    """Create the demo rooms once, each with its alias, language and the demo's zone, and
    invite the bot and the second member; the demo user (a bot admin) links them by command."""
    for room in DEMO_ROOMS:
        if room.key in state["rooms"]:
            continue
        room_id = await client.create_room(room.name, invite=[], alias=room.alias)
        # the room's language and zone are set before the bot joins, so the greeting it posts
        # once on joining is already in the room's language
        app.core.rooms.set_language(room_id, room.language)
        app.core.rooms.set_timezone(room_id, DEMO_TIMEZONE)
        await client.invite(room_id, bot_user)
        await _wait_until_joined(app, room_id)
        await client.invite(room_id, second.user_id)
        await second.join(room_id)
        for command in room.setup:
            await _send(client, room_id, command)
        alias = f"#{room.alias}:{bot_user.split(':', 1)[1]}"
        state["rooms"][room.key] = {"room_id": room_id, "name": room.name, "alias": alias}


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
    hs: LocalSynapse,
    state: dict[str, Any],
    app: Application,
    demo: tuple[str, str],
    second_user: str,
) -> None:
    web = app.core.web
    gatherings = app.feature("gatherings").service
    english = state["rooms"]["en"]["room_id"]
    feed = ""
    if web is not None:  # the group's feed: the demo user is a bot admin, so a steward
        feed, _scope = gatherings.feed_url(english, demo[0])  # type: ignore[attr-defined]
    rooms = [f"{r.get('alias', r['room_id'])} ({r['name']})" for r in state["rooms"].values()]
    lines = [
        "",
        "Liaison demo is running. Connect with any Matrix client (Element: Sign in, Edit the homeserver):",
        f"  homeserver : {hs.url}",
        f"  user       : {demo[0]}",
        f"  password   : {demo[1]}",
        f"  2nd user   : {second_user}",
        f"  2nd pass   : {state['second_password']}",
        "  rooms      : " + rooms[0],
        *(f"               {room}" for room in rooms[1:]),
        f"  web        : {web.base_url}/health" if web is not None else "  web        : off",
        f"  calendar   : {feed}",
        f"Rooms start in the zone {DEMO_TIMEZONE}. Type !help in any room (!aide, !ayuda).",
        "What you write in one room appears, translated, in the others.",
        f"A sample gathering is announced in the English room: try !event show {state.get('gathering', '')}",
        f"Public agenda (a web page, in fr/en/ar/es): {_agenda_url(app, state)}",
        "Stop with Ctrl-C.",
        "",
    ]
    for line in lines:
        print(line, flush=True)  # noqa: T201
