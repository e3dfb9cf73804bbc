from __future__ import annotations

from bot.translation.detect import LanguageDetector


async def test_detects_long_text_and_refuses_short_or_unsure() -> None:
    detector = LanguageDetector(min_confidence=0.5)
    result = await detector.detect(
        "Nous nous retrouvons demain matin devant la mairie pour la manifestation."
    )
    assert result is not None
    assert result[0] == "fr"
    assert result[1] >= 0.5
    assert await detector.detect("ok merci") is None
    strict = LanguageDetector(min_confidence=1.01)
    assert await strict.detect("Nos vemos mañana por la mañana delante del ayuntamiento.") is None
