"""Cutting a copy to the homeserver's size: bytes counted as the server counts them."""

from __future__ import annotations

import json

from bot.relay.render import encoded_size, shorten


def test_shorten_counts_utf8_bytes_and_cuts_between_words() -> None:
    text = "تضامن " * 1000  # 11 bytes a word
    cut = shorten(text, 500)
    assert len(cut.encode()) <= 500
    assert cut.endswith("تضامن")
    assert text.startswith(cut)


def test_shorten_keeps_short_text_and_never_splits_a_character() -> None:
    assert shorten("court", 100) == "court"
    cut = shorten("é" * 100, 51)  # no space to cut at: a whole number of characters
    assert cut == "é" * 25


def test_encoded_size_is_the_utf8_json_the_server_measures() -> None:
    content = {"body": 'ملجأ "x"\n'}
    expected = len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())
    assert encoded_size(content) == expected
    assert encoded_size(content) < len(json.dumps(content).encode())
