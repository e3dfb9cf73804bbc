"""The only place that talks to matrix-nio: session, sync loop, the one send path, encryption.

nio reports failures as ``ErrorResponse`` objects; this module turns them into retries or
``MatrixError`` so the rest of the code never sees nio's response types.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    ErrorResponse,
    JoinResponse,
    LoginResponse,
    MegolmEvent,
    MessageDirection,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomInviteResponse,
    RoomKeyEvent,
    RoomMessagesResponse,
    RoomPreset,
    RoomPutStateResponse,
    RoomRedactResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    RoomVisibility,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.crypto import decrypt_attachment, encrypt_attachment
from nio.event_builders import RoomKeyRequestMessage
from nio.exceptions import EncryptionError, LocalProtocolError

from bot.core.config import MatrixConfig
from bot.core.matrix import validation
from bot.core.trace import Tracer

log = logging.getLogger(__name__)

# Marks every event the bot sends, so that no copy is ever relayed or obeyed again.
LIAISON_KEY = "org.mujawara.liaison"
# the token nio is told the rebuilt rooms came with: never a homeserver's, so the first real
# answer is never mistaken for one already handled
RESTORED_BATCH = "liaison-restored-state"
PERMANENT_ERRORS = frozenset(
    {
        "M_FORBIDDEN",
        "M_UNKNOWN_TOKEN",
        "M_MISSING_TOKEN",
        "M_NOT_FOUND",
        "M_BAD_JSON",
        "M_NOT_JSON",
        "M_TOO_LARGE",
        "M_INVALID_PARAM",
        "M_UNRECOGNIZED",
        "M_GUEST_ACCESS_FORBIDDEN",
        "M_DUPLICATE_ANNOTATION",  # the same reaction twice: already there, nothing to retry
    }
)
TRANSIENT_EXCEPTIONS = (aiohttp.ClientError, TimeoutError, ConnectionError, OSError)


class MatrixError(Exception):
    """A request the homeserver refused for good (or that kept failing past the retry budget)."""

    def __init__(self, message: str, errcode: str | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode


@dataclass(frozen=True)
class SyncBatch:
    """One sync's worth of what the rest of the bot needs, independent of nio's classes."""

    next_batch: str
    since: str | None
    timelines: dict[str, list[dict[str, Any]]]
    invites: dict[str, str | None]  # room id -> inviter
    left: list[str]
    # megolm sessions whose keys arrived in this sync (room keys and answers to our requests)
    room_keys: frozenset[str] = frozenset()
    # state events by room, stored with the token; all of every room's state when full_state
    state: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    full_state: bool = False


@dataclass
class _SendJob:
    event_type: str
    content: dict[str, Any] | Awaitable[dict[str, Any] | None]
    txn_id: str
    future: asyncio.Future[str | None]
    redacts: str | None = None
    trace: str | None = None  # the event it is a copy of, in trace mode


@dataclass
class SendStats:
    sent: int = 0
    retries: int = 0
    rate_limited: int = 0
    failed: int = 0
    last_error: str | None = None


def txn_id_for(*parts: str) -> str:
    """A transaction id derived from what caused the send, so a retry after a crash is a no-op."""
    return "lz" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


class MatrixClient:
    """Session, sync and sending for one bot account."""

    def __init__(
        self,
        config: MatrixConfig,
        data_dir: Path,
        *,
        retry_budget_seconds: float = 600.0,
        tracer: Tracer | None = None,
    ) -> None:
        self.config = config
        # trace mode (bot.trace): None when off, so each trace point costs one test
        self.tracer = tracer
        self.data_dir = data_dir
        self.session_path = data_dir / "session.json"
        self.store_path = data_dir / "store"
        self.retry_budget_seconds = retry_budget_seconds
        client_config = AsyncClientConfig(
            encryption_enabled=config.encryption,
            store_sync_tokens=False,
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=max(60.0, config.sync_timeout_ms / 1000 + 30),
        )
        self.store_path.mkdir(parents=True, exist_ok=True)
        validation.install()  # nio's event checks, compiled once instead of interpreted per event
        client_class = AsyncClient if tracer is None else _tracing_client(tracer)
        self.client = client_class(
            config.homeserver,
            config.user_id,
            device_id=None,
            store_path=str(self.store_path),
            config=client_config,
        )
        self.stats = SendStats()
        self._queues: dict[str, asyncio.Queue[_SendJob | None]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        self.last_sync_at: float | None = None
        self.connected = False
        self._have_full_state = False
        self._creators: dict[str, set[str]] = {}
        # direct chats made in this run -> the person invited (see _know_devices)
        self._invited: dict[str, str] = {}
        # rooms a sync has delivered state for, and who waits for one to arrive
        self._synced_rooms: set[str] = set()
        self._room_waiters: dict[str, asyncio.Event] = {}

    # ---- session -------------------------------------------------------------------------

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @property
    def device_id(self) -> str:
        return str(self.client.device_id)

    @property
    def server_name(self) -> str:
        """The bot's homeserver, as it appears in ids (``example.org``, ``localhost:8448``)."""
        return self.user_id.split(":", 1)[1]

    async def login(self) -> None:
        """Reuse the stored session (a stable device is needed for encryption), else log in once."""
        session = self._read_session()
        if session and session.get("user_id") == self.config.user_id:
            self.client.restore_login(
                session["user_id"], session["device_id"], session["access_token"]
            )
            log.info("restored session for device %s", session["device_id"])
            self._trust_forwarded_keys()
            self._save_only_new_encrypted_rooms()
            return
        if self.config.access_token:
            self.client.access_token = self.config.access_token
            whoami = await self.client.whoami()
            if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
                raise MatrixError(f"access token rejected: {_describe(whoami)}")
            self.client.restore_login(whoami.user_id, whoami.device_id, self.config.access_token)
        else:
            response = await self.client.login(
                self.config.password, device_name=self.config.device_name
            )
            if not isinstance(response, LoginResponse):
                raise MatrixError(f"login failed: {_describe(response)}")
            log.info("logged in as a new device %s", response.device_id)
        self._write_session()
        self._trust_forwarded_keys()
        self._save_only_new_encrypted_rooms()

    def _save_only_new_encrypted_rooms(self) -> None:
        """Write the encryption store's list of encrypted rooms only when it grows.

        nio saves that list after every sync, in a transaction of its own, even when no room
        turned encrypted (nearly always): a database round trip on the path of every relayed
        message. Rooms already stored are skipped and an empty save is not made; a room that
        did turn encrypted is still written before the sync's events are handled, as before.
        """
        store = self.client.store
        if store is None:
            return
        saved: set[str] = set(store.load_encrypted_rooms())
        save = store.save_encrypted_rooms

        def save_new(rooms: set[str]) -> None:
            new = set(rooms) - saved
            if new:
                save(new)
                saved.update(new)

        store.save_encrypted_rooms = save_new

    def _trust_forwarded_keys(self) -> None:
        """Accept a forwarded room key we asked for when the device that made the session sends it.

        nio takes forwarded keys only from our own verified devices. The answer to the bot's
        key request comes from the sender's device; when that device is the session's creator
        (its Olm identity key is the session's sender key, nothing forwarded in between, its
        signing key the one the session claims), the key is exactly what an ``m.room_key``
        from it would have carried, so it is trusted as much.
        """
        olm = self.client.olm
        if olm is None:
            return
        original = olm._should_accept_forward

        def accept(sender: str, sender_key: str, event: Any) -> bool:
            content = (getattr(event, "source", None) or {}).get("content") or {}
            request = olm.outgoing_key_requests.get(event.session_id)
            device = olm.device_store.device_from_sender_key(sender, sender_key)
            if (
                request is not None
                and event.algorithm == "m.megolm.v1.aes-sha2"
                and request.room_id == event.room_id
                and request.session_id == event.session_id
                and content.get("sender_key") == sender_key
                and not content.get("forwarding_curve25519_key_chain")
                and device is not None
                and device.user_id == sender
                and not device.blacklisted
                and device.ed25519 == content.get("sender_claimed_ed25519_key")
            ):
                return True
            return bool(original(sender, sender_key, event))

        olm._should_accept_forward = accept  # type: ignore[method-assign]

    def has_session(self) -> bool:
        return self._read_session() is not None

    def _read_session(self) -> dict[str, str] | None:
        try:
            data = json.loads(self.session_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def _write_session(self) -> None:
        data = {
            "user_id": self.user_id,
            "device_id": self.device_id,
            "access_token": self.client.access_token,
        }
        tmp = self.session_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.session_path)

    async def request_json(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        budget_seconds: float = 30.0,
    ) -> tuple[int, dict[str, Any]]:
        """A client-API call nio has no method for (cross-signing): status and JSON answer.

        Network failures, 5xx and 429 answers are retried for ``budget_seconds``; then the last
        answer is returned (MatrixError if the homeserver never answered).
        """
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        data = json.dumps(body) if body is not None else None
        deadline = time.monotonic() + min(budget_seconds, self.retry_budget_seconds)
        delay = 0.5
        while True:
            try:
                response = await self.client.send(method, path, data, headers)
                status = response.status
                try:
                    answer = await response.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    answer = {}
                finally:
                    response.release()
            except TRANSIENT_EXCEPTIONS as exc:
                status, answer = 0, {"errcode": type(exc).__name__}
            if not isinstance(answer, dict):
                answer = {}
            if status == 429:
                wait = float(answer.get("retry_after_ms", 1000)) / 1000
            elif status == 0 or status >= 500:
                wait = delay
            else:
                return status, answer
            if time.monotonic() + wait > deadline:
                if status == 0:
                    raise MatrixError(f"{method} {path}: the homeserver did not answer")
                return status, answer
            await asyncio.sleep(wait)
            delay = min(delay * 2, 30.0)

    # ---- sync ----------------------------------------------------------------------------

    async def sync(self, since: str | None, timeout_ms: int | None = None) -> SyncBatch:
        """One sync round trip, with encryption upkeep; raises on failure (the loop retries).

        nio keeps room state only in memory, and power levels must be known before any
        permission check after a restart: unless :meth:`restore_rooms` rebuilt the rooms from
        the stored state, the first sync of a process asks for the full state of every room.
        The batch carries the state events it brought, to be stored with its token. The first
        sync never waits for news: the bot is not ready until it is answered.
        """
        timeout = self.config.sync_timeout_ms if timeout_ms is None else timeout_ms
        full_state = not self._have_full_state
        first = self.last_sync_at is None
        response = await self.client.sync(
            timeout=0 if first or full_state else timeout,
            full_state=full_state or None,
            since=since,
            sync_filter={
                "presence": {"types": []},
                "account_data": {"types": []},
                "room": {
                    "ephemeral": {"types": []},
                    "timeline": {"limit": 100},
                },
            },
        )
        if not isinstance(response, SyncResponse):
            raise MatrixError(f"sync failed: {_describe(response)}", _errcode(response))
        tracer = self.tracer
        if tracer is not None:
            tracer.sync_point("nio")
        await self._encryption_upkeep()
        timelines: dict[str, list[dict[str, Any]]] = {}
        state: dict[str, list[dict[str, Any]]] = {}
        for room_id, info in response.rooms.join.items():
            synced = [*info.state, *info.timeline.events]
            self._room_synced(room_id, synced)
            # the state at the timeline's start, then the timeline's own state events: the
            # latest per type and state key wins (what backfill finds is older than both)
            changes = _state_sources(synced)
            if changes:
                state[room_id] = changes
            events = [s for s in map(_source, info.timeline.events) if s is not None]
            if info.timeline.limited and since is not None and info.timeline.prev_batch:
                events = await self._backfill(room_id, info.timeline.prev_batch, since) + events
            timelines[room_id] = events
        invites: dict[str, str | None] = {}
        for room_id, invite in response.rooms.invite.items():
            invites[room_id] = _inviter(invite.invite_state, self.user_id)
        self.last_sync_at = time.monotonic()
        self._have_full_state = True
        keys = frozenset(
            str(e.session_id) for e in response.to_device_events if isinstance(e, RoomKeyEvent)
        )
        if tracer is not None:
            tracer.sync_point("batch")
        return SyncBatch(
            next_batch=response.next_batch,
            since=since,
            timelines=timelines,
            invites=invites,
            left=list(response.rooms.leave),
            room_keys=keys,
            state=state,
            full_state=full_state or since is None,
        )

    def _room_synced(self, room_id: str, events: list[Any]) -> None:
        self._note_creators(room_id, events)
        self._synced_rooms.add(room_id)
        waiter = self._room_waiters.pop(room_id, None)
        if waiter is not None:
            waiter.set()

    async def restore_rooms(self, state: Mapping[str, list[dict[str, Any]]]) -> bool:
        """Rebuild nio's rooms from stored state, so the first sync asks only for changes.

        The stored events go through nio's own sync handling, as a full-state answer would
        (the rooms' members, power levels, encryption; the users whose keys to track). Whether
        the rooms were rebuilt (if not, the first sync asks for the full state as before).
        """
        body = {
            "next_batch": RESTORED_BATCH,
            "rooms": {
                "join": {
                    room_id: {
                        "state": {"events": events},
                        "timeline": {"events": [], "limited": False},
                    }
                    for room_id, events in state.items()
                },
            },
        }
        response = SyncResponse.from_dict(body)
        if not isinstance(response, SyncResponse):
            log.warning("stored room state not usable (%s): asking for it all", _describe(response))
            return False
        await self.client.receive_response(response)
        for room_id, info in response.rooms.join.items():
            self._room_synced(room_id, info.state)
        self._have_full_state = True
        log.info("rebuilt %d room(s) from the stored state", len(response.rooms.join))
        return True

    # ---- late room keys --------------------------------------------------------------------

    def decrypt(self, room_id: str, source: dict[str, Any]) -> dict[str, Any] | None:
        """The decrypted form of an encrypted event we kept, or None while its key is missing."""
        if self.client.olm is None:
            return None
        event = MegolmEvent.from_dict(source)
        if not isinstance(event, MegolmEvent):
            return None
        event.room_id = room_id
        decrypted = self.client.olm._decrypt_megolm_no_error(event)
        if decrypted is None or isinstance(decrypted, MegolmEvent):
            return None
        return _source(decrypted)

    async def request_room_key(self, room_id: str, source: dict[str, Any]) -> bool:
        """Ask the sender's devices for the key of an event we could not decrypt.

        The request id is the session id, so asking again (after a restart) is harmless.
        Whether the request went out.
        """
        if self.client.olm is None:
            return False
        event = MegolmEvent.from_dict(source)
        if not isinstance(event, MegolmEvent) or not event.session_id:
            return False
        event.room_id = room_id
        message: RoomKeyRequestMessage = event.as_key_request(event.sender, self.device_id)
        self.client.olm.outgoing_to_device_messages.append(message)
        try:
            await self.client.send_to_device_messages()
        except TRANSIENT_EXCEPTIONS as exc:
            log.warning("room key request not sent yet (%s); it goes with the next sync", exc)
            return False
        return True

    async def _encryption_upkeep(self) -> None:
        """What sync_forever would do: without it members never receive the room keys."""
        if not self.client.olm:
            return
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())
        await self.client.send_to_device_messages()

    async def _backfill(self, room_id: str, prev_batch: str, since: str) -> list[dict[str, Any]]:
        """Fetch what a limited timeline left out, so nothing said while we were away is lost."""
        collected: list[dict[str, Any]] = []
        start = prev_batch
        for _ in range(50):
            response = await self.client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(response, RoomMessagesResponse):
                log.warning("backfill of %s stopped: %s", room_id, _describe(response))
                break
            for event in response.chunk:
                if isinstance(event, MegolmEvent) and self.client.olm:
                    event.room_id = room_id
                    decrypted = self.client.olm._decrypt_megolm_no_error(event)
                    if decrypted is not None:
                        event = decrypted
                source = _source(event)
                if source is not None:
                    collected.append(source)
            if not response.chunk or not response.end or response.end == start:
                break
            start = response.end
        collected.reverse()
        log.info("backfilled %d event(s) in %s", len(collected), room_id)
        return collected

    # ---- rooms ---------------------------------------------------------------------------

    async def join(self, room_id: str) -> str:
        """Join a room by id or alias (on any homeserver); its room id."""
        response = await self._with_retries(lambda: self.client.join(room_id), "join")
        if not isinstance(response, JoinResponse):
            raise MatrixError(f"join failed: {_describe(response)}", _errcode(response))
        return str(response.room_id)

    async def wait_for_room(self, room_id: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until a sync has brought the state of a room just joined (its type, powers)."""
        if room_id in self._synced_rooms:
            return
        waiter = self._room_waiters.setdefault(room_id, asyncio.Event())
        try:
            await asyncio.wait_for(waiter.wait(), timeout)
        except TimeoutError:
            raise MatrixError(f"no sync brought {room_id} within {timeout} s") from None

    def servers_of(self, room_id: str) -> list[str]:
        """Servers to join ``room_id`` through: ours (we are in it), its creators', its own."""
        servers = [self.server_name]
        servers += sorted(u.split(":", 1)[1] for u in self._creators.get(room_id, ()) if ":" in u)
        if ":" in room_id:
            servers.append(room_id.split(":", 1)[1])
        return list(dict.fromkeys(servers))

    async def fetch_event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        """One event of a room as sync would give it (decrypted when we hold its key).

        None when the homeserver does not show it to us (never seen, or not visible).
        """
        try:
            response = await self._with_retries(
                lambda: self.client.room_get_event(room_id, event_id), "get event"
            )
        except MatrixError as exc:
            log.warning("could not fetch an event of %s: %s", room_id, exc)
            return None
        if not isinstance(response, RoomGetEventResponse):
            return None
        event = response.event
        if isinstance(event, MegolmEvent) and self.client.olm:
            event.room_id = room_id
            decrypted = self.client.olm._decrypt_megolm_no_error(event)
            if decrypted is not None:
                event = decrypted
        return _source(event)

    async def create_space(
        self,
        name: str,
        *,
        topic: str | None,
        invite: list[str],
        power_users: dict[str, int],
        initial_state: list[dict[str, Any]],
    ) -> str:
        """A new private space (a room of type ``m.space``); its room id."""
        response = await self._with_retries(
            lambda: self.client.room_create(
                visibility=RoomVisibility.private,
                name=name,
                topic=topic,
                invite=invite,
                space=True,
                preset=RoomPreset.private_chat,
                initial_state=initial_state,
                power_level_override={"users": power_users} if power_users else None,
            ),
            "create space",
        )
        if not isinstance(response, RoomCreateResponse):
            raise MatrixError(f"space creation failed: {_describe(response)}", _errcode(response))
        return str(response.room_id)

    async def put_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> str:
        """Set one piece of room state; its event id (MatrixError when refused)."""
        response = await self._with_retries(
            lambda: self.client.room_put_state(room_id, event_type, content, state_key=state_key),
            "put state",
        )
        if not isinstance(response, RoomPutStateResponse):
            raise MatrixError(f"state change refused: {_describe(response)}", _errcode(response))
        return str(response.event_id)

    def room_type(self, room_id: str) -> str | None:
        """``m.space`` for a space, None for an ordinary room (or one we do not know)."""
        room = self.client.rooms.get(room_id)
        kind = getattr(room, "room_type", None) if room is not None else None
        return str(kind) if kind else None

    def state_level(self, room_id: str, event_type: str) -> int:
        """The power level needed to set ``event_type`` state in ``room_id``."""
        room = self.client.rooms.get(room_id)
        if room is None:
            return 100
        return int(room.power_levels.get_state_event_required_level(event_type))

    def can_set_state(self, room_id: str, user_id: str, event_type: str) -> bool:
        """Whether ``user_id`` may set ``event_type`` state there (room v12 creators may)."""
        if room_id not in self.client.rooms:
            return False
        return self.power_level(room_id, user_id) >= self.state_level(room_id, event_type)

    async def create_direct_room(self, user_id: str, name: str | None = None) -> str:
        """A new private direct chat with ``user_id``; its room id.

        Marked direct, invite-only, closed to guests, and end-to-end encrypted when the bot
        speaks encryption (the presets alone leave guest access open). Not idempotent on the
        homeserver: callers remember the room they got.
        """
        initial_state: list[dict[str, Any]] = [
            {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}},
            {
                "type": "m.room.guest_access",
                "state_key": "",
                "content": {"guest_access": "forbidden"},
            },
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": "invited"},
            },
        ]
        if self.config.encryption:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        response = await self._with_retries(
            lambda: self.client.room_create(
                visibility=RoomVisibility.private,
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.trusted_private_chat,
                name=name,
                initial_state=initial_state,
            ),
            "create room",
        )
        if not isinstance(response, RoomCreateResponse):
            raise MatrixError(f"room creation failed: {_describe(response)}", _errcode(response))
        self._invited[str(response.room_id)] = user_id
        return str(response.room_id)

    async def create_room(self, name: str, *, invite: list[str], alias: str | None = None) -> str:
        """A new private room named ``name`` with ``invite`` invited; its room id."""
        response = await self._with_retries(
            lambda: self.client.room_create(
                visibility=RoomVisibility.private, name=name, invite=invite, alias=alias
            ),
            "create room",
        )
        if not isinstance(response, RoomCreateResponse):
            raise MatrixError(f"room creation failed: {_describe(response)}", _errcode(response))
        return str(response.room_id)

    async def resolve_alias(self, alias: str) -> str | None:
        """The room id an alias (``#coordinators:example.org``) points to; None if none."""
        response = await self._with_retries(
            lambda: self.client.room_resolve_alias(alias), "resolve alias"
        )
        if isinstance(response, RoomResolveAliasResponse):
            return str(response.room_id)
        log.warning("could not resolve %s: %s", alias, _describe(response))
        return None

    async def invite(self, room_id: str, user_id: str) -> None:
        response = await self._with_retries(
            lambda: self.client.room_invite(room_id, user_id), "invite"
        )
        if not isinstance(response, RoomInviteResponse):
            raise MatrixError(f"invite failed: {_describe(response)}", _errcode(response))

    async def reject_invite(self, room_id: str) -> None:
        await self._with_retries(lambda: self.client.room_leave(room_id), "leave")

    def power_level(self, room_id: str, user_id: str) -> int:
        """The user's power; in room versions 12+ the creators outrank every level."""
        room = self.client.rooms.get(room_id)
        if room is None:
            return 0
        if user_id in self._creators.get(room_id, ()) and _creators_are_privileged(
            room.room_version
        ):
            return CREATOR_POWER
        return int(room.power_levels.get_user_level(user_id))

    def _note_creators(self, room_id: str, events: list[Any]) -> None:
        for event in events:
            source = getattr(event, "source", None) or {}
            if source.get("type") == "m.room.create" and source.get("state_key") == "":
                content = source.get("content") or {}
                extra = content.get("additional_creators") or []
                self._creators[room_id] = {str(source.get("sender")), *map(str, extra)}

    def can_notify_room(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        if room is None:
            return False
        # through power_level, so room v12 creators (outside power_levels) may notify too
        required = int(room.power_levels.get_notification_required_level("room"))
        return self.power_level(room_id, user_id) >= required

    def display_name(self, room_id: str, user_id: str) -> str:
        room = self.client.rooms.get(room_id)
        if room is not None:
            name = room.user_name(user_id)
            if name:
                return str(name)
        return user_id

    def room_name(self, room_id: str) -> str:
        """The room's name, else its main alias, else its id (never a made-up member list)."""
        room = self.client.rooms.get(room_id)
        if room is None:
            return room_id
        return str(room.name or room.canonical_alias or room_id)

    def is_joined(self, room_id: str) -> bool:
        return room_id in self.client.rooms

    def is_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(room and room.encrypted)

    def members(self, room_id: str) -> list[str]:
        room = self.client.rooms.get(room_id)
        return list(room.users) if room is not None else []

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        """Upload a file as it is (the media repository can read it); return its mxc:// URI."""
        return await self._upload(data, content_type, filename)

    async def upload_encrypted(
        self, data: bytes, content_type: str, filename: str
    ) -> dict[str, Any]:
        """Upload a file encrypted (for an encrypted room): the event's ``file`` object.

        The homeserver stores only ciphertext; the key travels inside the (encrypted) event.
        """
        ciphertext, keys = encrypt_attachment(data)
        uri = await self._upload(ciphertext, "application/octet-stream", None)
        return {**keys, "url": uri, "mimetype": content_type}

    async def _upload(self, data: bytes, content_type: str, filename: str | None) -> str:
        async def attempt() -> Any:
            response, _keys = await self.client.upload(
                lambda *_: data, content_type=content_type, filename=filename, filesize=len(data)
            )
            return response

        response = await self._with_retries(attempt, "upload")
        if not isinstance(response, UploadResponse):
            raise MatrixError(f"upload failed: {_describe(response)}", _errcode(response))
        return str(response.content_uri)

    async def download_decrypted(self, file: dict[str, Any]) -> bytes:
        """The plain bytes of an encrypted attachment (an event's ``file`` object)."""
        try:
            url = str(file["url"])
            key, sha256, iv = file["key"]["k"], file["hashes"]["sha256"], file["iv"]
        except (KeyError, TypeError) as exc:
            raise MatrixError(f"not an encrypted file object ({exc})") from None
        response = await self._with_retries(lambda: self.client.download(mxc=url), "download")
        if not isinstance(response, DownloadResponse):
            raise MatrixError(f"download failed: {_describe(response)}", _errcode(response))
        try:
            return bytes(decrypt_attachment(response.body, key, sha256, iv))
        except EncryptionError as exc:
            raise MatrixError(f"the attachment does not decrypt: {exc}") from None

    # ---- the one send path ---------------------------------------------------------------

    def enqueue(
        self,
        room_id: str,
        content: dict[str, Any] | Awaitable[dict[str, Any] | None],
        *,
        txn_id: str,
        event_type: str = "m.room.message",
        trace: str | None = None,
    ) -> asyncio.Future[str | None]:
        """Queue an event for ``room_id``; events of one room go out in the order queued.

        ``content`` may be an awaitable (a translation under way): the room's order is kept
        while the work for many rooms proceeds in parallel. It may resolve to None to skip.
        The future resolves to the event id, or fails with MatrixError. ``trace`` names the
        event the send copies, for the trace mode's "send started" point.
        """
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        if self._closing:
            future.set_exception(MatrixError("the bot is shutting down"))
            return future
        job = _SendJob(event_type, content, txn_id, future, trace=trace)
        self._queue(room_id).put_nowait(job)
        return future

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        *,
        txn_id: str,
        event_type: str = "m.room.message",
    ) -> str:
        event_id = await self.enqueue(room_id, content, txn_id=txn_id, event_type=event_type)
        assert event_id is not None
        return event_id

    async def redact(
        self, room_id: str, event_id: str, *, txn_id: str, reason: str | None = None
    ) -> None:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        if self._closing:
            raise MatrixError("the bot is shutting down")
        job = _SendJob(
            "m.room.redaction", {"reason": reason} if reason else {}, txn_id, future, event_id
        )
        self._queue(room_id).put_nowait(job)
        await future

    def queue_length(self) -> int:
        return sum(q.qsize() for q in self._queues.values())

    def _queue(self, room_id: str) -> asyncio.Queue[_SendJob | None]:
        queue = self._queues.get(room_id)
        if queue is None:
            queue = asyncio.Queue()
            self._queues[room_id] = queue
            self._workers[room_id] = asyncio.create_task(
                self._send_worker(room_id, queue), name=f"send:{room_id}"
            )
        return queue

    async def _send_worker(self, room_id: str, queue: asyncio.Queue[_SendJob | None]) -> None:
        while True:
            job = await queue.get()
            if job is None:
                return
            try:
                content = await self._content_of(job)
                if content is None:
                    if not job.future.done():
                        job.future.set_result(None)
                    continue
                if job.trace is not None and self.tracer is not None:
                    self.tracer.send_started(job.trace)
                event_id = await self._deliver(room_id, job, content)
                if not job.future.done():
                    job.future.set_result(event_id)
            except Exception as exc:  # the worker must outlive any one job
                self.stats.failed += 1
                self.stats.last_error = type(exc).__name__
                log.error("send to %s failed for good: %s", room_id, exc)
                if not job.future.done():
                    job.future.set_exception(
                        exc if isinstance(exc, MatrixError) else MatrixError(str(exc))
                    )

    async def _content_of(self, job: _SendJob) -> dict[str, Any] | None:
        """The job's content; a content that was cancelled on its own is skipped, not fatal."""
        if isinstance(job.content, dict):
            return job.content
        try:
            return await job.content
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the worker itself is being stopped
            return None

    async def _deliver(self, room_id: str, job: _SendJob, content: dict[str, Any]) -> str:
        if job.redacts is not None:
            redacts = job.redacts

            async def attempt() -> Any:
                return await self.client.room_redact(
                    room_id, redacts, reason=content.get("reason"), tx_id=job.txn_id
                )

        else:

            async def attempt() -> Any:
                await self._know_devices(room_id)
                return await self.client.room_send(
                    room_id,
                    job.event_type,
                    content,
                    tx_id=job.txn_id,
                    ignore_unverified_devices=True,
                )

        response = await self._with_retries(attempt, "send")
        if isinstance(response, RoomSendResponse | RoomRedactResponse):
            self.stats.sent += 1
            return str(response.event_id)
        raise MatrixError(f"send failed: {_describe(response)}", _errcode(response))

    async def _know_devices(self, room_id: str) -> None:
        """In an encrypted room, learn every member's devices (the invited ones too) first.

        Otherwise a message sent right after a room is made (a direct chat) would be encrypted
        for nobody but the bot, and the person invited could never read it.
        """
        olm = self.client.olm
        room = self.client.rooms.get(room_id)
        if olm is None or room is None or not room.encrypted:
            return
        invitee = self._invited.get(room_id)
        if invitee is not None and invitee not in room.users:
            # the sync may show the room before the invitation in it
            room.add_member(invitee, None, None, invited=True)
        olm.update_tracked_users(room)
        if self.client.should_query_keys:
            # LocalProtocolError: the sync loop's upkeep is querying them right now
            with contextlib.suppress(LocalProtocolError):
                await self.client.keys_query()

    async def _with_retries(self, attempt: Callable[[], Awaitable[Any]], what: str) -> Any:
        """Retry transient failures with backoff; honour ``retry_after_ms`` on HTTP 429."""
        deadline = time.monotonic() + self.retry_budget_seconds
        delay = 0.5
        tries = 0
        while True:
            tries += 1
            try:
                response = await attempt()
            except LocalProtocolError as exc:
                # e.g. a room nio has not seen in a sync yet: worth a few more tries
                if tries >= 5:
                    raise MatrixError(f"{what}: {exc}") from exc
                wait = delay
            except TRANSIENT_EXCEPTIONS as exc:
                wait = delay
                log.warning("%s: homeserver unreachable (%s), retrying", what, type(exc).__name__)
            else:
                if not isinstance(response, ErrorResponse):
                    return response
                errcode = _errcode(response)
                if errcode == "M_LIMIT_EXCEEDED":
                    self.stats.rate_limited += 1
                    retry_after = getattr(response, "retry_after_ms", None) or 1000
                    wait = retry_after / 1000
                elif errcode in PERMANENT_ERRORS or _refused_for_good(response):
                    return response
                else:
                    wait = delay
                    log.warning("%s: transient error %s, retrying", what, errcode or "unknown")
            if time.monotonic() + wait > deadline:
                raise MatrixError(f"{what}: gave up after {tries} tries")
            self.stats.retries += 1
            await asyncio.sleep(wait)
            delay = min(delay * 2, 30.0)

    # ---- shutdown ------------------------------------------------------------------------

    async def flush(self, timeout: float = 30.0) -> None:
        """Stop taking new sends and let queued ones go out."""
        self._closing = True
        for queue in self._queues.values():
            queue.put_nowait(None)
        workers = list(self._workers.values())
        if workers:
            _done, pending = await asyncio.wait(workers, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d room queue(s) not flushed before shutdown", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        await self.flush()
        await self.client.close()


def _tracing_client(tracer: Tracer) -> type[AsyncClient]:
    """nio's client that stamps the arrival of each sync response (trace mode only)."""

    class TracingClient(AsyncClient):
        async def send(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            response = await super().send(method, path, *args, **kwargs)
            if "/sync?" in path or path.endswith("/sync"):
                tracer.sync_received()
            return response

    return TracingClient


CREATOR_POWER = 10**9


def _creators_are_privileged(room_version: str) -> bool:
    """Room version 12 ("hydra") gives creators infinite power outside power_levels."""
    if room_version.startswith("org.matrix.hydra"):
        return True
    try:
        return int(room_version) >= 12
    except ValueError:
        return False


def _source(event: Any) -> dict[str, Any] | None:
    source = getattr(event, "source", None)
    if not isinstance(source, dict) or "event_id" not in source:
        return None
    result = dict(source)
    if isinstance(event, MegolmEvent):
        result["liaison_undecryptable"] = True
    elif getattr(event, "decrypted", False):
        result["liaison_encrypted"] = True
    return result


def _state_sources(events: list[Any]) -> list[dict[str, Any]]:
    """The raw state events among ``events`` (as the homeserver sent them), in order."""
    found: list[dict[str, Any]] = []
    for event in events:
        source = getattr(event, "source", None)
        if (
            isinstance(source, dict)
            and isinstance(source.get("state_key"), str)
            and isinstance(source.get("type"), str)
        ):
            found.append(source)
    return found


def _inviter(invite_state: list[Any], own_user_id: str) -> str | None:
    for event in invite_state:
        if (
            getattr(event, "state_key", None) == own_user_id
            and getattr(event, "membership", None) == "invite"
        ):
            sender = getattr(event, "sender", None)
            return str(sender) if sender else None
    return None


def _refused_for_good(response: Any) -> bool:
    """An HTTP 4xx answer (but a timeout or a rate limit): asking again changes nothing.

    Synapse answers some refusals with the generic ``M_UNKNOWN`` (a relation to an event it
    does not know, say), so the HTTP status decides, not only the error code.
    """
    status = getattr(getattr(response, "transport_response", None), "status", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in (408, 429)


def _errcode(response: Any) -> str | None:
    code = getattr(response, "status_code", None)
    return str(code) if code else None


def _describe(response: Any) -> str:
    """Error text for logs: the code and the server's message, never a token."""
    if isinstance(response, ErrorResponse):
        return f"{response.status_code or 'error'}: {response.message}"
    return type(response).__name__
