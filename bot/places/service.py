"""The directory of self-organised places: who may register, change and remove a place.

Gatherings point at places by id; they read the directory through :class:`Places` (``get``,
``registered_in``), never through its tables.
"""

from __future__ import annotations

from bot.core.errors import CommandError, UsageError
from bot.core.i18n import Phrasebook
from bot.core.rooms import Rooms
from bot.core.storage.database import Database
from bot.core.text.echo import echo
from bot.core.text.forms import clean_id, new_id
from bot.places import forms, store
from bot.places.forms import PlaceValues
from bot.places.public import PlacePages
from bot.places.store import Place
from bot.relay.groups import RelayGroups


class Places:
    def __init__(
        self,
        db: Database,
        rooms: Rooms,
        phrases: Phrasebook,
        groups: RelayGroups,
        pages: PlacePages | None = None,
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.phrases = phrases
        self.groups = groups
        self.pages = pages

    # ---- the directory, as other features read it --------------------------------------------

    def get(self, place_id: str) -> Place | None:
        return store.get(self.db, place_id)

    def exists(self, place_id: str) -> bool:
        return store.get(self.db, clean_id(place_id)) is not None

    def registered_in(self, place_id: str, room_id: str) -> bool:
        """Whether ``room_id`` registered the place (its contact is shown only there)."""
        return store.registered_in(self.db, place_id, room_id)

    def space_link(self, place_id: str, room_id: str) -> str | None:
        """The space of the relay group the place was registered in, as ``room_id`` may see it.

        Only rooms of that same group are shown it: elsewhere the card does not tell which
        group, or which space, stands behind a place.
        """
        viewer = self.groups.link_of(room_id)
        if viewer is None:
            return None
        for registered in store.rooms_of(self.db, place_id):
            link = self.groups.link_of(registered)
            if link is not None and link.group == viewer.group:
                return self.groups.space_link(link.group)
        return None

    def listing(self, country: str | None = None) -> list[Place]:
        return store.listing(self.db, country)

    # ---- changes from members -----------------------------------------------------------------

    def find(self, word: str | None) -> Place:
        """The place with this id; the same refusal for a removed or unknown one."""
        if not word:
            raise UsageError("Give the place's id, such as {example}.", example="`p4kx`")
        place = store.get(self.db, clean_id(word))
        if place is None:
            raise CommandError(
                "I know no place with the id {id}. {list} shows the directory.",
                id=echo(word),
                list=self.phrases.command("place list"),
            )
        return place

    def register(
        self, *, command_event_id: str, creator: str, room_id: str, values: PlaceValues
    ) -> Place:
        """Add a place registered in ``room_id``; a replayed command returns the first one.

        ``public: yes`` publishes it at once, under the rule of :meth:`may_publish`; a refusal
        stores nothing.
        """
        existing = store.by_command(self.db, command_event_id)
        if existing is None and values.get("public"):
            if not self._answers_for(room_id, creator):
                raise self._publish_refusal()
            self.page_url(room_id, "")  # refuses before anything is stored when pages are off
        while existing is None:
            fields = {k: v for k, v in values.items() if k != "public"}
            existing = store.add(
                self.db,
                new_id(lambda c: store.exists(self.db, c)),
                command_event_id,
                creator=creator,
                room_id=room_id,
                published=bool(values.get("public")),
                **fields,  # type: ignore[arg-type]
            )
        return existing

    def edit(self, word: str | None, user_id: str, changes: str) -> Place:
        """Apply ``changes`` (``<field> <value>`` or ``field: value`` lines) for its owner."""
        place = self.find(word)
        self._require_owner(place, user_id)
        values = forms.parse_changes(changes)
        public = values.pop("public", None)
        if public and not place.published and not self.may_publish(place, user_id):
            raise self._publish_refusal()
        if public:
            self.page_url(place.room_id, place.id)
        for name, value in values.items():
            assert not isinstance(value, bool)
            store.update(self.db, place.id, name, value)
        if public is not None and bool(public) != place.published:
            store.set_published(self.db, place.id, bool(public))
        updated = store.get(self.db, place.id)
        assert updated is not None
        return updated

    # ---- the public pages -----------------------------------------------------------------------

    def may_publish(self, place: Place, user_id: str) -> bool:
        """Putting a place before the world needs both who run it and who answer for its room.

        The one who registered it speaks for the place (its address may put people at risk), and
        must also answer for the room it was registered in: a steward of that room's relay group
        (whose agenda shows it), or an admin of the room when it is in no group. A bot admin may.
        """
        if self.rooms.is_bot_admin(user_id):
            return True
        return user_id == place.creator and self._answers_for(place.room_id, user_id)

    def may_unpublish(self, place: Place, user_id: str) -> bool:
        """Taking a place off the pages only hides it: its registrant or whoever answers for
        its room may."""
        return (
            user_id == place.creator
            or self.rooms.is_bot_admin(user_id)
            or self._answers_for(place.room_id, user_id)
        )

    def _answers_for(self, room_id: str, user_id: str) -> bool:
        link = self.groups.link_of(room_id)
        if link is not None:
            return self.groups.is_steward(link.group, user_id)
        return self.rooms.is_room_admin(room_id, user_id)

    def _publish_refusal(self) -> CommandError:
        return CommandError(
            "A place goes on the public pages only when the person who registered it publishes it and also answers for its room: a steward of the room's relay group, or an admin of the room when it is in no group (or a bot admin). Nothing was changed."
        )

    def page_url(self, room_id: str, place_id: str) -> str:
        """The public directory's address for the place; CommandError when pages are off."""
        url = self.pages.place_url(room_id, place_id) if self.pages is not None else None
        if url is None:
            raise CommandError(
                "The public pages are not available: the bot's web server is off (web.enabled in the configuration). Nothing was changed."
            )
        return url

    def publish(self, word: str | None, user_id: str, *, public: bool) -> tuple[Place, bool]:
        """``!place publish`` / ``unpublish``: (the place, whether this call changed it)."""
        place = self.find(word)
        if public and not self.may_publish(place, user_id):
            raise self._publish_refusal()
        if not public and not self.may_unpublish(place, user_id):
            raise CommandError(
                "Only the person who registered {id}, whoever answers for its room (a steward of its relay group, or an admin of the room when it is in no group) or a bot admin may take it off the public pages. Nothing was changed.",
                id=f"`{place.id}`",
            )
        if public:
            self.page_url(place.room_id, place.id)
        if place.published == public:
            return place, False
        store.set_published(self.db, place.id, public)
        updated = store.get(self.db, place.id)
        assert updated is not None
        return updated, True

    def remove(self, word: str | None, user_id: str) -> Place:
        place = self.find(word)
        self._require_owner(place, user_id)
        store.remove(self.db, place.id)
        return place

    def _require_owner(self, place: Place, user_id: str) -> None:
        if user_id != place.creator and not self.rooms.is_bot_admin(user_id):
            raise CommandError(
                "Only the person who registered {id} or a bot admin may change it. Nothing was changed.",
                id=f"`{place.id}`",
            )
