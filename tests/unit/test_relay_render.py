"""The shape of a relayed copy: attribution, reply fallbacks, HTML and plain text."""

from __future__ import annotations

from bot.relay.render import (
    compose,
    html_to_text,
    matrix_to,
    strip_reply_fallback,
    text_to_html,
)


def test_matrix_to_links_the_event_with_a_server_hint() -> None:
    assert (
        matrix_to("!abc:example.org", "$ev/1", "example.org")
        == "https://matrix.to/#/!abc:example.org/$ev%2F1?via=example.org"
    )
    assert matrix_to("!abc", "$ev") == "https://matrix.to/#/!abc/$ev"


def test_reply_fallback_is_dropped_and_plain_quotes_in_the_text_stay() -> None:
    assert strip_reply_fallback("> <@a:x> hello\n> there\n\nmy answer") == "my answer"
    assert strip_reply_fallback("no quote\n> inside") == "no quote\n> inside"


def test_html_to_text_keeps_lines_lists_and_link_targets() -> None:
    html = (
        "<p>Hola <b>todos</b></p><ul><li>uno</li><li>dos</li></ul>"
        '<p>Ver <a href="https://example.org/x">el sitio</a><br>fin &amp; más</p>'
    )
    assert html_to_text(html) == (
        "Hola todos\n- uno\n- dos\nVer el sitio (https://example.org/x)\nfin & más"
    )
    assert text_to_html("a < b\nc") == "a &lt; b<br>c"


def test_compose_attributes_and_escapes() -> None:
    body, html = compose(
        msgtype="m.text",
        name="<Alice>",
        language="fr",
        link="https://matrix.to/#/!r/$e",
        marker=None,
        text="Hola",
        html="Hola",
    )
    assert body == "<Alice> [fr]: Hola"
    assert html == (
        '<strong>&lt;Alice&gt;</strong> <a href="https://matrix.to/#/!r/$e">[fr]</a>: Hola'
    )


def test_compose_marks_untranslated_and_puts_blocks_after_the_label() -> None:
    body, html = compose(
        msgtype="m.text",
        name="Alice",
        language="fr",
        link="L",
        marker="[untranslated]",
        text="un\ndeux",
        html="<p>un</p><p>deux</p>",
    )
    assert body == "Alice [fr] [untranslated]:\nun\ndeux"
    assert html.startswith(
        '<p><strong>Alice</strong> <a href="L">[fr]</a> <em>[untranslated]</em>:</p>'
    )
    assert html.endswith("<p>un</p><p>deux</p>")


def test_compose_emote_and_media_without_caption() -> None:
    body, _ = compose(
        msgtype="m.emote",
        name="Alice",
        language="es",
        link="L",
        marker=None,
        text="baila",
        html="baila",
    )
    assert body == "Alice [es] baila"
    body, html = compose(
        msgtype="m.image", name="Alice", language="es", link="L", marker=None, text="", html=""
    )
    assert body == "Alice [es]"
    assert "[es]" in html
