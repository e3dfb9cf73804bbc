"""Who hears about aid requests: coordinators' rooms, the person who asked, the daily check.

Every notice is sent through the broadcaster with a transaction key derived from its cause
(the request, the history entry, the nudge row), so a notice resent after a restart is not
posted twice. Private requests are followed in a direct chat, never in a shared room.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.aid import render, store
from bot.aid.privacy import AidPrivacy
from bot.aid.store import AidRequest, HistoryEntry, Offer
from bot.core.broadcast import Broadcaster
from bot.core.config import AidConfig
from bot.core.i18n import N_, Phrasebook
from bot.core.matrix.client import MatrixClient, MatrixError
from bot.core.rooms import Rooms
from bot.core.scheduler import Scheduler
from bot.core.storage.database import Database, utcnow

log = logging.getLogger(__name__)

CHECK_JOB = "aid:daily-check"
RoomText = Callable[[str, str], Awaitable[str]]  # (language, room id) -> text
# A description longer than this is shortened where it is posted or acknowledged; `!aid show`
# gives it whole.
POSTED_DESCRIPTION = 600


class AidNotices:
    def __init__(
        self,
        db: Database,
        privacy: AidPrivacy,
        broadcast: Broadcaster,
        matrix: MatrixClient,
        rooms: Rooms,
        phrases: Phrasebook,
        scheduler: Scheduler,
        config: AidConfig,
        admins: tuple[str, ...] = (),
    ) -> None:
        self.admins = admins
        self.db = db
        self.privacy = privacy
        self.broadcast = broadcast
        self.matrix = matrix
        self.rooms = rooms
        self.phrases = phrases
        self.scheduler = scheduler
        self.config = config

    def stale_after(self) -> timedelta:
        if self.config.stale_after_seconds > 0:
            return timedelta(seconds=self.config.stale_after_seconds)
        return timedelta(days=self.config.stale_days)

    # ---- rendering ------------------------------------------------------------------------

    def translator(self, lang: str) -> Callable[..., str]:
        return self.phrases.translator(lang)

    async def card(
        self, request: AidRequest, room_id: str, lang: str, *, whole: bool = False
    ) -> str:
        """The request as ``room_id`` may read it; a long description is cut (``!aid show``
        gives it whole) so a room is never flooded."""
        text = request.description
        more = ""
        if not whole and len(text) > POSTED_DESCRIPTION:
            text = render.summary(text, POSTED_DESCRIPTION)
            more = self.phrases.ntext(
                lang,
                "(shortened from {count} character: {show} shows it whole)",
                "(shortened from {count} characters: {show} shows it whole)",
                len(request.description),
                show=self.phrases.command(f"aid show {request.id}"),
            )
        description = await self.broadcast.translate(
            text,
            request.lang,
            lang,
            author=request.requester,
            remember=self.privacy.may_cache(request),
        )
        card = render.card(
            request,
            self.translator(lang),
            lang=lang,
            tz=self.rooms.timezone(room_id),
            requester=self.privacy.requester_label(request, room_id, lang),
            description=description,
            original=text if description != text else None,
            claimer=self.privacy.person(room_id, request.claimer) if request.claimer else None,
        )
        return f"{card}\n{more}" if more else card

    def on_call_mentions(self) -> list[str]:
        return list(self.config.on_call)

    def urgent_line(self, lang: str) -> str:
        people = ", ".join(f"[{u}](https://matrix.to/#/{u})" for u in self.config.on_call)
        if people:
            return self.phrases.text(
                lang, "🔴 **Urgent: needed today.** On call: {people}", people=people
            )
        return self.phrases.text(lang, "🔴 **Urgent: needed today.**")

    # ---- sending --------------------------------------------------------------------------

    async def send(
        self,
        room_id: str,
        text: str,
        *,
        txn_key: str,
        mentions: list[str] | None = None,
        kind: str = "aid",
    ) -> str | None:
        return await self.broadcast.send(
            room_id, text, txn_key=txn_key, kind=kind, mentions=mentions
        )

    async def to_coordinators(
        self,
        render_text: RoomText,
        *,
        txn_key: str,
        skip: str | None = None,
        mentions: list[str] | None = None,
    ) -> list[str]:
        """Post to every coordinators' room in its language; the rooms that got it."""
        rooms = [
            room_id
            for room_id in self.privacy.coordinator_rooms()
            if room_id != skip and self.matrix.is_joined(room_id)
        ]
        posted = await self.broadcast.post(
            rooms, render_text, txn_key=txn_key, kind="aid", mentions=mentions
        )
        return [room_id for room_id, event_id in posted.items() if event_id is not None]

    async def announce(self, request: AidRequest) -> list[str]:
        """A new request goes to every coordinators' room, translated; ``today`` ones ping."""
        urgent = request.urgency == "today"

        async def text(lang: str, room_id: str) -> str:
            body = await self.card(request, room_id, lang)
            return f"{self.urgent_line(lang)}\n\n{body}" if urgent else body

        return await self.to_coordinators(
            text,
            txn_key=f"aid-new:{request.id}",
            skip=request.room_id,
            mentions=self.on_call_mentions() if urgent else None,
        )

    async def tell_admins_nobody_coordinates(self, request: AidRequest) -> list[str]:
        """No coordinators' room to post a request to: each bot admin hears how to add one.

        Returns the admins told (in a direct chat with the bot, in the configured language).
        """
        told: list[str] = []
        lang = self.rooms.config.default_language
        for admin in self.admins:
            try:
                room_id = await self.direct_room(admin, lang)
            except MatrixError as exc:
                log.warning("could not reach a bot admin about a request: %s", exc)
                continue
            text = self.phrases.text(
                self.rooms.language(room_id),
                "Aid request #{id} ({category}, {location}) was made, but there is no coordinators' room to post it to, so no coordinator has seen it. Type {command} in the room where coordinators should follow requests: every request still open is posted there at once.",
                id=request.id,
                category=self.phrases.text(self.rooms.language(room_id), request.category),
                location=request.location,
                command=self.phrases.command("aid coordinators add"),
            )
            sent = await self.send(
                room_id, text, txn_key=f"aid-no-coordinators:{request.id}", mentions=[admin]
            )
            if sent is not None:
                told.append(admin)
        return told

    async def post_open_requests(self, room_id: str) -> int:
        """Every request still open, posted to a room that has just become a coordinators'
        room (each once: the same transaction ids as a new request's post there)."""
        posted = 0
        for request in store.active_requests(self.db):

            async def text(lang: str, target: str, request: AidRequest = request) -> str:
                return await self.card(request, target, lang)

            sent = await self.broadcast.post(
                [room_id], text, txn_key=f"aid-new:{request.id}", kind="aid"
            )
            posted += sum(1 for event_id in sent.values() if event_id is not None)
        return posted

    async def direct_room(self, user_id: str, lang: str) -> str:
        """The bot's direct chat with ``user_id``, created (and remembered) the first time.

        Creation cannot be made idempotent on the homeserver: a crash between creating the room
        and recording it leaves one unused room behind, never a message in the wrong place.
        """
        known = store.dm_room(self.db, user_id)
        # reuse it only while it is still the two of us: someone may have been invited in since
        if (
            known is not None
            and self.matrix.is_joined(known)
            and self.privacy.is_private_room(known, user_id)
        ):
            return known
        room_id = await self.matrix.create_direct_room(
            user_id, self.phrases.text(lang, "Mutual aid")
        )
        store.set_dm_room(self.db, user_id, room_id, utcnow())
        self.rooms.set_language(room_id, lang)
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
            request.private and not self.privacy.is_private_room(request.room_id, request.requester)
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
        """Tell the person who asked; in the shared room where they asked, the notice names
        them and answers their request, so they (and only they) are pinged and see what it is
        about."""
        room_id = await self.requester_room(request)
        if room_id is None or request.requester is None:
            return
        lang = self.rooms.language(room_id)
        text = self.phrases.text(lang, message, **params)
        extra: dict[str, Any] = {}
        if room_id == request.room_id and not self.privacy.is_private_room(
            room_id, request.requester
        ):
            name = self.matrix.display_name(room_id, request.requester)
            text = f"[{name}](https://matrix.to/#/{request.requester}): {text}"
            extra["m.relates_to"] = {"m.in_reply_to": {"event_id": request.event_id}}

        async def fixed(_lang: str, _room_id: str) -> str:
            return text

        await self.broadcast.post(
            [room_id],
            fixed,
            txn_key=txn_key,
            kind="aid",
            mentions=[request.requester],
            extra_content=extra,
        )

    async def after_change(self, request: AidRequest, entry: HistoryEntry) -> None:
        """Tell the person who asked that their request was claimed or closed."""
        current = store.get_request(self.db, request.key) or request
        key = f"aid-tell:{entry.id}"
        if entry.action == "claim":
            await self.tell_requester(
                current,
                key,
                N_("Your aid request #{id} was claimed by {helper}, who will follow it up."),
                id=current.id,
                helper=self.privacy.person(current.room_id, entry.actor),
            )
        elif entry.action == "close":
            status = self.phrases.text(
                current.lang, render.STATUS_LABELS.get(entry.status, entry.status)
            )
            await self.tell_requester(
                current,
                key,
                N_("Your aid request #{id} was closed: {outcome}."),
                id=current.id,
                outcome=status,
            )

    # ---- offers and matching --------------------------------------------------------------

    async def announce_offer(self, offer: Offer, request: AidRequest) -> None:
        async def text(lang: str, room_id: str) -> str:
            translated = await self.broadcast.translate(
                offer.text,
                offer.lang,
                lang,
                author=offer.offerer,
                remember=self.privacy.may_cache(request, offer.room_id, offer.offerer),
            )
            return self.phrases.text(
                lang,
                "New offer on aid request #{id} from {who}: {text}",
                id=request.id,
                who=self.privacy.person(room_id, offer.offerer),
                text=translated,
            )

        await self.to_coordinators(text, txn_key=f"aid-offer:{offer.id}")

    async def match_request(self, request: AidRequest) -> list[Offer]:
        """Standing offers in the request's category and country; coordinators are told once."""
        now = utcnow()
        found = store.standing_offers_in(self.db, request.category, request.country, now)
        for offer in found:
            store.record_match(self.db, offer.id, request.key, now)
            await self.announce_match(offer, request)
        return found

    async def match_offer(self, offer: Offer) -> list[AidRequest]:
        now = utcnow()
        found = store.active_requests_in(self.db, offer.category or "", offer.country or "")
        for request in found:
            store.record_match(self.db, offer.id, request.key, now)
            await self.announce_match(offer, request)
        return found

    async def announce_match(self, offer: Offer, request: AidRequest) -> None:
        async def text(lang: str, room_id: str) -> str:
            t = self.translator(lang)
            return t(
                "Possible match: standing offer #{offer} from {who} ({category}, {offer_location}) and aid request #{id} ({category}, {location}, {urgency}). See {show}.",
                offer=offer.id,
                who=self.privacy.person(room_id, offer.offerer),
                category=t(request.category),
                offer_location=offer.location,
                id=request.id,
                location=request.location,
                urgency=render.label(t, render.URGENCY_LABELS, request.urgency),
                show=self.phrases.command(f"aid show {request.id}"),
            )

        await self.to_coordinators(text, txn_key=f"aid-match:{offer.id}:{request.id}")

    # ---- the daily check ------------------------------------------------------------------

    async def load_schedule(self) -> None:
        self.scheduler.every(CHECK_JOB, self.config.check_interval_seconds, self.check)

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
        if nudge.kind == "expired":

            async def expired(lang: str, room_id: str) -> str:
                return self.phrases.text(
                    lang,
                    "Aid request #{id} ({category}, {location}) expired: its needed-by date passed while it was still open.",
                    id=request.id,
                    category=self.phrases.text(lang, request.category),
                    location=request.location,
                )

            await self.to_coordinators(expired, txn_key=key)
            await self.tell_requester(
                request,
                f"{key}:requester",
                N_(
                    "Your aid request #{id} expired: its needed-by date passed and nobody had claimed it. You can ask again with new dates."
                ),
                id=request.id,
            )
        elif nudge.kind == "stale_claimer" and request.claimer:
            room_id = request.claim_room or ""
            if not room_id or (request.private and not self.privacy.is_coordinator_room(room_id)):
                room_id = await self.direct_room(request.claimer, request.lang)
            lang = self.rooms.language(room_id)
            tz = self.rooms.timezone(room_id)
            text = self.phrases.text(
                lang,
                "{helper}, aid request #{id} has had no news since {since}. Post news with {update} or close it with {close}.",
                helper=f"[{request.claimer}](https://matrix.to/#/{request.claimer})",
                id=request.id,
                since=render.moment_text(request.updated_at, lang, tz),
                update=self.phrases.command(f"aid update {request.id} <note>"),
                close=self.phrases.command(f"aid close {request.id} <outcome>"),
            )
            await self.send(room_id, text, txn_key=key, mentions=[request.claimer])
        elif nudge.kind == "stale_coordinators":

            async def stale(lang: str, room_id: str) -> str:
                return self.phrases.text(
                    lang,
                    "Aid request #{id}, claimed by {helper}, has had no news since {since}, even after a reminder. Could someone check in?",
                    id=request.id,
                    helper=self.privacy.person(room_id, request.claimer),
                    since=render.moment_text(
                        request.updated_at, lang, self.rooms.timezone(room_id)
                    ),
                )

            await self.to_coordinators(stale, txn_key=key)
