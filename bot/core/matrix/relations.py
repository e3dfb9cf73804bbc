"""Threads as Matrix writes them: which thread an event is in, and how to post into one.

A message in a thread carries ``m.relates_to`` with ``rel_type: m.thread`` and the thread's
root. Clients without thread support read ``m.in_reply_to`` instead: a real reply when
``is_falling_back`` is false, otherwise a fallback pointing at the thread.
"""

from __future__ import annotations

from typing import Any


def thread_root_of(content: dict[str, Any]) -> str | None:
    """The root of the thread ``content`` was posted in, or None outside threads."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != "m.thread":
        return None
    root = relates.get("event_id")
    return root if isinstance(root, str) and root else None


def in_thread(root: str, reply_to: str | None = None) -> dict[str, Any]:
    """The relation that posts into the thread of ``root``, as a reply to ``reply_to`` if given.

    Without a reply, the fallback for thread-less clients points at the root.
    """
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": reply_to is None,
        "m.in_reply_to": {"event_id": reply_to or root},
    }
