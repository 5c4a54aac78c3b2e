"""What the tray app defers at start: the window until it opens, and the engine until its thread has imported it."""

import pytest

from app.core.config import BridgeConfig
from app.core.model import BridgeSnapshot, BridgeStatus, ProbeKind
from app.core.policy import PolicySettings
from app.core.probe import Prober
from app.core.tokens import MemoryKeyring, TokenStore
from app.gui.app import TrayApp
from app.gui.notifier import LogBackend
from app.gui.worker import EngineWorker

TOKEN = "gui-test-token"


def bridges_for(simulators, store):
    bridges = []
    for index, simulator in enumerate(simulators):
        bridge = BridgeConfig(name=f"bridge-{index}", url=simulator.url, probe=ProbeKind.HEALTH, interval=3600)
        store.set(bridge.id, TOKEN)
        bridges.append(bridge)
    return bridges


@pytest.fixture
def tray_app(qtbot, start_bridge):
    store = TokenStore(MemoryKeyring())
    bridges = bridges_for([start_bridge("healthy"), start_bridge("unhealthy")], store)
    app = TrayApp(
        bridges,
        store,
        prober_factory=lambda: Prober(timeout=2.0),
        tray_available=True,
        policy_settings=PolicySettings(confirm_bad=1, confirm_good=1, group_window=0),
        notifier_backends=[LogBackend],
    )
    yield app
    app.worker.stop(timeout=2.0)
    app.tray.hide()
    if app._window is not None:
        app.window.close()


def test_window_built_on_first_open(qtbot, tray_app):
    tray_app.start(show_window=False)
    qtbot.waitUntil(lambda: all(snapshot.result for snapshot in tray_app.tray.snapshots()), timeout=5000)

    assert tray_app._window is None

    unhealthy_id = tray_app.bridges[1].id
    tray_app.open_window(unhealthy_id)
    qtbot.addWidget(tray_app.window)

    assert tray_app.window.isVisible()
    assert tray_app.window.selected_id() == unhealthy_id
    assert tray_app.window.snapshots()[unhealthy_id].status is BridgeStatus.UNHEALTHY
    assert tray_app.window.snapshots()[tray_app.bridges[0].id].status is BridgeStatus.HEALTHY


def test_notice_before_window_reaches_banner(qtbot, tray_app):
    tray_app.set_notice("config", "The config file is invalid.")
    tray_app.set_notice("offline", "Offline: monitoring paused.")
    tray_app.set_notice("offline", "")

    qtbot.addWidget(tray_app.window)

    assert tray_app.window.banner.text() == "The config file is invalid."


def test_worker_runs_calls_made_before_engine(qtbot, start_bridge):
    store = TokenStore(MemoryKeyring())
    worker = EngineWorker(bridges_for([start_bridge("healthy")], store), store)
    statuses = []
    worker.engine_status.connect(statuses.append)

    worker.pause(None)  # before start(): queued until the engine exists
    worker.start()
    try:
        qtbot.waitUntil(lambda: any(status.paused_until_recovery for status in statuses), timeout=5000)
    finally:
        assert worker.stop(timeout=2.0)


def test_worker_stops_before_engine_exists(start_bridge):
    store = TokenStore(MemoryKeyring())
    worker = EngineWorker(bridges_for([start_bridge("healthy")], store), store)

    worker.start()

    assert worker.stop(timeout=5.0)


def test_worker_sends_one_loop_turn_together(qtbot, start_bridge):
    store = TokenStore(MemoryKeyring())
    simulators = [start_bridge("healthy") for _ in range(3)]
    worker = EngineWorker(bridges_for(simulators, store), store)
    batches = []
    worker.snapshots_changed.connect(batches.append)

    worker.start()
    try:
        qtbot.waitUntil(lambda: bool(batches), timeout=5000)
    finally:
        assert worker.stop(timeout=2.0)

    # The engine reports every bridge once as it starts, in one turn of its loop.
    assert len(batches[0]) == 3
    assert all(snapshot.result is None for snapshot in batches[0])


def test_engine_starts_with_first_bridge(qtbot, start_bridge):
    store = TokenStore(MemoryKeyring())
    worker = EngineWorker([], store)
    batches = []
    worker.snapshots_changed.connect(batches.append)

    worker.start()
    started_without_bridges = worker._thread is not None
    worker.reconfigure(bridges_for([start_bridge("healthy")], store))
    try:
        qtbot.waitUntil(lambda: any(snapshot.result for batch in batches for snapshot in batch), timeout=5000)
    finally:
        assert worker.stop(timeout=2.0)

    assert not started_without_bridges


def test_history_tab_waits_for_first_bridge(qtbot):
    app = TrayApp([], TokenStore(MemoryKeyring()), tray_available=True, notifier_backends=[LogBackend])
    try:
        window = app.window
        qtbot.addWidget(window)

        assert app.history_view is None
        assert window.detail_tabs.count() == 1

        window.set_bridges([BridgeSnapshot(id="lab", name="Lab", url="http://127.0.0.1:9", probe=ProbeKind.PING)])

        assert app.history_view is not None
        assert app.history_view.bridge_id == "lab"
        assert window.detail_tabs.tabText(1) == "History"
    finally:
        app.worker.stop(timeout=2.0)
        app.tray.hide()
