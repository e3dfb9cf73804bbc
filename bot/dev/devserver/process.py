"""What the local servers (Synapse, Apertium APY) share: a free port, a last-resort kill."""

from __future__ import annotations

import contextlib
import os
import signal
import socket


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kill_group(pid: int) -> None:
    """Last resort at garbage collection or interpreter exit: nothing is left running."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
