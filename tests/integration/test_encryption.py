"""Encrypted rooms done right, against the real homeserver: the bot's cross-signing identity,
late room keys, media that never leaks its key, encrypted uploads and direct chats."""

from __future__ import annotations

import argparse
import shutil
import stat
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from signedjson.key import decode_verify_key_base64
from signedjson.sign import verify_signed_json

from bot import cli
from bot.core.matrix import crosssigning
from tests.integration.test_relay_support import copy_of
from tests.support.botharness import BotHarness
from tests.support.members import Member
from tests.support.predicates import reply_to, room_with_bot
from tests.support.relaygroup import ask, is_linked_answer

pytestmark = pytest.mark.integration


async def keys_of(member: Member, user_id: str) -> dict[str, Any]:
    """What any member's client sees of ``user_id``'s keys (``/keys/query``)."""
    url = f"{member.hs.url}/_matrix/client/v3/keys/query"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"device_keys": {user_id: []}}, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        answer: dict[str, Any] = await resp.json()
    return answer


def verify(signed: dict[str, Any], user_id: str, key: str, key_name: str | None = None) -> None:
    """Raises unless ``signed`` carries ``user_id``'s valid signature by the Ed25519 ``key``
    (named ``ed25519:<key_name>``: the key itself for cross-signing keys, the device id for a
    device's own signature)."""
    verify_key = decode_verify_key_base64("ed25519", key_name or key, key)
    verify_signed_json(signed, user_id, verify_key)


def only_key(entry: dict[str, Any]) -> str:
    (value,) = entry["keys"].values()
    return str(value)


def verified_chain(answer: dict[str, Any], user_id: str, device_id: str) -> tuple[str, str]:
    """Checks master -> self-signing -> device, every signature; the master and SSK keys."""
    master = answer["master_keys"][user_id]
    ssk = answer["self_signing_keys"][user_id]
    assert master["usage"] == ["master"]
    assert ssk["usage"] == ["self_signing"]
    master_key, ssk_key = only_key(master), only_key(ssk)
    verify(ssk, user_id, master_key)
    device = answer["device_keys"][user_id][device_id]
    verify(device, user_id, ssk_key)
    # the device's own signature still holds next to the new one
    verify(device, user_id, device["keys"][f"ed25519:{device_id}"], device_id)
    assert f"ed25519:{ssk_key}" in device["signatures"][user_id]
    return master_key, ssk_key


