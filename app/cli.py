"""The `bridgewatch` command: the tray app by default, plus add, list, remove, check and simulate."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import TYPE_CHECKING

from app import __version__
from app.core.model import ProbeKind
from app.core.scenarios import SCENARIOS

if TYPE_CHECKING:
    from app.core.config import BridgeConfig, Config
    from app.core.model import BridgeSnapshot
    from app.core.tokens import TokenStore

# Only what the argument parser needs is imported here, so `bridgewatch --version` and the tray
# app start without httpx, asyncio, keyring or sqlite3. Each command imports the rest itself.

__all__ = ["main"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 3  # Nagios "UNKNOWN": also used for usage errors, so `check` stays a valid plugin


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit code 3."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 by default, which Nagios reads as CRITICAL
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bridgewatch",
        description="Watch 1Password SCIM bridges from the system tray. With no command, starts the tray app.",
    )
    parser.add_argument("--version", action="version", version=f"bridgewatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the tray app on three simulated bridges, with a temporary profile and keyring",
    )
    # Hidden: imports every module of the app and checks its data files, so a frozen bundle
    # that lacks one fails here instead of in front of a user.
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    add = commands.add_parser(
        "add",
        help="add a bridge; the token is read from standard input",
        description=(
            "Add a bridge to the config and store its token in the OS keychain. The token is read from "
            "standard input (a hidden prompt on a terminal), never from the command line."
        ),
    )
    add.add_argument("name", help="a short name for the bridge, shown in the tray")
    add.add_argument("url", help="the bridge's domain or URL, for example scim.example.com")
    add.add_argument(
        "--probe",
        choices=[kind.value for kind in ProbeKind],
        default=ProbeKind.MONITORING.value,
        help=(
            "monitoring: /monitoring with the health-check-only token (default, least privilege); "
            "health: /health with the bearer token, which can also provision users; "
            "ping: /ping with no token, liveness only"
        ),
    )
    add.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="seconds between checks (default: the [defaults] interval of the config, else 60)",
    )
    add.add_argument(
        "--allow-http",
        action="store_true",
        help="allow plain http:// to a host that is not loopback (the token crosses the network unencrypted)",
    )

    listing = commands.add_parser("list", help="list the configured bridges")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    token = commands.add_parser(
        "token",
        help="replace a bridge's token in the keychain; the token is read from standard input",
        description=(
            "Replace the token of a configured bridge, for example after its credentials were regenerated. "
            "The bridge keeps its id. The token is read from standard input (a hidden prompt on a terminal)."
        ),
    )
    token.add_argument("name", help="the bridge's name or id")

    remove = commands.add_parser("remove", help="remove a bridge and delete its token from the keychain")
    remove.add_argument("name", help="the bridge's name or id")
    remove.add_argument(
        "--delete-history", action="store_true", help="also delete its recorded history (kept by default)"
    )

    check = commands.add_parser(
        "check",
        help="check bridges once; exit 0 healthy, 1 degraded, 2 unhealthy, unreachable or unauthorized, 3 unknown",
        description=(
            "Probe bridges once and print the result. Exit code as a Nagios plugin: 0 all healthy, "
            "1 degraded, 2 unhealthy, unreachable or unauthorized, 3 unknown or a usage error."
        ),
    )
    check.add_argument("names", nargs="*", metavar="NAME", help="bridges to check (default: all)")
    check.add_argument("--json", action="store_true", help="print JSON (fields documented in README.md)")
    check.add_argument("--url", help="check this bridge URL instead of configured bridges")
    check.add_argument(
        "--probe",
        choices=[kind.value for kind in ProbeKind],
        help="with --url: the endpoint to probe (default: monitoring with --token-env, else ping)",
    )
    check.add_argument("--token-env", metavar="VAR", help="with --url: read the token from this environment variable")
    check.add_argument("--allow-http", action="store_true", help="with --url: allow plain http:// to a remote host")
    check.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="deadline per bridge (default 10)"
    )

    replay = commands.add_parser(
        "replay",
        help="run the alert policy over a recorded timeline and print the notifications",
        description=(
            "Run the real alert policy on a fake clock over TIMELINE.json and print, one JSON object a line, "
            "every notification it would raise. See README.md for the timeline format."
        ),
    )
    replay.add_argument("timeline", metavar="TIMELINE.json", help="the timeline file")
    replay.add_argument("--seed", type=int, default=0, help="seed for the interval jitter (default 0)")

    history = commands.add_parser(
        "history",
        help="print a bridge's recorded probe results and its uptime",
        description=(
            "Print the probe results the tray app recorded for a bridge, with its uptime over 24 hours, "
            "7 days and 30 days. Time the app was not running counts as no data, not as downtime."
        ),
    )
    history.add_argument("name", help="the bridge's name or id (also a removed bridge whose history was kept)")
    history.add_argument(
        "--since",
        metavar="DATE",
        help="first result to print: an ISO 8601 date or date and time, local time unless it has a zone "
        "(default: 24 hours ago for the table, every stored result for --csv)",
    )
    history.add_argument("--csv", action="store_true", help="print CSV: checked_at (UTC), status, latency_ms, "
                         "http_status, error_kind")

    diagnose = commands.add_parser(
        "diagnose",
        help="print a diagnostics report about a bridge for support; it never contains a token",
        description=(
            "Print the app and OS versions, the bridge's settings, its last 20 probe results, the last response "
            "body, the TLS certificate, the last incident and the bridge's log lines. Tokens are never included."
        ),
    )
    diagnose.add_argument("name", help="the bridge's name or id")
    diagnose.add_argument(
        "--mask", action="store_true", help="replace host names and IP addresses by placeholders, for sharing "
        "outside the company"
    )

    simulate = commands.add_parser(
        "simulate",
        help="serve a simulated bridge on 127.0.0.1",
        description="Serve a simulated SCIM bridge on 127.0.0.1. Scenarios: "
        + "; ".join(f"{name}: {text}" for name, text in SCENARIOS.items()),
    )
    simulate.add_argument("--port", type=int, default=3002, help="TCP port (default 3002; 0 picks a free one)")
    simulate.add_argument("--scenario", choices=list(SCENARIOS), default="healthy", help="behaviour to simulate")
    simulate.add_argument("--token", help="accept only this bearer token (default: accept any non-empty token)")
    simulate.add_argument(
        "--redirect-to", metavar="URL", help="with --scenario redirect: the origin /health and /monitoring redirect to"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)

    if args.self_test:
        return _self_test()
    if args.command is None:
        from app.gui.app import run_gui  # Qt is imported only for the tray app

        return run_gui(demo=args.demo, verbose=args.verbose)

    from app.core.config import ConfigError
    from app.core.logs import setup_logging
    from app.core.paths import app_paths
    from app.core.tokens import TokenUnavailable

    paths = app_paths()
    quiet_commands = ("simulate", "replay")  # they touch no config, so they keep no log file
    setup_logging(None if args.command in quiet_commands else paths.log_file, verbose=args.verbose, console=True)
    handlers = {
        "add": _cmd_add,
        "list": _cmd_list,
        "remove": _cmd_remove,
        "token": _cmd_token,
        "check": _cmd_check,
        "simulate": _cmd_simulate,
        "replay": _cmd_replay,
        "history": _cmd_history,
        "diagnose": _cmd_diagnose,
    }
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        print(f"bridgewatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"bridgewatch: {exc}", file=sys.stderr)
        return EXIT_USAGE if args.command == "check" else EXIT_FAILED
    except TokenUnavailable as exc:
        print(f"bridgewatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _load() -> tuple[Config, "os.PathLike"]:
    from app.core.config import load_config
    from app.core.paths import app_paths

    path = app_paths().config_file
    config = load_config(path)
    for warning in config.warnings:
        print(f"bridgewatch: warning: {warning}", file=sys.stderr)
    return config, path


def read_token(prompt_name: str) -> str:
    """Read a token from standard input: a hidden prompt on a terminal, else the first line."""
    if sys.stdin is None:
        raise UsageError("No standard input to read the token from: pipe the token in.")
    if sys.stdin.isatty():
        import getpass

        try:
            token = getpass.getpass(f"Token for {prompt_name} (input hidden): ")
        except EOFError:  # Ctrl+D at the prompt
            print(file=sys.stderr)
            raise UsageError("No token was entered (end of input): run the command again and paste the token.") from None
        except KeyboardInterrupt:
            print(file=sys.stderr)  # end the prompt's line before the shell's next one
            raise
    else:
        token = sys.stdin.readline()
    token = token.strip()
    if not token:
        raise UsageError("No token was given on standard input: paste the token, or use --probe ping.")
    check_token_text(token, "The token")
    from app.core.tokens import register_secret

    register_secret(token)
    return token


def check_token_text(token: str, where: str) -> None:
    """Raise UsageError unless `token` is printable ASCII without spaces, as HTTP headers require."""
    if any(ch.isspace() for ch in token) or not token.isprintable() or not token.isascii():
        raise UsageError(
            f"{where} contains spaces, control or non-ASCII characters: copy exactly the token, on one line."
        )


def _cmd_add(args) -> int:
    from app.core.config import BridgeConfig, ConfigError, save_config, validate_interval, validate_name
    from app.core.tokens import TokenStore
    from app.core.urls import BridgeUrlError, normalize_bridge_url

    config, path = _load()
    try:
        name = validate_name(args.name)
        interval = validate_interval(args.interval if args.interval is not None else config.default_interval, "--interval")
        url = normalize_bridge_url(args.url, allow_http=args.allow_http)
    except (ConfigError, BridgeUrlError) as exc:
        raise UsageError(str(exc)) from None
    if config.find(name):
        raise UsageError(f"A bridge named {name!r} already exists: remove it first or choose another name.")
    for note in url.notes:
        print(note, file=sys.stderr)

    bridge = BridgeConfig(
        name=name, url=url.url, probe=ProbeKind(args.probe), interval=interval, allow_http=args.allow_http
    )
    store = TokenStore()
    if bridge.probe.needs_token:
        token = read_token(name)
        store.set(bridge.id, token)  # the keychain first: a failure here leaves the config untouched
    config.bridges.append(bridge)
    try:
        save_config(path, config)
    except OSError as exc:
        if bridge.probe.needs_token:
            store.delete(bridge.id)
        raise ConfigError(f"Could not write the config file {path}: {exc}. Nothing was added.") from None
    where = f" (token stored in {store.backend_name})" if bridge.probe.needs_token else ""
    print(f"Added {name}: {bridge.url}, probe /{bridge.probe.value} every {interval:g} s{where}.")
    log.info("Added bridge %s (%s)", bridge.id, bridge.name)
    return EXIT_OK


def _cmd_list(args) -> int:
    config, path = _load()
    if args.json:
        rows = [
            {"id": b.id, "name": b.name, "url": b.url, "probe": b.probe.value, "interval": b.interval}
            for b in config.bridges
        ]
        print(json.dumps({"config_file": str(path), "bridges": rows}, indent=2))
        return EXIT_OK
    if not config.bridges:
        print(f"No bridges configured ({path}). Add one with: bridgewatch add NAME URL")
        return EXIT_OK
    rows = [("NAME", "PROBE", "INTERVAL", "URL", "ID")]
    rows += [(b.name, b.probe.value, f"{b.interval:g} s", b.url, b.id) for b in config.bridges]
    _print_table(rows)
    from app.core.tokens import TokenStore

    problem = TokenStore().availability_problem()
    if problem is not None and any(b.probe.needs_token for b in config.bridges):
        print(f"bridgewatch: the bridges probed with a token cannot be checked. {problem}", file=sys.stderr)
    return EXIT_OK


def _cmd_token(args) -> int:
    from app.core.tokens import TokenStore

    config, _ = _load()
    bridge = config.find(args.name)
    if bridge is None:
        raise UsageError(f"No bridge named {args.name!r}: `bridgewatch list` shows the configured bridges.")
    if not bridge.probe.needs_token:
        raise UsageError(
            f"{bridge.name} is probed on /ping, which needs no token. To use a token, remove the bridge and "
            "add it again with --probe monitoring or --probe health."
        )
    store = TokenStore()
    store.set(bridge.id, read_token(bridge.name))
    print(f"Stored the new token for {bridge.name} in {store.backend_name}. A running Bridgewatch uses it "
          "after the next config change or restart.")
    log.info("Replaced the token of bridge %s (%s)", bridge.id, bridge.name)
    return EXIT_OK


def _cmd_remove(args) -> int:
    from app.core.config import save_config
    from app.core.tokens import TokenStore, TokenUnavailable

    config, path = _load()
    bridge = config.find(args.name)
    if bridge is None:
        raise UsageError(f"No bridge named {args.name!r}: `bridgewatch list` shows the configured bridges.")
    store = TokenStore()
    token_note = "and its keychain entry"
    try:
        if not store.delete(bridge.id):
            token_note = "(it had no keychain entry)"
    except TokenUnavailable as exc:
        if bridge.probe.needs_token:
            raise TokenUnavailable(f"{exc} The bridge was not removed, so its token is not orphaned.") from None
        token_note = "(no keychain was available to check for a token)"
    config.bridges.remove(bridge)
    save_config(path, config)
    print(f"Removed {bridge.name} {token_note}.")
    log.info("Removed bridge %s (%s)", bridge.id, bridge.name)
    _remove_history(bridge, args.delete_history)
    return EXIT_OK


def _remove_history(bridge: BridgeConfig, delete: bool) -> None:
    import sqlite3

    from app.core.history import HISTORY_FILE, HistoryError, forget_bridge, has_history
    from app.core.paths import app_paths

    history_file = app_paths().data_dir / HISTORY_FILE
    if not has_history(history_file, bridge.id):
        return
    if not delete:
        print(f"Its history was kept: `bridgewatch history {bridge.id}` prints it; "
              "`remove --delete-history` deletes it with the bridge.")
        return
    try:
        forget_bridge(history_file, bridge.id)
    except (HistoryError, sqlite3.Error) as exc:
        print(f"bridgewatch: the history of {bridge.name} was not deleted: {exc}", file=sys.stderr)
        return
    print(f"Deleted the history of {bridge.name}.")
    log.info("Deleted the history of removed bridge %s", bridge.id)


def _cmd_check(args) -> int:
    import asyncio

    from app.core.config import ConfigError
    from app.core.export import check_document
    from app.core.history import HistoryError, Recorder, WatchSettings
    from app.core.model import worst_status
    from app.core.probe import DEFAULT_TIMEOUT
    from app.core.tokens import TokenStore

    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if timeout <= 0 or timeout > 300:
        raise UsageError(f"--timeout is {timeout:g}: choose from 0.1 to 300 seconds.")
    if args.url:
        if args.names:
            raise UsageError("Give either bridge names or --url, not both.")
        bridges, store = _adhoc_bridge(args)
    else:
        if args.probe or args.token_env or args.allow_http:
            raise UsageError("--probe, --token-env and --allow-http go with --url.")
        config, path = _load()
        if not config.bridges:
            raise UsageError(f"No bridges configured in {path}: add one with `bridgewatch add NAME URL`, or use --url.")
        bridges = []
        for name in args.names:
            bridge = config.find(name)
            if bridge is None:
                raise UsageError(f"No bridge named {name!r}: `bridgewatch list` shows the configured bridges.")
            bridges.append(bridge)
        bridges = bridges or config.bridges
        store = TokenStore()
        try:
            watch = WatchSettings.from_config_extra(config.extra)  # for the minimum version
        except (HistoryError, ValueError) as exc:
            raise ConfigError(f"The config file {path} has an invalid setting: {exc}") from None

    recorder = Recorder(None, watch) if not args.url else None
    snapshots = asyncio.run(_check(bridges, store, timeout, recorder))
    if args.url:
        snapshots = [_adhoc_hint(snapshot, args.token_env) for snapshot in snapshots]
    if args.json:
        print(json.dumps(check_document(snapshots), indent=2))
    else:
        _print_check_table(snapshots)
    return worst_status(s.status for s in snapshots).exit_code


async def _check(
    bridges: list[BridgeConfig], store: TokenStore, timeout: float, recorder=None
) -> list[BridgeSnapshot]:
    from app.core.engine import Engine
    from app.core.probe import Prober

    engine = Engine(bridges, tokens=store, prober=Prober(timeout=timeout), recorder=recorder)
    try:
        return await engine.check_once()
    finally:
        await engine.aclose()


def _adhoc_hint(snapshot: BridgeSnapshot, token_env: str | None) -> BridgeSnapshot:
    """Point a rejected token's hint at the environment variable it came from."""
    from dataclasses import replace

    from app.core.model import ErrorKind

    result = snapshot.result
    if result is None or result.error is None or result.error.kind is not ErrorKind.UNAUTHORIZED:
        return snapshot
    hint = f"The credentials may have been regenerated on the bridge: put the new token in {token_env}."
    return replace(snapshot, result=replace(result, error=replace(result.error, hint=hint)))


