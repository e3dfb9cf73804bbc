"""The translation relay as a feature: its listener, commands, tables and data-rights hooks."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.feature import Core, Feature
from bot.core.time.parse import parse_duration
from bot.relay import store
from bot.relay.desk import RelayDesk
from bot.relay.groups import RelayGroups
from bot.relay.notices import GroupNotices
from bot.relay.service import Relay
from bot.relay.spaces import RelaySpaces
from commands import relay as relay_commands


@dataclass(frozen=True)
class RelayFeature:
    feature: Feature
    groups: RelayGroups  # what gatherings, schedules and the like ask about groups


def build(core: Core) -> RelayFeature:
    groups = RelayGroups(core.db, core.rooms, core.phrases)
    notices = GroupNotices(core.db, core.rooms, core.phrases, core.broadcast, core.matrix)
    relay = Relay(
        groups,
        notices,
        core.db,
        core.matrix,
        core.phrases,
        core.translation,
        core.tasks,
        core.metrics,
        bot_config=core.config.bot,
        translation_config=core.config.translation,
    )
    spaces = RelaySpaces(core.db, core.matrix, groups)
    desk = RelayDesk(
        groups,
        relay,
        notices,
        core.db,
        core.rooms,
        core.phrases,
        core.translation,
        core.matrix,
        spaces,
        code_lifetime=parse_duration(core.config.relay.join_code_lifetime),
        audit_lines=core.config.relay.audit_lines,
    )
    db = core.db
    feature = Feature(
        name="relay",
        families=[relay_commands.family.bind(desk)],
        listeners=[relay.on_event],
        # changes not told yet (a stop in between; the upgrade's new steward rooms) are told
        loaders=[notices.deliver],
        migrations=[store.migrations],
        forget=lambda user_id: store.forget_user(db, user_id),
        forget_keeps=store.FORGET_KEEPS,
        service=relay,
    )
    return RelayFeature(feature, groups)
