from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import bot.translation.store as cache
from bot.core.config import EngineConfig, TranslationConfig
from bot.core.storage.database import Database
from bot.translation.apertium import ApertiumTranslator
from bot.translation.base import TranslationError
from bot.translation.deep import DeepTranslator
from bot.translation.service import TranslationService, build_translation_service
from tests.support.schema import ALL_MIGRATIONS


class FakeEngine:
    """Tags text with its name and the pair; fails or hangs on demand."""

    def __init__(self, name: str, pairs: set[tuple[str, str]], fail: bool = False) -> None:
        self.name = name
        self._pairs = pairs
        self.fail = fail
        self.hang = False
        self.calls: list[tuple[str, str, str]] = []

    async def pairs(self) -> set[tuple[str, str]]:
        return set(self._pairs)

    async def translate(self, text: str, source: str, target: str) -> str:
        self.calls.append((text, source, target))
        if self.hang:
            await asyncio.Event().wait()
        if self.fail:
            raise TranslationError(f"{self.name}: down")
        return f"[{source}>{target}] {text}"


@pytest.fixture
def db() -> Iterator[Database]:
    database = Database(":memory:")
    database.migrate(ALL_MIGRATIONS)
    yield database
    database.close()


async def test_same_language_and_no_engines_leave_text_alone(db: Database) -> None:
    eng = FakeEngine("a", {("fr", "es")})
    service = TranslationService([eng], db, timeout=1)
    out = await service.translate("Bonjour", "fr", "fr-FR")
    assert (out.text, out.translated, out.failed) == ("Bonjour", False, False)
    empty = TranslationService([], db, timeout=1)
    out = await empty.translate("Bonjour", "fr", "es")
    assert (out.translated, out.failed) == (False, False)
    assert eng.calls == []


async def test_fallback_in_order_and_stats(db: Database) -> None:
    first = FakeEngine("first", {("fr", "es")}, fail=True)
    second = FakeEngine("second", {("fr", "es")})
    service = TranslationService([first, second], db, timeout=1)
    out = await service.translate("Bonjour à tous", "fr", "es")
    assert out.text == "[fr>es] Bonjour à tous"
    assert (out.engine, out.translated, out.failed, out.cached) == ("second", True, False, False)
    assert service.stats["first"].failures == 1
    assert service.stats["first"].last_error == "first: down"
    assert service.stats["first"].last_error_at is not None
    assert service.stats["second"].calls == 1


async def test_all_failing_marks_failed(db: Database) -> None:
    service = TranslationService([FakeEngine("a", {("fr", "es")}, fail=True)], db, timeout=1)
    out = await service.translate("Bonjour à tous", "fr", "es")
    assert (out.text, out.translated, out.failed) == ("Bonjour à tous", False, True)


async def test_unsupported_pair_is_not_a_failure(db: Database) -> None:
    service = TranslationService([FakeEngine("a", {("fr", "es")})], db, timeout=1)
    out = await service.translate("Merhaba arkadaşlar", "tr", "es")
    assert (out.translated, out.failed) == (False, False)
    assert await service.route("tr", "es") is None


async def test_hanging_engine_times_out(db: Database) -> None:
    eng = FakeEngine("slow", {("fr", "es")})
    eng.hang = True
    service = TranslationService([eng], db, timeout=0.2)
    out = await asyncio.wait_for(service.translate("Bonjour à tous", "fr", "es"), 2)
    assert out.failed
    assert "0.2s" in (service.stats["slow"].last_error or "")


async def test_pivot_through_a_language_both_ways(db: Database) -> None:
    eng = FakeEngine("a", {("fr", "es"), ("es", "en"), ("fr", "pt"), ("pt", "en")})
    service = TranslationService([eng], db, timeout=1)
    assert await service.route("fr", "en") == ("a", "es")
    out = await service.translate("Bonjour", "fr", "en")
    assert out.pivot == "es"
    assert out.text == "[es>en] [fr>es] Bonjour"
    assert ("fr", "en") in await service.supported_targets()


async def test_first_engine_pivot_beats_later_direct(db: Database) -> None:
    a = FakeEngine("a", {("fr", "es"), ("es", "en")})
    b = FakeEngine("b", {("fr", "en")})
    service = TranslationService([a, b], db, timeout=1)
    assert await service.route("fr", "en") == ("a", "es")
    a.fail = True
    out = await service.translate("Bonjour", "fr", "en")
    assert (out.engine, out.pivot) == ("b", None)


async def test_cache_hit_does_not_call_engine(db: Database) -> None:
    eng = FakeEngine("a", {("fr", "es"), ("es", "en")})
    service = TranslationService([eng], db, timeout=1)
    first = await service.translate("Bonjour", "fr", "en")
    eng.fail = True
    second = await service.translate("Bonjour", "fr", "en")
    assert second.text == first.text
    assert (second.cached, second.pivot, second.failed) == (True, "es", False)
    assert len(eng.calls) == 2  # the two hops of the first call only
    assert service.stats["a"].cache_hits == 1
    glossed = await service.translate("Bonjour", "fr", "en", glossary=["Bonjour"])
    assert not glossed.cached


