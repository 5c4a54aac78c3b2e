"""The detail window renders the selected bridge: summary, fields and component table."""

from datetime import datetime, timezone

from app.core.model import BridgeSnapshot, BridgeStatus, ErrorKind, ProbeError, ProbeKind, ProbeResult
from app.core.report import parse_report
from app.core.simulator import health_body
from app.gui.window import DetailWindow


def snapshot_for(scenario, bridge_id="a", name="eu"):
    report = parse_report(health_body(scenario))
    status = report.status()
    result = ProbeResult(
        status=status, summary=f"summary of {scenario}", checked_at=datetime.now(timezone.utc),
        latency_ms=12.0, http_status=200, report=report,
    )
    return BridgeSnapshot(
        id=bridge_id, name=name, url="http://127.0.0.1:3002", probe=ProbeKind.HEALTH, status=status,
        result=result, version=report.version, build=report.build,
    )


def test_window_lists_components(qtbot):
    window = DetailWindow()
    qtbot.addWidget(window)
    window.set_bridges([snapshot_for("healthy")])
    rows = window.component_rows()
    assert [row[0] for row in rows] == ["ConfirmationWatcher", "RedisCache", "SCIMServer", "StartProvisionWatcher"]
    assert {row[1] for row in rows} == {"healthy"}
    assert window.fields["version"].text() == "2.9.16 (build 209163)"
    assert window.summary.text() == "summary of healthy"


def test_window_marks_stale_component(qtbot):
    window = DetailWindow()
    qtbot.addWidget(window)
    window.set_bridges([snapshot_for("stale")])
    rows = {row[0]: row for row in window.component_rows()}
    assert rows["ConfirmationWatcher"][1] == "stale (stopped reporting)"
    assert rows["RedisCache"][1] == "healthy"


def test_window_shows_raw_state(qtbot):
    window = DetailWindow()
    qtbot.addWidget(window)
    window.set_bridges([snapshot_for("unhealthy")])
    rows = {row[0]: row for row in window.component_rows()}
    assert rows["RedisCache"][1] == "unhealthy"
    assert rows["RedisCache"][2] == "unhealthy"
    assert "Unhealthy" in window.title.text()


def test_window_follows_selection(qtbot):
    window = DetailWindow()
    qtbot.addWidget(window)
    window.set_bridges([snapshot_for("healthy", "a", "eu"), snapshot_for("starting", "b", "us")])
    window.select_bridge("b")
    assert len(window.component_rows()) == 2
    assert window.title.text().startswith("us")
    window.select_bridge("a")
    assert len(window.component_rows()) == 4


def test_window_shows_error_in_words(qtbot):
    window = DetailWindow()
    qtbot.addWidget(window)
    error = ProbeError(ErrorKind.CONNECTION_REFUSED, "Connection refused: nothing is listening.", "Start the bridge.")
    result = ProbeResult(
        status=BridgeStatus.UNREACHABLE, summary=error.message, checked_at=datetime.now(timezone.utc), error=error
    )
    window.set_bridges([
        BridgeSnapshot(id="a", name="eu", url="http://127.0.0.1:1", probe=ProbeKind.PING,
                       status=BridgeStatus.UNREACHABLE, result=result)
    ])
    assert "Connection refused" in window.summary.text()
    # The message is not repeated under Error; the hint has a row of its own.
    assert not window._form.isRowVisible(window.fields["error"])
    assert window._form.isRowVisible(window.fields["next"])
    assert window.fields["next"].text() == "Start the bridge."
    assert window.component_rows() == []


def test_window_healthy_hides_error_rows(qtbot):
    window = DetailWindow()
    qtbot.addWidget(window)
    result = ProbeResult(status=BridgeStatus.HEALTHY, summary="All 4 components healthy", checked_at=datetime.now(timezone.utc))
    window.set_bridges([
        BridgeSnapshot(id="a", name="eu", url="http://127.0.0.1:1", probe=ProbeKind.PING,
                       status=BridgeStatus.HEALTHY, result=result)
    ])

    assert not window._form.isRowVisible(window.fields["error"])
    assert not window._form.isRowVisible(window.fields["next"])


def test_window_without_bridges_explains(qtbot):
    window = DetailWindow()
    qtbot.addWidget(window)
    window.set_bridges([])
    assert window.pages.currentWidget() is window.empty
    assert "bridgewatch add" in window.empty.text()


def test_close_hides_to_tray(qtbot):
    window = DetailWindow(keep_running_in_tray=True)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.hidden_to_tray):
        window.close()
    assert not window.isVisible()


def test_age_timer_runs_only_while_shown(qtbot):
    """A tray-only app must not wake up every few seconds to refresh a hidden window."""
    window = DetailWindow()
    qtbot.addWidget(window)
    assert not window._age_timer.isActive()
    window.show()
    assert window._age_timer.isActive()
    window.hide()
    assert not window._age_timer.isActive()
