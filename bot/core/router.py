"""From a message to a command: prefix, shell-like split, lookup, permission check, errors.

The router is the only place that turns exceptions into replies: a ``CommandError`` becomes
its own (translated) text, a ``UsageError`` adds the usage line, anything else becomes a short
apology while the traceback goes to the log.
"""

from __future__ import annotations

import difflib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core.commands import Command, CommandContext, CommandFamily, Permission, usage_line
from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.fairness import SenderBuckets, Verdict
from bot.core.i18n import Phrasebook, fold_word
from bot.core.matrix.client import MatrixClient
from bot.core.matrix.intake import IncomingEvent
from bot.core.rooms import Rooms
from bot.core.text.echo import echo

log = logging.getLogger(__name__)

# Phones "correct" quotes; shlex only knows the straight ones.
QUOTE_TABLE = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})
MESSAGE_TYPES = frozenset({"m.text", "m.notice"})


@dataclass(frozen=True)
class ParsedCommand:
    family: str
    verb: str | None
    args: list[str]
    rest: str  # raw text after the verb: multi-line forms keep their lines


def split_command(body: str, prefix: str) -> ParsedCommand | None:
    """Split ``!family verb args...``; None if the text is not a command at all.

    Raises UsageError for text that is a command but cannot be split (an open quote).
    """
    text = body.strip()
    if not text.startswith(prefix) or len(text) == len(prefix):
        return None
    text = text[len(prefix) :]
    if text[0].isspace() and len(prefix) == 1:
        return None  # "! yes" is punctuation, not a command; "liaison: help" is one
    text = text.lstrip()
    first_line, _, other_lines = text.partition("\n")
    words = split_words(first_line)
    if not words:
        return None
    family = words[0].lower()
    verb = words[1].lower() if len(words) > 1 else None
    args = words[2:]
    after_family = first_line.split(None, 1)[1] if len(first_line.split(None, 1)) > 1 else ""
    after_verb = after_family.split(None, 1)[1] if len(after_family.split(None, 1)) > 1 else ""
    rest = after_verb + ("\n" + other_lines if other_lines else "")
    if other_lines:
        try:
            args += split_words(other_lines)
        except UsageError:
            args += other_lines.split()
    return ParsedCommand(family, verb, args, rest.strip())


