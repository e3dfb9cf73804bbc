"""The bot account's cross-signing identity: master, self-signing and user-signing keys.

matrix-nio has no cross-signing, and clients are moving to sharing room keys only with devices
their owner has cross-signed. So the bot makes its own three Ed25519 keys (Matrix's
``signedjson``/``canonicaljson``, the libraries Synapse signs with), publishes them, and signs
its device with the self-signing key; a new device (after a lost session) is signed the same
way at its first start.

The private keys live in ``data_dir/cross-signing.json`` (mode 0600); ``liaison backup`` copies
that file beside the database copy. The master key is also given once to the operator as a
*recovery key* (Matrix's base58 format): with it, ``liaison crypto bootstrap --recovery-key``
restores the same identity on a new data directory.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signedjson.key import (
    decode_signing_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import sign_json
from signedjson.types import SigningKey

if TYPE_CHECKING:
    from bot.core.matrix.client import MatrixClient

log = logging.getLogger(__name__)

KEY_FILE = "cross-signing.json"
RECOVERY_FILE = "cross-signing-recovery-key.txt"
USAGES = {"master": "master", "self_signing": "self_signing", "user_signing": "user_signing"}
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_RECOVERY_PREFIX = bytes([0x8B, 0x01])


class CrossSigningError(Exception):
    """Cross-signing could not be set up; the message says what the operator can do."""


# ---- keys -----------------------------------------------------------------------------------


def _key_from_seed(seed: bytes) -> SigningKey:
    """An Ed25519 signing key whose version is its public key (Matrix's key id convention)."""
    from signedjson.key import encode_base64

    key = decode_signing_key_base64("ed25519", "0", encode_base64(seed))
    key.version = encode_verify_key_base64(get_verify_key(key))
    return key


def _new_key() -> SigningKey:
    return _key_from_seed(bytes(generate_signing_key("0")))


def public(key: SigningKey) -> str:
    return encode_verify_key_base64(get_verify_key(key))


def key_id(key: SigningKey) -> str:
    return f"ed25519:{public(key)}"


@dataclass
class Identity:
    """The three private keys, and the devices already signed with them."""

    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey
    signed_devices: list[str]
    # whether the operator was given the recovery key (made here, not restored from it)
    recovery_given: bool = False

    @classmethod
    def generate(cls, user_id: str, master_seed: bytes | None = None) -> Identity:
        master = _key_from_seed(master_seed) if master_seed else _new_key()
        return cls(user_id, master, _new_key(), _new_key(), [], master_seed is not None)

    def key_json(self, usage: str) -> dict[str, Any]:
        """The public key as published: the sub-keys signed by the master key."""
        key = getattr(self, usage)
        body: dict[str, Any] = {
            "user_id": self.user_id,
            "usage": [USAGES[usage]],
            "keys": {key_id(key): public(key)},
        }
        if usage != "master":
            body = sign_json(body, self.user_id, self.master)
        return body

    def upload_body(self, *, master: bool = True) -> dict[str, Any]:
        """The keys to publish; without the master key when the account already has it
        (Synapse refuses a master key it has seen before)."""
        body = {
            "self_signing_key": self.key_json("self_signing"),
            "user_signing_key": self.key_json("user_signing"),
        }
        if master:
            body["master_key"] = self.key_json("master")
        return body

    def sign_device(self, device_keys: dict[str, Any]) -> dict[str, Any]:
        """The device's published keys with the self-signing key's signature added."""
        body = {k: v for k, v in device_keys.items() if k != "unsigned"}
        return sign_json(body, self.user_id, self.self_signing)

    def recovery_key(self) -> str:
        return encode_recovery_key(bytes(self.master))

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "master": encode_signing_key_base64(self.master),
            "self_signing": encode_signing_key_base64(self.self_signing),
            "user_signing": encode_signing_key_base64(self.user_signing),
            "signed_devices": self.signed_devices,
            "recovery_given": self.recovery_given,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        from signedjson.key import decode_base64

        return cls(
            str(data["user_id"]),
            _key_from_seed(decode_base64(data["master"])),
            _key_from_seed(decode_base64(data["self_signing"])),
            _key_from_seed(decode_base64(data["user_signing"])),
            [str(d) for d in data.get("signed_devices", [])],
            bool(data.get("recovery_given", True)),
        )


def load(path: Path) -> Identity | None:
    try:
        return Identity.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def save(path: Path, identity: Identity) -> None:
    """Written owner-only, through a temporary file, so a crash never leaves half a key."""
    write_private(path, json.dumps(identity.to_json(), indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


# ---- the recovery key (Matrix's format: base58, 0x8B01 prefix, parity byte) ------------------


def encode_recovery_key(seed: bytes) -> str:
    data = _RECOVERY_PREFIX + seed
    parity = 0
    for byte in data:
        parity ^= byte
    data += bytes([parity])
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _BASE58[rest] + out
    out = "1" * (len(data) - len(data.lstrip(b"\0"))) + out
    return " ".join(out[i : i + 4] for i in range(0, len(out), 4))


def decode_recovery_key(text: str) -> bytes:
    """The 32-byte master key seed; ValueError if ``text`` is not a recovery key."""
    compact = "".join(text.split())
    number = 0
    for char in compact:
        index = _BASE58.find(char)
        if index < 0:
            raise ValueError("a recovery key has only base58 letters and digits")
        number = number * 58 + index
    data = number.to_bytes(35, "big") if number.bit_length() <= 280 else b""
    if len(data) != 35 or not data.startswith(_RECOVERY_PREFIX):
        raise ValueError("not a recovery key")
    parity = 0
    for byte in data:
        parity ^= byte
    if parity != 0:
        raise ValueError("the recovery key has a typo (its check digit does not match)")
    return data[2:34]


# ---- publishing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What :func:`ensure` did: ``created``, ``restored``, ``signed`` or ``unchanged``."""

    state: str
    device_id: str
    master_key: str
    recovery_key: str | None = None  # only when the keys were made now


async def ensure(
    matrix: MatrixClient,
    path: Path,
    *,
    password: str = "",
    replace: bool = False,
    recovery_key: str | None = None,
) -> Outcome:
    """Make sure the account has our cross-signing keys and this device is signed with them.

    Raises :class:`CrossSigningError` (with what the operator can do) when the homeserver
    already holds other keys and ``replace`` is not given, or asks for a confirmation we
    cannot give (no password configured).
    """
    user_id, device_id = matrix.user_id, matrix.device_id
    published = await _query_own(matrix)
    identity = load(path)
    state = "unchanged"
    if recovery_key is not None:
        seed = decode_recovery_key(recovery_key)
        if identity is None or bytes(identity.master) != seed:
            identity = Identity.generate(user_id, seed)
            state = "restored"
    elif identity is None:
        identity = Identity.generate(user_id)
        state = "created"
    if identity.user_id != user_id:
        raise CrossSigningError(
            f"{path} holds the keys of {identity.user_id}, not of {user_id}: "
            "move it away and run `liaison crypto bootstrap` again"
        )
    on_server = published.master
    ours = public(identity.master)
    if on_server != ours or published.self_signing != public(identity.self_signing):
        if on_server is not None and on_server != ours and not replace:
            raise CrossSigningError(
                f"the account {user_id} already has cross-signing keys made elsewhere "
                f"(master key {on_server}); `liaison crypto bootstrap --replace` replaces them "
                "(members who verified the old ones will see the bot as changed)"
            )
        # saved before publishing: a crash in between finds the same keys next time
        save(path, identity)
        await _upload_keys(matrix, identity, password, master=on_server != ours)
        if state == "unchanged":
            state = "restored"
    device = published.devices.get(device_id)
    if device is None:
        published = await _query_own(matrix)
        device = published.devices.get(device_id)
    if device is None:
        raise CrossSigningError(
            f"the device {device_id} has published no keys yet: start the bot once, then run "
            "`liaison crypto bootstrap` again"
        )
    signatures = device.get("signatures", {}).get(user_id, {})
    if key_id(identity.self_signing) not in signatures:
        signed = identity.sign_device(device)
        await _upload_signatures(matrix, {user_id: {device_id: signed}})
        if state == "unchanged":
            state = "signed"
        log.info("device %s signed with the account's self-signing key", device_id)
    if device_id not in identity.signed_devices:
        identity.signed_devices.append(device_id)
    recovery = None
    if not identity.recovery_given:
        # made here and now published: the one time the operator is given the recovery key
        recovery = identity.recovery_key()
        identity.recovery_given = True
        state = "created"
    save(path, identity)
    return Outcome(state, device_id, ours, recovery)


@dataclass(frozen=True)
class _Published:
    master: str | None
    self_signing: str | None
    devices: dict[str, dict[str, Any]]


def _only_key(entry: Any) -> str | None:
    keys = entry.get("keys") if isinstance(entry, dict) else None
    if isinstance(keys, dict) and keys:
        return str(next(iter(keys.values())))
    return None


async def _query_own(matrix: MatrixClient) -> _Published:
    user_id = matrix.user_id
    status, body = await matrix.request_json(
        "POST", "/_matrix/client/v3/keys/query", {"device_keys": {user_id: []}}
    )
    if status != 200:
        raise CrossSigningError(f"the homeserver did not list the account's keys ({status})")
    return _Published(
        _only_key(body.get("master_keys", {}).get(user_id)),
        _only_key(body.get("self_signing_keys", {}).get(user_id)),
        dict(body.get("device_keys", {}).get(user_id, {})),
    )


async def _upload_keys(
    matrix: MatrixClient, identity: Identity, password: str, *, master: bool
) -> None:
    """Publish the keys; answer the homeserver's user-interactive auth with the password."""
    path = "/_matrix/client/v3/keys/device_signing/upload"
    body = identity.upload_body(master=master)
    status, answer = await matrix.request_json("POST", path, body)
    if status == 200:
        log.info("published the account's cross-signing keys")
        return
    flows = answer.get("flows") if status == 401 else None
    if not isinstance(flows, list):
        raise CrossSigningError(
            f"the homeserver refused the cross-signing keys ({status} {answer.get('errcode')})"
        )
    stages = {s for flow in flows for s in flow.get("stages", [])}
    if "m.login.password" not in stages:
        raise CrossSigningError(
            "the homeserver asks for a confirmation Liaison cannot give "
            f"({', '.join(sorted(stages)) or 'unknown'}): approve the cross-signing reset for "
            "the bot's account in your account settings, then run `liaison crypto bootstrap`"
        )
    if not password:
        raise CrossSigningError(
            "the homeserver asks for the bot account's password to publish cross-signing keys, "
            "and only an access token is configured: run `LIAISON_PASSWORD=... liaison crypto "
            "bootstrap -c CONFIG` once (the password is used for this request only, not stored)"
        )
    body["auth"] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": matrix.user_id},
        "password": password,
        "session": answer.get("session"),
    }
    status, answer = await matrix.request_json("POST", path, body)
    if status != 200:
        raise CrossSigningError(
            f"the homeserver refused the cross-signing keys after the password ({status} "
            f"{answer.get('errcode')})"
        )
    log.info("published the account's cross-signing keys (confirmed with the password)")


async def _upload_signatures(matrix: MatrixClient, signatures: dict[str, Any]) -> None:
    status, answer = await matrix.request_json(
        "POST", "/_matrix/client/v3/keys/signatures/upload", signatures
    )
    failures = answer.get("failures") if status == 200 else None
    if status != 200 or failures:
        raise CrossSigningError(
            f"the homeserver refused the device signature ({status} {failures or answer})"
        )
