"""The shape of a feature's installer, called once by the composition root."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.matrix.intake import Listener
from bot.services import Services

Installer = Callable[[Services, Callable[[Listener], None]], None]
