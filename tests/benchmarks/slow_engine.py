"""A translation server that answers after a delay, speaking APY's and LibreTranslate's API.

Run as ``python -m tests.benchmarks.slow_engine DELAY_MS``: it prints its port, then serves
until killed. A process of its own, so its work never shows in the measured event loop.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

PAIRS = [("fra", "spa"), ("spa", "fra"), ("spa", "eng"), ("eng", "spa")]
LIBRE = [{"code": c, "name": c, "targets": ["fr", "es", "en"]} for c in ("fr", "es", "en")]


def app(delay: float) -> web.Application:
    async def list_pairs(_: web.Request) -> web.Response:
        data = [{"sourceLanguage": s, "targetLanguage": t} for s, t in PAIRS]
        return web.json_response({"responseData": data, "responseStatus": 200})

    async def apy_translate(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        text = request.query.get("q", "")
        return web.json_response(
            {"responseData": {"translatedText": f"~{text}"}, "responseStatus": 200}
        )

    async def languages(_: web.Request) -> web.Response:
        return web.json_response(LIBRE)

    async def libre_translate(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        form = await request.post()
        text = str(request.query.get("q") or form.get("q") or "")
        return web.json_response({"translatedText": f"~{text}"})

    application = web.Application()
    application.router.add_get("/listPairs", list_pairs)
    application.router.add_get("/translate", apy_translate)
    application.router.add_get("/languages", languages)
    application.router.add_post("/translate", libre_translate)
    return application


async def serve(delay: float) -> None:
    runner = web.AppRunner(app(delay), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) / 1000))
