"""The tray application: wires the engine worker to the tray icon, the window and the notifier."""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app import __version__
from app.core.config import BridgeConfig, ConfigError, load_config, save_config, Config
from app.core.logs import setup_logging
from app.core.model import BridgeSnapshot
from app.core.paths import HOME_ENV, app_paths
from app.core.probe import Prober
from app.core.tokens import MemoryKeyring, TokenStore
from app.gui.icons import app_icon
from app.gui.notifier import Notifier
from app.gui.tray import TrayIcon
from app.gui.window import DetailWindow
from app.gui.worker import EngineWorker

__all__ = ["TrayApp", "run_gui"]

log = logging.getLogger(__name__)


class TrayApp(QObject):
    """Own the tray icon, the window, the notifier and the engine worker."""

    def __init__(
        self,
        bridges: list[BridgeConfig],
        tokens: TokenStore,
        *,
        prober_factory=Prober,
        tray_available: bool | None = None,
    ) -> None:
        super().__init__()
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray_available = tray_available
        self.bridges = list(bridges)

        self.tray = TrayIcon(self)
        self.window = DetailWindow(keep_running_in_tray=tray_available)
        self.notifier = Notifier(self.tray.icon, self)
        self.worker = EngineWorker(self.bridges, tokens, prober_factory=prober_factory)

        initial = [BridgeSnapshot(id=b.id, name=b.name, url=b.url, probe=b.probe) for b in self.bridges]
        self.tray.set_bridges(initial)
        self.window.set_bridges(initial)

        self.worker.snapshot_changed.connect(self._on_snapshot)
        self.worker.notification.connect(self.notifier.notify)
        self.tray.open_requested.connect(self.open_window)
        self.tray.check_requested.connect(lambda: self.worker.check_now(None))
        self.tray.quit_requested.connect(self.quit)
        self.window.check_requested.connect(self.worker.check_now)
        self.notifier.clicked.connect(lambda: self.open_window(""))
        if not tray_available:
            self.window.show_banner(
                "No system tray was found on this desktop, so Bridgewatch runs as a normal window: "
                "closing it quits. On GNOME, install the AppIndicator extension to get a tray icon."
            )

    def start(self, *, show_window: bool) -> None:
        if self.tray_available:
            self.tray.show()
        if show_window or not self.tray_available:
            self.open_window("")
        self.worker.start()

    def _on_snapshot(self, snapshot: BridgeSnapshot) -> None:
        self.tray.update_bridge(snapshot)
        self.window.update_bridge(snapshot)

    def open_window(self, bridge_id: str = "") -> None:
        if bridge_id:
            self.window.select_bridge(bridge_id)
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    def quit(self) -> None:
        """Stop the engine (hanging polls included) and leave the event loop."""
        self.worker.stop(timeout=1.0)
        self.tray.hide()
        QApplication.quit()


def _demo_setup() -> tuple[list[BridgeConfig], TokenStore, object, str]:
    """Start the demo bridges in a temporary profile with an in-memory keyring."""
    from app.core.demo import Demo

    profile = tempfile.mkdtemp(prefix="bridgewatch-demo-")
    os.environ[HOME_ENV] = profile  # the demo never touches the user's own config, logs or keychain
    demo = Demo()
    store = TokenStore(MemoryKeyring())
    bridges = []
    for config, token in demo.start():
        store.set(config.id, token)
        bridges.append(config)
    save_config(app_paths().config_file, Config(bridges=bridges))
    return bridges, store, demo, profile


def run_gui(*, demo: bool = False, verbose: bool = False) -> int:
    """Start the tray app on the user's config, or on the demo bridges; return the exit code."""
    demo_handle = None
    config_error = ""
    if demo:
        bridges, store, demo_handle, profile = _demo_setup()
    else:
        store = TokenStore()
        try:
            bridges = load_config(app_paths().config_file).bridges
        except ConfigError as exc:
            bridges, config_error = [], str(exc)
            print(f"bridgewatch: {exc}", file=sys.stderr)
    paths = app_paths()
    setup_logging(paths.log_file, verbose=verbose, console=verbose)
    log.info("Bridgewatch %s starting with %d bridges%s", __version__, len(bridges), " (demo)" if demo else "")
    if config_error:
        log.error("%s", config_error)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Bridgewatch")
    app.setApplicationDisplayName("Bridgewatch")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())

    tray_app = TrayApp(bridges, store)
    # Closing the window must not end a tray app; with no tray the window is the app.
    app.setQuitOnLastWindowClosed(not tray_app.tray_available)
    if config_error:
        tray_app.window.show_banner(config_error)
    if demo:
        tray_app.window.setWindowTitle(f"Bridgewatch demo (temporary profile {profile})")

    # Ctrl+C in the terminal quits cleanly: Python handles signals only while it runs code.
    signal.signal(signal.SIGINT, lambda *_: tray_app.quit())
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(500)

    tray_app.start(show_window=demo or not bridges or bool(config_error))
    try:
        code = app.exec()
    finally:
        tray_app.worker.stop(timeout=1.0)
        if demo_handle is not None:
            demo_handle.stop()
        log.info("Bridgewatch stopped")
    return code
