"""The bot as a separate process (`python -m bot run -c FILE`), for signals and kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.dev.devserver.synapse import LocalSynapse
from tests.support.members import password_for


class BotProcess:
    """Writes a config file and runs the real CLI; ``ready`` waits for the log line."""

    def __init__(
        self, hs: LocalSynapse, workdir: Path, localpart: str, **sections: dict[str, Any]
    ) -> None:
        self.hs = hs
        self.workdir = workdir
        self.localpart = localpart
        workdir.mkdir(parents=True, exist_ok=True)
        raw: dict[str, Any] = {
            "matrix": {
                "homeserver": hs.url,
                "user_id": hs.user_id(localpart),
                "sync_timeout_ms": 5000,
            },
            "storage": {"data_dir": str(workdir / "data")},
            # tests type faster than people: the per-sender command limit is off here, and
            # on (at its defaults) in the test that exercises it
            "bot": {"allowed_inviters": [hs.server_name], "command_burst": 0},
            "translation": {"engines": []},
        }
        for name, values in sections.items():
            raw[name] = {**raw.get(name, {}), **values}
        self.config_path = workdir / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        self.log_path = workdir / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._output_changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.hs.user_id(self.localpart)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    async def start(self, timeout: float = 60, *, password_in_env: bool = True) -> None:
        await self.hs.register(self.localpart, password_for(self.localpart))
        env = {k: v for k, v in os.environ.items() if k != "LIAISON_PASSWORD"}
        if password_in_env:
            env["LIAISON_PASSWORD"] = password_for(self.localpart)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "-c", str(self.config_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env=env, start_new_session=True,
        )  # fmt: skip
        self.lines = []  # only this run's output counts (a restart must not see the last "ready")
        self._reader = asyncio.create_task(self._read_output(self.proc))
        await self.wait_for_log("ready: first sync done", timeout=timeout)

    async def _read_output(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        with self.log_path.open("ab") as log:
            while line := await proc.stdout.readline():
                log.write(line)
                log.flush()
                async with self._output_changed:
                    self.lines.append(line.decode(errors="replace"))
                    self._output_changed.notify_all()
        async with self._output_changed:
            self._output_changed.notify_all()

    async def wait_for_log(self, text: str, *, timeout: float = 60, occurrences: int = 1) -> None:
        """Wait until ``text`` appears in the bot's output ``occurrences`` times."""

        def seen() -> bool:
            if sum(text in line for line in self.lines) >= occurrences:
                return True
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.tail()}")
            return self._reader is not None and self._reader.done()

        async with asyncio.timeout(timeout), self._output_changed:
            await self._output_changed.wait_for(seen)
        if sum(text in line for line in self.lines) < occurrences:
            raise AssertionError(f"bot output ended without {text!r}:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "".join(self.lines[-lines:])

    async def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, as systemd would: the bot must shut down cleanly."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout=timeout)
        if self._reader is not None:
            await self._reader
        self.proc = None
        return code

    async def kill(self) -> None:
        """kill -9: no clean shutdown at all."""
        if self.proc is not None and self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        if self._reader is not None:
            await self._reader
        self.proc = None
