"""Make relayed content safe to post: Matrix's HTML subset, no pings, no invisible tricks."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

# https://spec.matrix.org/latest/client-server-api/#mroommessage-msgtypes (m.text, HTML)
ALLOWED_TAGS = frozenset(
    [
        "font",
        "del",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "p",
        "a",
        "ul",
        "ol",
        "sup",
        "sub",
        "li",
        "b",
        "i",
        "u",
        "strong",
        "em",
        "strike",
        "s",
        "code",
        "hr",
        "br",
        "div",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "caption",
        "pre",
        "span",
        "img",
        "details",
        "summary",
    ]
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "font": {"data-mx-bg-color", "data-mx-color", "color"},
    "span": {"data-mx-bg-color", "data-mx-color", "data-mx-spoiler", "data-mx-maths"},
    "div": {"data-mx-maths"},
    "a": {"name", "target", "href"},
    "img": {"width", "height", "alt", "title", "src"},
    "ol": {"start"},
    "code": {"class"},
}
LINK_SCHEMES = ("http:", "https:", "mailto:", "matrix:")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    lowered = value.strip().lower()
    if tag == "a" and attr == "href":
        return value if lowered.startswith(LINK_SCHEMES) else None
    if tag == "img" and attr == "src":
        return value if lowered.startswith("mxc://") else None
    if tag == "code" and attr == "class":
        kept = [c for c in value.split() if c.startswith("language-")]
        return " ".join(kept) or None
    if attr in ("data-mx-color", "data-mx-bg-color", "color"):
        return value if _COLOR.match(value.strip()) else None
    return value


def sanitize_html(html: str) -> str:
    """Keep only what Matrix clients render; scripts, styles, frames and handlers go."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style", "mx-reply"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto", "matrix", "mxc"},
        link_rel=None,
        strip_comments=True,
    )


WORD_JOINER = "\u2060"
_PINGS = re.compile(
    r"(?<![\w.])@(?=room\b)|(?<![\w.@])@(?=[A-Za-z0-9._=/+\-]+:[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*)",
    re.IGNORECASE,
)


def neutralise_pings(text: str) -> str:
    """Put a word joiner after "@" in ``@room`` and user ids: it reads the same, pings no one.

    Send ``m.mentions: {}`` with relayed messages too: servers that know intentional
    mentions then skip the body-matching push rules altogether.
    """
    return _PINGS.sub("@" + WORD_JOINER, text)


_MENTION_HREF = re.compile(r"^(?:https://matrix\.to/#/@|matrix:u/)", re.IGNORECASE)


class _PingDefuser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._in_mention = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = unquote(dict(attrs).get("href") or "")
        if tag == "a" and (self._in_mention or _MENTION_HREF.match(href)):
            self._in_mention += 1
            return
        self.out.append(self.get_starttag_text() or f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self.get_starttag_text() or f"<{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._in_mention:
            self._in_mention -= 1
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(escape(neutralise_pings(data), quote=False))

    def handle_comment(self, data: str) -> None:
        pass


def neutralise_pings_html(html: str) -> str:
    """Mention pills become their plain display text; ``@room`` and ids are defused."""
    parser = _PingDefuser()
    parser.feed(html)
    parser.close()
    return "".join(parser.out)


# Zero-width and bidi-control characters that hide or reorder text. Kept: ZWNJ (U+200C,
# Persian needs it), ZWJ (U+200D, emoji sequences and some scripts), LRM/RLM/ALM (mixed
# right-to-left text), and tag characters inside a flag sequence.
_INVISIBLE = re.compile(
    "[\u200b\u2060-\u2064\ufeff\u180e\u202a-\u202e\u2066-\u2069\u206a-\u206f]"
    "|[\U000e0000-\U000e007f]"
)
_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")


def strip_invisible(text: str) -> str:
    """Remove characters that can hide content or flip its direction (Trojan-Source style)."""
    flags = [(m.start(), m.end()) for m in _FLAG.finditer(text)]
    if not flags:
        return _INVISIBLE.sub("", text)
    out: list[str] = []
    pos = 0
    for start, end in flags:
        out.append(_INVISIBLE.sub("", text[pos:start]))
        out.append(text[start:end])
        pos = end
    out.append(_INVISIBLE.sub("", text[pos:]))
    return "".join(out)
