"""Who may see and change an aid request where, and how people are named there.

The privacy rule lives in :meth:`AidPrivacy.can_see`: a ``coordinators`` or ``anonymous``
request is shown only in the coordinators' rooms and, to the person who asked, in a direct
chat between them and the bot. Everything that answers in a room (list, show, export, errors)
goes through it, and an id that exists but may not be seen gets the same answer as an id that
does not exist.
"""

from __future__ import annotations

from bot.aid import store
from bot.aid.store import AidRequest
from bot.core.config import AidConfig
from bot.core.errors import CommandError
from bot.core.i18n import N_, Phrasebook
from bot.core.matrix.client import MatrixClient
from bot.core.rooms import Rooms
from bot.core.storage.database import Database

UNKNOWN_REQUEST = N_("I know no aid request {id} that can be shown here.")


def not_found(request_id: int | str) -> CommandError:
    """The one answer for an id that does not exist and for one that may not be seen here."""
    return CommandError(UNKNOWN_REQUEST, id=f"#{request_id}")


class AidPrivacy:
    def __init__(
        self,
        db: Database,
        rooms: Rooms,
        matrix: MatrixClient,
        phrases: Phrasebook,
        config: AidConfig,
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.matrix = matrix
        self.phrases = phrases
        self.config = config
        # the configured rooms as ids (aliases resolved at start)
        self.configured = [r for r in config.coordinator_rooms if r.startswith("!")]

    async def resolve_configured_rooms(self) -> None:
        """Loader: ``aid.coordinator_rooms`` may name rooms by alias; turn those into ids."""
        resolved: list[str] = []
        for room in self.config.coordinator_rooms:
            room_id = room if room.startswith("!") else await self.matrix.resolve_alias(room)
            if room_id is not None:
                resolved.append(room_id)
        self.configured = resolved

    # ---- places and people ----------------------------------------------------------------

    def coordinator_rooms(self) -> list[str]:
        """Rooms from the config first, then those added with ``!aid coordinators add``."""
        return list(dict.fromkeys([*self.configured, *store.coordinator_rooms(self.db)]))

    def is_coordinator_room(self, room_id: str) -> bool:
        return room_id in self.coordinator_rooms()

    def is_coordinator(self, user_id: str) -> bool:
        """A coordinator is a member of one of the coordinators' rooms."""
        return any(user_id in self.matrix.members(r) for r in self.coordinator_rooms())

    def is_private_room(self, room_id: str, user_id: str) -> bool:
        """A room where only ``user_id`` and the bot are (a direct chat)."""
        return self.rooms.is_private_with(room_id, user_id)

    # ---- the rule -------------------------------------------------------------------------

    def can_see(self, request: AidRequest, room_id: str, sender: str) -> bool:
        if self.is_coordinator_room(room_id):
            return True
        if not request.private:
            return True
        return request.requester == sender and self.is_private_room(room_id, sender)

    def visible(self, request_id: str, room_id: str, sender: str) -> AidRequest:
        """The request if it may be seen here; otherwise the same refusal as an unknown id."""
        request = store.request_by_ref(self.db, request_id)
        if request is None or not self.can_see(request, room_id, sender):
            raise not_found(request_id)
        return request

    def may_cache(
        self, request: AidRequest, room_id: str | None = None, author: str | None = None
    ) -> bool:
        """Whether a translation of what was written may be kept in the translation cache.

        Never for a coordinators-only or anonymous request, nor for what was written in a
        direct chat (``room_id``/``author``: where and by whom, the request's by default).
        """
        if request.private:
            return False
        where = request.room_id if room_id is None else room_id
        who = request.requester if author is None else author
        return bool(where) and not self.is_private_room(where, who or "")

    def may_manage(self, request: AidRequest, user_id: str) -> bool:
        """The person who asked, the helper who claimed, coordinators and bot admins."""
        return (
            user_id in (request.requester, request.claimer)
            or self.rooms.is_bot_admin(user_id)
            or self.is_coordinator(user_id)
        )

    # ---- names as a room may read them -------------------------------------------------------

    def person(self, room_id: str, user_id: str | None) -> str:
        if user_id is None:
            return "…"
        name = self.matrix.display_name(room_id, user_id)
        return user_id if name == user_id else f"{name} ({user_id})"

    def requester_label(self, request: AidRequest, room_id: str, lang: str) -> str:
        if request.requester is None:
            return self.phrases.text(lang, "(erased)")
        if request.visibility == "anonymous" and not self.is_private_room(
            room_id, request.requester
        ):
            return self.phrases.text(lang, "anonymous")
        return self.person(room_id, request.requester)

    def actor_label(self, request: AidRequest, actor: str | None, room_id: str, lang: str) -> str:
        if actor is None:
            return self.phrases.text(lang, "the bot") if request.forgotten_at is None else "…"
        if actor == "":  # a member who asked to be forgotten
            return self.phrases.text(lang, "(erased)")
        if actor == request.requester:
            return self.requester_label(request, room_id, lang)
        return self.person(room_id, actor)
