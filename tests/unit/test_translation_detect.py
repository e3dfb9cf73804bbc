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


async def test_short_texts_are_detected_inline_once_the_detector_is_warm() -> None:
    detector = LanguageDetector(min_confidence=0.5)
    text = "Nos vemos mañana por la mañana delante del ayuntamiento."
    assert not detector.answers_inline(text)  # not built yet: the first goes to a thread
    assert (await detector.detect(text) or ("",))[0] == "es"
    assert detector.answers_inline(text)
    assert (detector.detect_inline(text) or ("",))[0] == "es"
    arabic = "نلتقي غدا صباحا أمام البلدية من أجل المظاهرة"
    assert detector.answers_inline(arabic)
    assert (detector.detect_inline(arabic) or ("",))[0] == "ar"
    assert not detector.answers_inline("Встречаемся завтра утром у мэрии")  # no model warmed
    assert not detector.answers_inline("Une phrase assez longue. " * 20)  # long: a thread
    assert detector.detect_inline("ok merci") is None
