"""The mutual aid desk: requests and offers from members, followed to the end.

Every rule of a request's life lives here once: who may claim or change it, which status
allows which step, what a replayed command returns. Where a command is typed decides what it
may show (:class:`AidPrivacy`); who is told what is :class:`AidNotices`' job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.aid import forms, render, store
from bot.aid.notices import AidNotices
from bot.aid.privacy import AidPrivacy, not_found
from bot.aid.store import ACTIVE, TERMINAL, AidRequest, HistoryEntry, NewRequest, Offer
from bot.core.broadcast import Broadcaster
from bot.core.config import AidConfig
from bot.core.errors import CommandError, UsageError
from bot.core.i18n import N_, Phrasebook, Speaker
from bot.core.rooms import Rooms
from bot.core.storage.database import Database, iso, utcnow
from bot.core.text.echo import echo

LIST_LIMIT = 30
# ``!aid list`` filters, as shown in the help (and accepted in every catalog language).
LIST_FILTERS = {"all": N_("all"), "mine": N_("mine")}
LIST_WORDS = {"ouvertes": "open", "abiertas": "open", "toutes": "all", "todas": "all"}
LIST_WORDS |= {"moi": "mine", "mias": "mine", "mis": "mine"}
OUTCOMES = forms.aliases(
    {
        "fulfilled": "fulfilled",
        "done": "fulfilled",
        "closed": "closed",
        "close": "closed",
        "cancelled": "closed",
        "duplicate": "duplicate",
        "transferred": "transferred",
        "sent": "transferred",
        "forwarded": "transferred",
        "satisfaite": "fulfilled",
        "realisee": "fulfilled",
        "fermee": "closed",
        "annulee": "closed",
        "doublon": "duplicate",
        "transmise": "transferred",
        "cumplida": "fulfilled",
        "cerrada": "closed",
        "cancelada": "closed",
        "duplicada": "duplicate",
        "transferida": "transferred",
        "تمت": "fulfilled",
        "مغلق": "closed",
        "مكرر": "duplicate",
        "محول": "transferred",
    }
)
NOT_YOURS = N_(
    "Only the person who asked, the helper who claimed it, or a coordinator may change aid request {id}."
)


@dataclass(frozen=True)
class Command:
    """One typed aid command: who, where, in which language, and the words after the verb."""

    event_id: str
    room_id: str
    sender: str
    lang: str
    args: list[str]
    rest: str  # the raw text after the verb (keeps newlines)

    def number(self, position: int = 0) -> str:
        """The request id at ``position`` among the arguments."""
        if len(self.args) <= position:
            raise UsageError(
                "Give the number of the request, for example {example}.", example="`k3m9`"
            )
        number = forms.parse_id(self.args[position])
        if number is None:
            raise UsageError(
                "{value} is not a request number. Use the number shown as #12.",
                value=echo(self.args[position]),
            )
        return number

    def note_after(self, words: int) -> str | None:
        """The free text after the first ``words`` words of the raw command (keeps newlines)."""
        parts = self.rest.split(None, words)
        note = parts[words].strip() if len(parts) > words else ""
        return note or None


@dataclass(frozen=True)
class Acknowledgement:
    """What to answer where the request was typed."""

    text: str  # Markdown already in the room's language
    mentions: list[str] | None


@dataclass(frozen=True)
class Spread:
    """Who was told of a new request: the coordinators' rooms it was posted to, and the bot
    admins told that there is no coordinators' room at all."""

    rooms: list[str]
    admins: list[str]
    coordinator_rooms: list[str]  # every coordinators' room there is
    followed_in: str | None  # the direct chat where a private request is followed


@dataclass(frozen=True)
class Audit:
    request: AidRequest
    history: list[HistoryEntry]


