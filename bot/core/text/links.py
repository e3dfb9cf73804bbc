"""Links that say where they go.

Text written by members and posted by the bot into other rooms (relayed copies, scheduled
posts, announced gatherings) is read as if the bot vouched for it. A link whose visible text
differs from its target (``[the assembly's form](https://evil.example/login)``) would hide
where it leads behind the bot's name, so the target's address is shown beside it:
``the assembly's form (evil.example)``.
"""

from __future__ import annotations

import contextlib
from html import escape
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

_SCHEMES = ("http://", "https://", "mailto:", "matrix:")


def link_target(href: str) -> str:
    """What a reader needs to see of ``href``: the host for web links, the address for mail.

    A host in another script is shown in its ASCII (punycode) form, which gives look-alike
    letters away.
    """
    href = href.strip()
    lowered = href.lower()
    if lowered.startswith("mailto:"):
        return unquote(href[len("mailto:") :]).split("?", 1)[0]
    if not lowered.startswith(("http://", "https://")):
        return href
    try:
        parts = urlsplit(href)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return href
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return f"{host}:{port}" if port else host


def _normal(text: str) -> str:
    text = unquote(text.strip().lower())
    for scheme in _SCHEMES:
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    text = text.removeprefix("www.")
    return text.rstrip("/")


def says_where_it_goes(text: str, href: str) -> bool:
    """Whether the visible ``text`` already shows the link's target (or its host)."""
    shown = _normal(text)
    if not shown:
        return False
    target = _normal(href)
    if shown == target:
        return True
    host = link_target(href).lower().removeprefix("www.")
    if shown == host:
        return True
    # a permalink to a user or a room shown by its id: "@ana:example.org"
    if href.lower().startswith("https://matrix.to/#/"):
        return shown == _normal(href[len("https://matrix.to/#/") :])
    return False


class _Revealer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._open: list[tuple[str | None, int]] = []  # (href, where its text starts)
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open.append((dict(attrs).get("href"), len(self._text)))
        self.out.append(self.get_starttag_text() or f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self.get_starttag_text() or f"<{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")
        if tag != "a" or not self._open:
            return
        href, start = self._open.pop()
        if not href:
            return
        text = "".join(self._text[start:])
        if not says_where_it_goes(text, href):
            self.out.append(escape(f" ({link_target(href)})", quote=False))

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        self.out.append(escape(data, quote=False))

    def handle_comment(self, data: str) -> None:
        pass


def reveal_links(html: str) -> str:
    """``html`` with the target of every link whose text hides it written beside the link."""
    if "<a" not in html.lower():
        return html
    parser = _Revealer()
    parser.feed(html)
    parser.close()
    return "".join(parser.out)
