"""The whole tray app against simulated bridges on loopback: state, notifications and quitting."""

import pytest

from app.core.config import BridgeConfig
from app.core.model import BridgeStatus, ProbeKind
from app.core.policy import PolicySettings
from app.core.probe import Prober
from app.core.tokens import MemoryKeyring, TokenStore
from app.gui.app import TrayApp
from app.gui.notifier import LogBackend

TOKEN = "gui-test-token"
# One probe confirms a change and nothing waits for grouping, so each change notifies at once.
FAST_POLICY = PolicySettings(confirm_bad=1, confirm_good=1, group_window=0)


@pytest.fixture
def make_app(qtbot):
    apps = []

    def make(*simulators, prober_timeout=2.0):
        store = TokenStore(MemoryKeyring())
        bridges = []
        for index, simulator in enumerate(simulators):
            # A long interval: only check_now() triggers polls after the first one.
            bridge = BridgeConfig(name=f"bridge-{index}", url=simulator.url, probe=ProbeKind.HEALTH, interval=3600)
            store.set(bridge.id, TOKEN)
            bridges.append(bridge)
        tray_app = TrayApp(
            bridges,
            store,
            prober_factory=lambda: Prober(timeout=prober_timeout),
            tray_available=True,
            policy_settings=FAST_POLICY,
            notifier_backends=[LogBackend],  # never a real desktop notification from a test
        )
        qtbot.addWidget(tray_app.window)
        apps.append(tray_app)
        return tray_app, bridges

    yield make
    for tray_app in apps:
        tray_app.worker.stop(timeout=2.0)
        tray_app.tray.hide()


def wait_status(qtbot, tray_app, bridge_id, status):
    qtbot.waitUntil(lambda: tray_app.window._snapshots[bridge_id].status is status, timeout=5000)


def test_healthy_first_check_is_silent(qtbot, start_bridge, make_app):
    tray_app, bridges = make_app(start_bridge("healthy"))
    tray_app.start(show_window=True)
    wait_status(qtbot, tray_app, bridges[0].id, BridgeStatus.HEALTHY)
    qtbot.wait(100)  # a notification would arrive as a queued signal right after the snapshot
    assert tray_app.notifier.history == []
    assert tray_app.tray.status is BridgeStatus.HEALTHY
    assert len(tray_app.window.component_rows()) == 4


def test_notification_for_each_transition(qtbot, start_bridge, make_app):
    simulator = start_bridge("healthy")
    tray_app, bridges = make_app(simulator)
    bridge_id = bridges[0].id
    tray_app.start(show_window=False)
    wait_status(qtbot, tray_app, bridge_id, BridgeStatus.HEALTHY)

    steps = [
        ("unhealthy", BridgeStatus.UNHEALTHY, "bridge-0 is unhealthy", "RedisCache"),
        ("proxy-error", BridgeStatus.UNREACHABLE, "bridge-0 is now unreachable", simulator.url),
        ("unauthorized", BridgeStatus.UNAUTHORIZED, "bridge-0 rejected the token", "regenerated"),
        ("healthy", BridgeStatus.HEALTHY, "bridge-0 recovered", "healthy again after"),
    ]
    for scenario, status, title, body_part in steps:
        simulator.scenario = scenario
        with qtbot.waitSignal(tray_app.notifier.shown, timeout=5000) as blocker:
            tray_app.worker.check_now(bridge_id)
        notification = blocker.args[0]
        assert notification.title == title
        assert body_part in notification.body
        assert tray_app.tray.status is status
    assert len(tray_app.notifier.history) == 4


def test_tray_tooltip_follows_state(qtbot, start_bridge, make_app):
    healthy, failing = start_bridge("healthy"), start_bridge("unhealthy")
    tray_app, bridges = make_app(healthy, failing)
    tray_app.start(show_window=False)
    wait_status(qtbot, tray_app, bridges[1].id, BridgeStatus.UNHEALTHY)
    wait_status(qtbot, tray_app, bridges[0].id, BridgeStatus.HEALTHY)
    assert tray_app.tray.status is BridgeStatus.UNHEALTHY
    # The tray redraws its icon and tooltip once per event-loop turn.
    qtbot.waitUntil(lambda: "bridge-1: unhealthy" in tray_app.tray.tooltip.splitlines(), timeout=2000)

    failing.scenario = "healthy"
    tray_app.worker.check_now(None)
    wait_status(qtbot, tray_app, bridges[1].id, BridgeStatus.HEALTHY)
    assert tray_app.tray.status is BridgeStatus.HEALTHY


def test_window_shows_selected_bridge_components(qtbot, start_bridge, make_app):
    tray_app, bridges = make_app(start_bridge("healthy"), start_bridge("starting"))
    tray_app.start(show_window=True)
    wait_status(qtbot, tray_app, bridges[1].id, BridgeStatus.HEALTHY)
    tray_app.open_window(bridges[1].id)
    assert [row[0] for row in tray_app.window.component_rows()] == ["RedisCache", "SCIMServer"]


def test_quit_while_poll_hangs(qtbot, start_bridge, make_app):
    hanging = start_bridge("hang")
    tray_app, _ = make_app(hanging, prober_timeout=30.0)
    tray_app.start(show_window=False)
    qtbot.waitUntil(lambda: len(hanging.requests) == 1, timeout=5000)
    # stop() returns False when the engine thread is still alive after the timeout.
    assert tray_app.worker.stop(timeout=1.0)
