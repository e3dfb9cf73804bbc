"""Encrypted rooms done right, against the real homeserver: the bot's cross-signing identity,
late room keys, media that never leaks its key, encrypted uploads and direct chats."""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import stat
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nio.crypto import decrypt_attachment, encrypt_attachment
from signedjson.key import decode_verify_key_base64
from signedjson.sign import verify_signed_json

from bot import cli
from bot.core.matrix import crosssigning
from bot.relay.notices import ACTIONS
from bot.relay.service import HELD_BACK
from tests.integration.test_gatherings import ID
from tests.integration.test_relay_support import copy_of
from tests.support.botharness import BotHarness
from tests.support.history import room_history
from tests.support.i18n import said, said_pattern
from tests.support.members import Member
from tests.support.predicates import from_bot, reply_to, room_with_bot
from tests.support.relaygroup import ask, is_linked_answer

pytestmark = pytest.mark.integration

REFUSED_PLAIN = "{room} is encrypted and the relay group {group} has unencrypted rooms ({rooms}): its messages would be stored there unencrypted. A steward may allow it by adding {flag}; otherwise link it as receive only."


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


async def upload_encrypted(member: Member, data: bytes, name: str) -> dict[str, Any]:
    """``data`` uploaded as an encrypted attachment: the ``file`` object of an event."""
    ciphertext, keys = encrypt_attachment(data)
    response, _ = await member.client.upload(
        lambda *_: ciphertext, content_type="application/octet-stream", filesize=len(ciphertext)
    )
    return {**keys, "url": response.content_uri}


