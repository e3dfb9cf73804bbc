"""The per-sender token bucket: a burst, then one command per interval, one warning per flood."""

from __future__ import annotations

from bot.core.fairness import SenderBuckets, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_command_per_interval_and_one_warning() -> None:
    clock = Clock()
    buckets = SenderBuckets(10, 3.0, clock)
    assert [buckets.take("@flood:x") for _ in range(10)] == [Verdict.RUN] * 10
    assert buckets.take("@flood:x") is Verdict.WARN
    assert [buckets.take("@flood:x") for _ in range(50)] == [Verdict.DROP] * 50
    # another sender is not held back by the first one's flood
    assert buckets.take("@calm:x") is Verdict.RUN
    # one token comes back every 3 s; the flood goes on, and is not warned again
    clock.now += 3.0
    assert buckets.take("@flood:x") is Verdict.RUN
    assert buckets.take("@flood:x") is Verdict.DROP
    clock.now += 2.9
    assert buckets.take("@flood:x") is Verdict.DROP
    assert buckets.dropped == 53


def test_a_calm_sender_gets_the_whole_burst_and_a_new_warning_back() -> None:
    clock = Clock()
    buckets = SenderBuckets(3, 2.0, clock)
    for _ in range(3):
        buckets.take("@a:x")
    assert buckets.take("@a:x") is Verdict.WARN
    clock.now += 5.9  # not yet full again
    assert [buckets.take("@a:x") for _ in range(3)] == [Verdict.RUN, Verdict.RUN, Verdict.DROP]
    clock.now += 6.0  # full again: calm long enough
    assert [buckets.take("@a:x") for _ in range(4)] == [Verdict.RUN] * 3 + [Verdict.WARN]


def test_burst_zero_turns_the_limit_off() -> None:
    buckets = SenderBuckets(0, 3.0)
    assert not buckets.enabled
    assert {buckets.take("@a:x") for _ in range(1000)} == {Verdict.RUN}


def test_the_table_forgets_calm_senders() -> None:
    clock = Clock()
    buckets = SenderBuckets(2, 1.0, clock)
    for i in range(4096):
        buckets.take(f"@u{i}:x")
    clock.now += 10
    buckets.take("@new:x")
    assert len(buckets._buckets) == 1
