"""Extract every message id from the code and refresh the catalogs: ``python -m bot.core.i18n.extract``.

Writes ``locales/liaison.pot`` and creates or updates ``locales/<lang>/LC_MESSAGES/liaison.po``
for every shipped language, keeping the translations already made (Babel's ``Catalog.update``:
an id whose English changed keeps its old translation marked fuzzy for review).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import logging
import string
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.core.i18n import DOMAIN, LOCALES_DIR

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[3]
SOURCE_DIRS = ("bot", "commands")
SHIPPED_LANGUAGES = ("fr", "ar", "es")
# The calls whose argument is a message id; ``text`` is ``phrases.text(lang, msgid)``. Counted
# messages give the singular and the plural: ``ctx.tn(s, p, n)``, ``t.n(s, p, n)``,
# ``phrases.ntext(lang, s, p, n)``, ``N_n(s, p)``.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "t": None,
    "reply": None,
    "CommandError": None,
    "UsageError": None,
    "PermissionDenied": None,
    "N_": None,
    "text": (2,),
    "tn": (1, 2),
    "n": (1, 2),
    "N_n": (1, 2),
    "ntext": (2, 3),
}
COMMENT_TAGS = ("i18n:",)
# Python sources, and the Jinja2 templates of the public pages (``t("...")`` in them).
METHOD_MAP = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.xml", "jinja2.ext:babel_extract"),
]
TEMPLATE_NAME = f"{DOMAIN}.pot"


MessageId = str | tuple[str, str]  # a plain message, or (singular, plural)


@dataclass(frozen=True)
class Message:
    msgid: MessageId
    locations: tuple[tuple[str, int], ...]
    comments: tuple[str, ...]

    @property
    def singular(self) -> str:
        return self.msgid if isinstance(self.msgid, str) else self.msgid[0]


def extract_messages(root: Path = ROOT, dirs: Sequence[str] = SOURCE_DIRS) -> list[Message]:
    """Every literal message id passed to a keyword call, with where it appears."""
    found: dict[MessageId, tuple[list[tuple[str, int]], list[str]]] = {}
    for name in dirs:
        directory = root / name
        # Babel writes a line to stderr for every f-string it meets in a keyword call, even as
        # a placeholder's value (``id=f"#{n}"``); a message id itself built at run time is
        # found by :func:`built_message_ids` instead.
        with contextlib.redirect_stderr(io.StringIO()):
            extracted = list(
                extract_from_dir(
                    directory,
                    method_map=METHOD_MAP,
                    keywords=KEYWORDS,
                    comment_tags=COMMENT_TAGS,
                    strip_comment_tags=True,
                )
            )
        for filename, lineno, message, comments, _context in extracted:
            key: MessageId
            if isinstance(message, str) and message:
                key = message
            elif (
                isinstance(message, tuple | list)
                and len(message) == 2
                and all(isinstance(m, str) and m for m in message)
            ):
                key = (str(message[0]), str(message[1]))
            else:
                continue
            locations, notes = found.setdefault(key, ([], []))
            locations.append((f"{name}/{filename}", lineno))
            notes.extend(c for c in comments if c not in notes)
    return [Message(msgid, tuple(loc), tuple(notes)) for msgid, (loc, notes) in found.items()]


def template(messages: Iterable[Message]) -> Catalog:
    catalog = Catalog(domain=DOMAIN, project="Liaison", charset="utf-8", fuzzy=False)
    for message in messages:
        texts = [message.msgid] if isinstance(message.msgid, str) else list(message.msgid)
        flags = ("python-brace-format",) if any(placeholders(t) for t in texts) else ()
        catalog.add(
            message.msgid,
            locations=message.locations,
            auto_comments=message.comments,
            flags=flags,
        )
    return catalog


def update_catalogs(
    locales_dir: Path = LOCALES_DIR,
    languages: Sequence[str] = SHIPPED_LANGUAGES,
    messages: Iterable[Message] | None = None,
) -> dict[str, Path]:
    """Write the template and create/update each language's catalog; return the paths written."""
    pot = template(extract_messages() if messages is None else messages)
    locales_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    pot_path = locales_dir / TEMPLATE_NAME
    with pot_path.open("wb") as handle:
        write_po(handle, pot, width=100)
    written["template"] = pot_path
    for lang in languages:
        po_path = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po_path.exists():
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=lang, domain=DOMAIN)
        else:
            catalog = Catalog(locale=lang, domain=DOMAIN, project="Liaison", fuzzy=False)
        catalog.update(pot, update_header_comment=False)
        po_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=False)
        written[lang] = po_path
    return written


def placeholders(text: str) -> set[str]:
    """The ``{named}`` fields of a message (what a translation must keep)."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        return {"<unbalanced braces>"}


# Calls whose message argument is built at run time never reach the catalogs (Babel skips an
# f-string, and glues the two literals of a conditional into one id): these forms are refused.
def _is_built(arg: ast.expr) -> bool:
    if isinstance(arg, ast.JoinedStr | ast.BinOp):
        return True
    if isinstance(arg, ast.IfExp):
        return any(isinstance(b, ast.Constant) for b in (arg.body, arg.orelse))
    # "...".format(...) fills the id before the catalog sees it
    return (
        isinstance(arg, ast.Call)
        and isinstance(arg.func, ast.Attribute)
        and arg.func.attr == "format"
        and isinstance(arg.func.value, ast.Constant)
    )


def built_message_ids(root: Path = ROOT, dirs: Sequence[str] = SOURCE_DIRS) -> list[str]:
    """``path:line`` of every keyword call whose message id is an f-string, a sum, a conditional
    between literals, or a ``.format`` call.

    Passing a value through (``ctx.reply(exc.message)``, ``t(LABELS.get(kind, kind))``) is fine:
    the literal was extracted where it was written (with ``N_``).
    """
    problems: list[str] = []
    for name in dirs:
        for path in sorted((root / name).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found: list[tuple[int, str]] = []
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called not in KEYWORDS:
                    continue
                spec = KEYWORDS[called] or (1,)
                if any(
                    len(node.args) > index - 1 and _is_built(node.args[index - 1]) for index in spec
                ):
                    found.append((node.lineno, called))
            problems.extend(
                f"{path.relative_to(root)}:{line}: {name}(...)" for line, name in sorted(found)
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.core.i18n.extract", description="Refresh the message catalogs."
    )
    parser.add_argument("--locales", type=Path, default=LOCALES_DIR)
    parser.add_argument("--languages", nargs="*", default=list(SHIPPED_LANGUAGES))
    args = parser.parse_args(argv)
    for problem in built_message_ids():
        print(f"message id built at run time (not extractable): {problem}", file=sys.stderr)  # noqa: T201
    messages = extract_messages()
    written = update_catalogs(args.locales, args.languages, messages)
    print(f"{len(messages)} message ids")  # noqa: T201
    for path in written.values():
        print(f"wrote {path}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
