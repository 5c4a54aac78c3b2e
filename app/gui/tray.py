"""The tray icon: the worst confirmed status at a glance, a tooltip line per bridge, and the tray menu."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.core.inbox import InboxEntry
from app.core.model import BridgeSnapshot, BridgeStatus, worst_status
from app.gui.icons import app_icon, status_icon, tray_status_icon

if TYPE_CHECKING:
    from app.core.engine import EngineStatus  # the engine itself loads on its own thread

__all__ = ["TrayIcon", "tooltip_text", "SNOOZE_CHOICES"]

# (label, key) pairs shared by the tray's pause menu and the window's snooze menu.
SNOOZE_CHOICES = (
    ("For 1 hour", "1h"),
    ("For 4 hours", "4h"),
    ("Until tomorrow 09:00", "tomorrow"),
    ("Until it recovers", "recovery"),
)
MAX_MENU_ALERTS = 10


def _bridge_line(snapshot: BridgeSnapshot) -> str:
    line = f"{snapshot.name}: {snapshot.shown_status.value}"
    if snapshot.checking:
        line += " (checking)"
    if snapshot.snoozed_until or snapshot.snoozed_until_recovery:
        line += " (snoozed)"
    return line


def tooltip_text(snapshots: list[BridgeSnapshot], engine: EngineStatus | None = None, unseen: int = 0) -> str:
    """Return the tooltip: the overall state, then one line per bridge."""
    if not snapshots:
        return "Bridgewatch: no bridges configured"
    if engine is not None and engine.offline:
        lines = ["Bridgewatch: Offline: monitoring paused"]
    else:
        lines = [f"Bridgewatch: {worst_status(s.shown_status for s in snapshots).value}"]
    if engine is not None and (engine.paused_until or engine.paused_until_recovery):
        lines.append("Notifications paused")
    if unseen:
        lines.append(f"{unseen} unseen alert{'s' if unseen != 1 else ''}")
    lines += [_bridge_line(s) for s in snapshots]
    return "\n".join(lines)


def with_badge(icon: QIcon, size: int = 64) -> QIcon:
    """Return `icon` with a small blue dot in the top right corner: unseen alerts wait."""
    pixmap = icon.pixmap(size, size)
    if pixmap.isNull():
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    radius = size * 0.2
    center = QPointF(size - radius - 1, radius + 1)
    painter.setPen(QPen(QColor("#ffffff"), size * 0.05))
    painter.setBrush(QBrush(QColor("#1565c0")))
    painter.drawEllipse(center, radius, radius)
    painter.end()
    return QIcon(pixmap)


class TrayIcon(QObject):
    """Wrap QSystemTrayIcon; the owner keeps a reference, or Qt's icon vanishes."""

    open_requested = Signal(str)  # bridge id, or "" for the window as it is
    check_requested = Signal()
    quit_requested = Signal()
    pause_requested = Signal(str)  # a SNOOZE_CHOICES key, or "resume"
    alert_opened = Signal(int)  # inbox entry number

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._snapshots: dict[str, BridgeSnapshot] = {}
        self._bridge_actions: dict[str, QAction] = {}
        self._engine: EngineStatus | None = None  # None until the engine reports: online, not paused
        self._unseen: list[InboxEntry] = []
        self._status: BridgeStatus | None = BridgeStatus.UNKNOWN  # None: compute again on the next read
        self.badge = False

        self.menu = QMenu()
        self._refresh_pending = False
        self._config_problem = False
        self._config_action = QAction("Config file invalid: see the window", self.menu)
        self._config_action.setVisible(False)
        self._config_action.triggered.connect(self._on_open_clicked)
        self.menu.addAction(self._config_action)
        self._offline_action = QAction("Offline: monitoring paused", self.menu)
        self._offline_action.setEnabled(False)
        self._offline_action.setVisible(False)
        self.menu.addAction(self._offline_action)
        self._separator = self.menu.addSeparator()
        self._empty_action = QAction("No bridges configured", self.menu)
        self._empty_action.setEnabled(False)
        self.menu.insertAction(self._separator, self._empty_action)

        self.alerts_menu = self.menu.addMenu("Unseen alerts")
        self.check_action = self.menu.addAction("Check now")
        self.check_action.triggered.connect(self.check_requested)
        # WORKAROUND: dynamic entries carry their key in QAction.data() and are dispatched from
        # QMenu.triggered, instead of lambdas that take QAction.triggered's `checked` bool,
        # after a rare "bool_dealloc" abort on Quit with PySide6 6.12 (not reproduced since).
        self.pause_menu = self.menu.addMenu("Pause notifications")
        for label, key in SNOOZE_CHOICES:
            self.pause_menu.addAction(label).setData(key)
        self.pause_menu.addSeparator()
        self.resume_action = self.pause_menu.addAction("Resume notifications")
        self.resume_action.setData("resume")
        self.pause_menu.triggered.connect(self._on_pause_menu)
        self.alerts_menu.triggered.connect(self._on_alerts_menu)
        self.open_action = self.menu.addAction("Open Bridgewatch")
        self.open_action.triggered.connect(self._on_open_clicked)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("Quit")
        self.quit_action.triggered.connect(self.quit_requested)

        self.menu.triggered.connect(self._on_menu)

        self.icon = QSystemTrayIcon(app_icon())
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self._refresh()

    @property
    def tooltip(self) -> str:
        return self.icon.toolTip()

    @property
    def status(self) -> BridgeStatus:
        """The status that the icon shows: the worst confirmed one, or a warning or unknown state."""
        if self._status is None:
            self._status = self._compute_status()
        return self._status

    def _compute_status(self) -> BridgeStatus:
        if self._config_problem and not self._snapshots:
            return BridgeStatus.DEGRADED  # nothing is monitored: that is a warning, not calm
        if not self._snapshots or self._offline:
            return BridgeStatus.UNKNOWN  # no bridges, or monitoring paused so that no state is current
        return worst_status(s.shown_status for s in self._snapshots.values())

    @property
    def _offline(self) -> bool:
        return self._engine is not None and self._engine.offline

    def snapshots(self) -> list[BridgeSnapshot]:
        """Return the latest snapshot of each bridge, in the order of the bridge list."""
        return list(self._snapshots.values())

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def set_bridges(self, snapshots: list[BridgeSnapshot]) -> None:
        """Replace the listed bridges, for start-up and configuration changes."""
        for action in self._bridge_actions.values():
            self.menu.removeAction(action)
            action.deleteLater()
        self._bridge_actions.clear()
        self._snapshots.clear()
        for snapshot in snapshots:
            self.update_bridge(snapshot)
        self._refresh()

    def update_bridge(self, snapshot: BridgeSnapshot) -> None:
        action = self._bridge_actions.get(snapshot.id)
        if action is None:
            action = QAction(self.menu)
            action.setData(f"bridge:{snapshot.id}")
            self.menu.insertAction(self._separator, action)
            self._bridge_actions[snapshot.id] = action
        action.setText(_bridge_line(snapshot))
        action.setIcon(status_icon(snapshot.shown_status))
        action.setToolTip(snapshot.summary)
        self._snapshots[snapshot.id] = snapshot
        self._status = None  # computed on the next read: once per round instead of once per snapshot
        # A polling round delivers one snapshot per bridge: draw the icon and tooltip once per
        # event-loop turn instead of once per snapshot.
        if not self._refresh_pending:
            self._refresh_pending = True
            QTimer.singleShot(0, self._refresh)

    def set_config_problem(self, problem: bool) -> None:
        """Flag a config file that could not be read: monitoring may be running on old settings."""
        self._config_problem = problem
        self._refresh()

    def set_engine_status(self, status: EngineStatus) -> None:
        self._engine = status
        self._refresh()

    def set_unseen(self, entries: list[InboxEntry]) -> None:
        """Show the unseen alerts in the menu; the icon carries a badge while there are any."""
        self._unseen = entries
        self.alerts_menu.clear()
        for entry in entries[:MAX_MENU_ALERTS]:
            stamp = datetime.fromtimestamp(entry.alert.at).strftime("%H:%M")
            self.alerts_menu.addAction(f"{stamp}  {entry.alert.title}").setData(entry.number)
        if len(entries) > MAX_MENU_ALERTS:
            self.alerts_menu.addAction(f"{len(entries) - MAX_MENU_ALERTS} more in the window").setData(0)
        self.alerts_menu.setTitle(f"Unseen alerts ({len(entries)})" if entries else "Unseen alerts")
        self.alerts_menu.setEnabled(bool(entries))
        self._refresh()

    def _refresh(self) -> None:
        self._refresh_pending = False
        snapshots = list(self._snapshots.values())
        self._empty_action.setVisible(not snapshots)
        self._offline_action.setVisible(self._offline)
        self._config_action.setVisible(self._config_problem)
        engine = self._engine
        paused = engine is not None and bool(engine.paused_until or engine.paused_until_recovery)
        self.resume_action.setEnabled(paused)
        self.pause_menu.setTitle("Notifications paused" if paused else "Pause notifications")
        self._status = self._compute_status()
        icon = app_icon() if not snapshots and not self._config_problem else tray_status_icon(self._status)
        self.badge = bool(self._unseen)
        self.icon.setIcon(with_badge(icon) if self.badge else icon)
        tooltip = tooltip_text(snapshots, self._engine, len(self._unseen))
        if self._config_problem:
            tooltip = "Bridgewatch: the config file is invalid\n" + tooltip
        self.icon.setToolTip(tooltip)

    def _on_menu(self, action: QAction) -> None:
        data = action.data()
        if isinstance(data, str) and data.startswith("bridge:"):
            self.open_requested.emit(data.split(":", 1)[1])

    def _on_pause_menu(self, action: QAction) -> None:
        if isinstance(action.data(), str):
            self.pause_requested.emit(action.data())

    def _on_alerts_menu(self, action: QAction) -> None:
        number = action.data()
        if number:
            self.alert_opened.emit(int(number))
        else:
            self.open_requested.emit("")

    def _on_open_clicked(self) -> None:
        self.open_requested.emit("")

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_requested.emit("")
