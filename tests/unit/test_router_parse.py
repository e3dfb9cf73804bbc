"""Splitting what members type (often on a phone) into family, verb and arguments."""

from __future__ import annotations

import pytest

from bot.core.errors import UsageError
from bot.core.router import split_command


def test_family_verb_and_quoted_arguments() -> None:
    parsed = split_command('!event add "Assemblée générale" samedi 18h', "!")
    assert parsed is not None
    assert (parsed.family, parsed.verb) == ("event", "add")
    assert parsed.args == ["Assemblée générale", "samedi", "18h"]


def test_phone_quotes_and_capitals_are_understood() -> None:
    parsed = split_command("!Event Add “Réunion publique” demain", "!")
    assert parsed is not None
    assert (parsed.family, parsed.verb) == ("event", "add")
    assert parsed.args == ["Réunion publique", "demain"]


def test_multiline_form_keeps_its_lines_in_rest() -> None:
    parsed = split_command("!event add\ntitle: Festival\nstart: 2026-12-05 18:00", "!")
    assert parsed is not None
    assert parsed.verb == "add"
    assert parsed.rest.splitlines() == ["title: Festival", "start: 2026-12-05 18:00"]


def test_family_alone_has_no_verb() -> None:
    parsed = split_command("!help", "!")
    assert parsed is not None
    assert parsed.family == "help"
    assert parsed.verb is None
    assert parsed.args == []


@pytest.mark.parametrize("text", ["hello", "! help", "!", "", "   ", "?help"])
def test_ordinary_text_is_not_a_command(text: str) -> None:
    assert split_command(text, "!") is None


def test_an_open_quote_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="quote is not closed"):
        split_command('!room tz "Europe/Paris', "!")


def test_other_prefixes() -> None:
    parsed = split_command("liaison: room info", "liaison:")
    assert parsed is not None
    assert (parsed.family, parsed.verb) == ("room", "info")


def test_arabic_arguments_pass_through() -> None:
    parsed = split_command("!help غرفة", "!")
    assert parsed is not None
    assert parsed.verb == "غرفة"


def test_apostrophes_inside_words_are_letters() -> None:
    parsed = split_command("!schedule add demain 9h Rendez-vous à l'assemblée d'Alger", "!")
    assert parsed is not None
    assert parsed.args == ["demain", "9h", "Rendez-vous", "à", "l'assemblée", "d'Alger"]


def test_quoted_words_keep_inner_apostrophes() -> None:
    parsed = split_command("!event add \"L'assemblée d'été\" 'it''s' done", "!")
    assert parsed is not None
    assert parsed.args == ["L'assemblée d'été", "it''s", "done"]
