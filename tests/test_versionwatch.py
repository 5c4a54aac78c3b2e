"""Tests for the version watch: version changes announced once, and the minimum version."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from app.core import simulator as simulator_module
from app.core.config import BridgeConfig
from app.core.engine import Engine, EngineListener
from app.core.history import HISTORY_FILE, Recorder, WatchSettings
from app.core.model import BridgeStatus, HealthReport, ProbeKind, ProbeResult
from app.core.policy import AlertKind
from app.core.probe import Prober
from app.core.tokens import TokenStore
from app.core.versionwatch import (
    VersionSettings,
    VersionSettingsError,
    apply_minimum,
    parse_version,
)

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=timezone.utc)


def result_with_version(version: str | None, status: BridgeStatus = BridgeStatus.HEALTHY) -> ProbeResult:
    report = HealthReport(components=(), retrieved_at=NOW, version=version, build="209163")
    return ProbeResult(status=status, summary="All 4 components healthy", checked_at=NOW, report=report)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2.9.16", (2, 9, 16)), ("v2.9", (2, 9, 0)), ("3", (3, 0, 0)), ("2.10.0-beta", (2, 10, 0)), ("next", None)],
)
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_below_minimum_is_degraded():
    result = apply_minimum(result_with_version("2.9.9"), "2.9.13")

    assert result.status is BridgeStatus.DEGRADED
    assert "2.9.9 is below the minimum 2.9.13" in result.summary
    assert "stop syncing" in result.summary


def test_minimum_compares_numerically():
    assert apply_minimum(result_with_version("2.10.0"), "2.9.13").status is BridgeStatus.HEALTHY
    assert apply_minimum(result_with_version("2.9.13"), "2.9.13").status is BridgeStatus.HEALTHY


def test_minimum_leaves_worse_status_and_unknown_version():
    unhealthy = result_with_version("1.0.0", BridgeStatus.UNHEALTHY)

    assert apply_minimum(unhealthy, "2.9.13") is unhealthy
    assert apply_minimum(result_with_version(None), "2.9.13").status is BridgeStatus.HEALTHY
    assert apply_minimum(result_with_version("2.9.9"), None).status is BridgeStatus.HEALTHY


def test_settings_per_bridge_and_global():
    settings = VersionSettings.from_dict({"minimum": "2.9.10", "bridges": {"Prod": "2.9.16"}})

    assert settings.minimum_for("some-id", "prod") == "2.9.16"
    assert settings.minimum_for("other-id", "Lab") == "2.9.10"


@pytest.mark.parametrize(
    "table", [{"minimum": 2.9}, {"minimum": "latest"}, {"bridges": {"prod": 3}}, {"minimal": "2.9"}]
)
def test_invalid_settings(table):
    with pytest.raises(VersionSettingsError):
        VersionSettings.from_dict(table)


# -- through the engine -------------------------------------------------------------------------------------


async def run_polls(engine: Engine, server, count: int, switch=None) -> None:
    task = asyncio.create_task(engine.run())
    try:
        for number in range(1, count + 1):
            while len(server.requests) < number:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            if switch is not None:
                switch(number)
            if number < count:
                engine.request_check()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_version_change_announced_once(simulator, run_async, memory_keyring, token, tmp_path, monkeypatch):
    monkeypatch.setattr(simulator_module, "VERSION", "2.9.13")
    server = simulator("healthy", token=token)
    store = TokenStore(memory_keyring)
    bridge = BridgeConfig(name="Prod", url=server.url, probe=ProbeKind.HEALTH, interval=3600)
    store.set(bridge.id, token)
    alerts = []

    def new_engine() -> Engine:
        return Engine(
            [bridge],
            tokens=store,
            listener=EngineListener(notification=alerts.append),
            prober=Prober(timeout=2.0),
            recorder=Recorder(tmp_path / HISTORY_FILE),
        )

    def upgrade_after_first(number: int) -> None:
        if number == 1:
            monkeypatch.setattr(simulator_module, "VERSION", "2.9.16")

    run_async(run_polls(new_engine(), server, 3, upgrade_after_first))
    first_run = [alert for alert in alerts if alert.kind is AlertKind.VERSION]
    server.requests.clear()
    run_async(run_polls(new_engine(), server, 1))  # a restart remembers the version

    versions = [alert for alert in alerts if alert.kind is AlertKind.VERSION]
    assert [alert.title for alert in first_run] == ["Prod updated from 2.9.13 to 2.9.16"]
    assert "(build 209163)" in first_run[0].body
    assert first_run[0].severity == "info"
    assert versions == first_run


def test_minimum_version_in_check(simulator, run_async, memory_keyring, token):
    server = simulator("healthy", token=token)
    store = TokenStore(memory_keyring)
    bridge = BridgeConfig(name="Prod", url=server.url, probe=ProbeKind.HEALTH, interval=3600)
    store.set(bridge.id, token)
    settings = WatchSettings(versions=VersionSettings(minimum="2.9.20"))

    async def check():
        engine = Engine([bridge], tokens=store, prober=Prober(timeout=2.0), recorder=Recorder(None, settings))
        try:
            return await engine.check_once()
        finally:
            await engine.aclose()

    snapshot = run_async(check())[0]

    assert snapshot.status is BridgeStatus.DEGRADED
    assert "below the minimum 2.9.20" in snapshot.summary


def test_check_command_minimum_version(simulator, bridgewatch_home, token, capsys):
    from app import cli
    from app.core.config import Config, save_config

    server = simulator("healthy", token=token)
    bridge = BridgeConfig(name="Prod", url=server.url, probe=ProbeKind.HEALTH)
    TokenStore().set(bridge.id, token)
    config = Config(bridges=[bridge], extra={"versions": {"bridges": {"prod": "2.9.20"}}})
    save_config(bridgewatch_home / "config.toml", config)

    assert cli.main(["check", "prod"]) == 1  # degraded
    assert "below the minimum 2.9.20" in capsys.readouterr().out

    config.extra["versions"] = {"minimum": "two"}
    save_config(bridgewatch_home / "config.toml", config)
    assert cli.main(["check", "prod"]) == 3
    assert "versions.minimum must be a version" in capsys.readouterr().err
