"""The tray application: wires the engine worker to the tray icon, the window and the notifier."""

from __future__ import annotations

import atexit
import gc
import logging
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QFileSystemWatcher, QObject, QSocketNotifier, Qt, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app import __version__
from app.core.config import BridgeConfig, Config, ConfigError, load_config, save_config
from app.core.logs import setup_logging
from app.core.model import BridgeSnapshot
from app.core.paths import HOME_ENV, app_paths
from app.core.policy import Alert, AlertPolicy, PolicySettings, PolicySettingsError, tomorrow_at
from app.core.tokens import TokenStore
from app.gui.icons import app_icon
from app.gui.notifier import ACTION_SNOOZE, Notifier
from app.gui.single_instance import SingleInstance
from app.gui.tray import TrayIcon
from app.gui.worker import EngineWorker

# The window, its panels and the settings controller are imported and built when the window
# first opens, and the engine with httpx on the engine thread, so the tray shows without them.
if TYPE_CHECKING:
    from app.core.engine import EngineStatus
    from app.gui.settings import SetupController
    from app.gui.window import DetailWindow

__all__ = ["TrayApp", "run_gui", "snooze_until"]

log = logging.getLogger(__name__)


class TrayApp(QObject):
    """Own the tray icon, the window, the notifier and the engine worker.

    The window, with its alert panel and SetupController, is built on the first access to
    `window` or `setup`: when it opens, or at once where the start shows it. Its History tab
    follows when a bridge is first selected. Until then the tray keeps the latest snapshot of
    each bridge and `set_notice` keeps the notices, and both go into the window when it is built.
    """

    def __init__(
        self,
        bridges: list[BridgeConfig],
        tokens: TokenStore,
        *,
        prober_factory=None,
        tray_available: bool | None = None,
        policy_settings: PolicySettings | None = None,
        state_file: Path | None = None,
        notifier_backends=None,
    ) -> None:
        """`prober_factory` defaults to app.core.probe.Prober, called on the engine thread."""
        super().__init__()
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray_available = tray_available
        self.bridges = list(bridges)
        self._tokens = tokens
        settings = policy_settings or PolicySettings()
        self._window: DetailWindow | None = None
        self._setup: SetupController | None = None
        self._notices: dict[str, str] = {}  # for the window, until it is built

        self.tray = TrayIcon(self)
        self.notifier = Notifier(self.tray.icon, self, backends=notifier_backends)
        self.worker = EngineWorker(
            self.bridges,
            tokens,
            prober_factory=prober_factory,
            policy_factory=lambda: AlertPolicy(settings),
            state_file=state_file,
        )

        initial = [BridgeSnapshot(id=b.id, name=b.name, url=b.url, probe=b.probe) for b in self.bridges]
        self.tray.set_bridges(initial)

        self.worker.snapshots_changed.connect(self._on_snapshots)
        self.worker.notification.connect(self.notifier.notify)
        self.worker.engine_status.connect(self._on_engine_status)
        self.notifier.inbox_changed.connect(self._on_inbox_changed)
        self.notifier.action_invoked.connect(self._on_notification_action)
        self.tray.open_requested.connect(self.open_window)
        self.tray.check_requested.connect(lambda: self.worker.check_now(None))
        self.tray.quit_requested.connect(self.quit)
        self.tray.pause_requested.connect(self._on_pause_requested)
        self.tray.alert_opened.connect(self.open_alert)
        self._network = None
        if not tray_available:
            self.set_notice(
                "tray",
                "No system tray was found on this desktop, so Bridgewatch runs as a normal window: "
                "closing it quits. On GNOME, install the AppIndicator extension to get a tray icon.",
            )
            # With no tray the window is the app: build it now, and look for a tray that may appear.
            self.setup.watch_for_tray()

    @property
    def window(self) -> DetailWindow:
        """The detail window, built on first access."""
        if self._window is None:
            self._build_window()
        return self._window

    @property
    def setup(self) -> SetupController:
        """Bridge management, settings and the first-run actions of the window, built with the window."""
        if self._setup is None:
            self._build_window()
        return self._setup

    def _build_window(self) -> None:
        from app.gui.settings import SetupController
        from app.gui.window import DetailWindow

        window = DetailWindow(keep_running_in_tray=self.tray_available)
        self._window = window
        self._add_alert_controls()
        self._add_history_view()
        window.set_bridges(self.tray.snapshots())
        window.check_requested.connect(self.worker.check_now)
        for key, text in self._notices.items():
            window.set_notice(key, text)
        self._setup = SetupController(self, self._tokens)

    def set_notice(self, key: str, text: str) -> None:
        """Show `text` in the window's banner under `key`, or remove that notice when `text` is empty."""
        if self._window is not None:
            self._window.set_notice(key, text)
            return
        if text:
            self._notices[key] = text
        else:
            self._notices.pop(key, None)

    def _add_history_view(self) -> None:
        """Prepare the History tab, which is built when a bridge is first selected.

        With no bridges (the first-run page) the tab is never shown, so its widgets, SQLite and
        the history module stay unloaded until the first bridge is added.
        """
        self.history_view = None
        self.window.bridge_list.currentItemChanged.connect(lambda *_: self._show_history())
        self.window.diagnostics_requested.connect(self.copy_diagnostics)

    def _history_view(self):
        """Return the History tab, building it on first use; it reads the history on its own connection."""
        if self.history_view is None:
            from app.core.history import HISTORY_FILE
            from app.gui.history_view import HistoryView

            self.history_view = HistoryView(app_paths().data_dir / HISTORY_FILE)
            self.window.add_detail_tab(self.history_view, "History")
        return self.history_view

    def copy_diagnostics(self, bridge_id: str, masked: bool) -> str:
        """Put the diagnostics report of a bridge on the clipboard and return it."""
        from app.core.history import HISTORY_FILE
        from app.core.support import build_report

        paths = app_paths()
        try:
            bridge = load_config(paths.config_file).find(bridge_id)
        except ConfigError:
            bridge = None
        if bridge is None:  # the config is unreadable or changed: describe the bridge as the window shows it
            snapshot = self.window.snapshots().get(bridge_id)
            if snapshot is None:
                return ""
            bridge = BridgeConfig(id=snapshot.id, name=snapshot.name, url=snapshot.url, probe=snapshot.probe)
        report = build_report(bridge, history_file=paths.data_dir / HISTORY_FILE, log_file=paths.log_file,
                              mask=masked)
        QApplication.clipboard().setText(report)
        masked_note = " with host names and addresses masked" if masked else ""
        self.window.statusBar().showMessage(
            f"Diagnostics for {bridge.name} copied{masked_note}. They contain no token.", 8000
        )
        log.info("Copied diagnostics for bridge %s%s", bridge.id, masked_note)
        return report

    def _show_history(self) -> None:
        bridge_id = self.window.selected_id()
        if bridge_id is None and self.history_view is None:
            return
        snapshot = self.window.snapshots().get(bridge_id or "")
        self._history_view().show_bridge(bridge_id, snapshot.name if snapshot else "")

    def _add_alert_controls(self) -> None:
        """Add the snooze toolbar and the alert list to the window."""
        from PySide6.QtWidgets import QDockWidget, QMenu, QToolBar, QToolButton, QWidget

        from app.gui.alerts_panel import AlertsPanel
        from app.gui.tray import SNOOZE_CHOICES

        toolbar = QToolBar("Alerts", self.window)
        toolbar.setObjectName("alerts-toolbar")
        toolbar.setMovable(False)
        self.snooze_button = QToolButton(toolbar)
        self.snooze_button.setText("Snooze bridge")
        self.snooze_button.setAccessibleName("Snooze notifications for the selected bridge")
        self.snooze_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        snooze_menu = QMenu(self.snooze_button)
        for label, key in SNOOZE_CHOICES:
            action = snooze_menu.addAction(label)
            action.triggered.connect(lambda checked=False, key=key: self._snooze_selected(key))
        snooze_menu.addSeparator()
        snooze_menu.addAction("Cancel snooze").triggered.connect(lambda: self._snooze_selected("cancel"))
        self.snooze_button.setMenu(snooze_menu)
        self.snooze_button.setEnabled(False)
        self.window.bridge_list.currentItemChanged.connect(
            lambda *_: self.snooze_button.setEnabled(self.window.selected_id() is not None)
        )
        toolbar.addWidget(self.snooze_button)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

        self.alerts_panel = AlertsPanel()
        self.alerts_panel.entry_opened.connect(self.open_alert)
        self.alerts_panel.mark_all_seen.connect(lambda: self.notifier.mark_seen(None))
        dock = QDockWidget("Alerts", self.window)
        dock.setObjectName("alerts-dock")
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        dock.setTitleBarWidget(QWidget())  # the panel has its own heading
        dock.setWidget(self.alerts_panel)
        self.window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.window.resizeDocks([dock], [170], Qt.Orientation.Vertical)
        if self.window.height() < 720:
            self.window.resize(self.window.width(), 720)
        self.alerts_panel.set_entries(self.notifier.inbox.entries)

    def start(self, *, show_window: bool) -> None:
        if self.tray_available:
            self.tray.show()
        if show_window or not self.tray_available:
            self.open_window("")
        self.worker.start()
        self._watch_network()

    def _watch_network(self) -> None:
        """Forward the operating system's reachability reports to the engine, where Qt has a backend."""
        from PySide6.QtNetwork import QNetworkInformation

        if not QNetworkInformation.loadDefaultBackend():
            log.info("No network information backend: offline detection relies on the reference check")
            return
        self._network = QNetworkInformation.instance()
        if not self._network.supports(QNetworkInformation.Feature.Reachability):
            return
        self._network.reachabilityChanged.connect(self._on_reachability)

    def _on_reachability(self, reachability) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        # "Local" means a link without internet, which may still reach an internal bridge.
        offline = reachability == QNetworkInformation.Reachability.Disconnected
        self.worker.set_network_available(not offline)

    def _on_snapshots(self, snapshots: list[BridgeSnapshot]) -> None:
        """Apply one loop turn of engine snapshots; only the latest of each bridge is drawn."""
        latest = {snapshot.id: snapshot for snapshot in snapshots}
        for snapshot in latest.values():
            self.tray.update_bridge(snapshot)
            if self._window is not None:
                self._window.update_bridge(snapshot)

    def _on_engine_status(self, status: EngineStatus) -> None:
        self.tray.set_engine_status(status)
        offline_text = ""
        if status.offline:
            offline_text = "Offline: monitoring paused. Bridgewatch checks again 30 s after the network returns."
        self.set_notice("offline", offline_text)

    def watch_config(self, path: Path) -> None:
        """Apply edits of the config file made outside the app, such as `bridgewatch add` or a text editor."""
        self._config_path = path
        self._config_watcher = QFileSystemWatcher(self)
        self._config_timer = QTimer(self)
        self._config_timer.setSingleShot(True)
        self._config_timer.setInterval(500)  # an editor may write a file in several steps
        self._config_timer.timeout.connect(self._reload_config_from_disk)
        self._config_watcher.directoryChanged.connect(self._config_timer.start)
        self._config_watcher.fileChanged.connect(self._config_timer.start)
        self._watch_config_paths()

    def _watch_config_paths(self) -> None:
        # An atomic save replaces the file, which drops it from the watcher: add it back each time.
        path = self._config_path
        if path.parent.is_dir() and str(path.parent) not in self._config_watcher.directories():
            self._config_watcher.addPath(str(path.parent))
        if path.is_file() and str(path) not in self._config_watcher.files():
            self._config_watcher.addPath(str(path))

    def _reload_config_from_disk(self) -> None:
        self._watch_config_paths()
        # The folder also contains alert-state.json, which the engine rewrites after many polls:
        # parse the config only when the file itself changed.
        try:
            stat = self._config_path.stat()
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            signature = None
        if signature == getattr(self, "_config_signature", ()):
            return
        self._config_signature = signature
        try:
            config = load_config(self._config_path)
        except ConfigError as exc:
            log.error("%s", exc)
            self.set_notice("config", f"{exc} Monitoring goes on with the bridges as they were.")
            self.tray.set_config_problem(True)
            return
        self.set_notice("config", "")
        self.set_notice("config-warnings", "\n".join(config.warnings))
        self.tray.set_config_problem(False)
        if config.bridges != self.bridges:
            log.info("The config file changed on disk: %d bridges", len(config.bridges))
            self.setup.apply_config()

    def _on_inbox_changed(self) -> None:
        self.tray.set_unseen(self.notifier.inbox.unseen)
        if self._window is not None:
            self.alerts_panel.set_entries(self.notifier.inbox.entries)

    def _on_notification_action(self, action: str, alert: Alert) -> None:
        if action == ACTION_SNOOZE:
            until = time.time() + 3600
            for bridge in alert.bridges:
                self.worker.snooze(bridge.id, until)
            return
        entry = next((e for e in self.notifier.inbox.entries if e.alert is alert), None)
        if entry is not None:
            self.open_alert(entry.number)
        elif alert.bridges:
            self.open_window(alert.bridges[0].id)

    def open_alert(self, number: int) -> None:
        """Open the window on an alert's first bridge and mark the alert seen: a user action only."""
        entry = next((e for e in self.notifier.inbox.entries if e.number == number), None)
        self.notifier.mark_seen(number)
        self.open_window(entry.alert.bridges[0].id if entry and entry.alert.bridges else "")

    def _snooze_selected(self, key: str) -> None:
        bridge_id = self.window.selected_id()
        if not bridge_id:
            return
        if key == "cancel":
            self.worker.snooze(bridge_id, time.time())
        else:
            self.worker.snooze(bridge_id, snooze_until(key, time.time()))

    def _on_pause_requested(self, key: str) -> None:
        if key == "resume":
            self.worker.resume()
        else:
            self.worker.pause(snooze_until(key, time.time()))

    def open_window(self, bridge_id: str = "") -> None:
        if bridge_id:
            self.window.select_bridge(bridge_id)
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    def quit(self) -> None:
        """Stop the engine (hanging polls included) and leave the event loop."""
        self.worker.stop(timeout=1.0)
        self.notifier.close()
        if self._window is not None and self.history_view is not None:
            self.history_view.close_reader()
        self.tray.hide()
        QApplication.quit()


