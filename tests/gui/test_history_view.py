"""Tests for the History tab: a week of generated history in a real SQLite file, rendered offscreen."""

from __future__ import annotations

import csv
import math
import time
from datetime import timedelta
from pathlib import Path

import pytest

from app.core.clock import to_datetime
from app.core.history import DAY, HISTORY_FILE, HistoryStore, Incident
from app.core.model import BridgeStatus, Component, ComponentStatus, ErrorKind, HealthReport, ProbeError, ProbeResult
from app.gui.history_view import HistoryView

BRIDGE_ID = "6f1d2a8e-1111-4c55-9d9e-2f0a3c1d7e11"
NOW = 1_772_560_800.0  # 2026-03-03T18:00:00Z
COMPONENTS = ("ConfirmationWatcher", "RedisCache", "SCIMServer", "StartProvisionWatcher")
STEP = 120.0  # seconds between generated probes


def generated_result(at: float, now: float = NOW) -> tuple[ProbeResult, Incident | None]:
    """Return the result a bridge gives at `at` in the generated week.

    Two days ago it was unreachable for 40 minutes; 5 hours ago RedisCache failed for
    20 minutes; 90 minutes ago ConfirmationWatcher stopped reporting for 30 minutes. Bridgewatch
    was not running from 12 to 9 hours ago.
    """
    age = now - at
    moment = to_datetime(at)
    latency = 38 + 12 * math.sin(at / 5400) + (at % 7)
    if 2 * DAY - 2400 < age <= 2 * DAY:
        error = ProbeError(ErrorKind.CONNECTION_REFUSED, "Connection refused: nothing is listening on that port.")
        opened = now - 2 * DAY
        incident = Incident(opened, None, "unreachable", "unreachable", error.message)
        return ProbeResult(BridgeStatus.UNREACHABLE, error.message, moment, error=error), incident
    states = {name: "healthy" for name in COMPONENTS}
    status = BridgeStatus.HEALTHY
    incident = None
    if 5 * 3600 - 1200 < age <= 5 * 3600:
        states["RedisCache"] = "unhealthy"
        status = BridgeStatus.UNHEALTHY
        latency += 150
        incident = Incident(now - 5 * 3600, None, "unhealthy", "unhealthy", "Failing: RedisCache.")
    if 5400 - 1800 < age <= 5400:
        states["ConfirmationWatcher"] = "stale"
        status = BridgeStatus.DEGRADED
    report = HealthReport(
        components=tuple(
            Component(name, ComponentStatus(state), state, moment, moment + timedelta(minutes=10))
            for name, state in states.items()
        ),
        retrieved_at=moment,
        version="2.9.16",
        build="209163",
    )
    http = 503 if status is BridgeStatus.UNHEALTHY else 200
    summary = {
        BridgeStatus.HEALTHY: "All 4 components healthy",
        BridgeStatus.UNHEALTHY: "1 component not healthy: RedisCache (unhealthy)",
        BridgeStatus.DEGRADED: "1 component stopped reporting: ConfirmationWatcher",
    }[status]
    result = ProbeResult(status, summary, moment, latency_ms=round(latency, 1), http_status=http, report=report)
    return result, incident


def write_week(path: Path, bridge_id: str = BRIDGE_ID, now: float = NOW, days: int = 7) -> None:
    """Write `days` of the generated week, probed every STEP seconds, into `path`."""
    with HistoryStore(path) as store:
        store.register_bridge(bridge_id, "Production (EU)", 60)
        store._db.execute("PRAGMA synchronous=OFF")  # test data only: nothing to keep on a crash
        at = now - days * DAY
        while at < now:
            age = now - at
            if not 9 * 3600 < age <= 12 * 3600:
                result, incident = generated_result(at, now)
                store.record(bridge_id, result, incident)
            at += STEP


