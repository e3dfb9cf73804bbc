"""Gatherings as a feature: commands, the RSVP listener, reminders, the calendar feed."""

from __future__ import annotations

from bot.core.feature import Core, Feature, Route
from bot.gatherings import store
from bot.gatherings.public import GatheringPages, PublicGatherings
from bot.gatherings.service import FEED_PATH, Gatherings
from bot.places.public import PublicPlaces
from bot.places.service import Places
from bot.relay.groups import RelayGroups
from commands import event as event_commands


def public(core: Core, places: PublicPlaces) -> PublicGatherings:
    """Published gatherings, public fields only: what the public pages read."""
    return PublicGatherings(core.db, places)


def build(
    core: Core, groups: RelayGroups, places: Places, pages: GatheringPages | None = None
) -> Feature:
    user_id = core.config.matrix.user_id
    gatherings = Gatherings(
        core.db,
        core.rooms,
        core.phrases,
        core.broadcast,
        core.matrix,
        core.scheduler,
        groups,
        places,
        core.web,
        reminder_leads=core.config.events.reminder_leads,
        calendar_domain=user_id.split(":", 1)[1] if ":" in user_id else "liaison",
        pages=pages,
    )
    db = core.db
    groups.when_a_room_joins(lambda room_id: store.unpublish_room(db, room_id))
    return Feature(
        name="gatherings",
        families=[event_commands.family.bind(gatherings)],
        listeners=[gatherings.on_event],
        loaders=[gatherings.load],
        routes=[Route(FEED_PATH, gatherings.serve_feed)],
        migrations=[store.migrations],
        export=lambda viewers: store.export_rows(db, tuple(viewers)),
        export_sections=("events",),
        forget=lambda user_id: store.forget_user(db, user_id),
        forget_keeps=store.FORGET_KEEPS,
        service=gatherings,
    )
