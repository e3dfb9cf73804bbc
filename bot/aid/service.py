"""The mutual aid desk: who may see what where, posting to coordinators, matching, daily checks.

The privacy rule lives in :meth:`MutualAid.can_see`: a ``coordinators`` or ``anonymous``
request is shown only in the coordinators' rooms and, to the person who asked, in a direct
chat between them and the bot. Everything that answers in a room (list, show, export, errors)
goes through it, and an id that exists but may not be seen gets the same answer as an id that
does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.aid import render, store
from bot.aid.store import AidRequest, HistoryEntry, Offer
from bot.core.broadcast import translate_text
from bot.core.errors import CommandError
from bot.core.matrix.client import LIAISON_KEY, MatrixError, txn_id_for
from bot.core.matrix.intake import Listener
from bot.core.storage import rooms
from bot.core.storage.database import iso, utcnow
from bot.core.text.markdown import message_content
from bot.services import Services

log = logging.getLogger(__name__)

CHECK_JOB = "aid:daily-check"
UNKNOWN_REQUEST = "I know no aid request {id} that can be shown here."


def not_found(request_id: int | str) -> CommandError:
    """The one answer for an id that does not exist and for one that may not be seen here."""
    return CommandError(UNKNOWN_REQUEST, id=f"#{request_id}")


class MutualAid:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.db = services.db
        self.config = services.config.aid

    # ---- places and people ----------------------------------------------------------------

    def coordinator_rooms(self) -> list[str]:
        """Rooms from the config first, then those added with ``!aid coordinators add``."""
        return list(
            dict.fromkeys([*self.config.coordinator_rooms, *store.coordinator_rooms(self.db)])
        )

    def is_coordinator_room(self, room_id: str) -> bool:
        return room_id in self.coordinator_rooms()

    def is_coordinator(self, user_id: str) -> bool:
        """A coordinator is a member of one of the coordinators' rooms."""
        return any(user_id in self.services.matrix.members(r) for r in self.coordinator_rooms())

    def is_private_room(self, room_id: str, user_id: str) -> bool:
        """A room where only ``user_id`` and the bot are (a direct chat)."""
        members = set(self.services.matrix.members(room_id))
        return user_id in members and members <= {user_id, self.services.matrix.user_id}

    def can_see(self, request: AidRequest, room_id: str, sender: str) -> bool:
        if self.is_coordinator_room(room_id):
            return True
        if not request.private:
            return True
        return request.requester == sender and self.is_private_room(room_id, sender)

    def visible(self, request_id: int, room_id: str, sender: str) -> AidRequest:
        """The request if it may be seen here; otherwise the same refusal as an unknown id."""
        request = store.get_request(self.db, request_id)
        if request is None or not self.can_see(request, room_id, sender):
            raise not_found(request_id)
        return request

    def may_manage(self, request: AidRequest, user_id: str) -> bool:
        """The person who asked, the helper who claimed, coordinators and bot admins."""
        return (
            user_id in (request.requester, request.claimer)
            or self.services.is_bot_admin(user_id)
            or self.is_coordinator(user_id)
        )

    def person(self, room_id: str, user_id: str | None) -> str:
        if user_id is None:
            return "…"
        name = self.services.matrix.display_name(room_id, user_id)
        return user_id if name == user_id else f"{name} ({user_id})"

    def requester_label(self, request: AidRequest, room_id: str, lang: str) -> str:
        if request.requester is None:
            return self.services.text(lang, "(erased)")
        if request.visibility == "anonymous" and not self.is_private_room(
            room_id, request.requester
        ):
            return self.services.text(lang, "anonymous")
        return self.person(room_id, request.requester)

    def actor_label(self, request: AidRequest, actor: str | None, room_id: str, lang: str) -> str:
        if actor is None:
            return self.services.text(lang, "the bot") if request.forgotten_at is None else "…"
        if actor == "":  # a member who asked to be forgotten
            return self.services.text(lang, "(erased)")
        if actor == request.requester:
            return self.requester_label(request, room_id, lang)
        return self.person(room_id, actor)

    def stale_after(self) -> timedelta:
        if self.config.stale_after_seconds > 0:
            return timedelta(seconds=self.config.stale_after_seconds)
        return timedelta(days=self.config.stale_days)

    # ---- rendering ------------------------------------------------------------------------

    def translator(self, lang: str) -> Callable[..., str]:
        def t(message: str, **params: Any) -> str:
            return self.services.text(lang, message, **params) if message else ""

        return t

    async def card(self, request: AidRequest, room_id: str, lang: str) -> str:
        description = await translate_text(self.services, request.description, request.lang, lang)
        return render.card(
            request,
            self.translator(lang),
            lang=lang,
            tz=self.services.room_timezone(room_id),
            requester=self.requester_label(request, room_id, lang),
            description=description,
            original=request.description if description != request.description else None,
            claimer=self.person(room_id, request.claimer) if request.claimer else None,
        )

    def on_call_mentions(self) -> list[str]:
        return list(self.config.on_call)

    def urgent_line(self, lang: str) -> str:
        people = ", ".join(f"[{u}](https://matrix.to/#/{u})" for u in self.config.on_call)
        if people:
            return self.services.text(
                lang, "🔴 **Urgent: needed today.** On call: {people}", people=people
            )
        return self.services.text(lang, "🔴 **Urgent: needed today.**")

    # ---- sending --------------------------------------------------------------------------

    async def send(
        self,
        room_id: str,
        text: str,
        *,
        txn_key: str,
        lang: str,
        mentions: list[str] | None = None,
        kind: str = "aid",
    ) -> str | None:
        content = message_content(text, lang=lang, kind=kind, mentions=mentions)
        try:
            return await self.services.matrix.send(
                room_id, content, txn_id=txn_id_for(txn_key, room_id)
            )
        except MatrixError as exc:
            log.warning("could not send an aid notice to %s: %s", room_id, exc)
            return None

    async def to_coordinators(
        self,
        render_text: Callable[[str, str], Any],
        *,
        txn_key: str,
        skip: str | None = None,
        mentions: list[str] | None = None,
    ) -> None:
        """Post to every coordinators' room in its language; ``render_text(lang, room_id)``."""
        for room_id in self.coordinator_rooms():
            if room_id == skip or not self.services.matrix.is_joined(room_id):
                continue
            lang = self.services.room_language(room_id)
            text = await render_text(lang, room_id)
            await self.send(room_id, text, txn_key=txn_key, lang=lang, mentions=mentions)

    async def announce(self, request: AidRequest) -> None:
        """A new request goes to every coordinators' room, translated; ``today`` ones ping."""
        urgent = request.urgency == "today"

        async def text(lang: str, room_id: str) -> str:
            body = await self.card(request, room_id, lang)
            return f"{self.urgent_line(lang)}\n\n{body}" if urgent else body

        await self.to_coordinators(
            text,
            txn_key=f"aid-new:{request.id}",
            skip=request.room_id,
            mentions=self.on_call_mentions() if urgent else None,
        )

    async def direct_room(self, user_id: str, lang: str) -> str:
        """The bot's direct chat with ``user_id``, created (and remembered) the first time.

        Creation cannot be made idempotent on the homeserver: a crash between creating the room
        and recording it leaves one unused room behind, never a message in the wrong place.
        """
        known = store.dm_room(self.db, user_id)
        # reuse it only while it is still the two of us: someone may have been invited in since
        if (
            known is not None
            and self.services.matrix.is_joined(known)
            and self.is_private_room(known, user_id)
        ):
            return known
        room_id = await self.services.matrix.create_direct_room(
            user_id, self.services.text(lang, "Mutual aid")
        )
        store.set_dm_room(self.db, user_id, room_id, utcnow())
        rooms.set_language(self.db, room_id, lang)
        log.info("opened a direct aid room %s", room_id)
        return room_id

    async def requester_room(self, request: AidRequest) -> str | None:
        """Where the person who asked hears about their request.

        The room where they asked, unless they opted into direct messages or the request is
        private and that room is shared: then a direct chat, so nothing leaks.
        """
        if request.requester is None:
            return None
        if request.notify_dm or (
            request.private and not self.is_private_room(request.room_id, request.requester)
        ):
            try:
                return await self.direct_room(request.requester, request.lang)
            except MatrixError as exc:
                log.warning("no direct room for an aid notice: %s", exc)
                return None
        return request.room_id

    async def tell_requester(
        self, request: AidRequest, txn_key: str, message: str, **params: Any
    ) -> None:
        room_id = await self.requester_room(request)
        if room_id is None:
            return
        lang = self.services.room_language(room_id)
        text = self.services.text(lang, message, **params)
        await self.send(
            room_id, text, txn_key=txn_key, lang=lang, mentions=[request.requester or ""]
        )

    async def after_change(self, request: AidRequest, entry: HistoryEntry) -> None:
        """Tell the person who asked that their request was claimed or closed."""
        current = store.get_request(self.db, request.id) or request
        key = f"aid-tell:{entry.id}"
        if entry.action == "claim":
            await self.tell_requester(
                current,
                key,
                "Your aid request #{id} was claimed by {helper}, who will follow it up.",
                id=current.id,
                helper=self.person(current.room_id, entry.actor),
            )
        elif entry.action == "close":
            status = self.services.text(
                current.lang, render.STATUS_LABELS.get(entry.status, entry.status)
            )
            await self.tell_requester(
                current,
                key,
                "Your aid request #{id} was closed: {outcome}.",
                id=current.id,
                outcome=status,
            )

    # ---- offers and matching --------------------------------------------------------------

    async def announce_offer(self, offer: Offer, request: AidRequest) -> None:
        async def text(lang: str, room_id: str) -> str:
            translated = await translate_text(self.services, offer.text, offer.lang, lang)
            return self.services.text(
                lang,
                "New offer on aid request #{id} from {who}: {text}",
                id=request.id,
                who=self.person(room_id, offer.offerer),
                text=translated,
            )

        await self.to_coordinators(text, txn_key=f"aid-offer:{offer.id}")

    async def match_request(self, request: AidRequest) -> list[Offer]:
        """Standing offers in the request's category and country; coordinators are told once."""
        now = utcnow()
        found = store.standing_offers_in(self.db, request.category, request.country, now)
        for offer in found:
            store.record_match(self.db, offer.id, request.id, now)
            await self.announce_match(offer, request)
        return found

    async def match_offer(self, offer: Offer) -> list[AidRequest]:
        now = utcnow()
        found = store.active_requests_in(self.db, offer.category or "", offer.country or "")
        for request in found:
            store.record_match(self.db, offer.id, request.id, now)
            await self.announce_match(offer, request)
        return found

    async def announce_match(self, offer: Offer, request: AidRequest) -> None:
        async def text(lang: str, room_id: str) -> str:
            t = self.translator(lang)
            return t(
                "Possible match: standing offer #{offer} from {who} ({category}, {offer_location}) and aid request #{id} ({category}, {location}, {urgency}). See {show}.",
                offer=offer.id,
                who=self.person(room_id, offer.offerer),
                category=t(request.category),
                offer_location=offer.location,
                id=request.id,
                location=request.location,
                urgency=render.label(t, render.URGENCY_LABELS, request.urgency),
                show=self.services.command(f"aid show {request.id}"),
            )

        await self.to_coordinators(text, txn_key=f"aid-match:{offer.id}:{request.id}")

    # ---- the daily check ------------------------------------------------------------------

    async def load_schedule(self) -> None:
        self.services.scheduler.every(CHECK_JOB, self.config.check_interval_seconds, self.check)

    async def check(self, now: datetime | None = None) -> None:
        """Expire open requests past their date and nudge about stalled ones, each once.

        Intent is written first (one row per nudge); sending uses the row's id in the
        transaction id, so a nudge resent after a restart is not posted twice.
        """
        moment = now or utcnow()
        store.plan_checks(self.db, moment, self.stale_after().total_seconds())
        for nudge in store.unsent_nudges(self.db):
            request = store.get_request(self.db, nudge.request_id)
            if request is not None:
                await self.send_nudge(nudge, request)
            store.mark_nudge_sent(self.db, nudge.id, utcnow())

    async def send_nudge(self, nudge: store.Nudge, request: AidRequest) -> None:
        key = f"aid-nudge:{nudge.id}"
        prefix = self.services.config.bot.command_prefix
        if nudge.kind == "expired":

            async def expired(lang: str, room_id: str) -> str:
                return self.services.text(
                    lang,
                    "Aid request #{id} ({category}, {location}) expired: its needed-by date passed while it was still open.",
                    id=request.id,
                    category=self.services.text(lang, request.category),
                    location=request.location,
                )

            await self.to_coordinators(expired, txn_key=key)
            await self.tell_requester(
                request,
                f"{key}:requester",
                "Your aid request #{id} expired: its needed-by date passed and nobody had claimed it. You can ask again with new dates.",
                id=request.id,
            )
        elif nudge.kind == "stale_claimer" and request.claimer:
            room_id = request.claim_room or ""
            if not room_id or (request.private and not self.is_coordinator_room(room_id)):
                room_id = await self.direct_room(request.claimer, request.lang)
            lang = self.services.room_language(room_id)
            tz = self.services.room_timezone(room_id)
            text = self.services.text(
                lang,
                "{helper}, aid request #{id} has had no news since {since}. Post news with {update} or close it with {close}.",
                helper=f"[{request.claimer}](https://matrix.to/#/{request.claimer})",
                id=request.id,
                since=render.moment_text(request.updated_at, lang, tz),
                update=f"`{prefix}aid update {request.id} <note>`",
                close=f"`{prefix}aid close {request.id} <outcome>`",
            )
            await self.send(room_id, text, txn_key=key, lang=lang, mentions=[request.claimer])
        elif nudge.kind == "stale_coordinators":

            async def stale(lang: str, room_id: str) -> str:
                return self.services.text(
                    lang,
                    "Aid request #{id}, claimed by {helper}, has had no news since {since}, even after a reminder. Could someone check in?",
                    id=request.id,
                    helper=self.person(room_id, request.claimer),
                    since=render.moment_text(
                        request.updated_at, lang, self.services.room_timezone(room_id)
                    ),
                )

            await self.to_coordinators(stale, txn_key=key)

    # ---- export ---------------------------------------------------------------------------

    def export_rows(self, room_id: str, sender: str) -> list[dict[str, str]]:
        """Only the requests that may be seen where the export is asked for."""
        rows: list[dict[str, str]] = []
        for request in store.all_requests(self.db):
            if not self.can_see(request, room_id, sender):
                continue
            hidden = request.visibility == "anonymous" and not self.is_private_room(
                room_id, request.requester or ""
            )
            rows.append(
                {
                    "id": str(request.id),
                    "status": request.status,
                    "category": request.category,
                    "urgency": request.urgency,
                    "city": request.city,
                    "country": request.country,
                    "needed_by": iso(request.needed_by) if request.needed_by else "",
                    "visibility": request.visibility,
                    "requester": "" if hidden or request.requester is None else request.requester,
                    "claimer": request.claimer or "",
                    "description": request.description,
                    "outcome_note": request.outcome_note or "",
                    "created_at": iso(request.created_at),
                    "updated_at": iso(request.updated_at),
                    "closed_at": iso(request.closed_at) if request.closed_at else "",
                }
            )
        return rows

    async def upload_export(self, room_id: str, sender: str, reply_to: str) -> int:
        rows = self.export_rows(room_id, sender)
        data = render.csv_bytes(rows)
        filename = f"aid-requests-{utcnow():%Y%m%d}.csv"
        url = await self.services.matrix.upload(data, "text/csv", filename)
        content: dict[str, Any] = {
            "msgtype": "m.file",
            "body": filename,
            "filename": filename,
            "url": url,
            "info": {"mimetype": "text/csv", "size": len(data)},
            "m.mentions": {},
            "m.relates_to": {"m.in_reply_to": {"event_id": reply_to}},
            LIAISON_KEY: {"kind": "aid-export"},
        }
        await self.services.matrix.send(room_id, content, txn_id=txn_id_for("aid-export", reply_to))
        return len(rows)


def install(services: Services, add_listener: Callable[[Listener], None]) -> None:
    """Build the aid desk and schedule its daily check (it needs no event listener)."""
    aid = MutualAid(services)
    services.aid = aid
    services.scheduler.register_loader("aid", aid.load_schedule)
    del add_listener
