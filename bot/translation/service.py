"""The one entry point for translation: routing, fallback, pivots, protection and caching."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.storage.database import utcnow
from bot.translation import store as translation_cache
from bot.translation.base import TranslationError, Translator, base_language
from bot.translation.protect import PLACEHOLDER, protect, split_chunks, translate_html

if TYPE_CHECKING:
    from bot.core.config import TranslationConfig
    from bot.core.storage.database import Database

log = logging.getLogger(__name__)

# Pivot languages worth trying first: the hubs Apertium and most engines are built around.
PIVOT_PREFERENCE = ("es", "en", "fr", "pt", "ca")


@dataclass(frozen=True)
class Outcome:
    text: str  # translated text, or the original when not translated
    translated: bool
    engine: str | None  # engine that produced it (from cache or live)
    pivot: str | None  # e.g. "es" when fr->en went fr->es->en
    cached: bool
    failed: bool  # engines exist for the pair but all failed
    unserved: bool = False  # words to translate, but no engine serves the pair at all

    @property
    def untranslated(self) -> bool:
        """Left in its own language although it needed translating (failed or unserved)."""
        return self.failed or self.unserved


@dataclass
class EngineStats:
    calls: int = 0
    failures: int = 0
    cache_hits: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None


class TranslationService:
    """Try engines in order; per engine a direct pair first, else a two-hop pivot.

    The order of ``engines`` is the operator's preference (say, offline Apertium before a
    paid API), so a pivot on the first engine is taken before a direct pair on the second.
    """

    def __init__(
        self,
        engines: list[Translator],
        db: Database | None,
        *,
        timeout: float,
        cache: bool = True,
        max_in_flight: int = 16,
        cache_days: int = 30,
        retention: timedelta | None = None,
    ) -> None:
        self.engines = [e for e in engines if e.name != "none"]
        # a burst (a message to many rooms, many messages at once) is admitted a few at a time,
        # so preparing hundreds of requests never holds the event loop in one long stretch
        self._gate = asyncio.Semaphore(max_in_flight)
        self.db = db
        self.timeout = timeout
        self.cache = cache and db is not None
        self.retention = retention or timedelta(days=cache_days)
        self.stats: dict[str, EngineStats] = {e.name: EngineStats() for e in self.engines}
        # translations not yet written: many answers arriving at once cost one commit, not one each
        self._unwritten: dict[tuple[str, str, str, str], tuple[str, str | None]] = {}
        self._unwritten_authors: set[tuple[str, str]] = set()
        self._flush_scheduled = False
        # engine calls under way, by (engine, source, target, text): the targets of one
        # message that share a pivot (fr->en and fr->pt both via es) share its first hop
        self._in_flight: dict[tuple[str, str, str, str], asyncio.Future[str]] = {}

    async def translate(
        self,
        text: str,
        source: str,
        target: str,
        *,
        glossary: Sequence[str] = (),
        html: bool = False,
        author: str | None = None,
        remember: bool = True,
    ) -> Outcome:
        """Translate ``text``; never raises for engine trouble (see ``Outcome.failed``).

        ``author`` wrote the text (noted beside a cached translation, so forgetting them
        erases it); ``remember=False`` keeps the translation out of the cache altogether
        (private aid requests, direct chats).
        """
        async with self._gate:
            return await self._translate(
                text,
                source,
                target,
                glossary=glossary,
                html=html,
                author=author,
                remember=remember and self.cache,
            )

    async def _translate(
        self,
        text: str,
        source: str,
        target: str,
        *,
        glossary: Sequence[str],
        html: bool,
        author: str | None,
        remember: bool,
    ) -> Outcome:
        src, tgt = base_language(source), base_language(target)
        unchanged = Outcome(text, False, None, None, False, False)
        if not text.strip() or src == tgt:
            return unchanged
        visible = re.sub(r"<[^>]*>", " ", text) if html else text
        if not protect(visible, glossary=glossary, source=src).has_words:
            return unchanged
        if not self.engines:
            return Outcome(text, False, None, None, False, False, unserved=True)
        key = _cache_key(text, glossary, html)
        if self.cache and self.db is not None:
            for engine in self.engines:
                unwritten = self._unwritten.get((key, src, tgt, engine.name))
                entry = (
                    translation_cache.CachedTranslation(*unwritten)
                    if unwritten is not None
                    else translation_cache.get_entry(
                        self.db, key, src, tgt, engine.name, utcnow() - self.retention
                    )
                )
                if entry is not None:
                    self.stats[engine.name].cache_hits += 1
                    if remember and author:
                        self._note_author(key, author)
                    return Outcome(entry.translation, True, engine.name, entry.pivot, True, False)
        attempted = False
        for engine in self.engines:
            try:
                route = await self._engine_route(engine, src, tgt)
            except TranslationError as exc:
                attempted = True
                self._failed(engine, exc, src, tgt)
                continue
            if route is None:
                continue
            _, pivot = route
            attempted = True
            try:
                result, called = await self._translate_with(
                    engine, text, src, tgt, pivot, glossary, html
                )
            except TranslationError as exc:
                self._failed(engine, exc, src, tgt)
                continue
            if not called:
                return unchanged
            if remember and self.db is not None:
                self._remember(key, src, tgt, engine.name, result, pivot)
                if author:
                    self._note_author(key, author)
            log.debug("translated %s->%s with %s (pivot %s)", src, tgt, engine.name, pivot)
            return Outcome(result, True, engine.name, pivot, False, False)
        if attempted:
            return Outcome(text, False, None, None, False, True)
        return Outcome(text, False, None, None, False, False, unserved=True)

    async def route(self, source: str, target: str) -> tuple[str, str | None] | None:
        """The (engine, pivot) the next translation would try first, or None."""
        src, tgt = base_language(source), base_language(target)
        for engine in self.engines:
            try:
                route = await self._engine_route(engine, src, tgt)
            except TranslationError:
                continue
            if route is not None:
                return route
        return None

    async def supported_targets(self) -> set[tuple[str, str]]:
        """Every (source, target) some engine can do, directly or through a pivot."""
        result: set[tuple[str, str]] = set()
        for engine in self.engines:
            try:
                pairs = await self._pairs(engine)
            except TranslationError:
                continue
            result |= pairs
            result |= {(a, c) for a, b in pairs for b2, c in pairs if b == b2 and a != c}
        return result

    def _remember(
        self, key: str, src: str, tgt: str, engine: str, result: str, pivot: str | None
    ) -> None:
        self._unwritten[(key, src, tgt, engine)] = (result, pivot)
        self._flush_soon()

    def _note_author(self, key: str, author: str) -> None:
        self._unwritten_authors.add((key, author))
        self._flush_soon()

    def _flush_soon(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush_cache)

    def flush_cache(self) -> None:
        """Write the translations that arrived since the last flush, in one transaction."""
        self._flush_scheduled = False
        if (not self._unwritten and not self._unwritten_authors) or self.db is None:
            return
        rows = [(k[0], k[1], k[2], k[3], v[0], v[1]) for k, v in self._unwritten.items()]
        authors = list(self._unwritten_authors)
        self._unwritten.clear()
        self._unwritten_authors.clear()
        try:
            translation_cache.put_many(self.db, rows, authors)
        except sqlite3.Error as exc:
            log.warning("%d translation(s) not cached: %s", len(rows), exc)

    # ---- what the cache holds about people -----------------------------------------------

    def forget_author(self, author: str) -> int:
        """Erase the cached translations of what ``author`` wrote (``!forget me``)."""
        if self.db is None:
            return 0
        self._drop_unwritten(lambda key: (key, author) in self._unwritten_authors)
        return translation_cache.forget_author(self.db, author)

    def forget_texts(self, texts: Sequence[str]) -> int:
        """Erase the cached translations of these texts (``!aid forget``)."""
        if self.db is None:
            return 0
        keys = {t for t in texts if t}
        self._drop_unwritten(lambda key: key in keys)
        return translation_cache.forget_texts(self.db, keys)

    def _drop_unwritten(self, doomed: Callable[[str], bool]) -> None:
        for item in [k for k in self._unwritten if doomed(k[0])]:
            del self._unwritten[item]
        self._unwritten_authors = {a for a in self._unwritten_authors if not doomed(a[0])}

    def prune(self, older_than: datetime, limit: int = 500) -> int:
        """Erase up to ``limit`` cached translations (and notes of their authors) made before
        ``older_than``; how many rows went (0: nothing is left to erase)."""
        if self.db is None:
            return 0
        return translation_cache.prune_cache(self.db, older_than, limit)

    async def aclose(self) -> None:
        self.flush_cache()
        for engine in self.engines:
            close = getattr(engine, "aclose", None)
            if close is not None:
                await close()

    async def _pairs(self, engine: Translator) -> set[tuple[str, str]]:
        try:
            return await asyncio.wait_for(engine.pairs(), self.timeout)
        except TimeoutError:
            raise TranslationError(
                f"{engine.name}: no pair list within {self.timeout:g}s"
            ) from None
        except TranslationError:
            raise
        except Exception as exc:
            raise TranslationError(f"{engine.name}: {type(exc).__name__}") from None

    async def _engine_route(
        self, engine: Translator, src: str, tgt: str
    ) -> tuple[str, str | None] | None:
        pairs = await self._pairs(engine)
        if (src, tgt) in pairs:
            return engine.name, None
        pivots = {b for a, b in pairs if a == src} & {a for a, b in pairs if b == tgt}
        if not pivots:
            return None
        ordered = [p for p in PIVOT_PREFERENCE if p in pivots] + sorted(
            pivots - set(PIVOT_PREFERENCE)
        )
        return engine.name, ordered[0]

    async def _translate_with(
        self,
        engine: Translator,
        text: str,
        src: str,
        tgt: str,
        pivot: str | None,
        glossary: Sequence[str],
        html: bool,
    ) -> tuple[str, bool]:
        """Translate with one engine; also say whether the engine was needed at all."""
        called = False

        async def plain(part: str) -> str:
            nonlocal called
            protected = protect(part, glossary=glossary, source=src)
            if not protected.has_words:
                return part
            called = True
            limit = int(getattr(engine, "chunk_chars", getattr(engine, "max_chars", 1500)))
            # chunks go at once: with a pivot, one chunk's second hop overlaps the next
            # chunk's first (the engine runs each language pair apart)
            pieces = await asyncio.gather(
                *(
                    self._chunk(engine, chunk, src, tgt, pivot)
                    for chunk in split_chunks(protected.text, limit)
                )
            )
            return protected.restore("".join(pieces))

        result = await translate_html(text, plain) if html else await plain(text)
        return result, called

    async def _chunk(
        self, engine: Translator, chunk: str, src: str, tgt: str, pivot: str | None
    ) -> str:
        core = chunk.strip()
        if not any(c.isalpha() for c in PLACEHOLDER.sub(" ", core)):
            return chunk
        lead = chunk[: len(chunk) - len(chunk.lstrip())]
        trail = chunk[len(chunk.rstrip()) :]
        if pivot is None:
            out = await self._call(engine, core, src, tgt)
        else:
            out = await self._call(engine, await self._call(engine, core, src, pivot), pivot, tgt)
        return lead + out.strip() + trail

    async def _call(self, engine: Translator, text: str, src: str, tgt: str) -> str:
        """One engine call; the same call already under way is joined, not repeated."""
        key = (engine.name, src, tgt, text)
        running = self._in_flight.get(key)
        if running is None:
            running = asyncio.ensure_future(self._call_engine(engine, text, src, tgt))
            self._in_flight[key] = running
            running.add_done_callback(lambda _: self._in_flight.pop(key, None))
        # one caller giving up (its own timeout) leaves the call to the others
        return await asyncio.shield(running)

    async def _call_engine(self, engine: Translator, text: str, src: str, tgt: str) -> str:
        self.stats[engine.name].calls += 1
        try:
            result = await asyncio.wait_for(engine.translate(text, src, tgt), self.timeout)
        except TimeoutError:
            raise TranslationError(f"{engine.name}: no answer within {self.timeout:g}s") from None
        except TranslationError:
            raise
        except Exception as exc:
            raise TranslationError(f"{engine.name}: {type(exc).__name__}") from None
        if not isinstance(result, str):
            raise TranslationError(f"{engine.name}: answer is not text")
        return result

    def _failed(self, engine: Translator, exc: TranslationError, src: str, tgt: str) -> None:
        stats = self.stats[engine.name]
        stats.failures += 1
        stats.last_error = str(exc)[:200]
        stats.last_error_at = utcnow()
        log.warning(
            "translation %s->%s with %s failed: %s", src, tgt, engine.name, stats.last_error
        )


def _cache_key(text: str, glossary: Sequence[str], html: bool) -> str:
    """What decides the output: the text, whether it is HTML, and the glossary."""
    if not html and not glossary:
        return text
    terms = "\x1f".join(sorted(set(glossary)))
    return f"{'html' if html else 'text'}\x1e{terms}\x1e{text}"


def build_translation_service(
    config: TranslationConfig, db: Database | None, retention: timedelta | None = None
) -> TranslationService:
    """Engines in the configured order; ``none`` (or an empty list) means never translate.

    ``retention`` replaces ``config.cache_days`` (short horizons in tests and the soak).
    """
    from bot.translation.apertium import ApertiumTranslator
    from bot.translation.deep import DeepTranslator

    engines: list[Translator] = []
    for name in config.engines:
        if name == "none":
            continue
        if name == "apertium":
            engines.append(ApertiumTranslator(config.apertium.url, timeout=config.timeout_seconds))
        else:
            engines.append(
                DeepTranslator(
                    name,
                    config.engine(name),
                    timeout=config.timeout_seconds,
                    max_concurrency=config.max_concurrency,
                )
            )
    return TranslationService(
        engines,
        db,
        timeout=config.timeout_seconds,
        cache=config.cache,
        max_in_flight=max(48, config.max_concurrency),
        cache_days=config.cache_days,
        retention=retention,
    )
