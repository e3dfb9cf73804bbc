from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.core.config import EngineConfig
from bot.translation.base import TranslationError
from bot.translation.deep import DeepTranslator

KEY = "secret-key"


class FakeLibre:
    """Speaks LibreTranslate's API: POST /translate, GET /languages."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.hang = asyncio.Event()  # set -> /translate does not answer until released
        self.release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/translate", self.translate)
        app.router.add_get("/languages", self.languages)
        self.runner = web.AppRunner(app)
        self.url = ""

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"

    async def languages(self, request: web.Request) -> web.Response:
        langs: list[dict[str, Any]] = [
            {"code": "en", "name": "English", "targets": ["fr", "es"]},
            {"code": "fr", "name": "French", "targets": ["en"]},
            {"code": "es", "name": "Spanish", "targets": ["en"]},
        ]
        return web.json_response(langs)

    async def translate(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        params.update({k: str(v) for k, v in (await request.post()).items()})
        self.requests.append(params)
        if self.hang.is_set():
            await self.release.wait()
        if params.get("api_key") != KEY:
            return web.json_response({"error": "Invalid API key"}, status=403)
        return web.json_response({"translatedText": f"<{params['target']}>{params['q']}"})


@pytest.fixture
async def libre() -> AsyncIterator[FakeLibre]:
    server = FakeLibre()
    await server.start()
    yield server
    server.release.set()
    await server.runner.cleanup()


async def test_libre_request_and_answer(libre: FakeLibre) -> None:
    engine = DeepTranslator("libre", EngineConfig(url=libre.url, api_key=KEY), timeout=5)
    assert await engine.pairs() == {("en", "fr"), ("en", "es"), ("fr", "en"), ("es", "en")}
    assert await engine.translate("Bonjour à tous", "fr", "en") == "<en>Bonjour à tous"
    assert libre.requests == [
        {"q": "Bonjour à tous", "source": "fr", "target": "en", "format": "text", "api_key": KEY}
    ]


async def test_unsupported_pair_is_an_error(libre: FakeLibre) -> None:
    engine = DeepTranslator("libre", EngineConfig(url=libre.url, api_key=KEY), timeout=5)
    with pytest.raises(TranslationError, match="no pair fr->es"):
        await engine.translate("Bonjour", "fr", "es")


async def test_wrong_key_is_a_translation_error(libre: FakeLibre) -> None:
    engine = DeepTranslator("libre", EngineConfig(url=libre.url, api_key="wrong"), timeout=5)
    with pytest.raises(TranslationError, match="authorization") as info:
        await engine.translate("Bonjour à tous", "fr", "en")
    assert "Bonjour" not in str(info.value)


async def test_hanging_server_times_out(libre: FakeLibre) -> None:
    engine = DeepTranslator("libre", EngineConfig(url=libre.url, api_key=KEY), timeout=0.5)
    await engine.pairs()
    libre.hang.set()
    started = time.monotonic()
    with pytest.raises(TranslationError, match="no answer within"):
        await engine.translate("Bonjour à tous", "fr", "en")
    assert time.monotonic() - started < 5  # the 0.5 s timeout, with room for a loaded machine


async def test_unreachable_languages_endpoint_is_an_error() -> None:
    engine = DeepTranslator(
        "libre", EngineConfig(url="http://127.0.0.1:9/", api_key=KEY), timeout=2
    )
    with pytest.raises(TranslationError):
        await engine.pairs()