async def test_protection_and_chunking_reach_the_engine(db: Database) -> None:
    eng = FakeEngine("a", {("fr", "es")})
    service = TranslationService([eng], db, timeout=1, cache=False)
    text = "Salut @alice:ex.org, voir https://ex.org. " + "Une phrase. " * 200
    out = await service.translate(text, "fr", "es")
    assert len(eng.calls) > 1
    assert all("@alice" not in t and "https://" not in t for t, _, _ in eng.calls)
    assert out.text.startswith("[fr>es] Salut @alice:ex.org, voir https://ex.org.")
    only_links = await service.translate("https://ex.org 😀", "fr", "es")
    assert (only_links.translated, only_links.failed) == (False, False)


async def test_html_translation(db: Database) -> None:
    eng = FakeEngine("a", {("fr", "es")})
    service = TranslationService([eng], db, timeout=1)
    out = await service.translate("<p>Bonjour <b>toi</b></p><pre>x</pre>", "fr", "es", html=True)
    assert out.text == "<p>[fr&gt;es] Bonjour <b>toi</b></p><pre>x</pre>"


def test_build_from_config(db: Database) -> None:
    config = TranslationConfig(
        engines=("none", "apertium", "libre"),
        libre=EngineConfig(url="http://127.0.0.1:1/", api_key="k"),
    )
    service = build_translation_service(config, db)
    assert [e.name for e in service.engines] == ["apertium", "libre"]
    assert isinstance(service.engines[0], ApertiumTranslator)
    assert isinstance(service.engines[1], DeepTranslator)
    assert build_translation_service(TranslationConfig(engines=("none",)), None).engines == []


def test_cache_functions(db: Database) -> None:
    assert cache.get_cached(db, "hola", "es", "en", "a") is None
    cache.put_cached(db, "hola", "es", "en", "a", "hello")
    assert cache.get_cached(db, "hola", "es", "en", "a") == "hello"
    assert cache.get_cached(db, "hola", "es", "en", "b") is None
    row = db.query_one("SELECT * FROM translation_cache")
    assert row is not None
    assert "hola" not in str(row.values())


class GatedEngine(FakeEngine):
    """Holds every call until released, counting how many wait at once."""

    def __init__(self, name: str, pairs: set[tuple[str, str]]) -> None:
        super().__init__(name, pairs)
        self.release = asyncio.Event()
        self.waiting = 0
        self.most = 0
        self.arrived = asyncio.Condition()

    async def translate(self, text: str, source: str, target: str) -> str:
        self.calls.append((text, source, target))
        async with self.arrived:
            self.waiting += 1
            self.most = max(self.most, self.waiting)
            self.arrived.notify_all()
        await self.release.wait()
        self.waiting -= 1
        return f"[{source}>{target}] {text}"


async def test_chunks_of_a_long_text_are_translated_at_once(db: Database) -> None:
    eng = GatedEngine("a", {("fr", "es")})
    eng.chunk_chars = 100  # type: ignore[attr-defined]
    service = TranslationService([eng], db, timeout=5, cache=False)
    text = " ".join(f"Phrase numéro {n} du long message." for n in range(20))
    pending = asyncio.ensure_future(service.translate(text, "fr", "es"))
    async with eng.arrived:
        await asyncio.wait_for(eng.arrived.wait_for(lambda: eng.waiting >= 3), 5)
    eng.release.set()
    out = await pending
    assert eng.most == len(eng.calls) > 3  # every chunk was asked before any came back
    assert out.text.count("[fr>es]") == len(eng.calls)
    assert "Phrase numéro 0 du long message." in out.text
    assert out.text.index("numéro 3 ") < out.text.index("numéro 17 ")  # order kept


async def test_targets_sharing_a_pivot_share_its_first_hop(db: Database) -> None:
    eng = GatedEngine("a", {("fr", "es"), ("es", "en"), ("es", "pt")})
    service = TranslationService([eng], db, timeout=5, cache=False)
    both = [
        asyncio.ensure_future(service.translate("Bonjour à toutes", "fr", target))
        for target in ("en", "pt")
    ]
    async with eng.arrived:
        await asyncio.wait_for(eng.arrived.wait_for(lambda: eng.waiting >= 1), 5)
    eng.release.set()
    en, pt = await asyncio.gather(*both)
    assert en.text == "[es>en] [fr>es] Bonjour à toutes"
    assert pt.text == "[es>pt] [fr>es] Bonjour à toutes"
    assert [c for c in eng.calls if c[1:] == ("fr", "es")] == [("Bonjour à toutes", "fr", "es")]
    again = await service.translate("Bonjour à toutes", "fr", "en")  # nothing under way now
    assert again.text == en.text
    assert len([c for c in eng.calls if c[1:] == ("fr", "es")]) == 2
