from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.translation.protect import protect, split_chunks, translate_html


def roundtrip(text: str, **kw: object) -> str:
    p = protect(text, **kw)  # type: ignore[arg-type]
    return p.restore(p.text)


def test_mentions_links_code_emoji_room_are_placeholders() -> None:
    text = (
        "Salut @alice:example.org, voir https://example.org/a?b=1 et `x = 1` 😀👍🏽 @room. "
        "Lien https://matrix.to/#/@bob:ex.org"
    )
    p = protect(text, source="fr")
    for kept in ("@alice", "https://", "x = 1", "😀", "@room", "matrix.to"):
        assert kept not in p.text
    assert [s.original for s in p.slots] == [
        "@alice:example.org",
        "https://example.org/a?b=1",
        "`x = 1`",
        "😀👍🏽",
        "@room",
        "https://matrix.to/#/@bob:ex.org",
    ]
    assert p.restore(p.text) == text


def test_trailing_punctuation_stays_outside_links() -> None:
    p = protect("Voir (https://ex.org/wiki/A_(b)) et https://ex.org.", source="fr")
    assert [s.original for s in p.slots] == ["https://ex.org/wiki/A_(b)", "https://ex.org"]


def test_glossary_is_case_sensitive_whole_words() -> None:
    p = protect("La Commune et la commune, Communes", glossary=["Commune"], source="fr")
    assert [s.original for s in p.slots] == ["Commune"]


def test_text_in_another_script_is_kept_whole() -> None:
    text = "Le mot مرحبا بكم يا أصدقاء veut dire bonjour"
    p = protect(text, source="fr")
    assert [s.original for s in p.slots] == ["مرحبا بكم يا أصدقاء"]
    assert not protect("مرحبا بكم", source="fr").has_words
    assert protect("مرحبا بكم", source="ar").has_words


def test_literal_placeholder_text_survives() -> None:
    text = "the code XQ1QX stays"
    p = protect(text, source="en")
    assert p.restore(p.text.replace("stays", "reste")) == "the code XQ1QX reste"


def test_glued_placeholder_is_padded_and_unpadded() -> None:
    p = protect("merci😀beaucoup", source="fr")
    assert p.text == "merci XQ0QX beaucoup"
    assert p.restore("gracias XQ0QX mucho") == "gracias😀mucho"


def test_lost_placeholder_is_appended_and_engine_spacing_tolerated() -> None:
    p = protect("voir https://a.org et @bob:x.org", source="fr")
    assert p.restore("ver xq 0 qx y") == "ver https://a.org y @bob:x.org"


def test_split_chunks_prefers_sentences() -> None:
    text = "Une phrase courte. " * 10
    chunks = split_chunks(text, limit=60)
    assert "".join(chunks) == text
    assert all(len(c) <= 60 for c in chunks)
    assert all(c.endswith(". ") for c in chunks)


def test_split_chunks_words_then_hard() -> None:
    words = "mot " * 50
    chunks = split_chunks(words, limit=30)
    assert all(c.endswith(" ") and len(c) <= 30 for c in chunks)
    long_word = "a" * 25 + "XQ12QX" + "b" * 10
    chunks = split_chunks(long_word, limit=28)
    assert "".join(chunks) == long_word
    assert any("XQ12QX" in c for c in chunks)


@given(st.text(alphabet="ab .!?\n", max_size=400), st.integers(min_value=1, max_value=50))
def test_split_chunks_is_lossless(text: str, limit: int) -> None:
    chunks = split_chunks(text, limit)
    assert "".join(chunks) == text
    assert all(0 < len(c) <= limit for c in chunks)


@given(st.text(max_size=200))
def test_protect_restore_roundtrip(text: str) -> None:
    assert roundtrip(text, glossary=["ab"], source="fr") == text


async def upper(text: str) -> str:
    return text.upper()


async def test_translate_html_keeps_markup() -> None:
    html = (
        '<p>hello <b>big</b> <a href="https://ex.org">world</a> &amp; <code>x &lt; 1</code></p>'
        "<ul><li>one</li><li>two <em>three</em></li></ul><pre>keep me</pre>"
        '<blockquote>a<br>b</blockquote><a href="https://matrix.to/#/@al:ex.org">Al</a>: hi'
    )
    out = await translate_html(html, upper)
    assert out == (
        '<p>HELLO <b>BIG</b> <a href="https://ex.org">WORLD</a> &amp; <code>x &lt; 1</code></p>'
        "<ul><li>ONE</li><li>TWO <em>THREE</em></li></ul><pre>keep me</pre>"
        '<blockquote>A<br>B</blockquote><a href="https://matrix.to/#/@al:ex.org">Al</a>: HI'
    )


async def test_translate_html_escapes_engine_output() -> None:
    async def evil(text: str) -> str:
        return text + " <script>"

    out = await translate_html("<p>x</p>", evil)
    assert out == "<p>x &lt;script&gt;</p>"


def test_apertium_marks_are_stripped_but_a_members_own_signs_stay() -> None:
    from bot.translation.apertium import strip_markers

    assert strip_markers("J'ouvre les bras", "Abro los #brazo") == "Abro los brazo"
    assert strip_markers("accueillir", "#acoger *Zorblax @casa") == "acoger Zorblax casa"
    # a hashtag or an @name the member wrote is theirs, and is kept
    assert strip_markers("#Mujawara tonight", "#Mujawara esta noche") == "#Mujawara esta noche"
    assert strip_markers("ask @ana", "pregunta a @ana") == "pregunta a @ana"
    # signs that do not start a word are not marks
    assert strip_markers("5 * 3 = 15, a#b", "5 * 3 = 15, a#b") == "5 * 3 = 15, a#b"
