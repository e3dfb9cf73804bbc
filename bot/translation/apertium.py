"""Apertium through its HTTP server, APY: offline, rule-based, fast."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import aiohttp

from bot.translation.base import TranslationError
from bot.translation.languages import to_639_1

log = logging.getLogger(__name__)

# Apertium marks words it could not handle: *unknown (dropped by markUnknown=no), #could not
# generate, @could not transfer. A mark glued to the start of a word is one of those.
_MARK = re.compile(r"(?<![\w#*@])([#*@])(?=\w)")


def strip_markers(source: str, translated: str) -> str:
    """``translated`` without Apertium's marks, keeping a sign the source itself put before a
    word (a #hashtag or an @name written by the member stays as written)."""
    used = {m for m in "#*@" if re.search(rf"(?<![\w#*@]){re.escape(m)}\w", source)}
    return _MARK.sub(lambda match: match[0] if match[1] in used else "", translated)


class ApertiumTranslator:
    """Translate through an APY server (``GET /listPairs``, ``GET /translate``).

    The pair list is fetched once and kept; any failure forgets it, so a restarted APY with
    other pairs installed is picked up by the next call.
    """

    name = "apertium"
    max_chars = 1500
    # a long text goes as chunks of about this size, at once: APY runs each pair in its own
    # pipeline, so through a pivot one chunk's second hop overlaps the next one's first
    chunk_chars = 400

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = session
        self._owns_session = session is None
        # (639-1 source, 639-1 target) -> (APY source, APY target)
        self._pairs: dict[tuple[str, str], tuple[str, str]] | None = None
        self._pairs_lock = asyncio.Lock()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise TranslationError("apertium: HTTP session is closed")
            self._session = aiohttp.ClientSession()
        return self._session

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            async with self._client().get(
                self.url + path,
                params=params,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                body = await response.text()
                status = response.status
        except TimeoutError:
            raise TranslationError(f"apertium: no answer within {self.timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise TranslationError(f"apertium: {type(exc).__name__}") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise TranslationError(f"apertium: HTTP {status}, not JSON") from None
        if status != 200 or not isinstance(data, dict):
            explanation = data.get("explanation") if isinstance(data, dict) else None
            detail = f": {str(explanation)[:80]}" if explanation else ""
            raise TranslationError(f"apertium: HTTP {status}{detail}")
        if data.get("responseStatus", 200) != 200:
            raise TranslationError(f"apertium: status {data.get('responseStatus')}")
        return data.get("responseData")

    async def _pair_map(self) -> dict[tuple[str, str], tuple[str, str]]:
        async with self._pairs_lock:
            if self._pairs is not None:
                return self._pairs
            data = await self._get("/listPairs")
            if not isinstance(data, list):
                raise TranslationError("apertium: /listPairs answered garbage")
            pairs: dict[tuple[str, str], tuple[str, str]] = {}
            variant_of: dict[tuple[str, str], bool] = {}
            for item in data:
                if not isinstance(item, dict):
                    continue
                src, tgt = item.get("sourceLanguage"), item.get("targetLanguage")
                if not isinstance(src, str) or not isinstance(tgt, str):
                    continue
                s1, s_var = to_639_1(src)
                t1, t_var = to_639_1(tgt)
                if s1 == t1:
                    continue
                is_variant = s_var or t_var
                # Prefer the plain pair (spa|por) over a regional one (spa|por_BR).
                if (s1, t1) not in pairs or (variant_of[(s1, t1)] and not is_variant):
                    pairs[(s1, t1)] = (src, tgt)
                    variant_of[(s1, t1)] = is_variant
            self._pairs = pairs
            log.debug("apertium offers %d pairs", len(pairs))
            return pairs

    async def pairs(self) -> set[tuple[str, str]]:
        return set(await self._pair_map())

    async def translate(self, text: str, source: str, target: str) -> str:
        pairs = await self._pair_map()
        apy_pair = pairs.get((source, target))
        if apy_pair is None:
            raise TranslationError(f"apertium: no pair {source}->{target}")
        try:
            data = await self._get(
                "/translate",
                {"langpair": f"{apy_pair[0]}|{apy_pair[1]}", "q": text, "markUnknown": "no"},
            )
        except TranslationError:
            self._pairs = None
            raise
        translated = data.get("translatedText") if isinstance(data, dict) else None
        if not isinstance(translated, str) or (text.strip() and not translated.strip()):
            self._pairs = None
            raise TranslationError("apertium: answer without a translation")
        return strip_markers(text, translated)

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
