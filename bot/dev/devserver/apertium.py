"""A throw-away Apertium APY server for tests and the demo."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
import weakref

import aiohttp

from bot.dev.devserver.process import free_port, kill_group

log = logging.getLogger(__name__)


def available() -> bool:
    """Whether apertium-apy is installed."""
    return shutil.which("apertium-apy") is not None


class LocalApertium:
    """``apertium-apy -p PORT DIR`` in its own process group (APY forks pipelines)."""

    def __init__(self, port: int | None = None, modes_dir: str = "/usr/share/apertium") -> None:
        self.port = port or free_port()
        self.modes_dir = modes_dir
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: asyncio.subprocess.Process | None = None
        self._finalizer: weakref.finalize | None = None
        # APY output, kept for the error message when it fails to start; lives with self.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self, timeout: float = 60) -> None:
        """Start APY and wait until ``/listPairs`` lists at least one pair."""
        if self.running:
            return
        exe = shutil.which("apertium-apy")
        if exe is None:
            raise RuntimeError("apertium-apy is not installed")
        self._proc = await asyncio.create_subprocess_exec(
            exe,
            "-p",
            str(self.port),
            self.modes_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        self._finalizer = weakref.finalize(self, kill_group, self._proc.pid)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self._proc.returncode is not None:
                    raise RuntimeError(f"apertium-apy exited at start: {self._tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    async with session.get(
                        self.url + "/listPairs", timeout=aiohttp.ClientTimeout(total=2)
                    ) as response:
                        data = await response.json(content_type=None)
                        if response.status == 200 and data.get("responseData"):
                            log.info("apertium-apy ready on %s", self.url)
                            return
                if time.monotonic() > deadline:
                    await self.stop()
                    raise TimeoutError(f"apertium-apy not ready after {timeout:g}s")
                await asyncio.sleep(0.1)

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; safe to repeat."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        # Pipelines APY forked may outlive it: the group goes too.
        kill_group(proc.pid)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None

    async def restart(self, timeout: float = 60) -> None:
        await self.stop()
        await self.start(timeout)

    def _tail(self) -> str:
        self._log.seek(0)
        return self._log.read()[-2000:].decode("utf-8", "replace")

    async def __aenter__(self) -> LocalApertium:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