class _SignalWakeup:
    """Deliver SIGINT and SIGTERM to `handler` on the Qt event loop, with no polling timer."""

    def __init__(self, handler) -> None:
        self._reader, writer = socket.socketpair()
        self._reader.setblocking(False)
        writer.setblocking(False)
        self._writer = writer
        signal.set_wakeup_fd(writer.fileno())
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: None)  # the wakeup byte does the work
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._on_signal)
        self._handler = handler

    def _on_signal(self) -> None:
        try:
            self._reader.recv(64)
        except BlockingIOError:
            return
        self._handler()


def snooze_until(key: str, now: float) -> float | None:
    """Return the end of a snooze choice in epoch seconds; None means "until it recovers"."""
    if key == "1h":
        return now + 3600
    if key == "4h":
        return now + 4 * 3600
    if key == "tomorrow":
        return tomorrow_at(now, 9)
    if key == "recovery":
        return None
    raise ValueError(f"Unknown snooze choice {key!r}")


def _demo_setup() -> tuple[list[BridgeConfig], TokenStore, object, str]:
    """Start the demo bridges in a temporary profile with an in-memory keyring."""
    from app.core.demo import Demo

    import tempfile

    from app.core.memory_keyring import MemoryKeyring

    profile = tempfile.mkdtemp(prefix="bridgewatch-demo-")
    # run_gui removes the profile when the demo stops. These cover an exit during start-up:
    # SIGTERM ends the process through SystemExit (until the app installs its own handler),
    # and the exit handler removes the profile.
    atexit.register(shutil.rmtree, profile, True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
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
    config_warnings: list[str] = []
    policy_settings = PolicySettings()
    if demo:
        from app.core.demo import DEMO_POLICY

        bridges, store, demo_handle, profile = _demo_setup()
        policy_settings = DEMO_POLICY
    else:
        store = TokenStore()
        try:
            config = load_config(app_paths().config_file)
            bridges = config.bridges
            config_warnings = config.warnings
            policy_settings = PolicySettings.from_dict(config.extra.get("alerts", {}))
        except (ConfigError, PolicySettingsError) as exc:
            bridges, config_error = [], f"{exc}"
            if isinstance(exc, PolicySettingsError):
                config_error = f"The [alerts] table in {app_paths().config_file} is invalid: {exc} Fix it and restart."
            print(f"bridgewatch: {config_error}", file=sys.stderr)
    paths = app_paths()
    setup_logging(paths.log_file, verbose=verbose, console=verbose)
    log.info("Bridgewatch %s starting with %d bridges%s", __version__, len(bridges), " (demo)" if demo else "")
    if config_error:
        log.error("%s", config_error)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Bridgewatch")
    app.setApplicationDisplayName("Bridgewatch")
    app.setApplicationVersion(__version__)
    # Matches the installed menu entry, so Wayland desktops show its name and icon for the window.
    app.setDesktopFileName("io.github.bridgewatch.Bridgewatch")
    app.setWindowIcon(app_icon())

    instance = SingleInstance(paths.data_dir, paths.config_dir)
    if not instance.claim():
        print("Bridgewatch is already running: its window was brought forward.")
        log.info("Another Bridgewatch runs with this profile; asked it to show its window and exited")
        if demo_handle is not None:
            demo_handle.stop()
            _remove_demo_profile(profile)
        return 0

    tray_app = TrayApp(
        bridges, store, policy_settings=policy_settings, state_file=paths.config_dir / "alert-state.json"
    )
    # Closing the window must not end a tray app; with no tray the window is the app.
    app.setQuitOnLastWindowClosed(not tray_app.tray_available)
    if config_error:
        tray_app.set_notice("config", config_error)
        tray_app.tray.set_config_problem(True)
    tray_app.set_notice("config-warnings", "\n".join(config_warnings))
    if not demo:
        tray_app.watch_config(paths.config_file)
    if demo:
        tray_app.window.setWindowTitle(f"Bridgewatch demo (temporary profile {profile})")
    instance.activated.connect(lambda: tray_app.open_window(""))

    # Ctrl+C or SIGTERM quits cleanly. Python runs signal handlers only between bytecodes, so
    # the signal also writes to a socket that Qt watches, which wakes the event loop at once
    # without a polling timer.
    wakeup = _SignalWakeup(tray_app.quit)

    tray_app.start(show_window=demo or not bridges or bool(config_error))
    # A full collection of Python's cyclic garbage collector scans every tracked object while it
    # holds the GIL, so it stalls the GUI thread even when the engine thread runs it. With 200
    # bridges such a collection took 55 to 110 ms (gc.callbacks timings in the stall benchmark's
    # app, on the 2-core benchmark machine). Objects alive now (modules, classes, widgets) stay
    # until exit, so gc.freeze() leaves them out of every later collection. The engine thread
    # does the same once its own imports are done.
    gc.freeze()
    # While the engine thread runs Python code, the GUI thread waits for the GIL before each
    # Python slot for up to the switch interval (5 ms by default), once per slot. 1 ms keeps a
    # burst of engine work, such as many polls timing out together, from delaying the GUI as much.
    sys.setswitchinterval(0.001)
    try:
        code = app.exec()
    finally:
        signal.set_wakeup_fd(-1)
        del wakeup
        tray_app.worker.stop(timeout=1.0)
        tray_app.notifier.close()
        instance.release()
        if demo_handle is not None:
            demo_handle.stop()
        log.info("Bridgewatch stopped")
        if demo:
            _remove_demo_profile(profile)
    return code


def _remove_demo_profile(profile: str) -> None:
    """Delete the demo's temporary profile (config, history, log) once the demo has stopped."""
    setup_logging(None)  # closes the log file, which lives in the profile
    shutil.rmtree(profile, ignore_errors=True)
