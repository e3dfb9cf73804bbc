"""Real Matrix members for integration tests, driven with matrix-nio against a LocalSynapse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinError,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomKeyRequest,
    RoomPreset,
    RoomSendResponse,
    RoomVisibility,
    SyncResponse,
    UploadResponse,
)

from bot.dev.devserver.synapse import LocalSynapse

log = logging.getLogger(__name__)
# a backoff after a failed sync (the homeserver restarting), not a way to wait for events
SYNC_RETRY_DELAY = 0.2

SYNC_TIMEOUT_MS = 10_000
# A generous timeline limit, so a burst between two syncs is not cut into a gap.
SYNC_FILTER = {"room": {"timeline": {"limit": 200}}}


def password_for(localpart: str) -> str:
    return f"{localpart}-secret-password"


def _check(response: Any, expected: type, what: str) -> Any:
    if not isinstance(response, expected):
        raise AssertionError(f"{what} failed: {response!r}")
    return response


def _record(event: Any) -> dict[str, Any]:
    """The event's source; for a decrypted event nio's source is the decrypted payload."""
    source = dict(getattr(event, "source", None) or {})
    source.setdefault("event_id", getattr(event, "event_id", None))
    source.setdefault("sender", getattr(event, "sender", None))
    source.setdefault("origin_server_ts", getattr(event, "server_timestamp", None))
    source.setdefault("content", {})
    if getattr(event, "decrypted", False):
        source["decrypted"] = True
    return source


def _prepare_store(
    localpart: str, store_dir: Path | None, encryption: bool
) -> tuple[Path | None, Path | None]:
    """The nio store directory, and the same path again when we made it and must remove it."""
    if store_dir is None:
        if not encryption:
            return None, None
        made = Path(tempfile.mkdtemp(prefix=f"nio-{localpart}-"))
        return made, made
    store_dir.mkdir(parents=True, exist_ok=True)
    return store_dir, None


class Member:
    """One logged-in user with a background sync loop that records every timeline event."""

    def __init__(
        self,
        hs: LocalSynapse,
        client: AsyncClient,
        *,
        owned_store: Path | None = None,
    ) -> None:
        self.hs = hs
        self.client = client
        self.user_id: str = client.user_id
        self._owned_store = owned_store
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._seen: set[str] = set()
        self._joined: set[str] = set()
        self._changed = asyncio.Condition()
        self._synced_once = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sync_error: BaseException | None = None
        # what this member's sync asks for (a test may leave some senders out)
        self.sync_filter: dict[str, Any] = SYNC_FILTER
        # room key requests other users' devices sent to this member: (sender, session id)
        self.key_requests: list[tuple[str, str]] = []
        # events whose room key had not arrived yet: (room, index in its timeline, event)
        self._undecrypted: list[tuple[str, int, MegolmEvent]] = []

    @classmethod
    async def create(
        cls,
        hs: LocalSynapse,
        localpart: str,
        *,
        store_dir: Path | None = None,
        encryption: bool = False,
        sync: bool = True,
    ) -> Member:
        """Register (if needed) and log in; with `sync` (the default) also start syncing."""
        password = password_for(localpart)
        user_id = await hs.register(localpart, password)
        store_dir, owned_store = _prepare_store(localpart, store_dir, encryption)
        config = AsyncClientConfig(
            encryption_enabled=encryption,
            store_sync_tokens=encryption,
            max_limit_exceeded=None,
            # Reconnect quickly after a homeserver restart.
            max_timeout_retry_wait_time=2,
        )
        client = AsyncClient(
            hs.url,
            user_id,
            store_path=str(store_dir) if store_dir is not None else "",
            config=config,
        )
        response = await client.login(password, device_name=f"test-{localpart}")
        if not isinstance(response, LoginResponse):
            await client.close()
            raise AssertionError(f"login of {user_id} failed: {response!r}")
        member = cls(hs, client, owned_store=owned_store)
        if sync:
            await member.start()
        return member

    # -- sync loop -----------------------------------------------------------------------

    async def start(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Start the background sync loop and wait for its first sync (and key upload)."""
        if self._task is None:
            self._task = asyncio.create_task(self._sync_loop(), name=f"sync {self.user_id}")
        try:
            await asyncio.wait_for(self._synced_once.wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.user_id}: no successful sync within {timeout} s "
                f"(last error: {self._sync_error!r})"
            ) from None

    async def pause_sync(self) -> None:
        """Stop syncing (the member still sends); :meth:`start` resumes where it stopped."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()
        if self._owned_store is not None:
            shutil.rmtree(self._owned_store, ignore_errors=True)
            self._owned_store = None

    async def _sync_loop(self) -> None:
        client = self.client
        while True:
            try:
                response = await client.sync(
                    timeout=SYNC_TIMEOUT_MS if self._synced_once.is_set() else 0,
                    sync_filter=self.sync_filter,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep syncing through a homeserver restart
                self._sync_error = exc
                log.warning("%s: sync raised %r", self.user_id, exc)
                await asyncio.sleep(SYNC_RETRY_DELAY)
                continue
            if not isinstance(response, SyncResponse):
                self._sync_error = RuntimeError(repr(response))
                log.warning("%s: sync failed: %r", self.user_id, response)
                await asyncio.sleep(SYNC_RETRY_DELAY)
                continue
            await self._share_keys()
            await self._ingest(response)

    async def _share_keys(self) -> None:
        # We drive sync() ourselves, so the key traffic sync_forever would do is ours to do.
        client = self.client
        if client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _ingest(self, response: SyncResponse) -> None:
        async with self._changed:
            # nio answers (or drops) key requests itself and shows them to no callback
            for event in response.to_device_events:
                if isinstance(event, RoomKeyRequest):
                    self.key_requests.append((event.sender, event.session_id))
            for room_id, info in response.rooms.join.items():
                self._joined.add(room_id)
                timeline = self._events.setdefault(room_id, [])
                for event in info.timeline.events:
                    source = _record(event)
                    event_id = source.get("event_id")
                    if event_id in self._seen:
                        continue
                    if event_id:
                        self._seen.add(event_id)
                    if isinstance(event, MegolmEvent):
                        event.room_id = room_id
                        self._undecrypted.append((room_id, len(timeline), event))
                    timeline.append(source)
            self._decrypt_late()
            for room_id in response.rooms.leave:
                self._joined.discard(room_id)
            self._synced_once.set()
            self._changed.notify_all()

    def _decrypt_late(self) -> None:
        """As a client does: a message whose key came after it is shown once the key is here."""
        olm = self.client.olm
        if olm is None:
            return
        still: list[tuple[str, int, MegolmEvent]] = []
        for room_id, index, event in self._undecrypted:
            decrypted = olm._decrypt_megolm_no_error(event)
            if decrypted is None or isinstance(decrypted, MegolmEvent):
                still.append((room_id, index, event))
            else:
                self._events[room_id][index] = _record(decrypted)
        self._undecrypted = still

    async def _wait_until(self, check: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(check), timeout)
            except TimeoutError:
                return False
        return True

    # -- reading ----------------------------------------------------------------------------

    def events(self, room_id: str) -> list[dict[str, Any]]:
        return list(self._events.get(room_id, ()))

    def rooms_seen(self) -> list[str]:
        """Every room this member has read events from."""
        return list(self._events)

    def mark(self, room_id: str) -> int:
        return len(self._events.get(room_id, ()))

    async def wait_for(
        self,
        room_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = 15,  # noqa: ASYNC109
        after: int = 0,
    ) -> dict[str, Any]:
        """The first recorded event at index >= `after` matching `predicate`."""
        found: list[dict[str, Any]] = []

        def check() -> bool:
            for event in self._events.get(room_id, ())[after:]:
                if predicate(event):
                    found.append(event)
                    return True
            return False

        if await self._wait_until(check, timeout):
            return found[0]
        seen = [
            f"{e.get('type')} from {e.get('sender')}"
            + (f" ({e['content'].get('msgtype')})" if e.get("content", {}).get("msgtype") else "")
            for e in self._events.get(room_id, ())[after:]
        ]
        raise AssertionError(
            f"{self.user_id} saw no matching event in {room_id} within {timeout} s; "
            f"{len(seen)} event(s) since index {after}: {seen}"
        )

    async def wait_for_text(
        self,
        room_id: str,
        contains: str,
        *,
        sender: str | None = None,
        timeout: float = 15,  # noqa: ASYNC109
        after: int = 0,
    ) -> dict[str, Any]:
        def matches(event: dict[str, Any]) -> bool:
            body = event.get("content", {}).get("body")
            return (
                event.get("type") == "m.room.message"
                and isinstance(body, str)
                and contains in body
                and (sender is None or event.get("sender") == sender)
            )

        return await self.wait_for(room_id, matches, timeout=timeout, after=after)

    # -- acting -----------------------------------------------------------------------------

    async def create_room(
        self,
        *,
        name: str | None = None,
        invite: Iterable[str] = (),
        encrypted: bool = False,
        power_users: dict[str, int] | None = None,
        space: bool = False,
        timeout: float = 15,  # noqa: ASYNC109
    ) -> str:
        """Create a private room (or space) and wait until this member's sync knows it."""
        initial_state: list[dict[str, Any]] = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        power_override = None
        if power_users:
            # room v12: the creator has infinite power and must not be listed in users
            power_override = {"users": {u: p for u, p in power_users.items() if u != self.user_id}}
        response = await self.client.room_create(
            visibility=RoomVisibility.private,
            name=name,
            invite=list(invite),
            initial_state=initial_state,
            preset=RoomPreset.private_chat,
            power_level_override=power_override,
            space=space,
        )
        room_id: str = _check(response, RoomCreateResponse, "room_create").room_id

        def known() -> bool:
            room = self.client.rooms.get(room_id)
            return room_id in self._joined and room is not None and room.encrypted == encrypted

        if not await self._wait_until(known, timeout):
            raise AssertionError(f"{self.user_id}: room {room_id} not seen in sync")
        return room_id

    async def enable_encryption(self, room_id: str, timeout: float = 15) -> None:  # noqa: ASYNC109
        """Turn encryption on in a room, and wait until this member's client knows it."""
        response = await self.client.room_put_state(
            room_id, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}
        )
        if isinstance(response, ErrorResponse):
            raise AssertionError(f"turning encryption on in {room_id} failed: {response!r}")

        def encrypted() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and room.encrypted

        if not await self._wait_until(encrypted, timeout):
            raise AssertionError(f"{self.user_id}: encryption of {room_id} not seen in sync")

    async def join(self, room_id: str, timeout: float = 15) -> None:  # noqa: ASYNC109
        response = await self.client.join(room_id)
        if isinstance(response, JoinError):
            raise AssertionError(f"{self.user_id} could not join {room_id}: {response!r}")
        if not await self._wait_until(lambda: room_id in self._joined, timeout):
            raise AssertionError(f"{self.user_id}: join of {room_id} not seen in sync")

    async def wait_for_invite(
        self,
        inviter: str,
        name: str | None = None,
        timeout: float = 20,  # noqa: ASYNC109
    ) -> str:
        """Until ``inviter`` invites this member into a room (named ``name``, if given); join
        it and return its id."""
        found: list[str] = []

        def invited() -> bool:
            for room_id, room in self.client.invited_rooms.items():
                if name is not None and room.name != name:
                    continue
                if room_id not in self._joined and inviter in (room.inviter, *room.users):
                    found.append(room_id)
                    return True
            return False

        if not await self._wait_until(invited, timeout):
            raise AssertionError(f"{self.user_id} was not invited by {inviter} within {timeout} s")
        await self.join(found[0])
        return found[0]

    async def invite(self, room_id: str, user_id: str) -> None:
        response = await self.client.room_invite(room_id, user_id)
        if isinstance(response, ErrorResponse):
            raise AssertionError(f"invite of {user_id} to {room_id} failed: {response!r}")

    async def send_raw(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        return str(_check(response, RoomSendResponse, f"sending {event_type}").event_id)

    async def send_text(
        self,
        room_id: str,
        body: str,
        *,
        html: str | None = None,
        msgtype: str = "m.text",
        reply_to: str | None = None,
    ) -> str:
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if html is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = html
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send_raw(room_id, "m.room.message", content)

    async def edit(self, room_id: str, event_id: str, new_body: str) -> str:
        content = {
            "msgtype": "m.text",
            "body": f"* {new_body}",
            "m.new_content": {"msgtype": "m.text", "body": new_body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return await self.send_raw(room_id, "m.room.message", content)

    async def redact(self, room_id: str, event_id: str) -> None:
        response = await self.client.room_redact(room_id, event_id)
        if isinstance(response, ErrorResponse):
            raise AssertionError(f"redacting {event_id} failed: {response!r}")

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send_raw(room_id, "m.reaction", content)

    # -- room keys (encryption-capable members) ----------------------------------------------

    async def withhold_keys_from(self, user_id: str, timeout: float = 15) -> list[str]:  # noqa: ASYNC109
        """From now on, share no room key with ``user_id``'s devices; their device ids."""
        client = self.client

        def known() -> bool:
            return bool(list(client.device_store.active_user_devices(user_id)))

        if not await self._wait_until(known, timeout):
            raise AssertionError(f"{self.user_id} never learnt the devices of {user_id}")
        devices = list(client.device_store.active_user_devices(user_id))
        for device in devices:
            client.blacklist_device(device)
        return [d.id for d in devices]

    def session_of(self, room_id: str) -> str:
        """The id of the megolm session this member encrypts ``room_id`` with now."""
        return str(self.client.olm.outbound_group_sessions[room_id].id)

    async def wait_for_key_request(
        self,
        from_user: str,
        session_id: str,
        timeout: float = 20,  # noqa: ASYNC109
    ) -> None:
        """Until ``from_user`` has asked this member's device for ``session_id``'s key."""

        def asked() -> bool:
            return (from_user, session_id) in self.key_requests

        if not await self._wait_until(asked, timeout):
            raise AssertionError(f"{from_user} never asked {self.user_id} for {session_id}")

    async def forward_room_key(self, room_id: str, session_id: str, to_user: str) -> None:
        """Send ``session_id``'s key to ``to_user``'s devices, as a key-sharing client answers
        a key request (an ``m.forwarded_room_key`` from the device that made the session)."""
        client, olm = self.client, self.client.olm
        own_key = olm.account.identity_keys["curve25519"]
        group_session = olm.inbound_group_store.get(room_id, own_key, session_id)
        assert group_session is not None, "no such session on this device"
        for device in client.device_store.active_user_devices(to_user):
            if olm.session_store.get(device.curve25519) is None:
                await client.keys_claim({to_user: [device.id]})
            session = olm.session_store.get(device.curve25519)
            assert session is not None, f"no Olm session with {device.id}"
            message = olm._encrypt_forwarding_key(room_id, group_session, session, device)
            response = await client.to_device(message)
            if isinstance(response, ErrorResponse):
                raise AssertionError(f"forwarding the key failed: {response!r}")

    async def set_display_name(self, name: str) -> None:
        response = await self.client.set_displayname(name)
        if isinstance(response, ErrorResponse):
            raise AssertionError(f"setting the display name failed: {response!r}")

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        """Upload to this member's homeserver; the mxc:// URI."""
        response, _keys = await self.client.upload(
            lambda *_: data, content_type=content_type, filename=filename, filesize=len(data)
        )
        return str(_check(response, UploadResponse, "upload").content_uri)

    async def download(self, mxc: str) -> bytes:
        """A file as this member's client fetches it: through its own homeserver, any origin."""
        server, _, media_id = mxc.removeprefix("mxc://").partition("/")
        url = f"{self.hs.url}/_matrix/client/v1/media/download/{server}/{media_id}"
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
            if resp.status != 200:
                raise AssertionError(f"download of {mxc} failed: {resp.status}")
            return await resp.read()

    async def state(self, room_id: str) -> list[dict[str, Any]]:
        """The room's current state events, as the homeserver gives them to this member."""
        response = await self.client.room_get_state(room_id)
        return list(_check(response, RoomGetStateResponse, "reading room state").events)

    async def set_power_level(self, room_id: str, user_id: str, level: int) -> None:
        current = await self.client.room_get_state_event(room_id, "m.room.power_levels")
        content = dict(_check(current, RoomGetStateEventResponse, "reading power levels").content)
        content["users"] = {**content.get("users", {}), user_id: level}
        response = await self.client.room_put_state(room_id, "m.room.power_levels", content)
        if isinstance(response, ErrorResponse):
            raise AssertionError(f"setting power level of {user_id} failed: {response!r}")