def private_file(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_the_bot_cross_signs_itself_and_every_new_device(
    bot: BotHarness, new_member: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await bot.start()
    alice = await new_member("alice")
    first = await app.runtime.cross_sign()  # waits for the pass started at the first sync
    assert first is not None
    device = app.matrix.device_id
    master, ssk = verified_chain(await keys_of(alice, bot.user_id), bot.user_id, device)
    assert master == first.master_key
    key_file = bot.data_dir / crosssigning.KEY_FILE
    recovery_file = bot.data_dir / crosssigning.RECOVERY_FILE
    assert private_file(key_file)
    assert private_file(recovery_file)
    recovery = recovery_file.read_text().strip()
    assert (
        crosssigning.public(
            crosssigning.Identity.generate(
                bot.user_id, crosssigning.decode_recovery_key(recovery)
            ).master
        )
        == master
    )

    # the session and the encryption store are lost: a new device, signed at its start
    await bot.stop()
    (bot.data_dir / "session.json").unlink()
    shutil.rmtree(bot.data_dir / "store")
    app = await bot.start()
    again = await app.runtime.cross_sign()
    assert again is not None
    assert app.matrix.device_id != device
    assert verified_chain(await keys_of(alice, bot.user_id), bot.user_id, app.matrix.device_id) == (
        master,
        ssk,
    )
    assert again.recovery_key is None

    # the key file is lost too: the keys on the account are not silently replaced...
    key_file.unlink()
    config = bot.config
    token_only = _without_password(config, app.matrix.client.access_token)
    fresh = argparse.Namespace(replace=False, recovery_key=None)
    assert await cli._bootstrap(config, fresh) == 1
    assert "already has cross-signing keys made elsewhere" in capsys.readouterr().err
    # ... the recovery key brings the identity back (new sub-keys: the password confirms) ...
    restore = argparse.Namespace(replace=False, recovery_key=recovery)
    assert await cli._bootstrap(token_only, restore) == 1
    assert "LIAISON_PASSWORD" in capsys.readouterr().err
    assert await cli._bootstrap(config, restore) == 0
    assert "restored" in capsys.readouterr().out
    restored = verified_chain(await keys_of(alice, bot.user_id), bot.user_id, app.matrix.device_id)
    assert restored[0] == master
    assert restored[1] != ssk
    assert private_file(key_file)
    # ... and where keys made elsewhere are to go, --replace makes a new identity, whose
    # recovery key is printed once
    key_file.unlink()
    replace = argparse.Namespace(replace=True, recovery_key=None)
    assert await cli._bootstrap(config, replace) == 0
    printed = capsys.readouterr().out
    replaced = verified_chain(await keys_of(alice, bot.user_id), bot.user_id, app.matrix.device_id)
    assert replaced[0] != master
    assert replaced[0] in printed
    assert "Recovery key" in printed
    assert await cli._bootstrap(config, replace) == 0
    assert "Recovery key" not in capsys.readouterr().out

    # `liaison backup` takes the keys along, owner-only
    from bot.core.datarights import backup, backup_keys

    target = backup(app.db, bot.data_dir, bot.data_dir / "b" / "copy.db")
    copied = backup_keys(bot.data_dir, target)
    assert copied is not None
    assert private_file(copied)
    assert copied.read_text() == key_file.read_text()


def _without_password(config: Any, token: str) -> Any:
    """The same bot configured with an access token only."""
    import dataclasses

    matrix = dataclasses.replace(config.matrix, password="", access_token=token)
    return dataclasses.replace(config, matrix=matrix)


async def linked_encrypted(member: Member, bot: BotHarness, group: str) -> dict[str, str]:
    rooms = {
        lang: await room_with_bot(member, bot.user_id, name=f"{group}-{lang}", encrypted=True)
        for lang in ("fr", "es")
    }
    for lang, room in rooms.items():
        assert is_linked_answer(await ask(member, room, f"!relay link {group} {lang}"), lang, group)
    return rooms


async def test_a_message_whose_key_comes_late_is_relayed_once_even_across_a_restart(
    bot: BotHarness, new_member: Any
) -> None:
    app = await bot.start()
    alice = await new_member("alice", encryption=True)
    rooms = await linked_encrypted(alice, bot, "tardif")
    fr, es = rooms["fr"], rooms["es"]
    await alice.withhold_keys_from(bot.user_id)

    # the bot cannot read it: it keeps it, asks alice's device for the key, and waits
    late = await alice.send_text(fr, "premier message sans clé")
    session = alice.session_of(fr)
    await alice.wait_for_key_request(bot.user_id, session)
    assert not [e for e in alice.events(es) if copy_of(bot.user_id, late)(e)]
    # a command sent meanwhile, under the same missing key, is answered once the key comes
    command = await alice.send_text(fr, "!room info")
    await alice.forward_room_key(fr, session, bot.user_id)
    copy = await alice.wait_for(es, copy_of(bot.user_id, late), timeout=20)
    assert "premier message sans clé" in copy["content"]["body"]
    await alice.wait_for(fr, reply_to(command), timeout=20)

    # the same across a restart: kept in the database while the bot is away
    alice.client.invalidate_outbound_session(fr)  # a new session, whose key the bot lacks
    later = await alice.send_text(fr, "second message sans clé")
    session = alice.session_of(fr)
    await alice.wait_for_key_request(bot.user_id, session)
    assert app.db.query_one("SELECT count(*) AS n FROM undecrypted")["n"] == 1
    await bot.stop()
    await alice.forward_room_key(fr, session, bot.user_id)
    app = await bot.start()
    await alice.wait_for(es, copy_of(bot.user_id, later), timeout=30)
    assert app.db.query_one("SELECT count(*) AS n FROM undecrypted")["n"] == 0

    # once each: a message sent after them has its copy, and no second copy came meanwhile
    after = await alice.send_text(fr, "troisième")
    await alice.wait_for(es, copy_of(bot.user_id, after), timeout=20)
    for source in (late, later):
        assert len([e for e in alice.events(es) if copy_of(bot.user_id, source)(e)]) == 1
    replies = [e for e in alice.events(fr) if reply_to(command)(e)]
    assert len(replies) == 1
