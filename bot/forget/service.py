"""``!forget me``: a member erases what the bot holds about them, after confirming.

Confirmation is a second command, ``!forget me confirm``, within ten minutes: it works the same
in every client (a reaction is easy to send by accident and some clients hide them), and the
pending request is kept in the database so a restart in between does not lose it. The erasing
itself runs through every feature's forget hook (:class:`DataRights`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.broadcast import Broadcaster
from bot.core.datarights import DataRights, ForgetReport
from bot.core.errors import CommandError
from bot.core.i18n import N_, Phrasebook
from bot.core.matrix.client import MatrixClient, MatrixError
from bot.core.rooms import Rooms
from bot.core.storage.database import Database
from bot.forget import store

log = logging.getLogger(__name__)

CONFIRM_WINDOW = timedelta(minutes=10)

# What stays whatever the features do: said in every answer, so nobody believes more was erased.
ALWAYS_KEPT = (
    N_(
        "Messages you wrote stay in the rooms: the homeserver keeps them, not me. Delete them in your Matrix app if you wish."
    ),
    N_(
        "The ids of events I already handled are kept for up to 7 days, without content or sender, so that nothing is handled twice."
    ),
    N_(
        "My copy of the rooms' state (who is in each room, with their names and power levels) is erased too; at my next start I copy it again from the homeserver, which shows it to every member, so you are in it again for the rooms we still share."
    ),
)


class Forgetting:
    def __init__(
        self,
        db: Database,
        rights: DataRights,
        phrases: Phrasebook,
        rooms: Rooms,
        matrix: MatrixClient,
        broadcast: Broadcaster,
    ) -> None:
        self.db = db
        self.rights = rights
        self.phrases = phrases
        self.rooms = rooms
        self.matrix = matrix
        self.broadcast = broadcast

    def is_private(self, room_id: str, user_id: str) -> bool:
        """A room only the member and the bot are in: there the full report may be given.

        Anywhere else any count could include what that room may not know of (a private aid
        request, a direct chat), so the answer there gives none.
        """
        return self.rooms.is_private_with(room_id, user_id)

    async def report_privately(self, user_id: str, lang: str, text: str, cause: str) -> bool:
        """Send the full report in a new direct chat with the member; whether it went out."""
        try:
            room_id = await self.matrix.create_direct_room(
                user_id, self.phrases.text(lang, "What I erased")
            )
        except MatrixError as exc:
            log.warning("no direct chat for a forget report: %s", exc)
            return False
        self.rooms.set_language(room_id, lang)
        sent = await self.broadcast.send(
            room_id, text, txn_key=f"forget-report:{cause}", kind="forget", mentions=[user_id]
        )
        return sent is not None

    @property
    def window_minutes(self) -> int:
        return int(CONFIRM_WINDOW.total_seconds() // 60)

    def ask(self, user_id: str, room_id: str, when: datetime) -> None:
        """Record the request; ``when`` is the command's time, so a replay decides the same."""
        store.prune_forget_requests(self.db, when - CONFIRM_WINDOW)
        store.request_forget(self.db, user_id, room_id, when)

    def confirm(self, user_id: str, when: datetime) -> ForgetReport:
        """Erase, if asked within the window; what was erased and what stays."""
        request = store.forget_request(self.db, user_id)
        if request is None or when - request.requested_at > CONFIRM_WINDOW:
            raise CommandError(
                "There is no request to forget you from the last {minutes} minutes, so nothing was erased. Type {ask} first.",
                minutes=self.window_minutes,
                ask=self.phrases.command("forget me"),
            )
        report = self.rights.forget(user_id)
        store.clear_forget_request(self.db, user_id)
        return ForgetReport(report.erased, (*report.kept, *ALWAYS_KEPT))