class MutualAid:
    def __init__(
        self,
        db: Database,
        privacy: AidPrivacy,
        notices: AidNotices,
        broadcast: Broadcaster,
        rooms: Rooms,
        phrases: Phrasebook,
        config: AidConfig,
    ) -> None:
        self.db = db
        self.privacy = privacy
        self.notices = notices
        self.broadcast = broadcast
        self.rooms = rooms
        self.phrases = phrases
        self.config = config

    def _status(self, lang: str, status: str) -> str:
        return self.phrases.text(lang, render.STATUS_LABELS.get(status, status))

    # ---- asking ------------------------------------------------------------------------------

    def words(self) -> forms.Words:
        """Every category, urgency and visibility as the bot shows them in any language."""
        return forms.Words(
            categories=self.phrases.accepted({c: c for c in self.config.categories}, forms.fold),
            urgencies=self.phrases.accepted(forms.URGENCY_LABELS, forms.fold),
            visibilities=self.phrases.accepted(forms.VISIBILITY_LABELS, forms.fold),
        )

    def submit(self, cmd: Command) -> AidRequest:
        """Record a request (a replayed command returns the one it recorded)."""
        existing = store.request_by_event(self.db, cmd.event_id)
        if existing is not None:
            return existing
        form = forms.parse_request(
            cmd.rest,
            categories=self.config.categories,
            lang=cmd.lang,
            tz=self.rooms.timezone(cmd.room_id),
            now=utcnow(),
            words=self.words(),
            t=self.phrases.translator(cmd.lang),
        )
        new = NewRequest(
            event_id=cmd.event_id,
            room_id=cmd.room_id,
            lang=cmd.lang,
            requester=cmd.sender,
            category=form.category,
            urgency=form.urgency,
            city=form.city,
            country=form.country,
            needed_by=form.needed_by,
            description=form.description,
            visibility=form.visibility,
            notify_dm=form.notify_dm,
        )
        # an id never reads as a category, so `!aid offer <id>` and a standing offer never mix
        reserved = frozenset(
            {forms.fold(c) for c in self.config.categories} | set(self.words().categories)
        )
        saved, _created = store.create_request(self.db, new, utcnow(), reserved)
        return saved

    async def acknowledgement(
        self, saved: AidRequest, cmd: Command, spread: Spread
    ) -> Acknowledgement:
        """The answer where the request was typed: what was recorded and who exactly was told.

        A private request typed in a shared room is never described there: the answer says
        only that the coordinators (how many rooms) were told, or that nobody could be.
        """
        t = self.phrases.translator(cmd.lang)
        told = self._told(saved, cmd, spread, t)
        if not self.privacy.can_see(saved, cmd.room_id, cmd.sender):
            intro = t(
                "Received. This request goes only to the coordinators; I will write to you about it in a direct chat."
            )
            return Acknowledgement(f"{intro}\n\n{told}", None)
        body = await self.notices.card(saved, cmd.room_id, cmd.lang)
        urgent = saved.urgency == "today" and self.privacy.is_coordinator_room(cmd.room_id)
        intro = t(
            "Recorded as aid request #{id}. Follow it with {show}.",
            id=saved.id,
            show=self.phrases.command(f"aid show {saved.id}"),
        )
        text = f"{intro} {told}"
        earlier = store.same_request(self.db, saved)
        if earlier is not None and self.privacy.can_see(earlier, cmd.room_id, cmd.sender):
            text += "\n\n" + t(
                "This looks like aid request #{other}, which you asked on {date} and which is still {status}. If it is the same need, close this one with {close}.",
                other=earlier.id,
                date=render.day(earlier.created_at, cmd.lang, self.rooms.timezone(cmd.room_id)),
                status=self._status(cmd.lang, earlier.status),
                close=self.phrases.command(f"aid close {saved.id} duplicate {earlier.id}"),
            )
        text += f"\n\n{body}"
        if urgent:
            text = f"{self.notices.urgent_line(cmd.lang)}\n\n{text}"
        return Acknowledgement(text, self.notices.on_call_mentions() if urgent else None)

    def _told(self, saved: AidRequest, cmd: Command, spread: Spread, t: Speaker) -> str:
        """Exactly who heard of the request, or that nobody could, and how that is fixed."""
        here = self.privacy.is_coordinator_room(cmd.room_id)
        rooms = [r for r in spread.rooms if r != cmd.room_id]
        # a private request in a shared room: the coordinators' rooms are counted, not named
        named = self.privacy.can_see(saved, cmd.room_id, cmd.sender)
        if not named and rooms:
            return t.n(
                "The coordinators were told in {count} room.",
                "The coordinators were told in {count} rooms.",
                len(rooms),
            )
        if rooms:
            names = self.rooms.names(rooms)
            if here:
                return t("Posted here and in the coordinators' rooms {rooms}.", rooms=names)
            return t.n(
                "Posted to the coordinators' room {rooms}.",
                "Posted to the coordinators' rooms {rooms}.",
                len(rooms),
                rooms=names,
            )
        if here:
            return t("This is a coordinators' room: the coordinators here see it.")
        if spread.coordinator_rooms and not named:
            return t(
                "Nobody could be told yet: I could not post in the coordinators' rooms. It is saved and stays open; a bot admin can check that I am still in those rooms."
            )
        if spread.coordinator_rooms:
            return t(
                "Nobody could be told yet: I could not post in the coordinators' rooms {rooms}. It is saved and stays open; a bot admin can check that I am still in those rooms.",
                rooms=self.rooms.names(spread.coordinator_rooms),
            )
        add = self.phrases.command("aid coordinators add")
        if spread.admins:
            return t(
                "Nobody could be told yet: this network has no coordinators' room. The bot's administrators were asked to make one with {command}; your request is saved and will be posted there as soon as it exists.",
                command=add,
            )
        return t(
            "Nobody could be told yet: this network has no coordinators' room, and no bot administrator could be reached. Your request is saved and will be posted there as soon as a bot administrator types {command} in a room.",
            command=add,
        )

    async def spread(self, saved: AidRequest, cmd: Command) -> Spread:
        """Tell the coordinators (or, with no coordinators' room, the bot admins) and the
        standing offers; a private request asked in a shared room is followed in a direct chat.
        Each notice has its own transaction key: a replayed command tells nobody twice."""
        rooms = await self.notices.announce(saved)
        coordinator_rooms = self.privacy.coordinator_rooms()
        admins: list[str] = []
        if not coordinator_rooms:
            admins = await self.notices.tell_admins_nobody_coordinates(saved)
        followed_in: str | None = None
        if not self.privacy.can_see(saved, cmd.room_id, cmd.sender):
            room_id = await self.notices.requester_room(saved)
            if room_id is not None and room_id != cmd.room_id:
                followed_in = room_id
                lang = self.rooms.language(room_id)
                t = self.phrases.translator(lang)
                body = await self.notices.card(saved, room_id, lang)
                told = Spread(rooms, admins, coordinator_rooms, room_id)
                intro = t(
                    "Your request is recorded and only the coordinators see it. Follow it here with {show}.",
                    show=self.phrases.command(f"aid show {saved.id}"),
                )
                private = Command(cmd.event_id, room_id, cmd.sender, lang, [], "")
                text = f"{intro} {self._told(saved, private, told, t)}\n\n{body}"
                await self.notices.send(room_id, text, txn_key=f"aid-ack:{saved.id}")
        await self.notices.match_request(saved)
        return Spread(rooms, admins, coordinator_rooms, followed_in)

    # ---- offering ----------------------------------------------------------------------------

    async def offer(self, cmd: Command) -> tuple[Offer, AidRequest | None]:
        """An offer on a request (``<id> <text>``) or a standing offer; coordinators are told."""
        if not cmd.args:
            raise UsageError("Tell me what you offer: category, location and a description.")
        # a category in any language the bot shows it in is never read as a request id
        categories = {forms.fold(c) for c in self.config.categories} | set(self.words().categories)
        number = None if forms.fold(cmd.args[0]) in categories else forms.parse_id(cmd.args[0])
        now = utcnow()
        if number is not None:
            target = self.privacy.visible(number, cmd.room_id, cmd.sender)
            text = cmd.note_after(1)
            if not text:
                raise UsageError("Say what you offer after the request number.")
            if not target.active:
                raise CommandError(
                    "Aid request {id} is no longer open ({status}).",
                    id=f"#{target.id}",
                    status=self._status(cmd.lang, target.status),
                )
            saved, _ = store.add_offer(
                self.db,
                event_id=cmd.event_id,
                request_id=target.key,
                offerer=cmd.sender,
                room_id=cmd.room_id,
                lang=cmd.lang,
                category=None,
                city="",
                country=None,
                until=None,
                text=text,
                now=now,
            )
            return saved, target
        form = forms.parse_standing_offer(
            cmd.rest,
            categories=self.config.categories,
            lang=cmd.lang,
            tz=self.rooms.timezone(cmd.room_id),
            now=now,
            words=self.words(),
            t=self.phrases.translator(cmd.lang),
        )
        saved, _ = store.add_offer(
            self.db,
            event_id=cmd.event_id,
            request_id=None,
            offerer=cmd.sender,
            room_id=cmd.room_id,
            lang=cmd.lang,
            category=form.category,
            city=form.city,
            country=form.country,
            until=form.until,
            text=form.text,
            now=now,
        )
        return saved, None

    async def pass_on_offer(self, offer: Offer, request: AidRequest | None) -> None:
        """Coordinators hear of an offer on a request, or of the requests a standing one matches."""
        if request is not None:
            await self.notices.announce_offer(offer, request)
        else:
            await self.notices.match_offer(offer)

    def standing_offer_lines(self, room_id: str, lang: str) -> list[str]:
        tz = self.rooms.timezone(room_id)
        t = self.phrases.translator(lang)
        return [
            render.offer_line(
                item, t, lang=lang, tz=tz, who=self.privacy.person(room_id, item.offerer)
            )
            for item in store.standing_offers(self.db, utcnow())[:LIST_LIMIT]
        ]

    # ---- the lifecycle -----------------------------------------------------------------------

    def shown_id(self, entry: HistoryEntry) -> str:
        """The id members see for the request a history entry belongs to."""
        request = store.get_request(self.db, entry.request_id)
        return request.id if request is not None else "?"

    async def claim(self, cmd: Command) -> HistoryEntry:
        entry = store.history_by_event(self.db, cmd.event_id)
        if entry is None:
            target = self.privacy.visible(cmd.number(), cmd.room_id, cmd.sender)
            if target.requester == cmd.sender:
                raise CommandError("You cannot claim your own request {id}.", id=f"#{target.id}")
            if target.status != "open":
                raise CommandError(
                    "Aid request {id} is not open any more ({status}).",
                    id=f"#{target.id}",
                    status=self._status(cmd.lang, target.status),
                )
            entry = self._changed(
                target,
                store.change(
                    self.db,
                    target.key,
                    event_id=cmd.event_id,
                    actor=cmd.sender,
                    action="claim",
                    status="in_progress",
                    note=cmd.note_after(1),
                    now=utcnow(),
                    expect=("open",),
                    claimer=cmd.sender,
                    claim_room=cmd.room_id,
                ),
            )
        await self._tell(entry)
        return entry

    async def progress(self, cmd: Command, action: str) -> HistoryEntry:
        """``update`` (news) or ``partial`` (part of it given; it stays open)."""
        entry = store.history_by_event(self.db, cmd.event_id)
        if entry is None:
            target = self.privacy.visible(cmd.number(), cmd.room_id, cmd.sender)
            note = cmd.note_after(1)
            if not note:
                raise UsageError("Add a short note after the request number.")
            if not self.privacy.may_manage(target, cmd.sender):
                raise CommandError(NOT_YOURS, id=f"#{target.id}")
            if not target.active:
                raise CommandError(
                    "Aid request {id} is no longer open ({status}).",
                    id=f"#{target.id}",
                    status=self._status(cmd.lang, target.status),
                )
            status = "partial" if action == "partial" else target.status
            entry = self._changed(
                target,
                store.change(
                    self.db,
                    target.key,
                    event_id=cmd.event_id,
                    actor=cmd.sender,
                    action=action,
                    status=status,
                    note=note,
                    now=utcnow(),
                    expect=ACTIVE,
                ),
            )
        await self._tell(entry)
        return entry

    async def close(self, cmd: Command) -> HistoryEntry:
        entry = store.history_by_event(self.db, cmd.event_id)
        if entry is None:
            target = self.privacy.visible(cmd.number(), cmd.room_id, cmd.sender)
            if len(cmd.args) < 2:
                raise UsageError("Give the outcome: fulfilled, closed, duplicate or transferred.")
            outcome = OUTCOMES.get(forms.fold(cmd.args[1]))
            if outcome is None:
                raise UsageError(
                    "{outcome} is not an outcome I know. Use fulfilled, closed, duplicate or transferred.",
                    outcome=echo(cmd.args[1]),
                )
            if not self.privacy.may_manage(target, cmd.sender):
                raise CommandError(NOT_YOURS, id=f"#{target.id}")
            if target.status in TERMINAL:
                raise CommandError(
                    "Aid request {id} is already closed ({status}).",
                    id=f"#{target.id}",
                    status=self._status(cmd.lang, target.status),
                )
            duplicate_of = None
            other: str | None = None
            words = 2
            if outcome == "duplicate":
                other = forms.parse_id(cmd.args[2]) if len(cmd.args) > 2 else None
                if other is None:
                    raise UsageError(
                        "Say which request this one duplicates, for example {example}.",
                        example=f"`aid close {target.id} duplicate 12`",
                    )
                if other == target.id:
                    raise CommandError("A request cannot duplicate itself.")
                duplicate_of = self.privacy.visible(other, cmd.room_id, cmd.sender).key
                words = 3
            note = cmd.note_after(words)
            if other is not None and duplicate_of is not None:
                note = f"#{other}" + (f" {note}" if note else "")
            entry = self._changed(
                target,
                store.change(
                    self.db,
                    target.key,
                    event_id=cmd.event_id,
                    actor=cmd.sender,
                    action="close",
                    status=outcome,
                    note=note,
                    now=utcnow(),
                    expect=ACTIVE,
                    duplicate_of=duplicate_of,
                ),
            )
        await self._tell(entry)
        return entry

    @staticmethod
    def _changed(target: AidRequest, entry: HistoryEntry | None) -> HistoryEntry:
        if entry is None:
            raise CommandError(
                "Aid request {id} changed meanwhile; look at it again.", id=f"#{target.id}"
            )
        return entry

    async def _tell(self, entry: HistoryEntry) -> None:
        request = store.get_request(self.db, entry.request_id)
        assert request is not None
        await self.notices.after_change(request, entry)

    # ---- looking -----------------------------------------------------------------------------

    def listing(self, room_id: str, sender: str, word: str) -> list[AidRequest]:
        """The requests this room may see, filtered by one word (status, category, ...)."""
        folded = forms.fold(word)
        shown = self.words()
        categories = {forms.fold(c): c for c in self.config.categories} | shown.categories
        filters = forms.aliases(LIST_WORDS) | self.phrases.accepted(LIST_FILTERS, forms.fold)
        statuses = self.phrases.accepted(render.STATUS_LABELS, forms.fold)
        urgencies = forms.URGENCY_WORDS | shown.urgencies

        def wanted(r: AidRequest) -> bool:
            if not word:
                return r.active
            chosen = filters.get(folded)
            if chosen == "all":
                return True
            if chosen == "mine":
                return sender in (r.requester, r.claimer)
            if folded in statuses:
                return r.status == statuses[folded]
            if folded in categories:
                return r.active and r.category == categories[folded]
            if folded in urgencies:
                return r.active and r.urgency == urgencies[folded]
            return r.active and forms.fold(r.country) == folded

        return [
            r
            for r in store.all_requests(self.db)
            if self.privacy.can_see(r, room_id, sender) and wanted(r)
        ]

    async def show(self, number: str, room_id: str, sender: str, lang: str) -> str:
        """The card of one request with the offers made on it, as this room may read it."""
        target = self.privacy.visible(number, room_id, sender)
        text = await self.notices.card(target, room_id, lang, whole=True)
        made = store.offers_on(self.db, target.key)
        if made:
            text += "\n\n" + self.phrases.text(lang, "Offers: {count}", count=len(made))
            for item in made:
                who = self.privacy.person(room_id, item.offerer)
                text += f"\n- {who}: {render.summary(item.text, 120)}"
        return text

    def history(self, cmd: Command) -> list[str]:
        """Who changed a request, when and why: in the coordinators' rooms only."""
        room_id, lang = cmd.room_id, cmd.lang
        if not self.privacy.is_coordinator_room(room_id):
            raise CommandError("The history of requests is shown only in the coordinators' rooms.")
        target = self.privacy.visible(cmd.number(), room_id, cmd.sender)
        tz = self.rooms.timezone(room_id)
        t = self.phrases.translator(lang)
        lines = [t("**History of aid request #{id}**", id=target.id)]
        for entry in store.history(self.db, target.key):
            actor = self.privacy.actor_label(target, entry.actor, room_id, lang)
            lines.append(render.history_line(entry, t, lang=lang, tz=tz, actor=actor))
        return lines

    # ---- data --------------------------------------------------------------------------------

    def export_rows(self, room_id: str, sender: str) -> list[dict[str, str]]:
        """Only the requests that may be seen where the export is asked for."""
        rows: list[dict[str, str]] = []
        for request in store.all_requests(self.db):
            if not self.privacy.can_see(request, room_id, sender):
                continue
            hidden = request.visibility == "anonymous" and not self.privacy.is_private_room(
                room_id, request.requester or ""
            )
            rows.append(
                {
                    "id": request.id,
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

    async def upload_export(
        self, room_id: str, sender: str, reply_to: str, thread_root: str | None = None
    ) -> int:
        """A CSV of what this room may see, uploaded in reply; coordinators and bot admins."""
        if not (self.rooms.is_bot_admin(sender) or self.privacy.is_coordinator(sender)):
            raise CommandError(
                "Only coordinators and the bot's administrators may export requests."
            )
        rows = self.export_rows(room_id, sender)
        await self.broadcast.upload_file(
            room_id,
            render.csv_bytes(rows),
            mimetype="text/csv",
            filename=f"aid-requests-{utcnow():%Y%m%d}.csv",
            txn_key=f"aid-export:{reply_to}",
            kind="aid-export",
            reply_to=reply_to,
            thread_root=thread_root,
        )
        return len(rows)

    def forget(self, cmd: Command) -> str:
        """Erase the personal details of a closed request; its id."""
        number = cmd.number()
        if store.history_by_event(self.db, cmd.event_id) is None:
            target = self.privacy.visible(number, cmd.room_id, cmd.sender)
            if not self.privacy.may_manage(target, cmd.sender):
                raise CommandError(NOT_YOURS, id=f"#{target.id}")
            if target.status not in TERMINAL:
                raise CommandError(
                    "Aid request {id} is still open: close it first, then erase it.",
                    id=f"#{target.id}",
                )
            written = [
                target.description,
                *(o.text for o in store.offers_on(self.db, target.key)),
                *(e.note or "" for e in store.history(self.db, target.key)),
            ]
            if not store.forget(
                self.db, target.key, event_id=cmd.event_id, actor=cmd.sender, now=utcnow()
            ):
                raise CommandError(
                    "The personal details of aid request {id} were already erased.",
                    id=f"#{target.id}",
                )
            # their translations too, and no trace left in the database file's free pages
            self.broadcast.forget_translations(written)
            self.db.checkpoint()
        return number

    def audit(self, cmd: Command) -> Audit:
        """Who asked, even for an anonymous request: bot admins, in a direct chat only."""
        if not self.privacy.is_private_room(cmd.room_id, cmd.sender):
            raise CommandError(
                "For privacy, I answer audits only in a direct chat between you and me."
            )
        number = cmd.number()
        target = store.request_by_ref(self.db, number)
        if target is None:
            raise not_found(number)
        return Audit(target, store.history(self.db, target.key))

    # ---- coordinators' rooms (bot admins) ----------------------------------------------------

    async def add_coordinator_room(self, room_id: str, user_id: str) -> int:
        """Make ``room_id`` a coordinators' room and post there every request still open
        (nobody may have seen those yet); how many were posted."""
        store.add_coordinator_room(self.db, room_id, user_id, utcnow())
        return await self.notices.post_open_requests(room_id)

    def withdraw(self, cmd: Command) -> Offer:
        """Withdraw a standing offer before its end date: its author, coordinators, bot admins."""
        number = cmd.number()  # offers keep their numbers: only requests have random ids
        offer = store.standing_offer(self.db, int(number), utcnow()) if number.isdigit() else None
        if offer is None:
            raise CommandError(
                "There is no standing offer {id} still valid; {offers} lists them.",
                id=f"#{number}",
                offers=self.phrases.command("aid offers"),
            )
        allowed = offer.offerer == cmd.sender or self.rooms.is_bot_admin(cmd.sender)
        if not allowed and not self.privacy.is_coordinator(cmd.sender):
            raise CommandError(
                "Only the person who made standing offer {id}, a coordinator or a bot admin may withdraw it.",
                id=f"#{number}",
            )
        store.withdraw_offer(self.db, offer.id, utcnow())
        return offer

    def remove_coordinator_room(self, room_id: str) -> None:
        if room_id in self.privacy.configured:
            raise CommandError(
                "This room is a coordinators' room by configuration; remove it from aid.coordinator_rooms."
            )
        if not store.remove_coordinator_room(self.db, room_id):
            raise CommandError("This room is not a coordinators' room.")

    def coordinator_rooms(self) -> Sequence[str]:
        return self.privacy.coordinator_rooms()

    def room_name(self, room_id: str) -> str:
        return self.privacy.matrix.room_name(room_id)
