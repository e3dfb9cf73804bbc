"""The translation relay: linked language rooms reading each other, each in its own language."""

from __future__ import annotations

from bot.relay.service import Relay, install

__all__ = ["Relay", "install"]
