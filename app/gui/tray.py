"""The tray icon: the worst status at a glance, a tooltip line per bridge, and the tray menu."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.core.model import BridgeSnapshot, BridgeStatus, worst_status
from app.gui.icons import app_icon, status_icon

__all__ = ["TrayIcon", "tooltip_text"]


def tooltip_text(snapshots: list[BridgeSnapshot]) -> str:
    """Return the tooltip: the overall status, then one line per bridge."""
    if not snapshots:
        return "Bridgewatch: no bridges configured"
    overall = worst_status(s.status for s in snapshots)
    lines = [f"Bridgewatch: {overall.value}"]
    lines += [f"{s.name}: {s.status.value}" for s in snapshots]
    return "\n".join(lines)


class TrayIcon(QObject):
    """Wrap QSystemTrayIcon; the owner keeps a reference, or Qt's icon vanishes."""

    open_requested = Signal(str)  # bridge id, or "" for the window as it is
    check_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._snapshots: dict[str, BridgeSnapshot] = {}
        self._bridge_actions: dict[str, QAction] = {}
        self.status = BridgeStatus.UNKNOWN

        self.menu = QMenu()
        self._separator = self.menu.addSeparator()
        self._empty_action = QAction("No bridges configured", self.menu)
        self._empty_action.setEnabled(False)
        self.menu.insertAction(self._separator, self._empty_action)
        self.check_action = self.menu.addAction("Check now")
        self.check_action.triggered.connect(self.check_requested)
        self.open_action = self.menu.addAction("Open Bridgewatch")
        self.open_action.triggered.connect(lambda: self.open_requested.emit(""))
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("Quit")
        self.quit_action.triggered.connect(self.quit_requested)

        self.icon = QSystemTrayIcon(app_icon())
        self.icon.setContextMenu(self.menu)
        self.icon.setToolTip(tooltip_text([]))
        self.icon.activated.connect(self._on_activated)

    @property
    def tooltip(self) -> str:
        return self.icon.toolTip()

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
            bridge_id = snapshot.id
            action.triggered.connect(lambda checked=False, bridge_id=bridge_id: self.open_requested.emit(bridge_id))
            self.menu.insertAction(self._separator, action)
            self._bridge_actions[snapshot.id] = action
        action.setText(f"{snapshot.name}: {snapshot.status.value}")
        action.setIcon(status_icon(snapshot.status))
        action.setToolTip(snapshot.summary)
        self._snapshots[snapshot.id] = snapshot
        self._refresh()

    def _refresh(self) -> None:
        snapshots = list(self._snapshots.values())
        self._empty_action.setVisible(not snapshots)
        self.status = worst_status(s.status for s in snapshots) if snapshots else BridgeStatus.UNKNOWN
        self.icon.setIcon(status_icon(self.status) if snapshots else app_icon())
        self.icon.setToolTip(tooltip_text(snapshots))

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_requested.emit("")
