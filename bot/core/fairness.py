"""Per-sender fairness for commands: a token bucket for each member.

Each sender may send a burst of commands, then one every ``interval`` seconds. The command
over the limit gets one polite warning; further ones are dropped silently (before any parsing,
so a flood costs the room's lane almost nothing) until the sender's bucket is full again,
i.e. until they have been calm long enough for a whole burst. Only commands are counted: the
relay never drops a member's message for this.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

# Senders whose bucket is full are forgotten once the table grows past this.
_PRUNE_AT = 4096


class Verdict(enum.Enum):
    RUN = "run"  # handle the command
    WARN = "warn"  # drop it, and say so once
    DROP = "drop"  # drop it silently


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class SenderBuckets:
    """``burst`` commands at once, then one per ``interval`` seconds; ``burst`` 0 turns it off."""

    def __init__(
        self, burst: int, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self.burst > 0

    def take(self, sender: str) -> Verdict:
        """Count one command from ``sender`` and say what to do with it."""
        if not self.enabled:
            return Verdict.RUN
        now = self.clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[sender] = _Bucket(float(self.burst), now)
        else:
            self._refill(bucket, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.RUN
        self.dropped += 1
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _refill(self, bucket: _Bucket, now: float) -> None:
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) / self.interval)
        bucket.stamp = now
        if bucket.tokens >= self.burst:
            bucket.warned = False  # calm again: a next flood is warned once more

    def _prune(self, now: float) -> None:
        for sender, bucket in list(self._buckets.items()):
            self._refill(bucket, now)
            if bucket.tokens >= self.burst:
                del self._buckets[sender]
