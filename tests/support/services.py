"""Each feature's service built the way its ``feature.py`` builds it, on a fresh database.

The core parts are real (rooms, phrases, broadcast, scheduler) and stand on :class:`FakeMatrix`,
so unit tests exercise a service's rules with no homeserver: what a member would be refused,
the rows left afterwards, and what was sent where.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from bot.agenda import feature as agenda_feature
from bot.agenda.addresses import AgendaAddresses
from bot.agenda.service import Agenda
from bot.aid import feature as aid_feature
from bot.aid.service import MutualAid
from bot.core.broadcast import Broadcaster
from bot.core.config import Config, WebConfig, from_dict
from bot.core.errors import CommandError
from bot.core.feature import Core, Feature
from bot.core.i18n import Catalogs, Phrasebook
from bot.core.matrix.client import MatrixClient
from bot.core.metrics import Metrics
from bot.core.rooms import Rooms
from bot.core.scheduler import Scheduler
from bot.core.storage.database import Database
from bot.core.tasks import TaskSpawner
from bot.core.web import WebServer
from bot.forget import feature as forget_feature
from bot.forget.service import Forgetting
from bot.gatherings import feature as gatherings_feature
from bot.gatherings.service import Gatherings
from bot.places import feature as places_feature
from bot.places.service import Places
from bot.relay import feature as relay_feature
from bot.relay.desk import RelayDesk
from bot.relay.groups import RelayGroups
from bot.schedules import feature as schedules_feature
from bot.schedules.service import Schedules
from tests.support.fakematrix import FakeMatrix, SentEvent

BOT = "@liaison:test"
S = TypeVar("S")


@functools.cache
def catalogs() -> Catalogs:
    """The shipped catalogs, read once for the whole run (they are never changed)."""
    return Catalogs()


def make_config(
    *, admins: Sequence[str] = (), coordinator_rooms: Sequence[str] = (), **aid: Any
) -> Config:
    return from_dict(
        {
            "matrix": {
                "homeserver": "https://matrix.example.org",
                "user_id": BOT,
                "password": "pw",
            },
            "bot": {"admins": list(admins)},
            "aid": {"coordinator_rooms": list(coordinator_rooms), **aid},
        },
        environ={},
    )


@dataclass(frozen=True)
class World:
    """A fresh database, the fake homeserver, and the core parts built on them."""

    db: Database
    fake: FakeMatrix
    core: Core

    def sent_to(self, room_id: str) -> list[SentEvent]:
        return [s for s in self.fake.sent if s.room_id == room_id]


def world(db: Database, config: Config | None = None) -> World:
    config = config or make_config()
    fake = FakeMatrix(user_id=config.matrix.user_id)
    matrix = cast(MatrixClient, fake)  # FakeMatrix answers every call the services make
    rooms = Rooms(db, matrix, config.bot)
    core = Core(
        config=config,
        db=db,
        matrix=matrix,
        phrases=Phrasebook(catalogs(), config.bot.command_prefix),
        rooms=rooms,
        broadcast=Broadcaster(matrix, rooms, None),
        scheduler=Scheduler(),  # never started: jobs are only recorded
        tasks=TaskSpawner(),
        metrics=Metrics(),
        translation=None,
        web=None,
    )
    return World(db, fake, core)


def _service(found: object, kind: type[S]) -> S:
    assert isinstance(found, kind), f"expected a {kind.__name__}, got {found!r}"
    return found


def _bound(feature: Feature, kind: type[S]) -> S:
    """The service the feature's (first) command family was bound to."""
    return _service(feature.families[0].service, kind)


def mutual_aid(w: World) -> MutualAid:
    return _service(aid_feature.build(w.core).service, MutualAid)


def relay_desk(w: World) -> tuple[RelayDesk, RelayGroups]:
    built = relay_feature.build(w.core)
    return _bound(built.feature, RelayDesk), built.groups


def places(w: World) -> Places:
    return places_feature.build(w.core, relay_feature.build(w.core).groups).places


def gatherings(w: World) -> Gatherings:
    groups = relay_feature.build(w.core).groups
    feature = gatherings_feature.build(w.core, groups, places(w))
    return _service(feature.service, Gatherings)


@dataclass(frozen=True)
class Publishing:
    """Gatherings, places and the public agenda built together, as ``bot/app.py`` does."""

    gatherings: Gatherings
    places: Places
    agenda: Agenda
    addresses: AgendaAddresses
    desk: RelayDesk  # the relay groups the others ask


def publishing(w: World, public_url: str | None = "https://agenda.example.org") -> Publishing:
    """The publishing stack; ``public_url=None`` for a bot whose web server is off."""
    web = None
    if public_url is not None:
        web = WebServer(WebConfig(enabled=True, public_url=public_url))  # never started
    core = dataclasses.replace(w.core, web=web)
    relay = relay_feature.build(core)
    groups = relay.groups
    where = agenda_feature.addresses(core, groups)
    built_places = places_feature.build(core, groups, where)
    feature = gatherings_feature.build(core, groups, built_places.places, where)
    public = gatherings_feature.public(core, built_places.public)
    built_agenda = agenda_feature.build(core, where, public, built_places.public)
    return Publishing(
        _service(feature.service, Gatherings),
        built_places.places,
        _service(built_agenda.service, Agenda),
        where,
        _bound(relay.feature, RelayDesk),
    )


def schedules(w: World) -> Schedules:
    groups = relay_feature.build(w.core).groups
    return _service(schedules_feature.build(w.core, groups).service, Schedules)


def forgetting(w: World, others: Sequence[Feature]) -> Forgetting:
    return _bound(forget_feature.build(w.core, others), Forgetting)


def refusal(error: CommandError) -> tuple[str, dict[str, Any]]:
    """What the member reads, before translation: the catalog message id and its values."""
    return error.message, error.params