def split_words(text: str) -> list[str]:
    """Split like a shell, but an apostrophe inside a word is just a letter (l'assemblée).

    A quote opens a quoted argument only at the start of a word; it closes at the same quote
    followed by a space or the end. Raises UsageError for a quote that never closes.
    """
    text = text.translate(QUOTE_TABLE)
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in "\"'":
            quote = text[i]
            end = i + 1
            while True:
                end = text.find(quote, end)
                if end == -1:
                    raise UsageError("I could not read that command: a quote is not closed.")
                if end + 1 == n or text[end + 1].isspace():
                    break
                end += 1
            words.append(text[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and not text[i].isspace():
            i += 1
        words.append(text[start:i])
    return words


class Router:
    """Finds the command, checks the sender may use it, runs it, and answers every outcome."""

    def __init__(
        self,
        rooms: Rooms,
        phrases: Phrasebook,
        matrix: MatrixClient,
        *,
        admin_power_level: int,
        buckets: SenderBuckets | None = None,
    ) -> None:
        self.rooms = rooms
        self.phrases = phrases
        self.matrix = matrix
        self.admin_power_level = admin_power_level
        self.buckets = buckets or SenderBuckets(0, 1.0)
        self.families: dict[str, CommandFamily[Any]] = {}
        self.aliases: dict[str, str] = {}
        self.on_command: Callable[[str, str, float], None] | None = None

    def add(self, family: CommandFamily[Any]) -> None:
        """Answer ``family``'s commands; ``!help`` lists families in the order they are added."""
        if family.name in self.families:
            raise ValueError(f"the command family {family.name} is declared twice")
        self.families[family.name] = family
        for alias in family.all_aliases():
            self.aliases[fold_word(alias)] = family.name

    def family_named(self, word: str) -> CommandFamily[Any] | None:
        """The family called ``word`` or one of its aliases (accents do not matter)."""
        name = self.aliases.get(fold_word(word), word)
        return self.families.get(name)

    def is_command(self, event: IncomingEvent) -> bool:
        return (
            event.type == "m.room.message"
            and event.msgtype in MESSAGE_TYPES
            and event.body.lstrip().startswith(self.phrases.prefix)
            and not event.from_liaison
        )

    async def __call__(self, event: IncomingEvent) -> None:
        if not self.is_command(event):
            return
        if not event.allows("command"):
            # its room key came too late for a command to still mean what it meant
            log.info("not running the command %s: decrypted too late", event.event_id)
            event.notes.update(family="-", outcome="too-late")
            return
        started = time.monotonic()
        lang = self.rooms.language(event.room_id)
        family_name = "?"
        outcome = "ok"
        ctx = CommandContext(event, lang, [], "", self.phrases, self.rooms, self.matrix)
        unreadable: UsageError | None = None
        try:
            parsed = split_command(event.body, self.phrases.prefix)
        except UsageError as exc:
            parsed, unreadable = None, exc
        if parsed is None and unreadable is None:
            return  # not a command after all ("!" alone, "! yes")
        verdict = self.buckets.take(event.sender)
        if verdict is not Verdict.RUN:
            await self._throttled(ctx, verdict)
            return
        try:
            if unreadable is not None:
                raise unreadable
            assert parsed is not None
            family_name = self.aliases.get(fold_word(parsed.family), parsed.family)
            family = self.families.get(family_name)
            if family is None:
                family_name = "unknown"
                outcome = "unknown"
                await self._unknown(ctx, parsed.family)
                return
            command = family.lookup(parsed.verb)
            args = parsed.args
            rest = parsed.rest
            if command is None and None in family.commands:
                # a family with a default verb takes the word as its first argument
                command = family.commands[None]
                args = ([parsed.verb] if parsed.verb else []) + parsed.args
                rest = " ".join(filter(None, [parsed.verb, parsed.rest]))
            if command is None:
                outcome = "unknown"
                await self._unknown_verb(ctx, family, parsed.verb)
                return
            ctx.args, ctx.rest, ctx.family, ctx.verb = args, rest, family.name, command.verb
            self._check_permission(command, event)
            await family.run(command, ctx)
        except UsageError as exc:
            outcome = "usage"
            usage = self._usage_line(ctx)
            text = ctx.t(exc.message, **exc.params)
            if usage:
                text += "\n\n" + ctx.t("Usage: {usage}", usage=usage)
            await ctx.reply_text(text)
        except PermissionDenied as exc:
            outcome = "denied"
            await ctx.reply(exc.message, **exc.params)
        except CommandError as exc:
            outcome = "refused"
            await ctx.reply(exc.message, **exc.params)
        except sqlite3.Error:
            outcome = "storage"
            log.exception("storage failed during %s in %s", family_name, event.room_id)
            await ctx.reply(
                "I cannot save anything right now (a storage problem on my side), so nothing was changed. Please try again later."
            )
        except Exception:
            outcome = "error"
            log.exception(
                "command %s failed in %s (%s)", family_name, event.room_id, event.event_id
            )
            await ctx.reply(
                "Sorry, something went wrong on my side. Nothing was changed; please try again later."
            )
        finally:
            elapsed = time.monotonic() - started
            event.notes.update(family=family_name, outcome=outcome)
            log.debug(
                "command room=%s event=%s family=%s outcome=%s ms=%.0f",
                event.room_id,
                event.event_id,
                family_name,
                outcome,
                elapsed * 1000,
            )
            if self.on_command is not None:
                self.on_command(family_name, outcome, elapsed)

    async def _throttled(self, ctx: CommandContext, verdict: Verdict) -> None:
        """Over the sender's rate: one polite warning, then silence until they are calm again."""
        ctx.event.notes.update(family="-", outcome="throttled")
        if verdict is Verdict.WARN:
            log.info("throttling commands from a sender in %s", ctx.room_id)
            await ctx.reply(
                "You are sending commands faster than I answer them. For a while I will skip, without answering, those beyond one every {seconds} seconds.",
                seconds=f"{self.buckets.interval:g}",
            )
        if self.on_command is not None:
            self.on_command("-", "throttled", 0.0)

    def _check_permission(self, command: Command[Any], event: IncomingEvent) -> None:
        if self.rooms.may_use(command.permission, event.room_id, event.sender):
            return
        if command.permission == Permission.BOT_ADMIN:
            raise PermissionDenied("Only the bot's administrators may use this command.")
        raise PermissionDenied(
            "Only room admins (power level {level} or more) may use this command.",
            level=self.admin_power_level,
        )

    def _usage_line(self, ctx: CommandContext) -> str:
        family = self.families.get(ctx.family)
        command = family.commands.get(ctx.verb) if family else None
        if command is None or family is None:
            return ""
        return usage_line(command.usage, family.name, self.phrases.prefix, ctx.t)

    async def _unknown(self, ctx: CommandContext, word: str) -> None:
        names = list(self.families) + list(self.aliases)
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.5)
        if close:
            suggestion = self.aliases.get(close[0], close[0])
            await ctx.reply(
                "I don't know the command {command}. Did you mean {suggestion}? Type {help} for the list.",
                command=echo(self.phrases.prefix + word),
                suggestion=self.phrases.command(suggestion),
                help=self.phrases.command("help"),
            )
        else:
            await ctx.reply(
                "I don't know the command {command}. Type {help} for the list.",
                command=echo(self.phrases.prefix + word),
                help=self.phrases.command("help"),
            )

    async def _unknown_verb(
        self, ctx: CommandContext, family: CommandFamily[Any], verb: str | None
    ) -> None:
        verbs = [v for v in family.commands if v]
        spellings = family.verbs()
        if verb is None:
            await ctx.reply(
                "{family} needs a verb: {verbs}. Type {help} for examples.",
                family=self.phrases.command(family.name),
                verbs=", ".join(f"`{v}`" for v in verbs),
                help=self.phrases.command(f"help {family.name}"),
            )
            return
        # the verbs and their aliases in every language: "ajoute" is closest to "ajouter", which
        # is `add`, never `announce` for looking a bit like it
        close = difflib.get_close_matches(fold_word(verb), list(spellings), n=1, cutoff=0.6)
        if close:
            await ctx.reply(
                "I don't know the command {command}. Did you mean {suggestion}? Type {help} for the list.",
                command=echo(f"{self.phrases.prefix}{family.name} {verb}"),
                suggestion=self.phrases.command(f"{family.name} {spellings[close[0]].verb}"),
                help=self.phrases.command(f"help {family.name}"),
            )
        else:
            await ctx.reply(
                "I don't know the command {command}. Type {help} for the list.",
                command=echo(f"{self.phrases.prefix}{family.name} {verb}"),
                help=self.phrases.command(f"help {family.name}"),
            )