@pytest.fixture(scope="module")
def week_database(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("history") / HISTORY_FILE
    write_week(path)
    return path


@pytest.fixture
def view(qtbot, week_database):
    widget = HistoryView(week_database, now=lambda: NOW)
    qtbot.addWidget(widget)
    widget.resize(760, 620)
    yield widget
    widget.close_reader()


def test_uptime_labels(view):
    view.show_bridge(BRIDGE_ID, "Production (EU)")

    day = view.uptime_labels["24h"].text()
    week = view.uptime_labels["7d"].text()
    assert "98.41 %" in day  # 20 minutes down in 21 measured hours
    assert "no data for 3 h" in day
    assert "99.39 %" in week  # 40 + 20 minutes down in 165 measured hours
    assert "no data" in view.uptime_labels["30d"].text()  # 23 days before the history began


def test_incident_list(view):
    view.show_bridge(BRIDGE_ID, "Production (EU)")

    rows = view.incident_rows()
    assert [row[3] for row in rows] == ["unhealthy", "unreachable"]
    assert rows[0][2] == "20 min"
    assert rows[0][4] == "Failing: RedisCache."
    assert rows[1][2] == "40 min"


def test_graph_and_timeline_data(view):
    view.show_bridge(BRIDGE_ID, "Production (EU)")

    assert len(view.graph.samples) == (21 * 3600) // STEP
    assert len(view.graph.coverage) == 2  # split by the three hours without data
    assert list(view.timeline.rows) == sorted(COMPONENTS)
    redis = [segment.status for segment in view.timeline.rows["RedisCache"]]
    assert redis == ["healthy", "unhealthy", "healthy"]
    assert [s.status for s in view.timeline.rows["ConfirmationWatcher"]] == ["healthy", "stale", "healthy"]


def test_unknown_bridge_shows_no_data(view):
    view.show_bridge("not-recorded", "Lab")

    assert "No history recorded" in view.message.text()
    assert not view.export_button.isEnabled()
    assert "no data" in view.uptime_labels["24h"].text()


def test_missing_database(qtbot, tmp_path):
    widget = HistoryView(tmp_path / HISTORY_FILE, now=lambda: NOW)
    qtbot.addWidget(widget)

    widget.show_bridge(BRIDGE_ID, "Prod")

    assert not widget.export_button.isEnabled()
    assert widget.incident_rows() == []


def test_export_csv(view, tmp_path):
    view.show_bridge(BRIDGE_ID, "Production (EU)")
    target = tmp_path / "export.csv"
    view.choose_csv_path = lambda: target

    assert view.export_csv() == target

    with target.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["checked_at", "status", "latency_ms", "http_status", "error_kind"]
    assert len(rows) == 1 + (7 * DAY - 3 * 3600) // STEP
    assert {row[1] for row in rows[1:]} == {"healthy", "unhealthy", "unreachable", "degraded"}


def test_screenshot(view, tmp_path):
    view.show_bridge(BRIDGE_ID, "Production (EU)")
    view.show()

    image = view.grab().toImage()
    image.save(str(tmp_path / "history.png"))

    assert not image.isNull()
    assert image.width() == 760


# -- in the tray app: the History tab, removal and diagnostics ---------------------------------------------


@pytest.fixture
def tray_app(qtbot, memory_keyring):
    """A TrayApp on one configured bridge with a day of history; its engine is not started."""
    from app.core.bridges import BridgeForm, BridgeManager
    from app.core.paths import app_paths
    from app.core.tokens import TokenStore
    from app.gui.app import TrayApp
    from app.gui.notifier import LogBackend

    tokens = TokenStore(memory_keyring)
    bridge = BridgeManager(app_paths().config_file, tokens).add(
        BridgeForm(name="Production (EU)", url="scim.corp.example.com"), "gui-history-token-not-a-secret"
    )
    write_week(app_paths().data_dir / HISTORY_FILE, bridge.id, now=time.time(), days=1)
    app = TrayApp([bridge], tokens, tray_available=True, notifier_backends=[LogBackend])
    qtbot.addWidget(app.window)
    answers: list[bool] = []
    app.setup.confirm = lambda title, text: answers.pop(0)
    app.setup.inform = lambda title, text, warning=False: None
    app.answers = answers
    app.bridge = bridge
    yield app
    app.history_view.close_reader()
    app.worker.stop(timeout=2.0)


def history_count(bridge_id: str) -> int:
    from app.core.history import HistoryReader
    from app.core.paths import app_paths

    with HistoryReader(app_paths().data_dir / HISTORY_FILE) as reader:
        return len(reader.recent(bridge_id, 10))


def test_history_tab_in_window(tray_app):
    tabs = tray_app.window.detail_tabs

    assert [tabs.tabText(index) for index in range(tabs.count())] == ["Components", "History"]
    assert tray_app.history_view.bridge_id == tray_app.bridge.id
    assert "%" in tray_app.history_view.uptime_labels["24h"].text()


def test_remove_keeps_history(tray_app):
    tray_app.answers.extend([True, True])  # remove, keep the history

    tray_app.setup.remove_bridge(tray_app.bridge.id)

    assert tray_app.answers == []
    assert history_count(tray_app.bridge.id) == 10


def test_remove_deletes_history(tray_app):
    tray_app.answers.extend([True, False])  # remove, do not keep the history

    tray_app.setup.remove_bridge(tray_app.bridge.id)

    assert tray_app.answers == []
    assert history_count(tray_app.bridge.id) == 0


def test_copy_diagnostics(tray_app):
    from PySide6.QtWidgets import QApplication

    report = tray_app.copy_diagnostics(tray_app.bridge.id, False)
    masked = tray_app.copy_diagnostics(tray_app.bridge.id, True)

    assert "URL: https://scim.corp.example.com" in report
    assert "gui-history-token-not-a-secret" not in report
    assert QApplication.clipboard().text() == masked
    assert "scim.corp.example.com" not in masked
    assert "URL: https://host-1" in masked
    assert "copied with host names and addresses masked" in tray_app.window.statusBar().currentMessage()
