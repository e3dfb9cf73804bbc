"""Storage domains. Importing this package registers every domain's migrations."""

from bot.storage import (  # noqa: F401
    aid,
    gatherings,
    inbox,
    operations,
    places,
    relay,
    rooms,
    schedules,
    translation_cache,
)
