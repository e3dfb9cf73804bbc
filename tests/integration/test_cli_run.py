"""`liaison run` as an operator starts it: answers, then stops cleanly on SIGTERM."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.botprocess import BotProcess
from tests.support.predicates import reply_to, room_with_bot

pytestmark = pytest.mark.integration


async def test_run_answers_and_stops_cleanly_on_sigterm(
    synapse, tmp_path: Path, new_member
) -> None:
    bot = BotProcess(synapse, tmp_path / "proc", "liaisonproc")
    await bot.start()
    try:
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id)
        sent = await alice.send_text(room, "!help")
        await alice.wait_for(room, reply_to(sent))
    finally:
        code = await bot.terminate()
    assert code == 0
    log = bot.log_path.read_text()
    assert "stopped" in log
    assert "Traceback" not in log
    # the password was only given through the environment, and never reaches the log
    assert "liaisonproc-secret-password" not in log
    session = (bot.data_dir / "session.json").read_text()
    assert "device_id" in session


async def test_access_token_alone_is_enough(synapse, tmp_path: Path, new_member) -> None:
    from nio import AsyncClient, LoginResponse

    from tests.support.members import password_for

    localpart = "liaisontoken"
    user_id = await synapse.register(localpart, password_for(localpart))
    client = AsyncClient(synapse.url, user_id)
    login = await client.login(password_for(localpart), device_name="token-device")
    assert isinstance(login, LoginResponse)
    await client.close()
    bot = BotProcess(
        synapse, tmp_path / "tok", localpart, matrix={"access_token": login.access_token}
    )
    # no password in the file or the environment
    await bot.start(password_in_env=False)
    try:
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id)
        sent = await alice.send_text(room, "!room info")
        await alice.wait_for(room, reply_to(sent))
    finally:
        assert await bot.terminate() == 0
    assert login.access_token not in bot.log_path.read_text()
