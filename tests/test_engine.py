"""Tests for the engine against simulators, and for per-bridge state transitions."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from app.core.timefmt import format_duration
from app.core.config import BridgeConfig
from app.core.engine import Engine, EngineListener
from app.core.model import (
    BridgeStatus,
    Component,
    ComponentStatus,
    ErrorKind,
    HealthReport,
    ProbeError,
    ProbeKind,
    ProbeResult,
)
from app.core.policy import AlertKind, AlertPolicy, PolicySettings
from app.core.probe import Prober
from app.core.state import BridgeState
from app.core.tokens import TokenStore

SHORT_TIMEOUT = 0.5  # seconds
LONG_INTERVAL = 3600.0  # seconds: only request_check triggers a poll during a test
T0 = datetime(2026, 3, 3, 14, 0, tzinfo=timezone.utc)


def watched_bridge(store, url, name, token, probe=ProbeKind.HEALTH):
    bridge = BridgeConfig(name=name, url=url, probe=probe, interval=LONG_INTERVAL)
    if token is not None:
        store.set(bridge.id, token)
    return bridge


async def check_all(bridges, store, timeout=SHORT_TIMEOUT):
    engine = Engine(bridges, tokens=store, prober=Prober(timeout=timeout))
    try:
        return await engine.check_once()
    finally:
        await engine.aclose()


def test_check_once_returns_snapshots(simulator, run_async, memory_keyring, token):
    store = TokenStore(memory_keyring)
    healthy = watched_bridge(store, simulator("healthy", token=token).url, "Prod", token)
    failing = watched_bridge(store, simulator("unhealthy", token=token).url, "Lab", token)

    snapshots = run_async(check_all([healthy, failing], store))

    assert [s.id for s in snapshots] == [healthy.id, failing.id]
    assert [s.status for s in snapshots] == [BridgeStatus.HEALTHY, BridgeStatus.UNHEALTHY]
    assert snapshots[0].version == "2.9.16"
    assert snapshots[0].build == "209163"
    assert snapshots[0].since == snapshots[0].result.checked_at


def test_check_once_missing_token(simulator, run_async, memory_keyring):
    store = TokenStore(memory_keyring)
    bridge_server = simulator("healthy")
    bridge = watched_bridge(store, bridge_server.url, "Prod", None)

    snapshots = run_async(check_all([bridge], store))

    assert snapshots[0].status is BridgeStatus.UNKNOWN
    assert snapshots[0].result.error.kind is ErrorKind.TOKEN_UNAVAILABLE
    assert bridge_server.requests == []


def test_check_once_selected_ids(simulator, run_async, memory_keyring, token):
    store = TokenStore(memory_keyring)
    first = watched_bridge(store, simulator("healthy", token=token).url, "Prod", token)
    second = watched_bridge(store, simulator("healthy", token=token).url, "Lab", token)

    async def check_second():
        engine = Engine([first, second], tokens=store, prober=Prober(timeout=SHORT_TIMEOUT))
        try:
            return await engine.check_once([second.id])
        finally:
            await engine.aclose()

    snapshots = run_async(check_second())

    assert [s.id for s in snapshots] == [second.id]


def test_hanging_bridge_not_blocking(simulator, run_async, memory_keyring, token):
    store = TokenStore(memory_keyring)
    # Two hanging bridges listed first: checked one after another, they would take
    # at least twice the timeout before the healthy bridge was even tried.
    hanging = [
        watched_bridge(store, simulator("hang", token=token).url, f"Hang {index}", token) for index in range(2)
    ]
    healthy = watched_bridge(store, simulator("healthy", token=token).url, "Prod", token)
    started = time.perf_counter()

    snapshots = run_async(check_all([*hanging, healthy], store))

    elapsed = time.perf_counter() - started
    by_id = {s.id: s for s in snapshots}
    healthy_result = by_id[healthy.id].result
    hang_result = by_id[hanging[0].id].result
    assert healthy_result.status is BridgeStatus.HEALTHY
    assert healthy_result.latency_ms < 250
    assert hang_result.error.kind is ErrorKind.TIMEOUT
    assert hang_result.latency_ms >= SHORT_TIMEOUT * 1000 * 0.9
    assert (healthy_result.checked_at - hang_result.checked_at) < timedelta(seconds=0.25)
    assert elapsed < SHORT_TIMEOUT * 2


def test_run_notifies_on_transition(simulator, run_async, memory_keyring, token):
    store = TokenStore(memory_keyring)
    bridge_server = simulator("healthy", token=token)
    bridge = watched_bridge(store, bridge_server.url, "Prod", token)
    transitions, notifications, snapshots = [], [], []

    async def scenario():
        transition_seen = asyncio.Event()
        notification_seen = asyncio.Event()

        def on_transition(transition):
            transitions.append(transition)
            transition_seen.set()

        def on_notification(notification):
            notifications.append(notification)
            notification_seen.set()

        listener = EngineListener(snapshot=snapshots.append, transition=on_transition, notification=on_notification)
        # One probe confirms and nothing is grouped, so each change notifies at once.
        policy = AlertPolicy(PolicySettings(confirm_bad=1, confirm_good=1, group_window=0))
        engine = Engine([bridge], tokens=store, listener=listener, prober=Prober(timeout=2.0), policy=policy)
        task = asyncio.create_task(engine.run())
        try:
            await transition_seen.wait()  # the first poll, unknown -> healthy, is silent

            bridge_server.scenario = "unhealthy"
            engine.request_check(bridge.id)
            await notification_seen.wait()
            notification_seen.clear()

            bridge_server.scenario = "healthy"
            engine.request_check()
            await notification_seen.wait()
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_async(scenario(), timeout=5)

    assert [(t.old, t.new) for t in transitions] == [
        (BridgeStatus.UNKNOWN, BridgeStatus.HEALTHY),
        (BridgeStatus.HEALTHY, BridgeStatus.UNHEALTHY),
        (BridgeStatus.UNHEALTHY, BridgeStatus.HEALTHY),
    ]
    assert [n.kind for n in notifications] == [AlertKind.PROBLEM, AlertKind.RECOVERY]
    assert "RedisCache" in notifications[0].body
    assert notifications[0].bridges[0].id == bridge.id
    assert snapshots[0].status is BridgeStatus.UNKNOWN
    assert len(bridge_server.requests) == 3


def test_reconfigure_before_first_check(simulator, run_async, memory_keyring):
    store = TokenStore(memory_keyring)
    old = watched_bridge(store, simulator("healthy").url, "Old", None, probe=ProbeKind.PING)
    new = watched_bridge(store, simulator("healthy").url, "New", None, probe=ProbeKind.PING)

    async def reconfigure_then_check():
        engine = Engine([old], tokens=store, prober=Prober(timeout=SHORT_TIMEOUT))
        try:
            await engine.reconfigure([new])
            return await engine.check_once()
        finally:
            await engine.aclose()

    snapshots = run_async(reconfigure_then_check())

    assert [s.name for s in snapshots] == ["New"]


async def wait_until(condition, interval=0.01):
    while not condition():
        await asyncio.sleep(interval)


def test_reconfigure_while_running(simulator, run_async, memory_keyring, token):
    store = TokenStore(memory_keyring)
    first_server = simulator("healthy", token=token)
    second_server = simulator("unhealthy", token=token)
    bridge = watched_bridge(store, first_server.url, "Prod", token)
    moved = BridgeConfig(
        id=bridge.id, name="Prod", url=second_server.url, probe=ProbeKind.HEALTH, interval=LONG_INTERVAL
    )
    snapshots = []

    async def scenario():
        listener = EngineListener(snapshot=snapshots.append)
        engine = Engine([bridge], tokens=store, listener=listener, prober=Prober(timeout=2.0))
        task = asyncio.create_task(engine.run())
        try:
            await wait_until(lambda: len(first_server.requests) == 1 and snapshots[-1].result is not None)
            await engine.reconfigure([moved])
            await wait_until(lambda: snapshots[-1].status is BridgeStatus.UNHEALTHY)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_async(scenario(), timeout=5)

    assert len(first_server.requests) == 1
    assert len(second_server.requests) == 1
    assert snapshots[-1].url == second_server.url


def test_request_check_from_thread(simulator, run_async, memory_keyring, token):
    store = TokenStore(memory_keyring)
    bridge_server = simulator("healthy", token=token)
    bridge = watched_bridge(store, bridge_server.url, "Prod", token)

    async def scenario():
        engine = Engine([bridge], tokens=store, prober=Prober(timeout=2.0))
        task = asyncio.create_task(engine.run())
        try:
            await wait_until(lambda: len(bridge_server.requests) == 1)
            await asyncio.to_thread(engine.request_check_threadsafe, bridge.id)
            await wait_until(lambda: len(bridge_server.requests) == 2)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_async(scenario(), timeout=5)

    assert len(bridge_server.requests) == 2


# Per-bridge state built from hand-made probe results.


def component(name, state="healthy", status=ComponentStatus.HEALTHY):
    return Component(
        name=name, status=status, state=state, reported_at=T0, expires_at=T0 + timedelta(minutes=10)
    )


def report_result(checked_at, *components, http_status=200):
    report = HealthReport(components=tuple(components), retrieved_at=checked_at, version="2.9.16", build="209163")
    return ProbeResult(
        status=report.status() if http_status < 500 else BridgeStatus.UNHEALTHY,
        summary="report",
        checked_at=checked_at,
        latency_ms=12.0,
        http_status=http_status,
        report=report,
    )


def healthy_result(checked_at):
    return report_result(checked_at, component("RedisCache"), component("SCIMServer"))


def error_result(checked_at, status, kind, message, hint="", http_status=None):
    error = ProbeError(kind, message, hint)
    return ProbeResult(status=status, summary=message, checked_at=checked_at, http_status=http_status, error=error)


@pytest.fixture
def state():
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com", probe=ProbeKind.HEALTH)
    return BridgeState(bridge)


def test_unchanged_status_no_transition(state):
    state.apply(healthy_result(T0))

    assert state.apply(healthy_result(T0 + timedelta(minutes=1))) is None
    assert state.snapshot.since == T0


def test_version_kept_while_down(state):
    state.apply(healthy_result(T0))
    state.apply(
        error_result(T0 + timedelta(minutes=1), BridgeStatus.UNREACHABLE, ErrorKind.TIMEOUT, "No answer.")
    )

    assert state.snapshot.version == "2.9.16"
    assert state.snapshot.build == "209163"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0 s"), (45, "45 s"), (100, "1 min 40 s"), (300, "5 min"), (659, "10 min"), (3600, "1 h"), (3900, "1 h 5 min"), (86400, "1 d"), (93600, "1 d 2 h")],
)
def test_format_duration(seconds, expected):
    assert format_duration(seconds) == expected
