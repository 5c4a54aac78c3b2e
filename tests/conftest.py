"""Shared fixtures: an isolated Bridgewatch home, an in-memory keyring and loopback simulators.

No Qt imports here: the GUI tests keep their fixtures in tests/gui/conftest.py.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from typing import Any

import keyring
import pytest

from app.core.simulator import SimulatedBridge
from app.core.tokens import MemoryKeyring, set_system_backend

# Obviously fake, so a failure report never shows anything that looks like a real token.
TEST_TOKEN = "test-token-not-a-secret-7f3a"

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
LOOPBACK_NO_PROXY = "127.0.0.1,localhost,::1"


@pytest.fixture(autouse=True)
def bridgewatch_home(tmp_path, monkeypatch):
    """Point BRIDGEWATCH_HOME at a fresh folder and keep every request off any proxy."""
    home = tmp_path / "bridgewatch-home"
    monkeypatch.setenv("BRIDGEWATCH_HOME", str(home))
    # httpx reads proxy variables, and a proxy would carry loopback requests off this machine.
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", LOOPBACK_NO_PROXY)
    monkeypatch.setenv("no_proxy", LOOPBACK_NO_PROXY)
    return home


@pytest.fixture(autouse=True)
def memory_keyring():
    """Install a MemoryKeyring as the system keychain and keyring's backend; restore both afterwards."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    previous_system = set_system_backend(backend)
    yield backend
    set_system_backend(previous_system)
    keyring.set_keyring(previous)


@pytest.fixture
def token() -> str:
    return TEST_TOKEN


@pytest.fixture
def simulator():
    """Start SimulatedBridge instances on 127.0.0.1; every one is stopped at teardown.

    Call it as `simulator("healthy", token=...)` with any SimulatedBridge keyword.
    """
    started: list[SimulatedBridge] = []

    def start(scenario: str = "healthy", **options) -> SimulatedBridge:
        bridge = SimulatedBridge(scenario, **options).start()
        started.append(bridge)
        return bridge

    yield start

    for bridge in started:
        _stop_quickly(bridge)


def _stop_quickly(bridge: SimulatedBridge) -> None:
    """Stop `bridge` without waiting out the 0.5 s poll interval of its serve_forever loop.

    SimulatedBridge.stop blocks until that loop next checks its shutdown flag, so this
    connects to the port until stop returns: each connection wakes the loop at once.
    """
    port = bridge.port
    stopper = threading.Thread(target=bridge.stop, name=f"stop-simulator-{port}")
    stopper.start()
    while stopper.is_alive():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
        except OSError:
            pass  # the listener is already closed
        stopper.join(timeout=0.02)


@pytest.fixture
def run_async():
    """Return a function that runs a coroutine to completion, failing after `timeout` seconds."""

    def run(coroutine: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        async def bounded():
            async with asyncio.timeout(timeout):
                return await coroutine

        return asyncio.run(bounded())

    return run
