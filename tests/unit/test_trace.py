"""Trace mode: what a traced message's line holds, and nio's store saved only when it grows."""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.config import MatrixConfig
from bot.core.matrix.client import MatrixClient
from bot.core.trace import Tracer


def test_a_message_is_written_once_its_last_send_starts(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    tracer = Tracer(path)
    tracer.sync_received()
    tracer.sync_point("nio")
    tracer.follow("$relayed")
    tracer.follow("$command")
    tracer.point("$relayed", "lane")
    tracer.point("$unknown", "lane")  # not from the traced sync: ignored
    tracer.expect_sends("$relayed", 2)
    tracer.send_started("$relayed")
    tracer.drop("$command")  # sent nothing: no line
    tracer.close()
    assert not path.exists() or path.read_text(encoding="utf-8") == ""
    tracer.send_started("$relayed")
    tracer.close()
    (line,) = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(line)
    assert data["copies"] == 2
    points = data["ms"]
    assert list(points) == ["received", "nio", "lane", "first_send", "last_send"]
    assert points["received"] == 0
    times = list(points.values())
    assert times == sorted(times)
    assert "$relayed" not in line  # timings only
    assert "$command" not in line


async def test_nio_saves_its_encrypted_rooms_only_when_one_is_new(tmp_path: Path) -> None:
    config = MatrixConfig(homeserver="http://127.0.0.1:1", user_id="@bot:x", password="p")
    matrix = MatrixClient(config, tmp_path)
    matrix.client.restore_login("@bot:x", "DEVICE", "token")  # opens the store, offline
    store = matrix.client.store
    assert store is not None
    written: list[set[str]] = []
    save = store.save_encrypted_rooms

    def counting(rooms: set[str]) -> None:
        written.append(set(rooms))
        save(rooms)

    store.save_encrypted_rooms = counting
    matrix._save_only_new_encrypted_rooms()
    for rooms in (set(), {"!a:x"}, {"!a:x"}, set(), {"!a:x", "!b:x"}):
        store.save_encrypted_rooms(rooms)  # what nio does after every sync
    assert written == [{"!a:x"}, {"!b:x"}]
    await matrix.client.close()

    again = MatrixClient(config, tmp_path)
    again.client.restore_login("@bot:x", "DEVICE", "token")
    assert again.client.encrypted_rooms == {"!a:x", "!b:x"}  # nothing lost across a restart
    await again.client.close()
