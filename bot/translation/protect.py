"""Keep what must not be translated intact, and cut long text into engine-sized chunks.

Mentions, links, code, emoji, ``@room``, glossary terms and text in a script the source
language does not use are swapped for placeholders such as ``XQ3QX`` before translation and
put back afterwards. That form was checked against the real Apertium (fr->es, es->en,
en->es, es->pt, pt->es, es->fr and the fr->es->en pivot): it comes back unchanged, in place,
at the start of a sentence and next to punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape as html_escape
from html.parser import HTMLParser

PLACEHOLDER = re.compile(r"XQ\s?(\d+)\s?QX", re.IGNORECASE)
_RESTORE = re.compile(r"(?P<pre> ?)XQ\s?(?P<n>\d+)\s?QX(?P<post> ?)", re.IGNORECASE)

_EMOJI_CHAR = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff"
_EMOJI_MOD = "\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\u20e3"
_EMOJI = f"(?:[{_EMOJI_CHAR}][{_EMOJI_MOD}]*(?:\u200d[{_EMOJI_CHAR}][{_EMOJI_MOD}]*)*)+"

SCRIPTS: dict[str, str] = {
    "arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "hebrew": "\u0590-\u05ff",
    "cyrillic": "\u0400-\u052f",
    "greek": "\u0370-\u03ff\u1f00-\u1fff",
    "armenian": "\u0530-\u058f",
    "georgian": "\u10a0-\u10ff",
    "devanagari": "\u0900-\u097f",
    "thai": "\u0e00-\u0e7f",
    "ethiopic": "\u1200-\u139f",
    "cjk": "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff",
}

# The script each language is written in, when it is not Latin.
LANGUAGE_SCRIPT: dict[str, str] = {
    "ar": "arabic",
    "fa": "arabic",
    "ur": "arabic",
    "ps": "arabic",
    "ckb": "arabic",
    "ug": "arabic",
    "he": "hebrew",
    "yi": "hebrew",
    "ru": "cyrillic",
    "uk": "cyrillic",
    "bg": "cyrillic",
    "be": "cyrillic",
    "mk": "cyrillic",
    "sr": "cyrillic",
    "kk": "cyrillic",
    "ky": "cyrillic",
    "mn": "cyrillic",
    "tt": "cyrillic",
    "el": "greek",
    "hy": "armenian",
    "ka": "georgian",
    "hi": "devanagari",
    "mr": "devanagari",
    "ne": "devanagari",
    "th": "thai",
    "am": "ethiopic",
    "ti": "ethiopic",
    "zh": "cjk",
    "ja": "cjk",
    "ko": "cjk",
}

_URL = r"""(?:(?:https?|ftp|mailto|matrix|mxc):|www\.)[^\s<>"'`]+"""
_MATRIX_ID = r"[@#!][A-Za-z0-9._=/+\-]+:[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*(?::\d+)?"
_EMAIL = r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
_TRAILING = ".,;:!?'\"»…"


@dataclass
class _Slot:
    original: str
    pad_before: bool = False
    pad_after: bool = False


@dataclass
class Protected:
    """Text with placeholders, and what each placeholder stands for."""

    text: str
    slots: list[_Slot] = field(default_factory=list)

    @property
    def has_words(self) -> bool:
        """Whether anything is left to translate once placeholders are set aside."""
        return any(c.isalpha() for c in PLACEHOLDER.sub(" ", self.text))

    def restore(self, translated: str, escape: Callable[[str], str] | None = None) -> str:
        """Put the originals back; a placeholder the engine lost is appended at the end.

        ``escape`` is applied to the translated text between placeholders (HTML runs, whose
        placeholders stand for markup).
        """
        esc = escape or (lambda s: s)
        out: list[str] = []
        seen: set[int] = set()
        pos = 0
        for m in _RESTORE.finditer(translated):
            n = int(m["n"])
            if n >= len(self.slots):
                continue
            slot = self.slots[n]
            seen.add(n)
            out.append(esc(translated[pos : m.start()]))
            out.append("" if slot.pad_before else m["pre"])
            out.append(slot.original)
            out.append("" if slot.pad_after else m["post"])
            pos = m.end()
        out.append(esc(translated[pos:]))
        result = "".join(out)
        lost = [s.original for i, s in enumerate(self.slots) if i not in seen]
        if lost:
            result = result.rstrip() + " " + " ".join(lost)
        return result


class Builder:
    """Assemble text and placeholders, padding a placeholder glued to a word with a space.

    A placeholder glued to a word ("XQ0QXbonjour") would turn the word into an unknown token;
    the pad is removed again on restore.
    """

    def __init__(self) -> None:
        self._parts: list[str | _Slot] = []

    def text(self, text: str) -> None:
        if text:
            self._parts.append(text)

    def slot(self, original: str) -> None:
        self._parts.append(_Slot(original))

    def build(self) -> Protected:
        slots: list[_Slot] = []
        out: list[str] = []
        prev: str | _Slot | None = None
        for part in self._parts:
            if isinstance(part, _Slot):
                if isinstance(prev, str) and _glued(prev[-1]):
                    part.pad_before = True
                    out.append(" ")
                elif isinstance(prev, _Slot):
                    prev.pad_after = True
                    out.append(" ")
                out.append(f"XQ{len(slots)}QX")
                slots.append(part)
            else:
                if isinstance(prev, _Slot) and _glued(part[0]):
                    prev.pad_after = True
                    out.append(" ")
                out.append(part)
            prev = part
        return Protected("".join(out), slots)


def _glued(char: str) -> bool:
    return not char.isspace()


@lru_cache(maxsize=64)
def _pattern(glossary: tuple[str, ...], source_script: str | None) -> re.Pattern[str]:
    alternatives = [
        r"```[\s\S]*?```",
        r"`[^`\n]+`",
        PLACEHOLDER.pattern,
        _URL,
        _EMAIL,
        _MATRIX_ID,
        r"@room\b",
        _EMOJI,
    ]
    terms = sorted({t for t in glossary if t.strip()}, key=len, reverse=True)
    if terms:
        alternatives.append(r"(?<!\w)(?-i:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)")
    foreign = "".join(ranges for name, ranges in SCRIPTS.items() if name != source_script)
    joiners = r"\s\u200c\u200d\u200e\u200f\u061c,.،؛؟!?:;'\"()\-"
    alternatives.append(f"[{foreign}]+(?:[{joiners}]+[{foreign}]+)*")
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


def protect(text: str, *, glossary: Sequence[str] = (), source: str | None = None) -> Protected:
    """Swap everything that must survive translation for placeholders."""
    script = LANGUAGE_SCRIPT.get(source or "")
    builder = Builder()
    pos = 0
    for m in _pattern(tuple(glossary), script).finditer(text):
        start, end = m.span()
        token = m.group()
        if token[0] not in "`" and not PLACEHOLDER.fullmatch(token):
            token = _trim(token)
            end = start + len(token)
            if not token:
                continue
        if start < pos:
            continue
        builder.text(text[pos:start])
        builder.slot(token)
        pos = end
    builder.text(text[pos:])
    return builder.build()


def _trim(token: str) -> str:
    """A link or id ends before trailing punctuation, and before an unbalanced bracket."""
    while token and token[-1] in _TRAILING:
        token = token[:-1]
    while token.endswith(")") and token.count(")") > token.count("("):
        token = token[:-1]
        while token and token[-1] in _TRAILING:
            token = token[:-1]
    return token


_SENTENCE_END = re.compile(r"(?:[.!?…。！？؟]+[\"'»)\]]*\s+|\n+)")
_WORD_END = re.compile(r"\s+")


def split_chunks(text: str, limit: int = 1500) -> list[str]:
    """Cut text into pieces of at most ``limit`` characters; joined, they give the text back.

    Cuts fall on sentence ends, else between words, else anywhere but inside a placeholder.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    if len(text) <= limit:
        return [text] if text else []
    chunks: list[str] = []
    for piece in _pieces(text, _SENTENCE_END):
        if len(piece) <= limit:
            chunks.append(piece)
            continue
        for word in _pieces(piece, _WORD_END):
            chunks.extend([word] if len(word) <= limit else _hard_split(word, limit))
    return _pack(chunks, limit)


def _pieces(text: str, boundary: re.Pattern[str]) -> list[str]:
    cuts = [m.end() for m in boundary.finditer(text) if 0 < m.end() < len(text)]
    edges = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


def _hard_split(word: str, limit: int) -> list[str]:
    spans = [m.span() for m in PLACEHOLDER.finditer(word)]
    out: list[str] = []
    start = 0
    while len(word) - start > limit:
        cut = start + limit
        for a, b in spans:
            if a < cut < b and a > start:
                cut = a
        out.append(word[start:cut])
        start = cut
    out.append(word[start:])
    return out


def _pack(pieces: list[str], limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(piece) > limit:
            chunks.append(current)
            current = ""
        current += piece
    if current:
        chunks.append(current)
    return chunks


# --- HTML --------------------------------------------------------------------------------

# Tags that end a run of text: each block is translated on its own.
_BLOCK = frozenset(
    [
        "p",
        "div",
        "br",
        "hr",
        "ul",
        "ol",
        "li",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "caption",
        "details",
        "summary",
    ]
)
# Tags whose whole content is kept as it is.
_VERBATIM_BLOCK = frozenset({"pre", "mx-reply", "script", "style"})
_VERBATIM_INLINE = frozenset({"code"})
_VOID = frozenset(["br", "hr", "img", "wbr", "input"])
_MENTION_HREF = re.compile(r"^(?:https://matrix\.to/#/[@!#%]|matrix:[ur]/)", re.IGNORECASE)


@dataclass
class _Token:
    kind: str  # "start", "end", "data", "other"
    tag: str
    raw: str
    attrs: dict[str, str | None] = field(default_factory=dict)


class _Tokenizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[_Token] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or f"<{tag}>"
        kind = "other" if tag in _VOID else "start"
        self.tokens.append(_Token(kind, tag, raw, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(_Token("other", tag, self.get_starttag_text() or f"<{tag}/>"))

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self.tokens.append(_Token("end", tag, f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        self.tokens.append(_Token("data", "", data))

    def handle_comment(self, data: str) -> None:
        self.tokens.append(_Token("other", "!--", f"<!--{data}-->"))


def _escape(text: str) -> str:
    return html_escape(text, quote=False)


async def translate_html(html: str, fn: Callable[[str], Awaitable[str]]) -> str:
    """Translate the text of an HTML fragment and keep its markup.

    Each block (paragraph, list item, quote...) is one call to ``fn`` with its inline tags
    (links, bold, italics, inline code, mention pills) as placeholders, so a sentence split
    by formatting is still translated as a sentence. ``<pre>`` and ``<code>`` are untouched.
    """
    parser = _Tokenizer()
    parser.feed(html)
    parser.close()
    tokens = parser.tokens
    out: list[str] = []
    run = Builder()
    run_has_text = False

    async def flush() -> None:
        nonlocal run, run_has_text
        protected = run.build()
        if run_has_text and protected.has_words:
            out.append(protected.restore(await fn(protected.text), escape=_escape))
        else:
            out.append(protected.restore(protected.text, escape=_escape))
        run = Builder()
        run_has_text = False

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "start" and (tok.tag in _VERBATIM_BLOCK or tok.tag in _VERBATIM_INLINE):
            end = _matching_end(tokens, i)
            raw = "".join(_raw(t) for t in tokens[i : end + 1])
            if tok.tag in _VERBATIM_BLOCK:
                await flush()
                out.append(raw)
            else:
                run.slot(raw)
            i = end + 1
            continue
        if (
            tok.kind == "start"
            and tok.tag == "a"
            and _MENTION_HREF.match(tok.attrs.get("href") or "")
        ):
            end = _matching_end(tokens, i)
            run.slot("".join(_raw(t) for t in tokens[i : end + 1]))
            i = end + 1
            continue
        if tok.tag in _BLOCK:
            await flush()
            out.append(tok.raw)
        elif tok.kind == "data":
            # Text goes through the builder as text; restore() escapes it on the way out.
            run.text(tok.raw)
            run_has_text = run_has_text or bool(tok.raw.strip())
        else:
            run.slot(tok.raw)
        i += 1
    await flush()
    return "".join(out)


def _raw(tok: _Token) -> str:
    return _escape(tok.raw) if tok.kind == "data" else tok.raw


def _matching_end(tokens: list[_Token], start: int) -> int:
    depth = 0
    tag = tokens[start].tag
    for j in range(start, len(tokens)):
        t = tokens[j]
        if t.tag == tag and t.kind == "start":
            depth += 1
        elif t.tag == tag and t.kind == "end":
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1
