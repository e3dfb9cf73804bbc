"""The public agenda as a feature: its pages and feeds, the `!agenda` command, its table.

It reads gatherings and places only through their public interfaces (``PublicGatherings``,
``PublicPlaces``), and tells them where their public pages live through
:class:`AgendaAddresses` (built first, by :func:`addresses`).
"""

from __future__ import annotations

from bot.agenda import store
from bot.agenda.addresses import AgendaAddresses
from bot.agenda.service import Agenda
from bot.agenda.web import AgendaSite
from bot.core.feature import Core, Feature
from bot.gatherings.public import PublicGatherings
from bot.places.public import PublicPlaces
from bot.relay.groups import RelayGroups
from commands import agenda as agenda_commands


def addresses(core: Core, groups: RelayGroups) -> AgendaAddresses:
    """Where the pages live; gatherings and places are given it to answer with their address."""
    return AgendaAddresses(core.db, core.rooms, groups, core.web)


def build(
    core: Core,
    where: AgendaAddresses,
    gatherings: PublicGatherings,
    places: PublicPlaces,
) -> Feature:
    agenda = Agenda(where, gatherings, places, core.translation)
    site = AgendaSite(
        agenda, where, core.phrases, default_language=core.config.bot.default_language
    )
    return Feature(
        name="agenda",
        families=[agenda_commands.family.bind(agenda)],
        routes=site.routes() if core.web is not None else (),
        migrations=[store.migrations],
        service=agenda,
    )
