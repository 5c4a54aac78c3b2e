"""The window's alert list: every recent alert, unseen ones in bold, until the user marks them seen."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from app.core.inbox import InboxEntry
from app.core.model import BridgeStatus
from app.gui.icons import status_icon

__all__ = ["AlertsPanel"]

_NUMBER_ROLE = Qt.ItemDataRole.UserRole


class AlertsPanel(QWidget):
    """List inbox entries; selecting one opens its bridge and marks it seen."""

    entry_opened = Signal(int)  # inbox entry number
    mark_all_seen = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        header = QHBoxLayout()
        self.heading = QLabel("Alerts")
        header.addWidget(self.heading, 1)
        self.mark_button = QPushButton("Mark all as seen")
        self.mark_button.setAccessibleName("Mark all alerts as seen")
        self.mark_button.clicked.connect(self.mark_all_seen)
        header.addWidget(self.mark_button)
        layout.addLayout(header)
        self.list = QListWidget()
        self.list.setAccessibleName("Recent alerts")
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemClicked.connect(self._on_activated)
        layout.addWidget(self.list)

    def set_entries(self, entries: list[InboxEntry]) -> None:
        self.list.clear()
        unseen = 0
        for entry in entries:
            alert = entry.alert
            stamp = datetime.fromtimestamp(alert.at).strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"{stamp}  {alert.title}\n{alert.body}")
            item.setData(_NUMBER_ROLE, entry.number)
            worst = max((b.status for b in alert.bridges), key=lambda s: s.severity, default=BridgeStatus.UNKNOWN)
            item.setIcon(status_icon(worst))
            if not entry.seen:
                unseen += 1
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
        self.heading.setText(f"Alerts: {unseen} unseen" if unseen else "Alerts")
        self.mark_button.setEnabled(unseen > 0)

    def _on_activated(self, item: QListWidgetItem) -> None:
        self.entry_opened.emit(item.data(_NUMBER_ROLE))
