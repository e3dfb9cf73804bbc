"""Links show where they go; replies quote at most a short excerpt of what was typed."""

from __future__ import annotations

import pytest

from bot.core.text.echo import ECHO_LIMIT, echo, excerpt
from bot.core.text.links import link_target, reveal_links, says_where_it_goes
from bot.core.text.markdown import message_content


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<a href="https://evil.example/login">verify here</a>',
            '<a href="https://evil.example/login">verify here</a> (evil.example)',
        ),
        # a link whose text is another address is the worst kind
        (
            '<a href="https://evil.example/">https://bank.example</a>',
            '<a href="https://evil.example/">https://bank.example</a> (evil.example)',
        ),
        # userinfo before @ is not the host
        (
            '<a href="https://bank.example@evil.example/x">bank</a>',
            '<a href="https://bank.example@evil.example/x">bank</a> (evil.example)',
        ),
        # look-alike letters: the host in its ASCII form gives them away
        (
            '<a href="https://b\u0430nk.example/">bank</a>',
            '<a href="https://b\u0430nk.example/">bank</a> (xn--bnk-6cd.example)',
        ),
        (
            '<a href="https://evil.example:8443/">site</a>',
            '<a href="https://evil.example:8443/">site</a> (evil.example:8443)',
        ),
        (
            '<a href="mailto:help@evil.example?subject=x">write to us</a>',
            '<a href="mailto:help@evil.example?subject=x">write to us</a> (help@evil.example)',
        ),
        # markup inside the link, and a link with no text at all
        (
            '<p><a href="https://evil.example/"><b>bold</b> words</a>!</p>',
            '<p><a href="https://evil.example/"><b>bold</b> words</a> (evil.example)!</p>',
        ),
        (
            '<a href="https://evil.example/"></a>',
            '<a href="https://evil.example/"></a> (evil.example)',
        ),
    ],
)
def test_a_link_that_hides_its_target_shows_it(html: str, expected: str) -> None:
    assert reveal_links(html) == expected


@pytest.mark.parametrize(
    "html",
    [
        '<a href="https://example.org/agenda">https://example.org/agenda</a>',
        '<a href="https://www.example.org/">example.org</a>',
        '<a href="https://example.org/a%20b">example.org/a b</a>',
        '<a href="mailto:ana@example.org">ana@example.org</a>',
        '<a href="https://matrix.to/#/@ana:example.org">@ana:example.org</a>',
        "<p>no link &amp; <b>nothing</b> to do</p>",
    ],
)
def test_a_link_that_says_where_it_goes_is_left_alone(html: str) -> None:
    assert reveal_links(html) == html


def test_target_and_text_helpers() -> None:
    assert link_target("https://Evil.Example/login?x=1") == "evil.example"
    assert link_target("matrix:r/room:example.org") == "matrix:r/room:example.org"
    assert says_where_it_goes("EXAMPLE.org/", "https://example.org")
    assert not says_where_it_goes("example.org.evil.example", "https://example.org")


def test_member_text_rendered_with_links_revealed_and_bot_text_untouched() -> None:
    text = "**Official notice**: re-verify at [this link](https://evil.example/login)"
    revealed = message_content(text, reveal_links=True)["formatted_body"]
    assert '<a href="https://evil.example/login" rel="noopener">this link</a> (evil.example)' in (
        revealed
    )
    assert "(evil.example)" not in message_content(text)["formatted_body"]
    # raw HTML in a member's Markdown is a link too
    raw = message_content('<a href="https://evil.example">form</a>', reveal_links=True)
    assert "form</a> (evil.example)" in raw["formatted_body"]


def test_an_echo_is_a_short_excerpt_on_one_line() -> None:
    long = "x" * 10_000
    assert len(excerpt(long)) == ECHO_LIMIT
    assert excerpt(long).endswith("…")
    assert excerpt("a\n\nb   c") == "a b c"
    assert excerpt("short") == "short"
    assert echo("tick`s") == "`tick's`"
    assert echo("!" + long) == f"`!{'x' * (ECHO_LIMIT - 2)}…`"
    assert echo("a\u202eb") == "`ab`"
