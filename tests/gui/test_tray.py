"""The tray icon follows the worst bridge status; the tooltip lists every bridge."""

from datetime import datetime, timezone

from app.core.model import BridgeSnapshot, BridgeStatus, ProbeKind, ProbeResult
from app.gui.tray import TrayIcon, tooltip_text


def snapshot(bridge_id, name, status):
    result = ProbeResult(status=status, summary=f"{name} is {status.value}", checked_at=datetime.now(timezone.utc))
    return BridgeSnapshot(
        id=bridge_id, name=name, url="http://127.0.0.1:1", probe=ProbeKind.HEALTH, status=status, result=result
    )


def test_tray_icon_shows_worst_status(qtbot):
    tray = TrayIcon()
    tray.set_bridges([snapshot("a", "eu", BridgeStatus.HEALTHY), snapshot("b", "us", BridgeStatus.HEALTHY)])
    assert tray.status is BridgeStatus.HEALTHY

    tray.update_bridge(snapshot("b", "us", BridgeStatus.DEGRADED))
    assert tray.status is BridgeStatus.DEGRADED

    tray.update_bridge(snapshot("a", "eu", BridgeStatus.UNREACHABLE))
    assert tray.status is BridgeStatus.UNREACHABLE

    tray.update_bridge(snapshot("a", "eu", BridgeStatus.HEALTHY))
    tray.update_bridge(snapshot("b", "us", BridgeStatus.HEALTHY))
    assert tray.status is BridgeStatus.HEALTHY


def test_tooltip_lists_each_bridge(qtbot):
    tray = TrayIcon()
    tray.set_bridges([snapshot("a", "eu", BridgeStatus.HEALTHY), snapshot("b", "us", BridgeStatus.UNHEALTHY)])
    lines = tray.tooltip.splitlines()
    assert lines[0] == "Bridgewatch: unhealthy"
    assert "eu: healthy" in lines
    assert "us: unhealthy" in lines


def test_tooltip_without_bridges():
    assert tooltip_text([]) == "Bridgewatch: no bridges configured"


def test_menu_has_entry_per_bridge(qtbot):
    tray = TrayIcon()
    tray.set_bridges([snapshot("a", "eu", BridgeStatus.HEALTHY), snapshot("b", "us", BridgeStatus.UNAUTHORIZED)])
    texts = [action.text() for action in tray.menu.actions() if action.text() and action.isVisible()]
    assert texts[:2] == ["eu: healthy", "us: unauthorized"]
    assert "Check now" in texts
    assert "Open Bridgewatch" in texts
    assert texts[-1] == "Quit"


def test_menu_entry_opens_that_bridge(qtbot):
    tray = TrayIcon()
    tray.set_bridges([snapshot("a", "eu", BridgeStatus.HEALTHY)])
    entry = next(action for action in tray.menu.actions() if action.text() == "eu: healthy")
    with qtbot.waitSignal(tray.open_requested) as blocker:
        entry.trigger()
    assert blocker.args == ["a"]


def test_each_status_has_distinct_icon(qtbot):
    from app.gui.icons import status_icon

    images = {status: status_icon(status).pixmap(32, 32).toImage() for status in BridgeStatus}
    for status, image in images.items():
        assert not image.isNull(), status
    statuses = list(images)
    for index, first in enumerate(statuses):
        for second in statuses[index + 1:]:
            assert images[first] != images[second], (first, second)


def test_monochrome_templates_distinct(qtbot):
    """The macOS menu-bar templates differ by shape alone, since the menu bar tints them."""
    from app.gui.icons import _load

    images = {status: _load(f"mono-{status.value}").pixmap(32, 32).toImage() for status in BridgeStatus}
    for status, image in images.items():
        assert not image.isNull(), status
    statuses = list(images)
    for index, first in enumerate(statuses):
        for second in statuses[index + 1:]:
            assert images[first] != images[second], (first, second)
