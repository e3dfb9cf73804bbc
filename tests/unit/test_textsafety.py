from __future__ import annotations

from bot.core.text.safety import (
    neutralise_pings,
    neutralise_pings_html,
    sanitize_html,
    strip_invisible,
)


def test_sanitize_removes_active_content() -> None:
    dirty = (
        '<p onclick="x()">hi<script>alert(1)</script><style>p{}</style>'
        '<iframe src="https://e.org"></iframe><a href="javascript:alert(1)">j</a>'
        '<a href="https://ok.org" onmouseover="y()">ok</a><img src="https://e.org/t.png">'
        '<img src="mxc://s/abc" alt="a"><font color="#ff0000" style="x">r</font></p>'
    )
    assert sanitize_html(dirty) == (
        '<p>hi<a>j</a><a href="https://ok.org">ok</a><img>'
        '<img src="mxc://s/abc" alt="a"><font color="#ff0000">r</font></p>'
    )


def test_sanitize_keeps_matrix_subset() -> None:
    html = (
        '<blockquote><ol start="3"><li><b>b</b> <del>d</del></li></ol></blockquote>'
        '<pre><code class="language-python">x</code></pre>'
        '<span data-mx-spoiler="why">s</span><details><summary>m</summary>t</details>'
        '<a href="matrix:u/al:ex.org">al</a><a href="mailto:a@b.c">m</a>'
    )
    assert sanitize_html(html) == html


def test_neutralise_pings_plain() -> None:
    assert neutralise_pings("hey @room and @alice:ex.org, mail a@room.org") == (
        "hey @\u2060room and @\u2060alice:ex.org, mail a@room.org"
    )


def test_neutralise_pings_html() -> None:
    html = (
        '<p><a href="https://matrix.to/#/@alice:ex.org">Alice</a>: see '
        '<a href="https://matrix.to/#/%40bob%3Aex.org">Bob</a> @room '
        '<a href="https://ex.org">link</a> &lt;b&gt;</p>'
    )
    assert neutralise_pings_html(html) == (
        '<p>Alice: see Bob @\u2060room <a href="https://ex.org">link</a> &lt;b&gt;</p>'
    )


def test_strip_invisible_keeps_what_scripts_need() -> None:
    persian = "می\u200cخواهم"
    assert strip_invisible(persian) == persian
    assert strip_invisible("a\u200bb\u202ec\u2066d\ufeff") == "abcd"
    assert strip_invisible("\u200f\u0645\u0631\u200e") == "\u200f\u0645\u0631\u200e"
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert strip_invisible(england + "x\U000e0041") == england + "x"
    assert strip_invisible("👩\u200d💻") == "👩\u200d💻"
