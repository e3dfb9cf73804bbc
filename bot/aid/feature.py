"""Mutual aid as a feature: its commands, the daily check, tables and data-rights hooks."""

from __future__ import annotations

from bot.aid import store
from bot.aid.notices import AidNotices
from bot.aid.privacy import AidPrivacy
from bot.aid.service import MutualAid
from bot.core.feature import Core, Feature
from commands import aid as aid_commands


def build(core: Core) -> Feature:
    config = core.config.aid
    privacy = AidPrivacy(core.db, core.rooms, core.matrix, core.phrases, config)
    notices = AidNotices(
        core.db,
        privacy,
        core.broadcast,
        core.matrix,
        core.rooms,
        core.phrases,
        core.scheduler,
        config,
        admins=core.config.bot.admins,
    )
    aid = MutualAid(core.db, privacy, notices, core.broadcast, core.rooms, core.phrases, config)
    db = core.db
    return Feature(
        name="aid",
        families=[aid_commands.family.bind(aid)],
        loaders=[privacy.resolve_configured_rooms, notices.load_schedule],
        migrations=[store.migrations],
        export=lambda viewers: store.export_rows(db, tuple(viewers)),
        export_sections=("aid_requests",),
        forget=lambda user_id: store.forget_user(db, user_id),
        forget_keeps=store.FORGET_KEEPS,
        service=aid,
    )
