"""Command line: parse, call, exit code. The work happens elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core import config as config_module
from bot.core.datarights import backup, backup_keys
from bot.core.errors import ConfigError
from bot.core.logsetup import configure
from bot.core.storage.database import DatabaseKeyError

if TYPE_CHECKING:
    from bot.app import Application


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liaison", description="Liaison, a Matrix bot for a network."
    )
    parser.add_argument("--log-format", choices=("text", "json"), default=None)
    parser.add_argument("--log-level", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot until SIGINT/SIGTERM")
    run.add_argument("-c", "--config", required=True, type=Path)
    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("-c", "--config", required=True, type=Path)
    demo = sub.add_parser("demo", help="a local homeserver, the offline translator and demo rooms")
    demo.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    migrate = sub.add_parser(
        "migrate", help="apply pending migrations and print the schema version"
    )
    migrate.add_argument("-c", "--config", required=True, type=Path)
    backup = sub.add_parser("backup", help="consistent online copy of the database")
    backup.add_argument("-c", "--config", required=True, type=Path)
    backup.add_argument("path", nargs="?", type=Path)
    export = sub.add_parser(
        "export", help="JSON of events, places, schedules and aid requests the admins may see"
    )
    export.add_argument("-c", "--config", required=True, type=Path)
    export.add_argument("path", nargs="?", type=Path, help="file to write (default: stdout)")
    crypto = sub.add_parser("crypto", help="the bot account's cross-signing identity")
    crypto_sub = crypto.add_subparsers(dest="crypto_command", required=True)
    bootstrap = crypto_sub.add_parser(
        "bootstrap",
        help="publish cross-signing keys (made once) and sign the bot's device; prints the "
        "recovery key when the keys are new",
    )
    bootstrap.add_argument("-c", "--config", required=True, type=Path)
    bootstrap.add_argument(
        "--replace",
        action="store_true",
        help="replace cross-signing keys the account already has (made by another client)",
    )
    bootstrap.add_argument(
        "--recovery-key",
        default=None,
        help="restore the identity from the recovery key printed when it was made",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        configure(args.log_level or "WARNING", args.log_format or "text")
        from bot.dev.demo import run_demo

        async def demo() -> None:
            stop = asyncio.Event()
            await _serve(run_demo(args.data_dir, stop), stop.set)

        return _run_until_signal(demo())
    try:
        config = config_module.load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)  # noqa: T201
        if args.command == "check-config" and len(exc.problems) > 1:
            print(f"{args.config}: {len(exc.problems)} problems", file=sys.stderr)  # noqa: T201
        return 1
    configure(args.log_level or config.logging.level, args.log_format or config.logging.format)
    if args.command == "check-config":
        print(f"{args.config}: OK")  # noqa: T201
        return 0
    from bot.app import Application

    if args.command in ("backup", "export") and not config.storage.database.exists():
        missing = f"{config.storage.database}: no database there (check storage.data_dir)"
        print(missing, file=sys.stderr)  # noqa: T201
        return 1
    if args.command in ("migrate", "backup", "export"):
        try:
            app = Application(config)
        except DatabaseKeyError as exc:
            print(exc, file=sys.stderr)  # noqa: T201
            return 1
        return _operate(app, args)
    if args.command == "crypto":
        return _run_until_signal_code(_bootstrap(config, args))

    async def run() -> None:
        app = Application(config, owns_process=True)
        await _serve(app.run(), app.request_stop)

    try:
        return _run_until_signal(run())
    except DatabaseKeyError as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return 1


def _operate(app: Application, args: argparse.Namespace) -> int:
    """An operator task on the database, beside (or instead of) the running bot."""
    db = app.db
    try:
        if args.command == "migrate":
            for name in db.migrate(app.migrations):
                print(f"applied {name}")  # noqa: T201
            print(f"schema version {db.schema_version()}")  # noqa: T201
            if not db.incremental and db.make_incremental():
                print("the database file now gives the space of erased rows back")  # noqa: T201
        elif args.command == "backup":
            target = backup(db, app.config.storage.path, args.path)
            print(f"backup written to {target}")  # noqa: T201
            keys = backup_keys(app.config.storage.path, target)
            if keys is not None:
                print(f"cross-signing keys copied to {keys} (owner-only)")  # noqa: T201
        elif args.path is None:
            print(app.data_rights.export_json(app.config.bot.admins))  # noqa: T201
        else:
            app.data_rights.write_export(app.config.bot.admins, args.path)
            print(f"export written to {args.path}", file=sys.stderr)  # noqa: T201
    finally:
        db.close()
    return 0


async def _bootstrap(config: config_module.Config, args: argparse.Namespace) -> int:
    """Cross-sign the running bot's device from the command line (bot running or not)."""
    from bot.core.matrix import crosssigning
    from bot.core.matrix.client import MatrixClient, MatrixError

    if not config.matrix.encryption:
        print("matrix.encryption is off: there is no device to cross-sign", file=sys.stderr)  # noqa: T201
        return 1
    # no encryption store here: the running bot owns it; the session's token is enough
    plain = dataclasses.replace(config.matrix, encryption=False)
    matrix = MatrixClient(plain, config.storage.path)
    try:
        if not matrix.has_session():
            print(  # noqa: T201
                f"{config.storage.path / 'session.json'}: no session yet; start the bot once "
                "(it sets up cross-signing on its first start)",
                file=sys.stderr,
            )
            return 1
        await matrix.login()
        outcome = await crosssigning.ensure(
            matrix,
            config.storage.path / crosssigning.KEY_FILE,
            password=config.matrix.password,
            replace=args.replace,
            recovery_key=args.recovery_key,
        )
    except (crosssigning.CrossSigningError, MatrixError, ValueError) as exc:
        print(f"cross-signing not set up: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        await matrix.client.close()
    print(f"master key {outcome.master_key}; device {outcome.device_id}: {outcome.state}")  # noqa: T201
    if outcome.recovery_key is not None:
        print()  # noqa: T201
        print("Recovery key (shown once: keep it offline, e.g. in a password manager):")  # noqa: T201
        print(f"    {outcome.recovery_key}")  # noqa: T201
    return 0


async def _serve(coro: Coroutine[Any, Any, None], stop: Callable[[], None]) -> None:
    """Run ``coro``; SIGINT/SIGTERM call ``stop`` so it can shut down cleanly."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await coro


def _run_until_signal_code(coro: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return 130


def _run_until_signal(coro: Coroutine[Any, Any, None]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)
    return 0


if __name__ == "__main__":
    sys.exit(main())
