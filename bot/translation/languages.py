"""ISO 639-3 (as Apertium names languages) to ISO 639-1 (as Liaison does)."""

from __future__ import annotations

# Languages Apertium has released pairs for, plus the ones our network speaks. Codes without
# a 639-1 form (ast, oci is "oc" ...) keep their 639-3 code.
ISO639_3_TO_1: dict[str, str] = {
    "afr": "af",
    "ara": "ar",
    "arg": "an",
    "bel": "be",
    "bos": "bs",
    "bre": "br",
    "bul": "bg",
    "cat": "ca",
    "ces": "cs",
    "cym": "cy",
    "dan": "da",
    "deu": "de",
    "ell": "el",
    "eng": "en",
    "epo": "eo",
    "eus": "eu",
    "fao": "fo",
    "fas": "fa",
    "fin": "fi",
    "fra": "fr",
    "gle": "ga",
    "glg": "gl",
    "heb": "he",
    "hbs": "sh",
    "hin": "hi",
    "hrv": "hr",
    "hun": "hu",
    "isl": "is",
    "ita": "it",
    "kaz": "kk",
    "kur": "ku",
    "kmr": "ku",
    "lav": "lv",
    "lit": "lt",
    "mkd": "mk",
    "mlt": "mt",
    "nld": "nl",
    "nno": "nn",
    "nob": "nb",
    "oci": "oc",
    "pol": "pl",
    "por": "pt",
    "ron": "ro",
    "rus": "ru",
    "slk": "sk",
    "slv": "sl",
    "sme": "se",
    "spa": "es",
    "sqi": "sq",
    "srd": "sc",
    "srp": "sr",
    "swe": "sv",
    "tat": "tt",
    "tur": "tr",
    "ukr": "uk",
    "urd": "ur",
    "uzb": "uz",
}


def to_639_1(code: str) -> tuple[str, bool]:
    """Map an Apertium code (``eng``, ``eng_US``, ``fr``) to (639-1 code, is_variant)."""
    base, _, variant = code.partition("_")
    base = base.lower()
    if len(base) == 2:
        return base, bool(variant)
    return ISO639_3_TO_1.get(base, base), bool(variant)
