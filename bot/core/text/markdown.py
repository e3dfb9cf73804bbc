"""Turning the bot's Markdown text into Matrix message content (plain body + safe HTML)."""

from __future__ import annotations

from typing import Any

import markdown as md
import nh3

from bot.core.i18n import is_rtl
from bot.core.matrix.client import LIAISON_KEY
from bot.core.matrix.relations import in_thread
from bot.core.text.links import reveal_links as show_link_targets

# The subset of HTML the Matrix spec recommends clients render.
ALLOWED_TAGS = {
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol",
    "sup", "sub", "li", "b", "i", "u", "strong", "em", "strike", "s", "code", "hr", "br",
    "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "details",
    "summary",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "target"},
    "ol": {"start"},
    "code": {"class"},
    "div": {"dir"},
    "p": {"dir"},
    "span": {"data-mx-color", "data-mx-bg-color"},
    "font": {"color", "data-mx-color", "data-mx-bg-color"},
}


def markdown_to_html(text: str) -> str:
    html = md.markdown(text, extensions=["sane_lists", "nl2br", "fenced_code"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "matrix"},
        link_rel="noopener",
    )


def message_content(
    text: str,
    *,
    msgtype: str = "m.notice",
    lang: str = "en",
    reply_to: str | None = None,
    kind: str = "reply",
    mentions: list[str] | None = None,
    reveal_links: bool = False,
    thread_root: str | None = None,
) -> dict[str, Any]:
    """Content for a bot message: Markdown rendered to sanitised HTML, tagged as ours.

    ``m.mentions`` is always set (empty unless ``mentions`` is given), so nothing the bot says
    pings anyone by accident. ``reveal_links`` is for text members wrote: every link whose
    text hides its target gets the target written beside it. With ``thread_root`` the message
    goes into that thread (as a reply to ``reply_to`` there, when given).
    """
    html = markdown_to_html(text)
    if reveal_links:
        html = show_link_targets(html)
    if is_rtl(lang):
        html = f'<div dir="rtl">{html}</div>'
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": {"user_ids": mentions} if mentions else {},
        # the language the bot spoke: lets tests (and other tools) check no frame is left untranslated
        LIAISON_KEY: {"kind": kind, "lang": lang},
    }
    if thread_root:
        content["m.relates_to"] = in_thread(thread_root, reply_to)
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content
