"""A stand-in for Apertium's APY that fails on demand: stopped, hanging, or talking garbage.

In the ``good`` mode it forwards every request to a real APY, so translation can be seen to
resume; the other modes are the ways a translation engine goes wrong in production.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Literal

import aiohttp
from aiohttp import web

Mode = Literal["good", "hang", "garbage", "wrong-json"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FlakyApertium:
    """An HTTP server on a fixed loopback port whose behaviour the test switches."""

    def __init__(self, upstream_url: str, mode: Mode = "good") -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.mode: Mode = mode
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._hung: set[asyncio.Task[object]] = set()

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Listen (again) on the same port: the engine is back."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
        self._runner = runner
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Close the port: connections are refused, as when the engine's process is gone."""
        runner, self._runner = self._runner, None
        for task in list(self._hung):
            task.cancel()
        if runner is not None:
            await runner.cleanup()

    async def close(self) -> None:
        await self.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        mode = self.mode
        if mode == "hang":
            # accept the request and never answer: only the client's timeout ends it
            task = asyncio.current_task()
            assert task is not None
            self._hung.add(task)
            try:
                await asyncio.Event().wait()
            finally:
                self._hung.discard(task)
        if mode == "garbage":
            return web.Response(text="<html><body>502 upstream busy</body></html>")
        if mode == "wrong-json":
            return web.json_response({"translated": True, "responseData": {"text": 42}})
        assert self._session is not None
        async with self._session.get(
            self.upstream_url + request.path, params=request.query
        ) as upstream:
            body = await upstream.read()
            return web.Response(
                body=body, status=upstream.status, content_type=upstream.content_type
            )
