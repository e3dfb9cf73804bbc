"""Runs the bot in the test's event loop exactly as ``liaison run`` builds it."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from pathlib import Path
from typing import Any

from bot.app import Application, FeatureBuilder
from bot.core.commands import CommandFamily
from bot.core.config import Config, from_dict
from bot.dev.devserver.synapse import LocalSynapse
from tests.support.members import password_for

_counter = itertools.count(1)


def bot_config(
    hs: LocalSynapse, data_dir: Path, localpart: str, **sections: dict[str, Any]
) -> Config:
    raw: dict[str, Any] = {
        "matrix": {
            "homeserver": hs.url,
            "user_id": hs.user_id(localpart),
            "password": password_for(localpart),
            "sync_timeout_ms": 5000,
        },
        "storage": {"data_dir": str(data_dir)},
        # tests type faster than people: the per-sender command limit is off here, and
        # on (at its defaults) in the test that exercises it
        "bot": {"allowed_inviters": [hs.server_name], "command_burst": 0},
        "translation": {"engines": []},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return from_dict(raw, environ={})


class BotHarness:
    """A bot account with its own data directory; start, stop and restart it like a service."""

    def __init__(
        self,
        hs: LocalSynapse,
        data_dir: Path,
        *,
        extra_families: list[CommandFamily[Any]] | None = None,
        extra_features: list[FeatureBuilder] | None = None,
        **sections: dict[str, Any],
    ) -> None:
        self.hs = hs
        self.localpart = f"liaison{next(_counter)}"
        self.data_dir = data_dir
        self.sections = sections
        self.extra_families = extra_families or []
        self.extra_features = extra_features or []
        self.app: Application | None = None
        self._runner: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.hs.user_id(self.localpart)

    @property
    def config(self) -> Config:
        return bot_config(self.hs, self.data_dir, self.localpart, **self.sections)

    def reconfigure(self, **sections: dict[str, Any]) -> None:
        for name, values in sections.items():
            self.sections[name] = {**self.sections.get(name, {}), **values}

    async def start(self, timeout: float = 30) -> Application:
        await self.hs.register(self.localpart, password_for(self.localpart))
        app = Application(
            self.config,
            extra_families=self.extra_families,
            extra_features=self.extra_features,
        )
        self.app = app
        self._runner = asyncio.create_task(app.run(), name=f"bot:{self.localpart}")
        ready = asyncio.create_task(app.ready.wait())
        done, _ = await asyncio.wait(
            {ready, self._runner}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if self._runner in done:
            ready.cancel()
            self._runner.result()  # raises what stopped it
        if ready not in done:
            ready.cancel()
            raise AssertionError(f"bot not ready within {timeout} s")
        return app

    async def stop(self) -> None:
        if self.app is not None and self._runner is not None:
            self.app.request_stop()
            await asyncio.wait_for(self._runner, timeout=60)
        self.app = None
        self._runner = None

    async def restart(self) -> Application:
        await self.stop()
        return await self.start()


def replace_section(config: Config, name: str, **values: Any) -> Config:
    return dataclasses.replace(
        config, **{name: dataclasses.replace(getattr(config, name), **values)}
    )
