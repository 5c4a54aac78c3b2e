"""Notification delivery: native notifications first, then tray messages, then the log.

Every alert also goes to the unseen-alerts inbox, so one hidden by Do Not Disturb or
Focus Assist is not lost. Nothing here opens a window or takes focus on its own.
"""

from __future__ import annotations

import logging
import threading
from importlib.resources import as_file
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from app.core.inbox import AlertInbox
from app.core.policy import Alert
from app.gui.icons import icon_file

__all__ = ["Notifier", "NativeBackend", "TrayMessageBackend", "LogBackend", "BackendUnavailable"]

log = logging.getLogger(__name__)

ACTION_OPEN = "open-details"
ACTION_SNOOZE = "snooze-1h"
DISPLAY_MS = 10_000
_PROBE_TIMEOUT = 3.0  # seconds to wait for the notification service to respond at start-up


class BackendUnavailable(Exception):
    """This way of showing notifications does not work on this desktop."""


class _ActionRelay(QObject):
    """Carry notification clicks from the notifier's thread to the GUI thread."""

    invoked = Signal(str, object)  # action, Alert


class NativeBackend:
    """The platform's notification service through desktop-notifier, on its own asyncio thread.

    On Linux that is org.freedesktop.Notifications over D-Bus; on macOS and Windows the
    user notification center and toast notifications (those need the packaged app).
    """

    name = "native"

    def __init__(self, relay: _ActionRelay) -> None:
        try:
            from desktop_notifier import Capability, DesktopNotifier, Icon
        except ImportError as exc:
            raise BackendUnavailable(f"desktop-notifier is not installed ({exc})") from None
        import asyncio  # here, so that the tray starts without asyncio until the first notification

        self._relay = relay
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="notifier", daemon=True)
        self._thread.start()
        with as_file(icon_file("app")) as path:
            self._icon_path = Path(path)
        self._notifier = DesktopNotifier(app_name="Bridgewatch", app_icon=Icon(path=self._icon_path))
        try:
            # get_capabilities() raises without a notification service, so it is the availability probe.
            capabilities = self._run(self._notifier.get_capabilities(), _PROBE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 (D-Bus and platform errors vary by backend)
            self.close()
            raise BackendUnavailable(f"no notification service responded ({type(exc).__name__}: {exc})") from None
        self.supports_buttons = Capability.BUTTONS in capabilities
        self.supports_click = Capability.ON_CLICKED in capabilities

    def _run(self, coroutine, timeout: float):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def send(self, alert: Alert) -> None:
        import asyncio

        from desktop_notifier import Button, Urgency

        urgency = {"info": Urgency.Low, "warning": Urgency.Normal, "critical": Urgency.Critical}[alert.severity]
        buttons = []
        if self.supports_buttons:
            buttons.append(Button("Open details", on_pressed=lambda: self._relay.invoked.emit(ACTION_OPEN, alert),
                                  identifier=ACTION_OPEN))
            if alert.kind.value != "recovery":
                buttons.append(Button("Snooze 1 hour", on_pressed=lambda: self._relay.invoked.emit(ACTION_SNOOZE, alert),
                                      identifier=ACTION_SNOOZE))
        on_clicked = (lambda: self._relay.invoked.emit(ACTION_OPEN, alert)) if self.supports_click else None
        # send() only logs its own failures, so a lost notification still reaches the inbox.
        asyncio.run_coroutine_threadsafe(
            self._notifier.send(alert.title, alert.body, urgency=urgency, buttons=buttons, on_clicked=on_clicked),
            self._loop,
        )

    def close(self) -> None:
        if self._loop.is_closed():
            return

        async def disconnect() -> None:
            # NOTE: desktop-notifier 6.2 has no public close; its D-Bus backend keeps the bus in `.bus`.
            bus = getattr(getattr(self._notifier, "_backend", None), "bus", None)
            if bus is not None and bus.connected:
                bus.disconnect()
                await bus.wait_for_disconnect()

        try:
            self._run(disconnect(), 2.0)
        except Exception as exc:  # noqa: BLE001 (closing must never fail the app's exit)
            log.debug("Closing the notification bus failed: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(1.0)
        if not self._thread.is_alive():
            self._loop.close()


class TrayMessageBackend:
    """Qt's tray balloon: shown only where a system tray exists."""

    name = "tray"

    def __init__(self, tray: QSystemTrayIcon, relay: _ActionRelay) -> None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            raise BackendUnavailable("no system tray")
        self._tray = tray
        self._relay = relay
        self._last: Alert | None = None
        tray.messageClicked.connect(self._on_clicked)

    def _on_clicked(self) -> None:
        if self._last is not None:
            self._relay.invoked.emit(ACTION_OPEN, self._last)

    def send(self, alert: Alert) -> None:
        icons = {
            "info": QSystemTrayIcon.MessageIcon.Information,
            "warning": QSystemTrayIcon.MessageIcon.Warning,
            "critical": QSystemTrayIcon.MessageIcon.Critical,
        }
        self._last = alert
        self._tray.showMessage(alert.title, alert.body, icons[alert.severity], DISPLAY_MS)

    def close(self) -> None:
        pass


class LogBackend:
    """The last resort: the log file, plus the inbox every alert reaches anyway."""

    name = "log"

    def send(self, alert: Alert) -> None:
        log.warning("Alert not shown on the desktop (no notification service): %s", alert.title)

    def close(self) -> None:
        pass


class Notifier(QObject):
    """Walk the backends in order until one works; record every alert in the inbox."""

    shown = Signal(object)  # Alert, after it was handed to a backend
    inbox_changed = Signal()
    action_invoked = Signal(str, object)  # ACTION_OPEN or ACTION_SNOOZE, Alert

    def __init__(self, tray: QSystemTrayIcon, parent: QObject | None = None, *, backends=None) -> None:
        super().__init__(parent)
        self.inbox = AlertInbox()
        self.history: list[Alert] = []
        self._relay = _ActionRelay(self)
        self._relay.invoked.connect(self.action_invoked)
        if backends is None:
            backends = [
                lambda: NativeBackend(self._relay),
                lambda: TrayMessageBackend(tray, self._relay),
                LogBackend,
            ]
        self._factories = list(backends)
        self._backend = None

    @property
    def backend_name(self) -> str:
        return self._backend.name if self._backend else "not chosen yet"

    def _choose_backend(self):
        while self._backend is None and self._factories:
            factory = self._factories.pop(0)
            try:
                self._backend = factory()
            except BackendUnavailable as exc:
                log.info("Notification backend unavailable: %s", exc)
        if self._backend is None:
            self._backend = LogBackend()
        log.info("Notifications go to the %s backend", self._backend.name)
        return self._backend

    def notify(self, alert: Alert) -> None:
        self.history.append(alert)
        self.inbox.add(alert)
        self.inbox_changed.emit()
        ids = ", ".join(bridge.id for bridge in alert.bridges)
        log.info("Notification %s for bridges %s: %s", alert.kind.value, ids, alert.title)
        backend = self._backend or self._choose_backend()
        try:
            backend.send(alert)
        except Exception:  # noqa: BLE001 (a broken backend must not lose the alert)
            log.exception("The %s notification backend failed; trying the next one", backend.name)
            backend.close()
            self._backend = None
            self._choose_backend().send(alert)
        self.shown.emit(alert)

    def mark_seen(self, number: int | None = None) -> None:
        self.inbox.mark_seen(number)
        self.inbox_changed.emit()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
