"""Events whose room key arrives late: kept encrypted, asked for, handled once when it comes.

A room key often travels a little behind its message (to-device messages are separate), and
sometimes only when asked for. An event the bot cannot decrypt is kept, still encrypted, in
the ``undecrypted`` table; the bot asks the sender's devices for the key; when a room key or a
forwarded key for that session arrives (in this run or after a restart), the event goes back
to the inbox decrypted and reaches the listeners once, marked with what it is still fresh
enough for: a command within ``matrix.late_key_command_seconds`` of being sent, a message to
relay within ``matrix.late_key_relay_seconds``. Past both, it is dropped with one log line.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.core.config import MatrixConfig
from bot.core.matrix.client import MatrixClient
from bot.core.matrix.intake import LATE_KEY, IncomingEvent
from bot.core.storage import ledger
from bot.core.storage.database import Database, utcnow
from bot.core.tasks import TaskSpawner

if TYPE_CHECKING:
    from bot.core.metrics import Metrics

log = logging.getLogger(__name__)


class LateKeys:
    def __init__(
        self,
        db: Database,
        matrix: MatrixClient,
        tasks: TaskSpawner,
        metrics: Metrics,
        config: MatrixConfig,
    ) -> None:
        self.db = db
        self.matrix = matrix
        self.tasks = tasks
        self.metrics = metrics
        self.windows = {
            "command": config.late_key_command_seconds,
            "relay": config.late_key_relay_seconds,
        }
        # events the database could not take (locked, read-only): kept here until it can
        self._unparked: dict[str, IncomingEvent] = {}
        self._asked: set[str] = set()

    @property
    def longest(self) -> int:
        return max(self.windows.values())

    def park(self, event: IncomingEvent) -> IncomingEvent | None:
        """Keep an event we cannot decrypt and ask for its key.

        If the key came meanwhile, the decrypted event is returned to be handled now.
        """
        sent_at = _sent_at(event.origin_server_ts)
        try:
            ledger.park(self.db, event.room_id, event.source, sent_at)
        except sqlite3.Error as exc:
            log.warning("keeping %s in memory until its key comes: %s", event.event_id, exc)
            self._unparked[event.event_id] = event
            return None
        self.metrics.late_events.labels("waiting").inc()
        log.info(
            "cannot decrypt %s in %s yet; asking the sender's devices for its key",
            event.event_id,
            event.room_id,
        )
        self._ask(event.room_id, event.source)
        ready = self.retry([str(event.content.get("session_id") or "")])
        return ready[0] if ready else None

    def _ask(self, room_id: str, source: dict[str, object]) -> None:
        content = source.get("content")
        session = content.get("session_id") if isinstance(content, dict) else None
        if not isinstance(session, str) or session in self._asked:
            return
        self._asked.add(session)
        self.tasks.spawn(self.matrix.request_room_key(room_id, dict(source)), name="key-request")

    def ask_again(self) -> None:
        """At start: the requests of the last run may never have gone out."""
        for waiting in ledger.undecrypted(self.db):
            self._ask(waiting.room_id, waiting.source)

    def retry(self, sessions: Iterable[str] | None = None) -> list[IncomingEvent]:
        """Decrypt what the keys that arrived now open; the events to handle, oldest first."""
        for event_id, event in list(self._unparked.items()):
            try:
                ledger.park(self.db, event.room_id, event.source, _sent_at(event.origin_server_ts))
            except sqlite3.Error:
                break
            del self._unparked[event_id]
            self._ask(event.room_id, event.source)
            sessions = None  # a pass over everything, the newly parked ones included
        try:
            waiting = ledger.undecrypted(self.db, sessions)
        except sqlite3.Error as exc:
            log.warning("cannot look at the events waiting for their keys: %s", exc)
            return []
        ready: list[IncomingEvent] = []
        for item in waiting:
            found = self.matrix.decrypt(item.room_id, item.source)
            if found is None:
                continue
            age = (utcnow() - item.sent_at).total_seconds()
            uses = [use for use, limit in self.windows.items() if age <= limit]
            if not uses:
                self._drop(item, f"its key came {age / 3600:.1f} h after it was sent")
                continue
            found[LATE_KEY] = uses
            try:
                if not ledger.decrypted(self.db, item.event_id, item.room_id, found):
                    continue
            except sqlite3.Error as exc:
                log.warning("the decrypted %s waits for the database: %s", item.event_id, exc)
                continue
            self.metrics.late_events.labels("decrypted").inc()
            log.info(
                "decrypted %s in %s %.0f s after it was sent (for: %s)",
                item.event_id,
                item.room_id,
                age,
                ", ".join(uses),
            )
            ready.append(IncomingEvent.from_source(item.room_id, found))
        return ready

    def expire(self) -> int:
        """Drop what waited longer than any use: one log line and a metric each."""
        dropped = 0
        try:
            waiting = ledger.undecrypted(self.db)
        except sqlite3.Error:
            return 0
        for item in waiting:
            age = (utcnow() - item.sent_at).total_seconds()
            if age > self.longest:
                self._drop(item, f"no key came within {self.longest / 3600:.1f} h")
                dropped += 1
        return dropped

    def _drop(self, item: ledger.Undecrypted, why: str) -> None:
        try:
            ledger.drop_undecrypted(self.db, item.event_id)
        except sqlite3.Error as exc:
            log.warning("could not drop %s: %s", item.event_id, exc)
            return
        self.metrics.late_events.labels("dropped").inc()
        log.warning(
            "dropped the encrypted event %s in %s unread: %s", item.event_id, item.room_id, why
        )

    def waiting(self) -> int:
        return len(ledger.undecrypted(self.db)) + len(self._unparked)


def _sent_at(origin_server_ts: int) -> datetime:
    if origin_server_ts <= 0:
        return utcnow()
    return datetime.fromtimestamp(origin_server_ts / 1000, UTC)
