"""``!forget me``: a member erases what the bot holds about them, after confirming.

Confirmation is a second command, ``!forget me confirm``, within ten minutes: it works the same
in every client (a reaction is easy to send by accident and some clients hide them), and the
pending request is kept in the database so a restart in between does not lose it. The erasing
itself runs through every feature's forget hook (:class:`DataRights`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.datarights import DataRights, ForgetReport
from bot.core.errors import CommandError
from bot.core.i18n import N_, Phrasebook
from bot.core.storage.database import Database
from bot.forget import store

CONFIRM_WINDOW = timedelta(minutes=10)

# What stays whatever the features do: said in every answer, so nobody believes more was erased.
ALWAYS_KEPT = (
    N_(
        "Messages you wrote stay in the rooms: the homeserver keeps them, not me. Delete them in your Matrix app if you wish."
    ),
    N_(
        "The ids of events I already handled are kept for up to 7 days, without content or sender, so that nothing is handled twice."
    ),
)


class Forgetting:
    def __init__(self, db: Database, rights: DataRights, phrases: Phrasebook) -> None:
        self.db = db
        self.rights = rights
        self.phrases = phrases

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
