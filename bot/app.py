"""The composition root: builds the core, then each feature from the few core parts it uses.

This is the only module that knows every feature. Adding one is one line in
:func:`build_features`; everything else a feature needs it declares in its ``feature.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from sqlite_utils import Migrations

from bot.agenda import feature as agenda
from bot.aid import feature as aid
from bot.core.broadcast import Broadcaster
from bot.core.commands import CommandFamily
from bot.core.config import Config
from bot.core.datarights import DataRights
from bot.core.fairness import SenderBuckets
from bot.core.feature import Core, Feature
from bot.core.health import Health
from bot.core.i18n import Catalogs, Phrasebook
from bot.core.matrix.client import MatrixClient
from bot.core.matrix.intake import Listener
from bot.core.metrics import Metrics
from bot.core.retention import Retention
from bot.core.rooms import Rooms
from bot.core.router import Router
from bot.core.runtime import Runtime
from bot.core.scheduler import Scheduler
from bot.core.storage.database import Database
from bot.core.storage.schema import CORE_MIGRATIONS
from bot.core.tasks import TaskSpawner
from bot.core.trace import TRACE_FILE, Tracer
from bot.core.web import WebServer
from bot.forget import feature as forget
from bot.gatherings import feature as gatherings
from bot.places import feature as places
from bot.relay import feature as relay
from bot.schedules import feature as schedules
from bot.translation import feature as translation
from bot.translation import store as translation_store
from bot.translation.service import build_translation_service
from commands import help as help_commands
from commands import room as room_commands


def build_core(config: Config, matrix: MatrixClient | None = None) -> Core:
    """Every part the features stand on; nothing here touches the network.

    ``matrix`` replaces the real client only where no homeserver is wanted (the fuzz tests).
    """
    config.storage.path.mkdir(parents=True, exist_ok=True)
    db = Database(config.storage.database, key=config.storage.database_key)
    tracer = Tracer(config.storage.path / TRACE_FILE) if config.bot.trace else None
    matrix = matrix or MatrixClient(config.matrix, config.storage.path, tracer=tracer)
    rooms = Rooms(db, matrix, config.bot)
    translation = build_translation_service(
        config.translation,
        db,
        retention=config.retention.translation_cache(config.translation.cache_days),
    )
    return Core(
        config=config,
        db=db,
        matrix=matrix,
        phrases=Phrasebook(Catalogs(), config.bot.command_prefix),
        rooms=rooms,
        broadcast=Broadcaster(matrix, rooms, translation),
        scheduler=Scheduler(),
        tasks=TaskSpawner(),
        metrics=Metrics(),
        translation=translation,
        web=WebServer(config.web) if config.web.enabled else None,
    )


FeatureBuilder = Callable[[Core], Feature]


def build_features(core: Core, extra: Sequence[FeatureBuilder] = ()) -> list[Feature]:
    """Every feature, in the order ``!help`` lists them and events reach their listeners.

    ``extra`` features (probes in tests, local additions) come after the shipped ones and
    take part in ``!forget me`` and exports like them.
    """
    relay_feature = relay.build(core)
    where = agenda.addresses(core, relay_feature.groups)
    places_feature = places.build(core, relay_feature.groups, where)
    public_gatherings = gatherings.public(core, places_feature.public)
    cache = translation.build(core)
    built = [
        relay_feature.feature,
        gatherings.build(core, relay_feature.groups, places_feature.places, where),
        places_feature.feature,
        agenda.build(core, where, public_gatherings, places_feature.public),
        aid.build(core),
        schedules.build(core, relay_feature.groups),
        *([cache] if cache is not None else []),
        *(build(core) for build in extra),
    ]
    return [*built, forget.build(core, built)]


class Application:
    """One bot: its core, its features, and the runtime that starts and stops them."""

    def __init__(
        self,
        config: Config,
        *,
        extra_families: list[CommandFamily[Any]] | None = None,
        extra_features: Sequence[FeatureBuilder] = (),
        matrix: MatrixClient | None = None,
        owns_process: bool = False,
    ) -> None:
        """``owns_process``: the bot is the process's only tenant (``liaison run``, the demo),
        so it may tune process-wide things such as the garbage collector (``heap.settle``)."""
        self.config = config
        self.core = build_core(config, matrix)
        self.features = build_features(self.core, extra_features)
        core = self.core
        self.router = Router(
            core.rooms,
            core.phrases,
            core.matrix,
            admin_power_level=config.bot.admin_power_level,
            buckets=SenderBuckets(config.bot.command_burst, config.bot.command_interval_seconds),
        )
        self.router.add(help_commands.family.bind(self.router))
        self.router.add(room_commands.family.bind(core.rooms))
        for feature in self.features:
            for family in feature.families:
                self.router.add(family)
            for loader in feature.loaders:
                core.scheduler.register_loader(feature.name, loader)
        for extra in extra_families or []:
            self.router.add(extra)
        self.health = Health(
            core.matrix,
            core.db,
            core.scheduler,
            core.metrics,
            core.translation,
            sync_timeout_ms=config.matrix.sync_timeout_ms,
        )
        health = self.health

        async def integrity_checks() -> None:
            health.schedule_integrity_checks(config.storage.integrity_check_seconds)

        core.scheduler.register_loader("integrity", integrity_checks)
        self.retention = Retention(
            core.db, config.retention, [p for f in self.features for p in f.pruners]
        )
        retention = self.retention

        async def prune() -> None:
            retention.schedule(core.scheduler)

        core.scheduler.register_loader("retention", prune)
        if core.web is not None:
            health.add_routes(core.web)
            for feature in self.features:
                for route in feature.routes:
                    core.web.add_route(route.method, route.path, route.handler)
        listeners: list[Listener] = [self.router]
        listeners += [listener for f in self.features for listener in f.listeners]
        self.runtime = Runtime(
            core, self.router, listeners, self.migrations, owns_process=owns_process
        )
        self.data_rights = DataRights(core.db, self.features)

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)

    @property
    def migrations(self) -> list[Migrations]:
        own = [*CORE_MIGRATIONS, translation_store.migrations]
        return [*own, *(m for f in self.features for m in f.migrations)]

    # the running bot, as the CLI, the demo and the tests drive it
    @property
    def db(self) -> Database:
        return self.core.db

    @property
    def matrix(self) -> MatrixClient:
        return self.core.matrix

    @property
    def ready(self) -> asyncio.Event:
        return self.runtime.sync.ready

    async def run(self) -> None:
        await self.runtime.run()

    def request_stop(self) -> None:
        self.runtime.request_stop()

    async def stop(self) -> None:
        await self.runtime.stop()
