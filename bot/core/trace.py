"""Where the bot's own time goes between a sync response and the copies it sends.

Off by default (``bot.trace``); the parts that take trace points hold ``None`` then and test
for it, so an untraced bot pays one attribute test per point. On, each relayed message
yields one line of ``trace.jsonl`` in the data directory: milliseconds from the moment the
sync response arrived to each point, up to the start of the last copy's send. The lines
carry no event id, room id or text: only timings and the number of copies.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

TRACE_FILE = "trace.jsonl"
# at most this many messages followed at once; beyond it (a burst) new ones are not followed
MAX_OPEN = 10_000


class Tracer:
    """Trace points of the messages of each sync, written once their last send starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._sync: dict[str, float] = {}
        self._open: dict[str, dict[str, float]] = {}
        self._expected: dict[str, int] = {}
        self._sends: dict[str, int] = {}
        self.written = 0

    # ---- the sync ------------------------------------------------------------------------

    def sync_received(self) -> None:
        """The response of a sync request has arrived (before nio reads it)."""
        self._sync = {"received": time.perf_counter()}

    def sync_point(self, name: str) -> None:
        """A step of the sync's handling, shared by every event it brought."""
        if self._sync:
            self._sync[name] = time.perf_counter()

    def follow(self, event_id: str) -> None:
        """Follow an event of the latest sync from here on."""
        if self._sync and len(self._open) < MAX_OPEN:
            self._open[event_id] = dict(self._sync)

    # ---- one event -----------------------------------------------------------------------

    def point(self, event_id: str, name: str) -> None:
        """A step of one event's handling (the first time it is reached counts)."""
        points = self._open.get(event_id)
        if points is not None and name not in points:
            points[name] = time.perf_counter()

    def expect_sends(self, event_id: str, count: int) -> None:
        """How many copies the event goes out as: its line is written when the last starts."""
        if event_id in self._open:
            self._expected[event_id] = count

    def send_started(self, event_id: str) -> None:
        points = self._open.get(event_id)
        if points is None:
            return
        now = time.perf_counter()
        points.setdefault("first_send", now)
        started = self._sends.get(event_id, 0) + 1
        self._sends[event_id] = started
        expected = self._expected.get(event_id)
        if expected is not None and started >= expected:
            points["last_send"] = now
            self._write(event_id, expected)

    def drop(self, event_id: str) -> None:
        """Stop following an event that sends nothing (no copy, a command)."""
        self._open.pop(event_id, None)
        self._expected.pop(event_id, None)
        self._sends.pop(event_id, None)

    def _write(self, event_id: str, copies: int) -> None:
        points = self._open.pop(event_id)
        self._expected.pop(event_id, None)
        self._sends.pop(event_id, None)
        start = points["received"]
        line = {
            "copies": copies,
            "ms": {name: round((at - start) * 1000, 3) for name, at in points.items()},
        }
        try:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            # buffered: written out by the file object or at close, never on the hot path
            self._file.write(json.dumps(line) + "\n")
            self.written += 1
        except OSError as exc:
            log.warning("trace line not written: %s", exc)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
