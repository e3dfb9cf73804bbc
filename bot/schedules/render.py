"""How a scheduled post reads in its room: summaries, statuses, firings."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.core.i18n import N_, Speaker
from bot.core.storage.database import utcnow
from bot.core.time.describe import describe_when
from bot.core.time.parse import format_local
from bot.schedules import store
from bot.schedules.store import Schedule

Text = Speaker  # the room's language: t(msgid, **params), t.n(singular, plural, count)
Command = Callable[[str], str]  # "schedule show 3" -> `!schedule show 3`
Names = Callable[[list[str]], str]  # room ids -> the rooms as members know them

STATUS_LABELS = {
    store.DRAFT: N_("draft"),
    store.ACTIVE: N_("active"),
    store.PAUSED: N_("paused"),
    store.DONE: N_("done"),
    store.REMOVED: N_("removed"),
}
FIRING_LABELS = {
    store.SENT: N_("posted"),
    store.SENDING: N_("being posted"),
    store.MISSED: N_(
        "missed: I was not running and the grace period had passed, so it was skipped"
    ),
    store.BLOCKED: N_("not posted: the author is no longer a room admin"),
    store.INTERRUPTED: N_("interrupted by a stop and not finished in time"),
}


def times(schedule: Schedule, lang: str) -> list[str]:
    return [f"- {format_local(t, zone(schedule), lang)}" for t in schedule.upcoming(utcnow(), 3)]


def zone(schedule: Schedule) -> ZoneInfo:
    return ZoneInfo(schedule.tz)


def meaning(t: Text, schedule: Schedule) -> str:
    """The when in words, in the room's language: "every Monday at 18:00", "once, ..."."""
    return describe_when(schedule.recurrence or schedule.anchor, zone(schedule), t)


def target_line(t: Text, schedule: Schedule, names: Names) -> str:
    if schedule.target == store.TARGET_GROUP:
        return t("Posted to every room of this room's relay group, each in its own language.")
    if schedule.target == store.TARGET_ROOMS:
        return t("Posted to {rooms}.", rooms=names(list(schedule.rooms)))
    return t("Posted to this room.")


def status_line(t: Text, command: Command, schedule: Schedule) -> str:
    if schedule.status == store.DRAFT:
        return t(
            "Status: draft, waiting for a room admin: {approve}.",
            approve=command(f"schedule approve {schedule.id}"),
        )
    if schedule.status == store.PAUSED and schedule.pause_reason == "demoted":
        return t(
            "Status: paused, because {user} is no longer a room admin where it posts.",
            user=schedule.steward or schedule.author,
        )
    if schedule.status == store.PAUSED:
        return t("Status: paused.")
    if schedule.status == store.DONE:
        return t("Status: done, nothing left to post.")
    return t("Status: active.")


def summary(t: Text, command: Command, names: Names, schedule: Schedule, headline: str) -> str:
    """What a confirmation restates: the rule in words, where it posts, the next times."""
    lines = [
        headline,
        t("When: {when} (time zone {zone})", when=meaning(t, schedule), zone=schedule.tz),
        t("Read from: {typed}", typed=f"`{schedule.when_text}`"),
        target_line(t, schedule, names),
    ]
    upcoming = times(schedule, t.lang)
    if upcoming and schedule.status in {store.ACTIVE, store.DRAFT}:
        lines.append(
            t.n(
                "Next firing ({zone}):",
                "Next {count} firings ({zone}):",
                len(upcoming),
                zone=schedule.tz,
            )
        )
        lines.extend(upcoming)
    elif schedule.status == store.PAUSED:
        lines.append(status_line(t, command, schedule))
    if schedule.notify_room:
        lines.append(t("It notifies everyone with `@room`."))
    return "\n".join(lines)


def confirm_added(t: Text, command: Command, names: Names, schedule: Schedule) -> str:
    if schedule.status == store.DRAFT:
        headline = t(
            "Draft #{id} saved. A room admin can approve it with {approve}.",
            id=schedule.id,
            approve=command(f"schedule approve {schedule.id}"),
        )
    else:
        headline = t("Schedule #{id} is set.", id=schedule.id)
    return summary(t, command, names, schedule, headline)


def list_line(t: Text, schedule: Schedule) -> str:
    snippet = " ".join(schedule.text.split())
    snippet = snippet if len(snippet) <= 60 else snippet[:57] + "…"
    nxt = (
        format_local(schedule.next_due, zone(schedule), t.lang)
        if schedule.next_due and schedule.status in {store.ACTIVE, store.DRAFT}
        else "—"
    )
    return t(
        "- #{id} [{status}] {when}, next {next}: {text}",
        id=schedule.id,
        status=t(STATUS_LABELS[schedule.status]),
        when=meaning(t, schedule),
        next=nxt,
        text=snippet,
    )
