"""Storage domains. Importing this package registers every domain's migrations, in order."""

from bot.storage import inbox, rooms  # noqa: F401
from bot.storage import translation_cache  # noqa: F401