def _adhoc_bridge(args) -> tuple[list[BridgeConfig], TokenStore]:
    import uuid

    from app.core.config import BridgeConfig
    from app.core.memory_keyring import MemoryKeyring
    from app.core.tokens import TokenStore, register_secret
    from app.core.urls import BridgeUrlError, normalize_bridge_url

    try:
        url = normalize_bridge_url(args.url, allow_http=args.allow_http).url
    except BridgeUrlError as exc:
        raise UsageError(str(exc)) from None
    if args.probe:
        probe = ProbeKind(args.probe)
    elif args.token_env:
        probe = ProbeKind.MONITORING
    else:
        probe = ProbeKind.PING
    # A stable id for the same URL, so scripts can match results across runs.
    bridge = BridgeConfig(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, url)),
        name=url.split("://", 1)[1],
        url=url,
        probe=probe,
        allow_http=args.allow_http,
    )
    store = TokenStore(MemoryKeyring())
    if args.token_env:
        token = os.environ.get(args.token_env, "").strip()
        if not token:
            raise UsageError(f"The environment variable {args.token_env} is not set or empty: export the token in it.")
        register_secret(token)
        check_token_text(token, f"The token in {args.token_env}")
        store.set(bridge.id, token)
    elif probe.needs_token:
        raise UsageError(f"--probe {probe.value} needs a token: pass --token-env VAR, or use --probe ping.")
    return [bridge], store


