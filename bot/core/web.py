"""The bot's small aiohttp server (loopback by default): features add their routes to it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.core.config import WebConfig

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def add_get(
        self, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> None:
        self.app.router.add_get(path, handler)

    def add_route(
        self,
        method: str,
        path: str,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> None:
        self.app.router.add_route(method, path, handler)

    @property
    def base_url(self) -> str:
        """Where members reach us: the configured public URL, else the bound address."""
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        return f"http://{self.config.bind}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.bind, self.config.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port
        log.info("web server listening on %s:%s", self.config.bind, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
