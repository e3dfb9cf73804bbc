from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.core.storage.database import Database
from bot.dev.devserver.apertium import LocalApertium, available
from bot.translation.apertium import ApertiumTranslator
from bot.translation.service import TranslationService
from tests.support.schema import ALL_MIGRATIONS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not available(), reason="apertium-apy is not installed"),
]


@pytest.fixture(scope="module")
async def apy() -> AsyncIterator[LocalApertium]:
    server = LocalApertium()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def db() -> Iterator[Database]:
    import bot.translation.store  # noqa: F401  (registers the cache table)

    database = Database(":memory:")
    database.migrate(ALL_MIGRATIONS)
    yield database
    database.close()


@pytest.fixture
async def service(apy: LocalApertium, db: Database) -> AsyncIterator[TranslationService]:
    svc = TranslationService([ApertiumTranslator(apy.url, timeout=10)], db, timeout=10)
    yield svc
    await svc.aclose()


async def test_pairs_are_iso_639_1(service: TranslationService) -> None:
    pairs = await service.engines[0].pairs()
    assert {("fr", "es"), ("es", "en"), ("en", "es"), ("es", "pt")} <= pairs
    assert await service.route("fr", "en") == ("apertium", "es")


async def test_fr_to_es(service: TranslationService) -> None:
    out = await service.translate("Je m'appelle Marie et j'habite à Paris.", "fr", "es")
    assert out.translated
    assert out.pivot is None
    assert out.text == "Me llamo Marie y vivo en París."


async def test_es_to_en(service: TranslationService) -> None:
    out = await service.translate("El gato está en la casa.", "es", "en")
    assert out.text == "The cat is in the house."


async def test_fr_to_en_through_spanish_keeps_protected_parts(service: TranslationService) -> None:
    text = (
        "Bonjour @alice:example.org, la réunion de Zapatisme est demain, "
        "voir https://example.org/a?b=1 😀"
    )
    out = await service.translate(text, "fr", "en", glossary=["Zapatisme"])
    assert (out.translated, out.pivot, out.engine) == (True, "es", "apertium")
    assert "meeting" in out.text
    for kept in ("@alice:example.org", "Zapatisme", "https://example.org/a?b=1", "😀"):
        assert kept in out.text


async def test_html_markup_survives(service: TranslationService) -> None:
    html = (
        '<p>Bonjour <b>tout le monde</b>, voici <a href="https://ex.org">le lien</a>.</p>'
        "<ul><li>premier point</li></ul><pre>ne pas traduire</pre>"
    )
    out = await service.translate(html, "fr", "es", html=True)
    assert out.text == (
        '<p>Buenos días <b>todo el mundo</b>, aquí está <a href="https://ex.org">el vínculo</a>.'
        "</p><ul><li>primer punto</li></ul><pre>ne pas traduire</pre>"
    )


async def test_arabic_passes_through(service: TranslationService) -> None:
    out = await service.translate("مرحبا بكم يا أصدقاء", "ar", "es")
    assert (out.text, out.translated, out.failed) == ("مرحبا بكم يا أصدقاء", False, False)


async def test_warm_latency(service: TranslationService) -> None:
    svc = TranslationService(service.engines, None, timeout=10, cache=False)
    await svc.translate("Le chat dort.", "fr", "es")
    started = time.perf_counter()
    for i in range(20):
        await svc.translate(f"Le chat numéro {i} dort sur la table.", "fr", "es")
    direct = (time.perf_counter() - started) / 20
    started = time.perf_counter()
    for i in range(20):
        await svc.translate(f"Le chat numéro {i} dort sur la table.", "fr", "en")
    pivot = (time.perf_counter() - started) / 20
    print(f"warm fr->es {direct * 1000:.1f} ms, fr->es->en {pivot * 1000:.1f} ms")  # noqa: T201
    assert direct < 1.0
    assert pivot < 2.0


async def test_stopped_apy_fails_fast_and_cache_still_answers(db: Database) -> None:
    server = LocalApertium()
    await server.start()
    service = TranslationService([ApertiumTranslator(server.url, timeout=5)], db, timeout=5)
    try:
        first = await service.translate("La maison est grande.", "fr", "es")
        assert first.translated
        assert not first.cached
        await server.stop()
        await server.stop()  # idempotent
        calls = service.stats["apertium"].calls
        again = await service.translate("La maison est grande.", "fr", "es")
        assert (again.text, again.cached, again.translated) == (first.text, True, True)
        assert service.stats["apertium"].calls == calls
        assert service.stats["apertium"].cache_hits == 1
        started = time.monotonic()
        down = await service.translate("Le jardin est petit.", "fr", "es")
        assert (down.failed, down.translated, down.text) == (True, False, "Le jardin est petit.")
        assert time.monotonic() - started < 2
        await server.start()
        back = await service.translate("Le jardin est petit.", "fr", "es")
        assert back.translated
    finally:
        await server.stop()
        await service.aclose()
