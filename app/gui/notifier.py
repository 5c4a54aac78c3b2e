"""Delivers the core's notifications to the desktop through the tray icon."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from app.core.alerts import Notification, Severity

__all__ = ["Notifier"]

log = logging.getLogger(__name__)

_ICONS = {
    Severity.INFO: QSystemTrayIcon.MessageIcon.Information,
    Severity.WARNING: QSystemTrayIcon.MessageIcon.Warning,
    Severity.CRITICAL: QSystemTrayIcon.MessageIcon.Critical,
}
DISPLAY_MS = 10_000


class Notifier(QObject):
    """Show notifications with QSystemTrayIcon.showMessage and keep a record of them.

    NOTE: showMessage shows nothing when no system tray is available (plain X11, GNOME
    without the AppIndicator extension). There, notifications reach only the log and the
    `shown` signal until native notifications replace this path.
    """

    shown = Signal(object)  # Notification, after it was handed to the desktop
    clicked = Signal()

    def __init__(self, tray: QSystemTrayIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray = tray
        self.history: list[Notification] = []
        tray.messageClicked.connect(self.clicked)

    def notify(self, notification: Notification) -> None:
        self.history.append(notification)
        log.info(
            "Notification for bridge %s (%s): %s",
            notification.bridge_id,
            notification.severity.value,
            notification.title,
        )
        if QSystemTrayIcon.isSystemTrayAvailable() and self._tray.isVisible():
            self._tray.showMessage(notification.title, notification.body, _ICONS[notification.severity], DISPLAY_MS)
        else:
            log.info("No system tray to show the notification on; it is kept in the log only")
        self.shown.emit(notification)