async def decrypted_file(member: Member, file: dict[str, Any]) -> bytes:
    response = await member.client.download(mxc=file["url"])
    return bytes(
        decrypt_attachment(response.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
    )


async def plain_file(member: Member, url: str) -> bytes:
    response = await member.client.download(mxc=url)
    return bytes(response.body)


async def file_answer(member: Member, room: str, text: str) -> dict[str, Any]:
    sent = await member.send_text(room, text)

    def answer(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        relates = content.get("m.relates_to", {}).get("m.in_reply_to", {})
        return relates.get("event_id") == sent and content.get("msgtype") in ("m.file", "m.notice")

    event = await member.wait_for(room, answer, timeout=20)
    assert event["content"]["msgtype"] == "m.file", event["content"].get("body")
    return dict(event["content"])


async def test_no_key_reaches_an_unencrypted_room_and_files_are_encrypted_where_rooms_are(
    synapse: Any, tmp_path: Path, new_member: Any
) -> None:
    alice = await new_member("alice", encryption=True)
    bot = BotHarness(synapse, tmp_path / "bot", bot={"admins": [alice.user_id]})
    try:
        app = await bot.start()
        es = await room_with_bot(alice, bot.user_id, name="abierto-es")
        fr = await room_with_bot(alice, bot.user_id, name="chiffré-fr", encrypted=True)
        en = await room_with_bot(alice, bot.user_id, name="later-en")  # encrypted later on
        assert is_linked_answer(await ask(alice, es, "!relay link fichiers es"), "es", "fichiers")

        # an encrypted room whose words would go to an unencrypted one: refused, with the reason
        refused = await ask(alice, fr, "!relay link fichiers fr")
        assert (
            said(
                "en",
                REFUSED_PLAIN,
                room="`chiffré-fr`",
                group="`fichiers`",
                rooms="`abierto-es`",
                flag="`--allow-unencrypted`",
            )
            == refused
        )
        assert (
            app.db.query_one("SELECT count(*) AS n FROM relay_links WHERE room_id = ?", (fr,))["n"]
            == 0
        )
        # with a steward's explicit consent (Alice stewards the group: her room created it):
        # linked, and the encrypted room is told in plain words
        sent = await alice.send_text(fr, "!relay link fichiers fr --allow-unencrypted")
        await alice.wait_for(
            fr,
            lambda e: (
                reply_to(sent)(e) and is_linked_answer(e["content"]["body"], "fr", "fichiers")
            ),
            timeout=20,
        )
        notice = said_pattern(
            "fr", ACTIONS["allow-unencrypted"][1], group="`fichiers`", rooms="`abierto-es`"
        )
        told = await alice.wait_for(
            fr,
            lambda e: (
                from_bot(bot.user_id)(e) and notice.search(e["content"].get("body", "")) is not None
            ),
            timeout=20,
        )
        assert told.get("decrypted") is True
        assert is_linked_answer(await ask(alice, en, "!relay link fichiers en"), "en", "fichiers")

        # a room that turns encryption on later gets no consent it did not give
        await alice.client.room_put_state(
            en, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}
        )
        await alice.wait_for(en, lambda e: e["type"] == "m.room.encryption", timeout=20)
        answer = await alice.wait_for(
            en, reply_to(await alice.send_text(en, "!room info")), timeout=20
        )
        assert answer.get("decrypted") is True  # the bot now knows the room is encrypted

        picture = b"\x89PNG\r\n\x1a\n" + b"banner of the assembly" * 50
        file = await upload_encrypted(alice, picture, "banner.png")
        key = file["key"]["k"]
        image = {
            "msgtype": "m.image",
            "body": "la banderole",
            "filename": "banner.png",
            "file": file,
            "info": {"mimetype": "image/png", "size": len(picture), "thumbnail_file": file},
        }
        held = await alice.send_raw(en, "m.room.message", image)
        # into the encrypted room, the file object goes as it is (inside an encrypted event)
        encrypted_copy = await alice.wait_for(fr, copy_of(bot.user_id, held), timeout=20)
        assert encrypted_copy["type"] == "m.room.message"
        assert encrypted_copy.get("decrypted") is True
        assert encrypted_copy["content"]["file"]["url"] == file["url"]
        assert await decrypted_file(alice, encrypted_copy["content"]["file"]) == picture
        # the room is told once why its messages stay out of the unencrypted one: when it turned
        # encryption on (its stewards too), not again at its messages
        held_back = said_pattern(
            "en", ACTIONS["encrypted"][1], group="`fichiers`", rooms="`abierto-es`"
        )

        def told_why(event: dict[str, Any]) -> bool:
            body = event.get("content", {}).get("body", "")
            return from_bot(bot.user_id)(event) and held_back.search(body) is not None

        await alice.wait_for(en, told_why, timeout=20)
        again = await alice.send_text(en, "second message, chiffré")
        await alice.wait_for(fr, copy_of(bot.user_id, again), timeout=20)

        # from the consenting room: decrypted and uploaded again, plainly, without its key
        sent = await alice.send_raw(fr, "m.room.message", {**image, "body": "la banderole 2"})
        await alice.wait_for(es, copy_of(bot.user_id, sent), timeout=20)
        raw = [e for e in await room_history(alice, es) if copy_of(bot.user_id, sent)(e)]
        assert len(raw) == 1
        assert key not in json.dumps(raw[0])
        assert "file" not in raw[0]["content"]
        assert "thumbnail_file" not in json.dumps(raw[0])
        assert "la banderole 2" in raw[0]["content"]["body"]
        assert await plain_file(alice, raw[0]["content"]["url"]) == picture
        # ...and in the encrypted room, forwarded as it is
        await alice.wait_for(en, copy_of(bot.user_id, sent), timeout=20)
        # nothing of the room that never consented reached the unencrypted room (the copy of
        # the later message from the consenting room is there: the held ones came before it)
        everything = json.dumps(await room_history(alice, es))
        assert key not in everything
        assert not [e for e in alice.events(es) if copy_of(bot.user_id, held)(e)]
        assert not [e for e in alice.events(es) if copy_of(bot.user_id, again)(e)]
        assert "second message" not in everything
        assert len([e for e in alice.events(en) if told_why(e)]) == 1
        again_told = said_pattern("en", HELD_BACK)
        assert not [
            e for e in alice.events(en) if again_told.search(e.get("content", {}).get("body", ""))
        ]

        # the bot's own files in an encrypted room are encrypted: a calendar, the aid export
        body = await ask(alice, en, "!event add Assembly | 2030-05-04 18:00 | Mujawara Tunis")
        gathering = said_pattern("en", "Gathering {id} created.", id=ID).search(body)
        assert gathering, body
        ics = await file_answer(alice, en, f"!event ics {gathering.group('id')}")
        assert "url" not in ics
        assert b"BEGIN:VCALENDAR" in await decrypted_file(alice, ics["file"])
        assert b"Assembly" in await decrypted_file(alice, ics["file"])
        # a description written to become a live formula in the coordinators' spreadsheet
        formula = "=HYPERLINK(https://evil.example)"
        await ask(alice, en, f'!aid request housing today "Lyon, France" {formula}')
        export = await file_answer(alice, en, "!aid export")
        assert "url" not in export
        table = (await decrypted_file(alice, export["file"])).decode("utf-8-sig")
        assert table.startswith("id,")
        cells = [cell for row in csv.reader(io.StringIO(table)) for cell in row]
        assert "'" + formula in cells
        assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]

        # the direct chat the bot opens: encrypted, direct, invite-only, closed to guests
        assert bot.app is not None
        notices = bot.app.feature("aid").service.notices  # what follows a request privately
        opened = await notices.direct_room(alice.user_id, "en")
        await notices.send(opened, "Your aid request is recorded.", txn_key="test-dm")
        dm = await alice.wait_for_invite(bot.user_id)
        assert dm == opened
        state = {
            (e["type"], e["state_key"]): e["content"]
            for e in (await alice.client.room_get_state(dm)).events
        }
        assert state[("m.room.encryption", "")]["algorithm"] == "m.megolm.v1.aes-sha2"
        assert state[("m.room.guest_access", "")]["guest_access"] == "forbidden"
        assert state[("m.room.join_rules", "")]["join_rule"] == "invite"
        invites = [
            e["content"]
            for e in await room_history(alice, dm)
            if e["type"] == "m.room.member" and e["content"].get("membership") == "invite"
        ]
        assert invites
        assert all(invite.get("is_direct") is True for invite in invites)
        notice = await alice.wait_for(dm, from_bot(bot.user_id, contains="recorded"), timeout=20)
        assert notice.get("decrypted") is True
    finally:
        await bot.stop()
