"""A real Synapse homeserver on loopback, for the test suite and `liaison demo`.

Runs matrix-synapse from the current interpreter with a SQLite database under `base_dir`.
The generated config is kept, so a second start (or a later demo run) reuses users and rooms.

With ``federation`` (a :class:`~bot.dev.devserver.tls.LocalCA`), the server also listens for
federation over TLS, on the port in its name (``localhost:PORT``: no ``.well-known`` or SRV
lookup happens), trusts that authority's certificates and may reach other servers on
127.0.0.1: several such servers started in one run federate with each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import logging
import os
import signal
import socket
import sys
import time
import weakref
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bot.dev.devserver.process import free_port, kill_group
from bot.dev.devserver.tls import LocalCA

log = logging.getLogger(__name__)

CONFIG_NAME = "homeserver.yaml"
LOG_NAME = "homeserver.log"
OUTPUT_NAME = "homeserver.out"
STOP_GRACE_SECONDS = 10.0

_LIFTED = {"per_second": 10_000, "burst_count": 100_000}

# Only keys Synapse 1.1xx parses; a test that needs a limit overrides it with `rate_limits`.
DEFAULT_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _LIFTED,
    "rc_registration": _LIFTED,
    "rc_registration_token_validity": _LIFTED,
    "rc_login": {"address": _LIFTED, "account": _LIFTED, "failed_attempts": _LIFTED},
    "rc_admin_redaction": _LIFTED,
    "rc_joins": {"local": _LIFTED, "remote": _LIFTED},
    "rc_joins_per_room": _LIFTED,
    "rc_3pid_validation": _LIFTED,
    "rc_invites": {"per_room": _LIFTED, "per_user": _LIFTED, "per_issuer": _LIFTED},
    "rc_third_party_invite": _LIFTED,
    "rc_key_requests": _LIFTED,
    "rc_presence": {"per_user": _LIFTED},
    "rc_room_creation": _LIFTED,
    "rc_delayed_event_mgmt": _LIFTED,
    "rc_reports": _LIFTED,
    "rc_user_directory": _LIFTED,
    "rc_profile": _LIFTED,
    "rc_media_create": _LIFTED,
}


class SynapseError(RuntimeError):
    """The homeserver could not be started or refused an admin request."""


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class LocalSynapse:
    """One Synapse process bound to 127.0.0.1, its config and data under `base_dir`."""

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        server_name: str | None = None,
        rate_limits: dict[str, Any] | None = None,
        federation: LocalCA | None = None,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.config_path = self.base_dir / CONFIG_NAME
        self.federation = federation
        self.federation_port: int | None = None
        if federation is not None:
            self.federation_port = self._previous_federation_port() or free_port()
            server_name = server_name or f"localhost:{self.federation_port}"
        self.server_name = server_name or "localhost"
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / LOG_NAME
        self.output_path = self.base_dir / OUTPUT_NAME
        self._rate_limits = _deep_merge(DEFAULT_RATE_LIMITS, rate_limits or {})
        self.port = port if port is not None else self._choose_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: asyncio.subprocess.Process | None = None
        self._finalizer: weakref.finalize | None = None
        self._shared_secret: str | None = None
        self._admin_token: str | None = None
        self.startup_seconds: float | None = None

    def _choose_port(self) -> int:
        # Keep the port of an earlier run (the demo's bot config may point at it) when free.
        if self.config_path.exists():
            try:
                config = yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}
                previous = int(config["listeners"][0]["port"])
            except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, ValueError):
                previous = 0
            if previous and _port_is_free(previous):
                return previous
        return free_port()

    def _previous_federation_port(self) -> int | None:
        """The federation port of an earlier run: it is part of the server's name for good."""
        if not self.config_path.exists():
            return None
        try:
            config = yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}
            _host, _, port = str(config["server_name"]).rpartition(":")
            return int(port) if port.isdigit() else None
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            return None

    @property
    def pid(self) -> int | None:
        """The process id (also its process group id) while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    async def start(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Generate the config if missing, spawn Synapse and wait until the client API answers."""
        if self.running:
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():
            await self._generate_config()
        self._write_config()
        began = time.monotonic()
        output = self.output_path.open("ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self.config_path),
                cwd=self.base_dir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        finally:
            output.close()
        self._finalizer = weakref.finalize(self, kill_group, self._process.pid)
        try:
            await self._wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        log.info("Synapse ready at %s after %.2f s", self.url, self.startup_seconds)

    async def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period. Safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                log.warning("Synapse did not stop within %s s; killing it", STOP_GRACE_SECONDS)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        else:
            # The leader is gone; make sure no child it left behind survives.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None

    async def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        await self.stop()
        await self.start()

    async def register(self, localpart: str, password: str, *, admin: bool = False) -> str:
        """Create a user through the shared-secret admin API; an existing user is fine."""
        url = f"{self.url}/_synapse/admin/v1/register"
        secret = self._registration_secret().encode("utf-8")
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as resp:
                body = await resp.json()
                if resp.status != 200:
                    raise SynapseError(f"nonce request failed: {resp.status} {body}")
                nonce = body["nonce"]
            mac = hmac.new(secret, digestmod=hashlib.sha1)
            for part in (nonce, localpart, password):
                mac.update(part.encode("utf-8"))
                mac.update(b"\x00")
            mac.update(b"admin" if admin else b"notadmin")
            payload = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            async with session.post(url, json=payload) as resp:
                body = await resp.json()
                if resp.status == 200:
                    return str(body["user_id"])
                if body.get("errcode") == "M_USER_IN_USE":
                    return self.user_id(localpart)
                raise SynapseError(f"registering {localpart} failed: {resp.status} {body}")

    async def exempt_from_rate_limits(self, user_id: str) -> None:
        """Lift the message rate limit for one user (tests that rate-limit only the bot)."""
        if self._admin_token is None:
            localpart = "homeserver-admin"
            password = "homeserver-admin-password"
            await self.register(localpart, password, admin=True)
            async with aiohttp.ClientSession() as session:
                login = {
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": localpart},
                    "password": password,
                }
                async with session.post(f"{self.url}/_matrix/client/v3/login", json=login) as resp:
                    body = await resp.json()
                    if resp.status != 200:
                        raise SynapseError(f"admin login failed: {resp.status} {body}")
                    self._admin_token = str(body["access_token"])
        url = f"{self.url}/_synapse/admin/v1/users/{user_id}/override_ratelimit"
        headers = {"Authorization": f"Bearer {self._admin_token}"}
        async with aiohttp.ClientSession() as session:
            payload = {"messages_per_second": 0, "burst_count": 0}
            async with session.post(url, json=payload, headers=headers) as resp:
                if resp.status != 200:
                    raise SynapseError(f"rate-limit override failed: {resp.status}")

    def _registration_secret(self) -> str:
        if self._shared_secret is None:
            config = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
            self._shared_secret = str(config["registration_shared_secret"])
        return self._shared_secret

    async def _generate_config(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "--server-name",
            self.server_name,
            "--config-path",
            str(self.config_path),
            "--generate-config",
            "--report-stats=no",
            "--data-directory",
            str(self.data_dir),
            cwd=self.base_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await proc.communicate()
        if proc.returncode != 0:
            self.config_path.unlink(missing_ok=True)
            raise SynapseError(
                "generating the Synapse config failed:\n"
                + output.decode("utf-8", errors="replace")[-4000:]
            )

    def _write_config(self) -> None:
        """Apply our settings to the generated config; idempotent, so it runs on every start."""
        config: dict[str, Any] = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        config["listeners"] = [
            {
                "port": self.port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ]
        if self.federation is not None:
            self._configure_federation(config)
        # A stale pid file from a killed run must not matter.
        config.pop("pid_file", None)
        config["trusted_key_servers"] = []
        config["suppress_key_server_warning"] = True
        config["enable_registration"] = False
        config["report_stats"] = False
        config["presence"] = {"enabled": False}
        # Throwaway local accounts: cheap password hashing keeps logins fast.
        config["bcrypt_rounds"] = 4
        config.update(copy.deepcopy(self._rate_limits))
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self._shared_secret = str(config["registration_shared_secret"])
        self._write_log_config(Path(config["log_config"]))

    def _configure_federation(self, config: dict[str, Any]) -> None:
        """A TLS federation listener, this run's authority trusted, loopback allowed."""
        assert self.federation is not None
        assert self.federation_port is not None
        issued = self.federation.issue(self.base_dir / "tls")
        config["listeners"].append(
            {
                "port": self.federation_port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": True,
                "x_forwarded": False,
                "resources": [{"names": ["federation"], "compress": False}],
            }
        )
        config["tls_certificate_path"] = str(issued.cert_path)
        config["tls_private_key_path"] = str(issued.key_path)
        config["federation_custom_ca_list"] = [str(self.federation.cert_path)]
        # Synapse refuses private addresses for outgoing federation unless told otherwise.
        config["ip_range_whitelist"] = ["127.0.0.1/32"]

    def _write_log_config(self, path: Path) -> None:
        log_config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        handlers = log_config.setdefault("handlers", {})
        handlers["file"] = {
            "class": "logging.FileHandler",
            "formatter": "precise",
            "filename": str(self.log_path),
            "encoding": "utf8",
        }
        # Unbuffered file logging, so the tail is complete when start-up fails.
        log_config.setdefault("root", {})["handlers"] = ["file"]
        path.write_text(yaml.safe_dump(log_config, sort_keys=False), encoding="utf-8")

    async def _wait_ready(self, timeout: float) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        versions = f"{self.url}/_matrix/client/versions"
        client_timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            while True:
                process = self._process
                if process is None or process.returncode is not None:
                    code = None if process is None else process.returncode
                    raise SynapseError(
                        f"Synapse exited with code {code} before becoming ready.\n"
                        f"--- {self.output_path.name} ---\n{_tail(self.output_path)}\n"
                        f"--- {self.log_path.name} ---\n{_tail(self.log_path)}"
                    )
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(versions) as resp:
                        if resp.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise SynapseError(
                        f"Synapse at {self.url} not ready after {timeout} s.\n"
                        f"{_tail(self.log_path)}"
                    )
                await asyncio.sleep(0.05)
