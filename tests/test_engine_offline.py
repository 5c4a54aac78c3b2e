"""The engine's offline detection: the operating system's report and the reference check."""

from __future__ import annotations

import asyncio
import socket

import pytest

from app.core.config import BridgeConfig
from app.core.engine import Engine, EngineListener
from app.core.model import ProbeKind
from app.core.policy import AlertPolicy, PolicySettings
from app.core.probe import Prober
from app.core.tokens import MemoryKeyring, TokenStore


def closed_port() -> int:
    """Return a loopback port with nothing listening on it."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def dead_bridges(count: int) -> list[BridgeConfig]:
    return [
        BridgeConfig(name=f"dead-{index}", url=f"http://127.0.0.1:{closed_port()}", probe=ProbeKind.PING, interval=3600)
        for index in range(count)
    ]


async def run_until(engine: Engine, condition, timeout: float = 5.0) -> None:
    task = asyncio.create_task(engine.run())
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_all_unreachable_without_route_is_offline(run_async):
    statuses, alerts = [], []
    listener = EngineListener(status=statuses.append, notification=alerts.append)
    engine = Engine(
        dead_bridges(2),
        tokens=TokenStore(MemoryKeyring()),
        listener=listener,
        prober=Prober(timeout=1.0),
        # Two bad probes confirm, 0.2 s apart: the second bridge is probed at once when the
        # first fails, so both are unreachable before anything is confirmed.
        policy=AlertPolicy(PolicySettings(fast_interval=0.2, group_window=0.5)),
        reference_check=lambda: False,  # as if this computer had no default route
    )
    loop_time = []

    def offline_for_a_while():
        # Keep running past the time confirmation and grouping would take (0.2 + 0.5 s).
        if any(s.offline for s in statuses):
            loop_time.append(None)
        return len(loop_time) > 60  # polled every 20 ms: about 1.2 s after going offline

    run_async(run_until(engine, offline_for_a_while))
    assert engine.policy.offline
    assert alerts == []


def test_all_unreachable_with_route_is_a_problem(run_async):
    alerts = []
    engine = Engine(
        dead_bridges(2),
        tokens=TokenStore(MemoryKeyring()),
        listener=EngineListener(notification=alerts.append),
        prober=Prober(timeout=1.0),
        policy=AlertPolicy(PolicySettings(fast_interval=0.2, group_window=0.5)),
        reference_check=lambda: True,
    )
    run_async(run_until(engine, lambda: bool(alerts)))
    assert not engine.policy.offline
    assert alerts[0].title == "2 bridges have problems"


def test_os_network_report_pauses(run_async, simulator):
    statuses = []
    bridge = BridgeConfig(name="eu", url=simulator("healthy").url, probe=ProbeKind.PING, interval=3600)
    engine = Engine([bridge], tokens=TokenStore(MemoryKeyring()), listener=EngineListener(status=statuses.append))

    async def scenario():
        task = asyncio.create_task(engine.run())
        try:
            await asyncio.sleep(0.2)
            engine.set_network_available(False)
            assert engine.policy.offline
            engine.set_network_available(True)
            assert not engine.policy.offline
            assert engine.policy.wake_until is not None  # waits before checking everything
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_async(scenario())
    assert [s.offline for s in statuses][-2:] == [True, False]
