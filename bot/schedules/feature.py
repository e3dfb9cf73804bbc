"""Scheduled announcements as a feature: commands, firings rebuilt at start, data rights."""

from __future__ import annotations

from bot.core.feature import Core, Feature
from bot.relay.groups import RelayGroups
from bot.schedules import store
from bot.schedules.service import Schedules
from commands import schedule as schedule_commands


def build(core: Core, groups: RelayGroups) -> Feature:
    schedules = Schedules(
        core.db,
        core.rooms,
        core.phrases,
        core.broadcast,
        core.matrix,
        core.scheduler,
        groups,
        grace_seconds=core.config.scheduler.grace_seconds,
    )
    db = core.db
    return Feature(
        name="schedules",
        families=[schedule_commands.family.bind(schedules)],
        loaders=[schedules.load],
        migrations=[store.migrations],
        export=lambda viewers: store.export_rows(db, tuple(viewers)),
        export_sections=("schedules",),
        forget=lambda user_id: store.forget_user(db, user_id),
        forget_keeps=store.FORGET_KEEPS,
        service=schedules,
    )
