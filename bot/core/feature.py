"""What a feature declares to the composition root, and the core parts it is built from.

A feature is one folder under ``bot/``; its ``feature.py`` builds its service from the few
core parts it uses (taken from :class:`Core`, which only composition code ever sees) and
returns a :class:`Feature`: its command families, event listeners, scheduled-job loaders, web
routes, migrations, the hooks that export or forget a member's data, and how long the rows
that grow with traffic are kept (its pruners).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlite_utils import Migrations

from bot.core.broadcast import Broadcaster
from bot.core.commands import CommandFamily
from bot.core.config import Config
from bot.core.i18n import Phrasebook
from bot.core.matrix.client import MatrixClient
from bot.core.matrix.intake import Listener
from bot.core.metrics import Metrics
from bot.core.retention import Pruner
from bot.core.rooms import Rooms
from bot.core.scheduler import Loader, Scheduler
from bot.core.storage.database import Database
from bot.core.tasks import TaskSpawner
from bot.core.web import WebServer

if TYPE_CHECKING:
    from bot.translation.service import TranslationService

# viewers (the configured bot admins) -> {section: rows they may see}
ExportHook = Callable[[Sequence[str]], Mapping[str, Sequence[Mapping[str, Any]]]]
# member -> {N_-marked label: rows erased}
ForgetHook = Callable[[str], Mapping[str, int]]
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    path: str
    handler: RouteHandler
    method: str = "GET"


@dataclass(frozen=True)
class Feature:
    name: str
    families: Sequence[CommandFamily[Any]] = ()
    listeners: Sequence[Listener] = ()
    loaders: Sequence[Loader] = ()
    routes: Sequence[Route] = ()
    migrations: Sequence[Migrations] = ()
    export: ExportHook | None = None
    export_sections: Sequence[str] = ()
    forget: ForgetHook | None = None
    forget_keeps: Sequence[str] = field(default_factory=tuple)
    pruners: Sequence[Pruner] = ()  # tables that grow with traffic, and their horizons
    service: object = None  # the feature's main service, for operators' tools and tests


@dataclass(frozen=True)
class Core:
    """The parts every feature stands on, for ``feature.py`` builders (never kept by services)."""

    config: Config
    db: Database
    matrix: MatrixClient
    phrases: Phrasebook
    rooms: Rooms
    broadcast: Broadcaster
    scheduler: Scheduler
    tasks: TaskSpawner
    metrics: Metrics
    translation: TranslationService | None
    web: WebServer | None
