"""Start-up's objects frozen out of later collections; what comes after is still collected."""

from __future__ import annotations

import gc
import weakref

from bot.core import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> Node:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


def test_settle_collects_start_up_garbage_then_freezes_the_rest() -> None:
    kept = Node()
    garbage = weakref.ref(cycle())  # a cycle only a collection frees
    assert garbage() is not None
    try:
        heap.settle()
        assert garbage() is None  # collected before the freeze, not frozen forever
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # no longer walked
        later = weakref.ref(cycle())  # made after start-up: collected as always
        gc.collect()
        assert later() is None
    finally:
        gc.unfreeze()
