"""Every command family declared in ``commands/``, found by walking the package."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import commands
from bot.core.commands import CommandFamily


def declared_families() -> list[CommandFamily[Any]]:
    found: list[CommandFamily[Any]] = []
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"commands.{info.name}")
        family = getattr(module, "family", None)
        if isinstance(family, CommandFamily):
            found.append(family)
    return found
