from __future__ import annotations

import pytest

from bot.translation.detect import LanguageDetector, known_to_detector
from tests.support.language_samples import SAMPLES

GROUP = ("fr", "es", "en", "pt", "ar")


async def test_detects_long_text_and_refuses_short_or_unsure() -> None:
    detector = LanguageDetector(min_confidence=0.5)
    result = await detector.detect(
        "Nous nous retrouvons demain matin devant la mairie pour la manifestation.", GROUP
    )
    assert result is not None
    assert result[0] == "fr"
    assert result[1] >= 0.5
    assert await detector.detect("ok merci", GROUP) is None
    strict = LanguageDetector(min_confidence=1.01)
    assert (
        await strict.detect("Nos vemos mañana por la mañana delante del ayuntamiento.", GROUP)
        is None
    )


async def test_only_the_languages_in_use_are_loaded_and_a_new_one_is_added() -> None:
    detector = LanguageDetector()
    # one language leaves nothing to tell apart: nothing is loaded
    assert (
        await detector.detect("Le marché est fermé aujourd'hui à cause de la grève.", ["fr"])
        is None
    )
    assert detector.loaded == frozenset()
    text = "Encontramo-nos em frente à câmara às dez horas."
    guess = await detector.detect(text, ["fr", "es", "en"])
    assert detector.loaded == {"fr", "es", "en"}
    # Portuguese is not loaded: it reads as a loaded language, never as itself
    assert guess is None or guess[0] != "pt"
    # a room in Portuguese joins a group: the detector grows, once
    assert await detector.detect(text, ["es", "pt"]) == ("pt", pytest.approx(1.0, abs=0.1))
    assert detector.loaded == {"fr", "es", "en", "pt"}
    assert detector.builds == 2
    await detector.detect(text, ["pt", "fr"])
    assert detector.builds == 2
    # what lingua cannot detect (Kurdish) is left out; regional tags count as their language
    assert known_to_detector(["ku", "pt-BR", "es_MX"]) == {"pt", "es"}


@pytest.mark.parametrize("accuracy", ["low", "high"])
async def test_short_chat_lines_in_the_group_languages_are_never_misread(accuracy: str) -> None:
    """Five languages, twelve chat lines each: a wrong guess would translate from the wrong
    language, an unsure one keeps the room's declaration (harmless)."""
    detector = LanguageDetector(low_accuracy=accuracy == "low")
    wrong, unsure = [], 0
    for language, texts in SAMPLES.items():
        for text in texts:
            guess = await detector.detect(text, GROUP)
            if guess is None:
                unsure += 1
            elif guess[0] != language:
                wrong.append((language, guess, text))
    assert wrong == []
    # measured: low 1 of 60 unsure, high 7 of 60
    assert unsure <= (3 if accuracy == "low" else 12)


async def test_short_texts_are_detected_inline_once_their_script_is_loaded() -> None:
    detector = LanguageDetector(min_confidence=0.5)
    languages = ["es", "fr", "ar", "fa"]
    text = "Nos vemos mañana por la mañana delante del ayuntamiento."
    assert detector.answers_inline("ok merci", languages)  # too short to detect: at once
    assert detector.detect_inline("ok merci") is None
    assert not detector.answers_inline(text, languages)  # no model loaded: first to a thread
    assert (await detector.detect(text, languages) or ("",))[0] == "es"
    assert detector.answers_inline(text, languages)
    assert not detector.answers_inline(text, [*languages, "pt"])  # a new language: rebuilt first
    assert (detector.detect_inline("Nous nous retrouvons demain devant la mairie.") or ("",))[
        0
    ] == "fr"  # every Latin-script model came with the first
    arabic = "نلتقي غدا صباحا أمام البلدية من أجل المظاهرة"
    assert not detector.answers_inline(arabic, languages)
    assert (await detector.detect(arabic, languages) or ("",))[0] == "ar"
    assert detector.answers_inline(arabic, languages)
    assert (detector.detect_inline("فردا صبح جلوی شهرداری همدیگر را می‌بینیم") or ("",))[0] == "fa"
    assert not detector.answers_inline("Встречаемся завтра утром у мэрии", languages)
    assert not detector.answers_inline("Une phrase assez longue. " * 20, languages)  # a thread
