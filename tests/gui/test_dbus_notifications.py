"""Native notifications over a real D-Bus session bus, against a recording notification server.

The test starts its own dbus-daemon and registers org.freedesktop.Notifications on it, so
nothing reaches the desktop of the machine running the tests.
"""

# No `from __future__ import annotations`: dbus-fast reads the D-Bus signatures from the annotations.

import asyncio
import os
import shutil
import subprocess
import threading
import time

import pytest
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method, signal

from app.core.model import BridgeStatus
from app.core.policy import Alert, AlertBridge, AlertKind
from app.gui.notifier import ACTION_OPEN, ACTION_SNOOZE, BackendUnavailable, NativeBackend, Notifier, _ActionRelay

pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="dbus-daemon is not installed")


class RecordingServer(ServiceInterface):
    """A freedesktop notification server that records every Notify call."""

    def __init__(self):
        super().__init__("org.freedesktop.Notifications")
        self.calls = []
        self._next_id = 0

    @method()
    def Notify(  # noqa: N802 (the D-Bus method name)
        self, app_name: "s", replaces_id: "u", app_icon: "s", summary: "s", body: "s",
        actions: "as", hints: "a{sv}", expire_timeout: "i",
    ) -> "u":
        self._next_id += 1
        self.calls.append({
            "id": self._next_id, "app_name": app_name, "summary": summary, "body": body,
            "actions": list(actions), "urgency": hints["urgency"].value if "urgency" in hints else None,
        })
        return self._next_id

    @method()
    def GetCapabilities(self) -> "as":  # noqa: N802
        return ["actions", "body"]

    @method()
    def GetServerInformation(self) -> "ssss":  # noqa: N802
        return ["bridgewatch-test", "bridgewatch", "1.0", "1.2"]

    @method()
    def CloseNotification(self, notification_id: "u"):  # noqa: N802
        return None

    @signal()
    def ActionInvoked(self, notification_id: "u", action_key: "s") -> "us":  # noqa: N802
        return [notification_id, action_key]

    @signal()
    def NotificationClosed(self, notification_id: "u", reason: "u") -> "uu":  # noqa: N802
        return [notification_id, reason]


class ServerThread:
    """Run the recording server on its own asyncio loop, as a separate desktop process would."""

    def __init__(self, address):
        self.server = RecordingServer()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bus = self._run(self._connect(address))

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    async def _connect(self, address):
        bus = await MessageBus(bus_address=address).connect()
        bus.export("/org/freedesktop/Notifications", self.server)
        await bus.request_name("org.freedesktop.Notifications")
        return bus

    async def _disconnect(self):
        self.bus.disconnect()
        await self.bus.wait_for_disconnect()

    def invoke(self, notification_id, action_key):
        self.loop.call_soon_threadsafe(self.server.ActionInvoked, notification_id, action_key)

    def stop(self):
        self._run(self._disconnect())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def session_bus(monkeypatch, tmp_path):
    """Start a private dbus-daemon and point DBUS_SESSION_BUS_ADDRESS at it."""
    process = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    address = process.stdout.readline().strip()
    assert address.startswith("unix:"), address
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    process.terminate()
    process.wait(5)
    process.stdout.close()


@pytest.fixture
def notification_server(session_bus):
    server = ServerThread(session_bus)
    yield server
    server.stop()


def critical_alert():
    return Alert(
        kind=AlertKind.PROBLEM,
        at=time.time(),
        title="eu is unhealthy",
        body="Failing: RedisCache.",
        bridges=(AlertBridge("bridge-eu", "eu", BridgeStatus.UNHEALTHY),),
    )


def test_native_notification_reaches_server(qtbot, notification_server):
    backend = NativeBackend(_ActionRelay())
    try:
        assert backend.supports_buttons
        backend.send(critical_alert())
        qtbot.waitUntil(lambda: len(notification_server.server.calls) == 1, timeout=5000)
    finally:
        backend.close()
    call = notification_server.server.calls[0]
    assert call["app_name"] == "Bridgewatch"
    assert call["summary"] == "eu is unhealthy"
    assert call["body"] == "Failing: RedisCache."
    assert call["actions"] == ["default", "", ACTION_OPEN, "Open details", ACTION_SNOOZE, "Snooze 1 hour"]
    assert call["urgency"] == 2  # critical


def test_action_click_reaches_app(qtbot, notification_server):
    notifier = Notifier(None, backends=[lambda: NativeBackend(notifier._relay)])
    alert = critical_alert()
    try:
        notifier.notify(alert)
        assert notifier.backend_name == "native"
        qtbot.waitUntil(lambda: len(notification_server.server.calls) == 1, timeout=5000)
        with qtbot.waitSignal(notifier.action_invoked, timeout=5000) as blocker:
            notification_server.invoke(notification_server.server.calls[0]["id"], ACTION_SNOOZE)
    finally:
        notifier.close()
    assert blocker.args[0] == ACTION_SNOOZE
    assert blocker.args[1] is alert


def test_recovery_has_no_snooze_button(qtbot, notification_server):
    backend = NativeBackend(_ActionRelay())
    recovery = Alert(
        kind=AlertKind.RECOVERY, at=time.time(), title="eu recovered", body="eu is healthy again after 5 min.",
        bridges=(AlertBridge("bridge-eu", "eu", BridgeStatus.HEALTHY, 300.0),),
    )
    try:
        backend.send(recovery)
        qtbot.waitUntil(lambda: len(notification_server.server.calls) == 1, timeout=5000)
    finally:
        backend.close()
    call = notification_server.server.calls[0]
    assert ACTION_SNOOZE not in call["actions"]
    assert call["urgency"] == 0  # low


def test_no_service_falls_back(qtbot, session_bus):
    """A bus without a notification server: the notifier walks on to the next backend."""
    recorded = []

    class Recording:
        name = "recording"

        def send(self, alert):
            recorded.append(alert)

        def close(self):
            pass

    notifier = Notifier(None, backends=[lambda: NativeBackend(notifier._relay), Recording])
    notifier.notify(critical_alert())
    assert notifier.backend_name == "recording"
    assert len(recorded) == 1
    assert len(notifier.inbox.unseen) == 1


def test_no_bus_falls_back(qtbot, monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=" + os.devnull + "-missing")
    with pytest.raises(BackendUnavailable):
        NativeBackend(_ActionRelay())
