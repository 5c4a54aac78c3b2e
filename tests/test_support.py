"""Tests for the diagnostics report: its contents, no token anywhere, and masked host names and addresses."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import cli
from app.core.clock import to_datetime
from app.core.config import BridgeConfig, Config, save_config
from app.core.engine import Engine
from app.core.history import HISTORY_FILE, HistoryStore, Incident, Recorder
from app.core.logs import setup_logging
from app.core.model import BridgeStatus, ErrorKind, ProbeError, ProbeKind, ProbeResult
from app.core.paths import app_paths
from app.core.policy import AlertPolicy, PolicySettings
from app.core.probe import Prober
from app.core.support import HostMasker, build_report
from app.core.tokens import TokenStore

NOW = 1_772_560_800.0  # 2026-03-03T18:00:00Z
SECRET_HOSTS = ("scim.corp.example.com", "proxy.corp.example.com", "10.20.30.40", "fe80::1", "2001:db8::7")


@pytest.fixture
def log_file(bridgewatch_home):
    """Log to the home's log file, as the app does; the handlers are removed afterwards."""
    path = app_paths().log_file
    setup_logging(path, verbose=True)
    yield path
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_bridgewatch", False):
            root.removeHandler(handler)
            handler.close()


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_report_and_files_never_contain_token(simulator, run_async, memory_keyring, token, log_file, capsys):
    server = simulator("healthy", token=token)
    store = TokenStore(memory_keyring)
    bridge = BridgeConfig(name="Prod", url=server.url, probe=ProbeKind.HEALTH, interval=3600)
    store.set(bridge.id, token)
    save_config(app_paths().config_file, Config(bridges=[bridge]))
    history_file = app_paths().data_dir / HISTORY_FILE

    async def scenario():
        policy = AlertPolicy(PolicySettings(confirm_bad=1, confirm_good=1, group_window=0))
        engine = Engine([bridge], tokens=store, prober=Prober(timeout=2.0), policy=policy,
                        recorder=Recorder(history_file))
        task = asyncio.create_task(engine.run())
        try:
            for count, scenario_name in ((1, "unhealthy"), (2, "healthy"), (3, None)):
                while len(server.requests) < count:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)
                if scenario_name:
                    server.scenario = scenario_name
                    engine.request_check(bridge.id)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_async(scenario(), timeout=10)
    # A careless log call with the token: the log filter must mask it, and so must the report.
    logging.getLogger("app.core.engine").warning("Bridge %s sent header Bearer %s", bridge.id, token)

    assert cli.main(["diagnose", "prod"]) == 0
    report = capsys.readouterr().out

    assert token not in report
    assert "Bearer ***" in report
    results = report.split("== Last 20 probe results ==\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[3] for line in results] == ["healthy", "unhealthy", "healthy"]
    assert [line.split("HTTP ")[1].strip() for line in results] == ["200", "503", "200"]
    assert '"source": "RedisCache"' in report  # the last response body
    assert "unhealthy from" in report  # the last incident
    assert "healthy -> unhealthy" in report  # a log line about the bridge
    assert f"Bridgewatch {__import__('app').__version__}" in report
    for path in files_under(app_paths().data_dir) + files_under(log_file.parent):
        assert token.encode() not in path.read_bytes(), path


def write_history(path: Path, bridge: BridgeConfig) -> None:
    with HistoryStore(path) as store:
        store.register_bridge(bridge.id, bridge.name, 60)
        error = ProbeError(ErrorKind.CONNECTION_REFUSED, "Connection refused: scim.corp.example.com (10.20.30.40).")
        failed = ProbeResult(BridgeStatus.UNREACHABLE, error.message, to_datetime(NOW - 120), error=error)
        incident = Incident(NOW - 120, None, "unreachable", "unreachable", f"{error.message} URL: {bridge.url}")
        store.record(bridge.id, failed, incident)
        healthy = ProbeResult(BridgeStatus.HEALTHY, "ok", to_datetime(NOW - 60), latency_ms=42.0, http_status=200)
        store.record(bridge.id, healthy)
        store.set_state(bridge.id, "last_body", '{"version": "2.9.16", "reports": []}')
        store.set_state(
            bridge.id,
            "certificate_info",
            json.dumps(
                {
                    "subject": "CN=scim.corp.example.com",
                    "issuer": "CN=R11, O=Let's Encrypt",
                    "not_after": (datetime.fromtimestamp(NOW, timezone.utc) + timedelta(days=40)).isoformat(),
                    "serial": "1",
                    "verified": True,
                }
            ),
        )


@pytest.fixture
def corporate_bridge(tmp_path) -> tuple[BridgeConfig, Path, Path]:
    bridge = BridgeConfig(name="Prod", url="https://scim.corp.example.com", probe=ProbeKind.MONITORING)
    history_file = tmp_path / HISTORY_FILE
    write_history(history_file, bridge)
    log = tmp_path / "bridgewatch.log"
    log.write_text(
        f"2026-03-03 17:58:00,001 WARNING app.core.engine: Bridge {bridge.id} (Prod): healthy -> unreachable: "
        "connection_refused via proxy.corp.example.com 10.20.30.40\n"
        "2026-03-03 17:58:00,002 INFO app.core.engine: Bridge other-id (Lab): healthy -> unhealthy\n"
        "2026-03-03 17:58:00,003 INFO app.core.engine: Alert problem: Production has a problem\n"
        f"2026-03-03 17:59:00,003 INFO app.gui.app: Prod resolved to fe80::1 and 2001:db8::7 (bridgewatch.log)\n",
        encoding="utf-8",
    )
    return bridge, history_file, log


def test_report_contents(corporate_bridge):
    bridge, history_file, log = corporate_bridge

    report = build_report(bridge, history_file=history_file, log_file=log, now=NOW)

    assert "URL: https://scim.corp.example.com" in report
    assert "Probe: /monitoring (with a token from the keychain)" in report
    assert "CN=scim.corp.example.com, issued by CN=R11" in report
    assert "40 days left" in report
    assert "unreachable from 2026-03-03 17:58:00 UTC, ended 2026-03-03 17:59:00 UTC, lasted 1 min" in report
    assert "2.9.16" in report
    assert "Lab" not in report  # only the bridge's own log lines
    assert "Production has a problem" not in report  # the name matches as a whole word
    for value in SECRET_HOSTS:
        assert value in report  # unmasked: the masked test below can fail


def test_masked_report_has_no_hosts(corporate_bridge):
    bridge, history_file, log = corporate_bridge

    report = build_report(bridge, history_file=history_file, log_file=log, mask=True, now=NOW)

    for value in SECRET_HOSTS:
        assert value not in report
    assert "URL: https://host-1" in report
    assert "CN=host-1" in report  # the same host gets the same placeholder everywhere
    assert "app.core.engine" in report  # module names are not hosts
    assert "bridgewatch.log" in report
    assert "17:58:00" in report  # times are not IPv6 addresses


def test_masker_keeps_versions_and_times():
    masker = HostMasker()

    text = masker.mask("version 2.9.16 at 14:06:09, build 209163, 10.0.0.1 and 10.0.0.1 and ::1")

    assert text == "version 2.9.16 at 14:06:09, build 209163, address-1 and address-1 and address-2"


def test_report_without_history(tmp_path):
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com", probe=ProbeKind.PING)

    report = build_report(bridge, history_file=tmp_path / HISTORY_FILE, log_file=None, now=NOW)

    assert "No history database" in report
    assert "Probe: /ping (no token)" in report


def test_diagnose_unknown_bridge(capsys):
    assert cli.main(["diagnose", "nope"]) == 3
    assert "No bridge named 'nope'" in capsys.readouterr().err
