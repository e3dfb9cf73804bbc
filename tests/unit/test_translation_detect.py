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


async def test_short_texts_are_detected_inline_once_their_script_is_loaded() -> None:
    detector = LanguageDetector(min_confidence=0.5)
    text = "Nos vemos mañana por la mañana delante del ayuntamiento."
    assert detector.answers_inline("ok merci")  # too short to detect: answered at once
    assert detector.detect_inline("ok merci") is None
    assert not detector.answers_inline(text)  # no model loaded yet: the first goes to a thread
    assert (await detector.detect(text) or ("",))[0] == "es"
    assert detector.answers_inline(text)
    assert (detector.detect_inline("Nous nous retrouvons demain devant la mairie.") or ("",))[
        0
    ] == "fr"  # every Latin-script model came with the first
    arabic = "نلتقي غدا صباحا أمام البلدية من أجل المظاهرة"
    assert not detector.answers_inline(arabic)
    assert (await detector.detect(arabic) or ("",))[0] == "ar"
    assert detector.answers_inline(arabic)
    assert (detector.detect_inline("فردا صبح جلوی شهرداری همدیگر را می‌بینیم") or ("",))[0] == "fa"
    assert not detector.answers_inline("Встречаемся завтра утром у мэрии")  # another script
    assert not detector.answers_inline("Une phrase assez longue. " * 20)  # long: a thread
