"""Every storage domain, imported here so their migrations register (interim, see app.py)."""

from bot.aid import store as aid_store
from bot.core.storage import ledger, operations, rooms
from bot.gatherings import store as gatherings_store
from bot.places import store as places_store
from bot.relay import store as relay_store
from bot.schedules import store as schedules_store
from bot.translation import store as translation_store

DOMAINS = (
    aid_store,
    gatherings_store,
    ledger,
    operations,
    places_store,
    relay_store,
    rooms,
    schedules_store,
    translation_store,
)