def _print_check_table(snapshots: list[BridgeSnapshot]) -> None:
    rows = [("NAME", "STATUS", "LATENCY", "VERSION", "SUMMARY")]
    for snapshot in snapshots:
        result = snapshot.result
        latency = f"{result.latency_ms:.0f} ms" if result and result.latency_ms is not None else "-"
        rows.append((snapshot.name, snapshot.status.value, latency, snapshot.version or "-", snapshot.summary))
    _print_table(rows)
    for snapshot in snapshots:
        error = snapshot.result.error if snapshot.result else None
        if error and error.hint:
            print(f"{snapshot.name}: {error.hint}")


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        print("  ".join(cells).rstrip())


def _cmd_simulate(args) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port is {args.port}: choose from 0 to 65535 (0 picks a free port).")
    if args.scenario == "redirect" and not args.redirect_to:
        raise UsageError("--scenario redirect needs --redirect-to URL, the origin to redirect to.")
    if args.redirect_to and args.scenario != "redirect":
        raise UsageError("--redirect-to goes with --scenario redirect.")
    from app.core.simulator import SimulatedBridge

    try:
        simulator = SimulatedBridge(
            args.scenario, token=args.token, port=args.port, redirect_to=args.redirect_to
        ).start()
    except OSError as exc:
        raise UsageError(f"Cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}. Choose another --port.") from None
    if args.scenario == "unauthorized":
        accepts = "rejects every token"
    elif args.token:
        accepts = "accepts the token given with --token"
    else:
        accepts = "accepts any non-empty bearer token"
    print(f"Simulated SCIM bridge on {simulator.url} (scenario {args.scenario}; {accepts}).", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    simulator.serve_until_interrupted()
    return EXIT_OK


def _cmd_replay(args) -> int:
    from app.core.replay import ReplayError, load_timeline, run_replay

    try:
        notifications = run_replay(load_timeline(args.timeline), seed=args.seed)
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    for notification in notifications:
        print(json.dumps(notification))
    return EXIT_OK


def parse_since(text: str) -> float:
    """Return epoch seconds for an ISO 8601 date or date and time; local time unless it has a zone."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date: use an ISO 8601 date such as 2026-03-01 or 2026-03-01T09:30."
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the local time zone
    return moment.timestamp()


def _open_history(key: str):
    """Return (reader, bridge info) for a bridge name or id; raise UsageError when it has no history."""
    from app.core.history import HISTORY_FILE, HistoryReader
    from app.core.paths import app_paths

    reader = HistoryReader(app_paths().data_dir / HISTORY_FILE)
    try:
        config, _ = _load()
        configured = config.find(key)
        info = reader.find_bridge(configured.id if configured else key)
    except BaseException:
        reader.close()
        raise
    if info is None:
        reader.close()
        if configured is None:
            raise UsageError(f"No bridge named {key!r}: `bridgewatch list` shows the configured bridges.")
        raise UsageError(f"No history for {configured.name} yet: the tray app records it while it runs.")
    return reader, info


def _cmd_history(args) -> int:
    import csv
    import time
    from datetime import datetime

    from app.core.history import DAY, HistoryError, csv_rows

    since = parse_since(args.since) if args.since else None
    try:
        reader, info = _open_history(args.name)
    except HistoryError as exc:
        print(f"bridgewatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    now = time.time()
    with reader:
        if args.csv:
            start = since or 0.0
            samples = [s for s in reader.samples(info.id, start, now + DAY) if s.at >= start]
            try:
                csv.writer(sys.stdout, lineterminator="\n").writerows(csv_rows(samples))
                sys.stdout.flush()
            except BrokenPipeError:
                # The reader (head, a pager) closed the pipe: stop quietly, as other command-line tools do.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        start = since if since is not None else now - DAY
        samples = [s for s in reader.samples(info.id, start, now + DAY) if s.at >= start]
        uptimes = []
        for label, days in (("24 h", 1), ("7 d", 7), ("30 d", 30)):
            percent = reader.uptime(info.id, now - days * DAY, now).percent
            uptimes.append(f"{label} {'no data' if percent is None else f'{percent:.2f} %'}")
    print(f"{info.name}: uptime {', '.join(uptimes)}")
    if not samples:
        print("No results recorded in that period.")
        return EXIT_OK
    rows = [("TIME", "STATUS", "LATENCY", "HTTP", "ERROR")]
    for sample in samples:
        rows.append(
            (
                datetime.fromtimestamp(sample.at).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                sample.status,
                "-" if sample.latency_ms is None else f"{sample.latency_ms:.0f} ms",
                "-" if sample.http_status is None else str(sample.http_status),
                sample.error_kind or "-",
            )
        )
    _print_table(rows)
    return EXIT_OK


def _self_test() -> int:
    """Import every app module and check the files it reads at run time; print one line per check.

    Returns 0 when everything was found, 1 otherwise. The module list comes from walking the
    app package, which inside a frozen bundle lists what the bundle holds, so a caller that
    wants to catch a module missing from the bundle compares the printed names with the source.
    """
    import importlib
    import pkgutil
    import traceback

    import app
    from app.core.model import BridgeStatus

    # app.__main__ is left out: importing it runs main() again.
    found = pkgutil.walk_packages(app.__path__, "app.")
    names = ["app"] + sorted(module.name for module in found if module.name != "app.__main__")
    # Imported by the app only inside functions or chosen by platform: checked by name.
    names += ["app.resources", "app.resources.icons", "desktop_notifier"]
    if sys.platform == "linux":  # the Secret Service client's transport, imported on first use
        names += ["dbus_fast.aio"]
    failures = 0
    for name in dict.fromkeys(names):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (any import error is a failed check, reported in full)
            failures += 1
            print(f"FAIL import {name}\n{traceback.format_exc()}", flush=True)
        else:
            print(f"ok   import {name}", flush=True)

    from app.gui.icons import icon_file

    for icon in ["app"] + [status.value for status in BridgeStatus]:
        if icon_file(icon).is_file():
            print(f"ok   icon {icon}.svg", flush=True)
        else:
            failures += 1
            print(f"FAIL icon {icon}.svg: not found in app.resources", flush=True)
    failures += _self_test_svg_rendering()
    failures += _self_test_version()
    if sys.platform == "linux":
        failures += _self_test_secret_cipher()

    print(f"self-test {'failed' if failures else 'passed'}: {failures} failed checks", flush=True)
    return 1 if failures else EXIT_OK


def _self_test_secret_cipher() -> int:
    """Encrypt the NIST SP 800-38A CBC-AES128 test block through libcrypto, as the keychain client does; return 1 on a mismatch."""
    from app.core.secretservice import aes128_cbc_encrypt

    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    try:
        block = aes128_cbc_encrypt(key, bytes(range(16)), bytes.fromhex("6bc1bee22e409f96e93d7e117393172a"))[:16]
    except Exception as exc:  # noqa: BLE001 (a missing libcrypto is a failed check)
        print(f"FAIL keychain cipher: {exc}", flush=True)
        return 1
    if block.hex() != "7649abac8119b246cee98e9b12e9197d":
        print("FAIL keychain cipher: AES-128-CBC through libcrypto gave a wrong result", flush=True)
        return 1
    print("ok   keychain cipher (AES-128-CBC through libcrypto)", flush=True)
    return 0


def _self_test_version() -> int:
    """Compare __version__ with the installed distribution's metadata, where there is any; return 1 on a mismatch."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("bridgewatch")
    except PackageNotFoundError:  # a source tree that was never installed, or a bundle without the metadata
        print(f"ok   version {__version__} (no distribution metadata to compare)", flush=True)
        return 0
    if installed != __version__:
        print(f"FAIL version: app.__version__ is {__version__} but the installed metadata says {installed}", flush=True)
        return 1
    print(f"ok   version {__version__}", flush=True)
    return 0


def _self_test_svg_rendering() -> int:
    """Render the app icon through Qt, offscreen; return 1 when it comes out blank (no SVG plugin), else 0."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.gui.icons import app_icon

    qt_app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 (icons need one)
    image = app_icon().pixmap(32, 32).toImage()
    if image.isNull() or image.pixelColor(16, 16).alpha() == 0:
        print("FAIL icon rendering: app.svg renders blank, so Qt's SVG plugins are missing", flush=True)
        return 1
    print("ok   icon rendering", flush=True)
    return 0


def _cmd_diagnose(args) -> int:
    from app.core.history import HISTORY_FILE
    from app.core.paths import app_paths
    from app.core.support import build_report

    config, _ = _load()
    bridge = config.find(args.name)
    if bridge is None:
        raise UsageError(f"No bridge named {args.name!r}: `bridgewatch list` shows the configured bridges.")
    paths = app_paths()
    report = build_report(
        bridge, history_file=paths.data_dir / HISTORY_FILE, log_file=paths.log_file, mask=args.mask
    )
    sys.stdout.write(report)
    return EXIT_OK
