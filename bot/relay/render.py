"""What a relayed copy looks like: attribution, reply fallbacks removed, HTML <-> plain text.

Pure functions, so the shape of a copy is tested without a homeserver.
"""

from __future__ import annotations

import json
import re
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

MEDIA_TYPES = frozenset({"m.image", "m.file", "m.audio", "m.video"})
TEXT_TYPES = frozenset({"m.text", "m.notice", "m.emote"})
RELAYED_TYPES = TEXT_TYPES | MEDIA_TYPES
MEDIA_FIELDS = ("url", "file", "info")
# Synapse refuses an event over 65,536 bytes, counted on the whole signed event; what the
# homeserver adds around the content (ids, hashes, signatures, auth and prev events) stays
# well under 4 KiB, so a copy's content gets the rest.
MAX_COPY_BYTES = 60_000

_BLOCK_START = re.compile(
    r"^\s*<(?:p|div|ul|ol|blockquote|pre|h[1-6]|table|hr|details)\b", re.IGNORECASE
)


def matrix_to(room_id: str, event_id: str, via: str | None = None) -> str:
    """A permalink to an event; ``via`` helps clients of other servers find the room."""
    link = f"https://matrix.to/#/{quote(room_id, safe='!:')}/{quote(event_id, safe='$:')}"
    return f"{link}?via={quote(via, safe='')}" if via else link


def room_link(room_id: str, via: str | None = None) -> str:
    """A permalink to a room or space, for members of any homeserver."""
    link = f"https://matrix.to/#/{quote(room_id, safe='!:')}"
    return f"{link}?via={quote(via, safe='')}" if via else link


def space_markdown(name: str, space_id: str) -> str:
    """A space as a Markdown link, its name kept from breaking the link's brackets."""
    shown = name.replace("[", "(").replace("]", ")").replace("\n", " ")
    return f"[{shown}]({room_link(space_id, server_of(space_id))})"


def server_of(matrix_id: str) -> str | None:
    return matrix_id.split(":", 1)[1] if ":" in matrix_id else None


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted`` lines older clients put before a reply's text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and not lines[index].strip():
        index += 1
    return "\n".join(lines[index:])


def encoded_size(content: dict[str, Any]) -> int:
    """Bytes the content takes in the event, as the homeserver counts them (UTF-8 JSON)."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


def shorten(text: str, max_bytes: int) -> str:
    """At most ``max_bytes`` of UTF-8, cut between words when a space is near the end."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    cut = data[: max(max_bytes, 0)].decode(errors="ignore")
    space = cut.rfind(" ")
    if space > 0 and space > len(cut) - 200:
        cut = cut[:space]
    return cut.rstrip()


def text_to_html(text: str) -> str:
    return escape(text, quote=False).replace("\n", "<br>")


class _TextOf(HTMLParser):
    _BREAK_AFTER = frozenset(
        {"p", "div", "li", "blockquote", "pre", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hrefs: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self.out.append("\n")
        elif tag == "li":
            self.out.append("- ")
        elif tag == "a":
            self._hrefs.append((dict(attrs).get("href"), len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAK_AFTER:
            self.out.append("\n")
        elif tag == "a" and self._hrefs:
            href, start = self._hrefs.pop()
            label = "".join(self.out[start:]).strip()
            if href and href.startswith(("http:", "https:")) and label and label != href:
                self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def html_to_text(html: str) -> str:
    """A plain-text body for clients that do not render HTML (links keep their address)."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def compose(
    *,
    msgtype: str,
    name: str,
    language: str,
    link: str,
    marker: str | None,
    text: str,
    html: str,
) -> tuple[str, str]:
    """(body, formatted_body) of a copy: who wrote it, in which language, and a link to it.

    ``name`` and ``marker`` are plain text (escaped here); ``html`` is already safe.
    """
    tag = f"[{language}]"
    label = f"{name} {tag}" + (f" {marker}" if marker else "")
    label_html = f'<strong>{escape(name, quote=False)}</strong> <a href="{escape(link)}">{tag}</a>'
    if marker:
        label_html += f" <em>{escape(marker, quote=False)}</em>"
    sep = "" if msgtype == "m.emote" else ":"
    if not text.strip():
        return label, label_html
    body = f"{label}{sep}\n{text}" if "\n" in text else f"{label}{sep} {text}"
    if _BLOCK_START.match(html):
        formatted = f"<p>{label_html}{sep}</p>{html}"
    elif "\n" in text:
        formatted = f"{label_html}{sep}<br>{html}"
    else:
        formatted = f"{label_html}{sep} {html}"
    return body, formatted
