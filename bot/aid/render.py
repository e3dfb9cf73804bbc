"""Turning requests and offers into text in one room's language.

Each line is a whole catalog message, so translators see full sentences; only what members
wrote (the description, the offer) is machine-translated, by the caller.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime

from bot.aid.forms import URGENCY_LABELS, VISIBILITY_LABELS
from bot.aid.store import AidRequest, HistoryEntry, Offer
from bot.core.i18n import N_

Translate = Callable[..., str]  # (msgid, **params) -> text in the room's language

STATUS_LABELS = {
    "open": N_("open"),
    "in_progress": N_("in progress"),
    "partial": N_("partly fulfilled"),
    "fulfilled": N_("fulfilled"),
    "closed": N_("closed"),
    "duplicate": N_("duplicate"),
    "transferred": N_("sent to another group"),
    "expired": N_("expired"),
}
ACTION_LABELS = {
    "created": N_("asked"),
    "claim": N_("claimed"),
    "update": N_("news"),
    "partial": N_("partly fulfilled"),
    "close": N_("closed"),
    "offer": N_("offer"),
    "expired": N_("expired"),
    "forgotten": N_("personal details erased"),
}
CSV_COLUMNS = (
    "id",
    "status",
    "category",
    "urgency",
    "city",
    "country",
    "needed_by",
    "visibility",
    "requester",
    "claimer",
    "description",
    "outcome_note",
    "created_at",
    "updated_at",
    "closed_at",
)


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def day(moment: datetime, lang: str, tz: ZoneInfo) -> str:
    """A date the way the room's language writes it ("5 décembre 2026")."""
    return str(format_date(moment.astimezone(tz).date(), format="long", locale=_locale(lang)))


def moment_text(moment: datetime, lang: str, tz: ZoneInfo) -> str:
    return str(format_datetime(moment.astimezone(tz), format="medium", locale=_locale(lang)))


def summary(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def label(t: Translate, table: dict[str, str], key: str) -> str:
    return t(table[key]) if key in table else key


def card(
    request: AidRequest,
    t: Translate,
    *,
    lang: str,
    tz: ZoneInfo,
    requester: str,
    description: str,
    original: str | None,
    claimer: str | None,
) -> str:
    """The full view of one request, as posted to coordinators and shown by ``!aid show``."""
    lines = [
        t(
            "**Aid request #{id}**: {category}, {urgency}",
            id=request.id,
            category=t(request.category),
            urgency=label(t, URGENCY_LABELS, request.urgency),
        ),
        t("Where: {location}", location=request.location),
    ]
    if request.needed_by is not None:
        lines.append(t("Needed by: {date}", date=day(request.needed_by, lang, tz)))
    lines.append(
        t("Visibility: {visibility}", visibility=label(t, VISIBILITY_LABELS, request.visibility))
    )
    lines.append(t("Asked by: {who}", who=requester))
    lines.append(t("Status: {status}", status=label(t, STATUS_LABELS, request.status)))
    if claimer:
        lines.append(t("Claimed by: {who}", who=claimer))
    if request.forgotten_at is not None:
        lines.append(t("The personal details of this request were erased."))
    elif description:
        lines.append("")
        lines.append("> " + "\n> ".join(description.splitlines()))
        if original is not None and original != description:
            lines.append(t("Original: {text}", text=original))
    return "\n".join(lines)


def list_line(request: AidRequest, t: Translate, *, marker: str) -> str:
    return t(
        "#{id} · {category} · {urgency} · {location} · {status}{marker} · {summary}",
        id=request.id,
        category=t(request.category),
        urgency=label(t, URGENCY_LABELS, request.urgency),
        location=request.location,
        status=label(t, STATUS_LABELS, request.status),
        marker=marker,
        summary=summary(request.description) if request.description else "…",
    )


def history_line(entry: HistoryEntry, t: Translate, *, lang: str, tz: ZoneInfo, actor: str) -> str:
    line = t(
        "{when}: {action} by {who} ({status})",
        when=moment_text(entry.at, lang, tz),
        action=label(t, ACTION_LABELS, entry.action),
        who=actor,
        status=label(t, STATUS_LABELS, entry.status),
    )
    return f"- {line}" + (f": {entry.note}" if entry.note else "")


def offer_line(offer: Offer, t: Translate, *, lang: str, tz: ZoneInfo, who: str) -> str:
    if offer.until is not None:
        return t(
            "Offer #{id} · {category} · {location} · until {date} · {who}: {text}",
            id=offer.id,
            category=t(offer.category or ""),
            location=offer.location,
            date=day(offer.until, lang, tz),
            who=who,
            text=summary(offer.text, 120),
        )
    return t(
        "Offer #{id} · {category} · {location} · {who}: {text}",
        id=offer.id,
        category=t(offer.category or ""),
        location=offer.location,
        who=who,
        text=summary(offer.text, 120),
    )


# A cell starting with one of these is a formula to spreadsheet programs (and = with a link
# or a command can do harm on the coordinator's computer): it is written with a ' before it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """``value`` as plain text in any spreadsheet program (OWASP's CSV injection advice)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs read accents and Arabic right.

    Members write the descriptions and notes: no cell may start a formula.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: csv_cell(str(v)) for k, v in row.items()} for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
