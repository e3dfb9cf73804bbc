"""Catalog machinery: extraction finds every message id, updates keep translations, catalogs load."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.core.i18n import LOCALES_DIR, Catalogs, is_rtl
from bot.core.i18n.extract import (
    SHIPPED_LANGUAGES,
    Message,
    built_message_ids,
    extract_messages,
    placeholders,
    update_catalogs,
)


@pytest.fixture(scope="module")
def extracted() -> dict[str, Message]:
    return {m.msgid: m for m in extract_messages()}


def read(path: Path, lang: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def test_extraction_finds_every_kind_of_call(extracted: dict[str, Message]) -> None:
    # ctx.reply in a command, N_ help texts, PermissionDenied / UsageError in the router
    assert "This room's language: {language} ({code}). Time zone: {zone}." in extracted
    assert "Shows or sets this room's language and time zone." in extracted
    assert "Only the bot's administrators may use this command." in extracted
    assert "I could not read that command: a quote is not closed." in extracted
    assert "Erases what I hold about you (after you confirm)." in extracted
    location = extracted["Only the bot's administrators may use this command."].locations[0]
    assert location[0] == "bot/core/router.py"


def test_extraction_reads_the_second_argument_of_services_text(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    (package / "sample.py").write_text(
        "def announce(services, lang):\n"
        "    services.text(lang, 'The gathering {title} starts soon.', title='x')\n"
        "    ctx.t('Plain id')\n"
        "    raise CommandError('Refused {what}', what=1)\n"
        "    ctx.reply(variable)\n"
        "    ctx.tn('One room.', '{count} rooms.', n)\n"
        "    phrases.ntext(lang, 'One day', '{count} days', n)\n",
        encoding="utf-8",
    )
    ids = {m.msgid for m in extract_messages(tmp_path, ("bot",))}
    assert ids == {
        "The gathering {title} starts soon.",
        "Plain id",
        "Refused {what}",
        ("One room.", "{count} rooms."),
        ("One day", "{count} days"),
    }


def test_message_ids_built_at_run_time_are_found(tmp_path: Path) -> None:
    package = tmp_path / "commands"
    package.mkdir()
    (package / "bad.py").write_text(
        "async def h(ctx, n):\n"
        "    await ctx.reply(f'{n} items')\n"
        "    ctx.t('a' if n else 'b')\n"
        "    raise CommandError('x ' + str(n))\n"
        "    ctx.t(message)\n"
        "    ctx.t(LABELS.get(kind, kind))\n"
        "    ctx.t('{n} left'.format(n=n))\n"
        "    await ctx.reply('fine {n}', n=n)\n",
        encoding="utf-8",
    )
    assert built_message_ids(tmp_path, ("commands",)) == [
        "commands/bad.py:2: reply(...)",
        "commands/bad.py:3: t(...)",
        "commands/bad.py:4: CommandError(...)",
        "commands/bad.py:7: t(...)",
    ]


def test_no_message_id_in_the_code_is_built_at_run_time() -> None:
    """Babel cannot extract an f-string, and it glues the two strings of a conditional into one id."""
    assert built_message_ids() == []


def test_update_creates_catalogs_and_keeps_translations(tmp_path: Path) -> None:
    first = [
        Message("Hello {name}.", (("bot/a.py", 1),), ()),
        Message("Bye.", (("bot/a.py", 2),), ()),
    ]
    written = update_catalogs(tmp_path, ("fr",), first)
    po_path = written["fr"]
    assert (tmp_path / "liaison.pot").exists()
    catalog = read(po_path, "fr")
    assert {m.id for m in catalog if m.id} == {"Hello {name}.", "Bye."}
    catalog["Hello {name}."].string = "Bonjour {name}."
    with po_path.open("wb") as handle:
        write_po(handle, catalog)

    second = [*first, Message("New line.", (("bot/b.py", 3),), ())]
    update_catalogs(tmp_path, ("fr",), second)
    catalog = read(po_path, "fr")
    assert catalog["Hello {name}."].string == "Bonjour {name}."
    assert catalog["New line."].string == ""
    assert Catalogs(tmp_path).translate("fr", "Hello {name}.", name="Ana") == "Bonjour Ana."


def test_catalogs_skip_fuzzy_and_fall_back_to_english(tmp_path: Path) -> None:
    catalog = Catalog(locale="es", domain="liaison")
    catalog.add("Done.", "Hecho.")
    catalog.add("Maybe.", "Quizás.", flags=("fuzzy",))
    catalog.add("Bad {n}.", "Malo {m}.")
    po_path = tmp_path / "es" / "LC_MESSAGES" / "liaison.po"
    po_path.parent.mkdir(parents=True)
    with po_path.open("wb") as handle:
        write_po(handle, catalog)
    catalogs = Catalogs(tmp_path)
    assert catalogs.languages == ["en", "es"]
    assert catalogs.translate("es", "Done.") == "Hecho."
    assert catalogs.translate("es-MX", "Done.") == "Hecho."
    assert catalogs.translate("es", "Maybe.") == "Maybe."
    assert catalogs.translate("de", "Done.") == "Done."
    # a translation whose placeholders do not match falls back to English, never crashes
    assert catalogs.translate("es", "Bad {n}.", n=3) == "Bad 3."
    assert is_rtl("ar")
    assert not is_rtl("es")


def test_placeholders_are_the_named_fields() -> None:
    assert placeholders("{a} and {b} but not {{c}}") == {"a", "b"}
    assert placeholders("none") == set()


@pytest.mark.parametrize("lang", SHIPPED_LANGUAGES)
def test_every_message_is_translated_in_every_shipped_catalog(
    lang: str, extracted: dict[str, Message]
) -> None:
    po_path = LOCALES_DIR / lang / "LC_MESSAGES" / "liaison.po"
    assert po_path.exists(), f"no catalog for {lang}: run python -m bot.core.i18n.extract"
    catalog = read(po_path, lang)
    problems = []
    for msgid in sorted(extracted, key=str):
        message = catalog.get(msgid)
        if message is None or not message.string:
            problems.append(f"untranslated: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif isinstance(msgid, tuple):
            forms = list(message.string) if isinstance(message.string, tuple | list) else []
            allowed = placeholders(msgid[0]) | placeholders(msgid[1])
            if len(forms) != catalog.num_plurals or not all(forms):
                problems.append(f"plural forms missing: {msgid!r}")
            # a form may leave out the number ("une heure", Arabic's dual) but never invent one
            elif any(not placeholders(str(f)) <= allowed for f in forms):
                problems.append(f"placeholders differ: {msgid!r} -> {forms!r}")
        elif placeholders(str(message.string)) != placeholders(msgid):
            problems.append(f"placeholders differ: {msgid!r} -> {message.string!r}")
    assert problems == [], f"{lang}: {len(problems)} problem(s)"


def test_plural_forms_follow_each_language(tmp_path: Path) -> None:
    catalog = Catalog(locale="ar", domain="liaison")
    catalog.add(
        ("every hour", "every {count} hours"),
        ("كل {count} ساعة", "كل ساعة", "كل ساعتين", "كل {count} ساعات", "كل {count} ساعة",
         "كل {count} ساعة"),
    )  # fmt: skip
    po_path = tmp_path / "ar" / "LC_MESSAGES" / "liaison.po"
    po_path.parent.mkdir(parents=True)
    with po_path.open("wb") as handle:
        write_po(handle, catalog)
    catalogs = Catalogs(tmp_path)
    said = [catalogs.translate_plural("ar", "every hour", "every {count} hours", n) for n in
            (1, 2, 3, 11, 100)]  # fmt: skip
    assert said == ["كل ساعة", "كل ساعتين", "كل 3 ساعات", "كل 11 ساعة", "كل 100 ساعة"]
    assert catalogs.translate_plural("en", "every hour", "every {count} hours", 1) == "every hour"
    assert catalogs.translate_plural("fr", "every hour", "every {count} hours", 5) == (
        "every 5 hours"
    )


def test_an_english_frame_in_a_translated_room_is_found() -> None:
    from bot.core.matrix.client import LIAISON_KEY
    from tests.support.i18n import english_leaks, said

    def event(body: str, lang: str, kind: str = "reply") -> dict[str, object]:
        return {"content": {"body": body, LIAISON_KEY: {"kind": kind, "lang": lang}}}

    english = "I know no aid request #3 that can be shown here."
    french = said(
        "fr", "Only room admins (power level {level} or more) may use this command.", level=50
    )
    assert english_leaks([event(english, "fr")])
    assert english_leaks([event(french, "fr")]) == []
    # members' own words (relayed copies) and English rooms are not the bot's frames
    assert english_leaks([event(english, "fr", kind="relay"), event(english, "en")]) == []


def test_every_usage_placeholder_is_in_the_catalogs() -> None:
    from bot.app import Application  # noqa: F401  (every command module is imported)
    from bot.core.commands import placeholders_of
    from commands import aid, event, forget, help, place, relay, room, schedule

    families = [aid, event, forget, help, place, relay, room, schedule]
    shown = {p for module in families for c in module.family.commands.values()
             for p in placeholders_of(c.usage)}  # fmt: skip
    assert shown - set(help.PLACEHOLDERS) == set()


def test_no_two_verbs_of_a_family_answer_to_the_same_word() -> None:
    from bot.core.i18n import fold_word
    from commands import aid, event, forget, place, relay, room, schedule

    for module in (aid, event, forget, place, relay, room, schedule):
        seen: dict[str, str] = {}
        for command in module.family.commands.values():
            for name in (command.verb or "", *command.aliases):
                key = fold_word(name)
                assert seen.setdefault(key, str(command.verb)) == str(command.verb), (
                    module.family.name,
                    name,
                )


def test_every_word_the_bot_shows_is_accepted_back() -> None:
    """Categories, urgencies, visibilities, kinds and answers, in every shipped language."""
    from bot.aid import forms as aid_forms
    from bot.core.config import AidConfig
    from bot.core.i18n import Phrasebook
    from bot.gatherings import forms as gathering_forms

    phrases = Phrasebook(Catalogs(), "!")
    words = aid_forms.Words(
        categories=phrases.accepted({c: c for c in AidConfig().categories}, aid_forms.fold),
        urgencies=phrases.accepted(aid_forms.URGENCY_LABELS, aid_forms.fold),
        visibilities=phrases.accepted(aid_forms.VISIBILITY_LABELS, aid_forms.fold),
    )
    kinds = phrases.accepted(gathering_forms.KIND_LABELS, gathering_forms.fold)
    for lang in SHIPPED_LANGUAGES:
        t = phrases.translator(lang)
        for category in AidConfig().categories:
            assert aid_forms.category_of(t(category), AidConfig().categories, words) == category
        for key, label in aid_forms.URGENCY_LABELS.items():
            assert aid_forms.urgency_of(t(label), words) == key
        for key, label in aid_forms.VISIBILITY_LABELS.items():
            assert aid_forms.visibility_of(t(label), words) == key
        for key, label in gathering_forms.KIND_LABELS.items():
            assert gathering_forms.kind_for(t(label), kinds) == key, (lang, t(label))
