"""``!forget me`` as a feature: built last, over every other feature's data-rights hooks."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.datarights import DataRights
from bot.core.feature import Core, Feature
from bot.forget.service import Forgetting
from commands import forget as forget_commands


def build(core: Core, others: Sequence[Feature]) -> Feature:
    forgetting = Forgetting(
        core.db,
        DataRights(core.db, others),
        core.phrases,
        core.rooms,
        core.matrix,
        core.broadcast,
    )
    return Feature(name="forget", families=[forget_commands.family.bind(forgetting)])
