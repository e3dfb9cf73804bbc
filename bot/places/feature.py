"""The places directory as a feature: its commands, table and data-rights hooks."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.feature import Core, Feature
from bot.places import store
from bot.places.public import PlacePages, PublicPlaces
from bot.places.service import Places
from bot.relay.groups import RelayGroups
from commands import place as place_commands


@dataclass(frozen=True)
class PlacesFeature:
    feature: Feature
    places: Places  # what gatherings read
    public: PublicPlaces  # what the public pages read


def build(core: Core, groups: RelayGroups, pages: PlacePages | None = None) -> PlacesFeature:
    places = Places(core.db, core.rooms, core.phrases, groups, pages)
    db = core.db
    feature = Feature(
        name="places",
        families=[place_commands.family.bind(places)],
        migrations=[store.migrations],
        export=lambda viewers: store.export_rows(db, tuple(viewers)),
        export_sections=("places",),
        forget=lambda user_id: store.forget_user(db, user_id),
        forget_keeps=store.FORGET_KEEPS,
        service=places,
    )
    return PlacesFeature(feature, places, PublicPlaces(core.db))
