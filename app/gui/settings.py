"""The settings UI: the settings dialog, and the controller behind the window's bridge and settings actions."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QMessageBox,
    QSpinBox,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from app.core.autostart import Autostart, AutostartError, autostart_for_platform, launch_command
from app.core.config import MAX_INTERVAL, MIN_INTERVAL, ConfigError, load_config, save_config
from app.core.model import BridgeSnapshot, ErrorKind
from app.core.paths import AppPaths, app_paths
from app.core.policy import PolicySettings, PolicySettingsError
from app.core.timefmt import format_duration
from app.core.tokens import TokenStore, TokenUnavailable

__all__ = ["SettingsDialog", "SetupController"]

log = logging.getLogger(__name__)

_NOTE_STYLE = "color: palette(placeholder-text);"
_FILE_FILTER = "Bridge lists (*.toml);;All files (*)"
NOTIFICATION_CHOICES = (
    ("notify_unhealthy", "Notify when a bridge is unhealthy"),
    ("notify_degraded", "Notify when a bridge is degraded (a component stopped reporting)"),
    ("notify_unreachable", "Notify when a bridge is unreachable"),
    ("notify_unauthorized", "Notify when a bridge rejects its token"),
    ("notify_recovery", "Notify when a bridge recovers"),
    ("notify_reminders", "Remind me while a problem lasts"),
    ("remind_degraded", "Remind me of degraded bridges too"),
)
TRAY_RECHECK_MS = 5000
TRAY_RECHECKS = 24  # so two minutes in all


class SettingsDialog(QDialog):
    """Edit the `[defaults]` table of the config and the start-at-login entry.

    Save re-reads the config file and changes only the default interval (and, when
    asked, every bridge's interval), so a bridge added meanwhile is kept. After
    `accept()`, `bridges_changed` is True when the engine needs the new bridge list.
    """

    def __init__(
        self,
        paths: AppPaths,
        tokens: TokenStore,
        autostart: Autostart,
        *,
        launch: list[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.autostart = autostart
        self._launch = launch
        self.bridges_changed = False
        self.alerts_changed = False
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)

        config = load_config(paths.config_file)

        checks = QGroupBox("Checks")
        checks_form = QFormLayout(checks)
        checks_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.interval_spin = QSpinBox()
        self.interval_spin.setRange(int(MIN_INTERVAL), int(MAX_INTERVAL))
        self.interval_spin.setSuffix(" s")
        self.interval_spin.setValue(int(config.default_interval))
        self.interval_spin.setAccessibleName("Default check interval in seconds")
        self.interval_spin.setMaximumWidth(140)
        interval_label = QLabel("Default check &interval:")
        interval_label.setBuddy(self.interval_spin)
        checks_form.addRow(interval_label, self.interval_spin)
        interval_note = QLabel("New bridges start with this interval; each bridge can have its own in Edit bridge.")
        interval_note.setWordWrap(True)
        interval_note.setStyleSheet(_NOTE_STYLE)
        checks_form.addRow("", interval_note)
        self.apply_to_all = QCheckBox("Also set every configured bridge to this interval")
        self.apply_to_all.setAccessibleName("Apply the interval to every configured bridge")
        self.apply_to_all.setEnabled(bool(config.bridges))
        checks_form.addRow("", self.apply_to_all)

        self.alert_settings = self._current_alert_settings(config)
        notifications = QGroupBox("Notifications")
        notifications_layout = QVBoxLayout(notifications)
        self.notify_boxes: dict[str, QCheckBox] = {}
        for key, label in NOTIFICATION_CHOICES:
            box = QCheckBox(label)
            box.setAccessibleName(label)
            box.setChecked(getattr(self.alert_settings, key))
            notifications_layout.addWidget(box)
            self.notify_boxes[key] = box
        timing = QLabel(
            f"A problem is notified after {self.alert_settings.confirm_bad} failed checks in a row; reminders come "
            f"after {format_duration(self.alert_settings.reminder_first)},\n"
            f"{format_duration(self.alert_settings.reminder_second)}, then every "
            f"{format_duration(self.alert_settings.reminder_repeat)}. "
            "The [alerts] table in the config file holds the other numbers."
        )
        # Two fixed lines: a word-wrapped label is given too little height in this dialog.
        timing.setStyleSheet(_NOTE_STYLE)
        notifications_layout.addWidget(timing)

        startup = QGroupBox("Start")
        startup_layout = QVBoxLayout(startup)
        self.start_at_login = QCheckBox("Start Bridgewatch when I &log in")
        self.start_at_login.setAccessibleName("Start Bridgewatch when I log in")
        self.start_at_login.setChecked(autostart.is_enabled())
        startup_layout.addWidget(self.start_at_login)
        location = QLabel(f"Stored in {autostart.location}")
        location.setWordWrap(True)
        location.setStyleSheet(_NOTE_STYLE)
        location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        startup_layout.addWidget(location)

        keychain = QGroupBox("Tokens")
        keychain_layout = QVBoxLayout(keychain)
        problem = tokens.availability_problem()
        if problem is None:
            text = f"Tokens are stored in {tokens.backend_name}, never in a file."
        else:
            text = f"{problem} Bridges probed without a token keep working."
        self.keychain_label = QLabel(text)
        self.keychain_label.setWordWrap(True)
        self.keychain_label.setAccessibleName("Keychain status")
        self.keychain_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if problem is not None:
            self.keychain_label.setStyleSheet("color: #8a4b00;")
        keychain_layout.addWidget(self.keychain_label)
        config_label = QLabel(f"Config file: {paths.config_file}")
        config_label.setWordWrap(True)
        config_label.setStyleSheet(_NOTE_STYLE)
        config_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        keychain_layout.addWidget(config_label)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b71c1c;")
        self.error_label.setAccessibleName("Error")
        self.error_label.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setAccessibleName("Save settings")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(checks)
        layout.addWidget(notifications)
        layout.addWidget(startup)
        layout.addWidget(keychain)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(buttons)
        # Qt opens the dialog at its minimum height, which clips the notes under the checkboxes.
        self.resize(self.sizeHint())
        self.setMinimumHeight(self.sizeHint().height())

    def save(self) -> None:
        """Write the settings; on failure show the message and keep the dialog open."""
        try:
            self._save_autostart()
            self._save_config()
        except (AutostartError, ConfigError, OSError) as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        self.accept()

    def _save_autostart(self) -> None:
        wanted = self.start_at_login.isChecked()
        if wanted == self.autostart.is_enabled():
            return
        if wanted:
            self.autostart.enable(self._launch or launch_command())
            log.info("Start at login turned on: %s", self.autostart.location)
        else:
            self.autostart.disable()
            log.info("Start at login turned off: %s", self.autostart.location)

    @staticmethod
    def _current_alert_settings(config) -> PolicySettings:
        try:
            return PolicySettings.from_dict(config.extra.get("alerts", {}))
        except PolicySettingsError:
            return PolicySettings()  # the banner reports the bad table; the boxes start from the defaults

    def chosen_alert_settings(self) -> PolicySettings:
        """Return the alert policy settings with the notification boxes applied."""
        return replace(self.alert_settings, **{key: box.isChecked() for key, box in self.notify_boxes.items()})

    def _save_config(self) -> None:
        config = load_config(self.paths.config_file)
        interval = float(self.interval_spin.value())
        changed = interval != config.default_interval
        alerts = dict(config.extra.get("alerts", {})) if isinstance(config.extra.get("alerts"), dict) else {}
        defaults = PolicySettings()
        for key, box in self.notify_boxes.items():
            if box.isChecked() == getattr(defaults, key):
                alerts.pop(key, None)  # only changed values are written, so new defaults apply later
            else:
                alerts[key] = box.isChecked()
        if alerts != config.extra.get("alerts", {}):
            changed = True
            if alerts:
                config.extra["alerts"] = alerts
            else:
                config.extra.pop("alerts", None)
        self.alerts_changed = self.chosen_alert_settings() != self.alert_settings
        config.default_interval = interval
        if self.apply_to_all.isChecked():
            updated = [replace(bridge, interval=interval) for bridge in config.bridges]
            self.bridges_changed = updated != config.bridges
            changed = changed or self.bridges_changed
            config.bridges = updated
        if changed:
            save_config(self.paths.config_file, config)
            log.info("Settings saved: default interval %g s", interval)


class SetupController(QObject):
    """Run bridge management and settings for the tray app, from the window's menus and first-run page.

    Every change goes through BridgeManager (keychain first, config file second); the
    controller then re-reads the config and hands the new bridge list to the engine.
    Dialogs open with `open()`, so the event loop keeps running; the one on screen is
    `active_dialog`.
    """

    _keychain_checked = Signal(object)  # TokenUnavailable or None, sent from the check's thread

    def __init__(
        self,
        tray_app,
        tokens: TokenStore,
        *,
        paths: AppPaths | None = None,
        autostart: Autostart | None = None,
    ) -> None:
        super().__init__(tray_app)
        self.tray_app = tray_app
        self.window = tray_app.window
        self.tokens = tokens
        self.paths = paths or app_paths()
        self._manager = None
        self.autostart = autostart or autostart_for_platform()
        self.dialog_options: dict = {}  # extra BridgeDialog keywords, such as test_timeout for the tests
        self.active_dialog: QDialog | None = None
        self.demo_launcher: Callable[[list[str]], bool] = _launch_detached

        window = self.window
        window.add_requested.connect(self.add_bridge)
        window.edit_requested.connect(self.edit_bridge)
        window.remove_requested.connect(self.remove_bridge)
        window.import_requested.connect(self.choose_import_file)
        window.export_requested.connect(self.choose_export_file)
        window.settings_requested.connect(self.open_settings)
        window.demo_requested.connect(self.start_demo)
        window.quit_requested.connect(tray_app.quit)
        window.check_requested.connect(self._reload_token_if_unavailable)

        # Checking the keychain may import keyring and call the session bus. A thread keeps that
        # off the window's first paint, and the notice follows when the result arrives.
        self._keychain_checked.connect(self._show_keychain_problem)
        threading.Thread(target=self._check_keychain, name="bridgewatch-keychain-check", daemon=True).start()

        self._tray_checks_left = 0
        self._tray_timer = QTimer(self)
        self._tray_timer.setInterval(TRAY_RECHECK_MS)
        self._tray_timer.timeout.connect(self._recheck_tray)

    def _check_keychain(self) -> None:
        problem = self.tokens.availability_problem()
        try:
            self._keychain_checked.emit(problem)
        except RuntimeError:  # the controller was deleted meanwhile, as when the app quits at once
            log.debug("The keychain check finished after its window closed")

    def _show_keychain_problem(self, problem: TokenUnavailable | None) -> None:
        if problem is not None:
            log.warning("%s", problem)
            self.window.set_notice("keychain", f"{problem} Bridges probed without a token are still checked.")

    # -- questions, overridable by tests ------------------------------------------------------------

    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self.window, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def inform(self, title: str, text: str, *, warning: bool = False) -> None:
        if warning:
            QMessageBox.warning(self.window, title, text)
        else:
            QMessageBox.information(self.window, title, text)

    # -- bridges ----------------------------------------------------------------------------------

    # The bridge manager and the dialogs import httpx and the diagnosis code, so they load on the
    # first bridge action instead of when the window opens.
    @property
    def manager(self):
        """The BridgeManager for the config file: keychain first, config file second."""
        if self._manager is None:
            from app.core.bridges import BridgeManager

            self._manager = BridgeManager(self.paths.config_file, self.tokens)
        return self._manager

    def _load_config(self):
        try:
            return self.manager.load()
        except ConfigError as exc:
            self.inform("Config file not readable", str(exc), warning=True)
            return None

    def add_bridge(self) -> None:
        config = self._load_config()
        if config is None:
            return
        from app.gui.dialogs import BridgeDialog

        dialog = BridgeDialog(
            self.manager, default_interval=config.default_interval, parent=self.window, **self.dialog_options
        )
        self._show_dialog(dialog, lambda: self.apply_config())

    def edit_bridge(self, bridge_id: str) -> None:
        config = self._load_config()
        if config is None:
            return
        bridge = next((b for b in config.bridges if b.id == bridge_id), None)
        if bridge is None:
            self.inform("Bridge not found", "That bridge is no longer in the config file.", warning=True)
            self.apply_config()
            return
        from app.core.bridges import TokenChange
        from app.gui.dialogs import BridgeDialog

        dialog = BridgeDialog(self.manager, bridge, parent=self.window, **self.dialog_options)

        def saved() -> None:
            reload = {bridge_id} if dialog.token_change is not TokenChange.KEEP else set()
            self.apply_config(token_reload=reload)

        self._show_dialog(dialog, saved)

    def remove_bridge(self, bridge_id: str) -> None:
        config = self._load_config()
        if config is None:
            return
        bridge = next((b for b in config.bridges if b.id == bridge_id), None)
        if bridge is None:
            self.apply_config()
            return
        question = f"Remove {bridge.name} ({bridge.url})? Bridgewatch stops watching it"
        question += " and deletes its token from the keychain." if bridge.probe.needs_token else "."
        if not self.confirm("Remove bridge", question):
            return

        from app.core.history import HISTORY_FILE, has_history

        history_file = self.paths.data_dir / HISTORY_FILE
        keep_history = True
        if has_history(history_file, bridge_id):
            keep_history = self.confirm(
                "Keep history?",
                f"Keep the recorded history of {bridge.name}? It stays readable with "
                f"`bridgewatch history {bridge.name}` and is pruned like any other history. "
                "Choose No to delete it now.",
            )

        try:
            self.manager.remove(bridge_id)
        except TokenUnavailable as exc:
            forced = self.confirm(
                "Remove bridge",
                f"{exc}\n\nRemove {bridge.name} from Bridgewatch anyway? Its token then stays in the keychain "
                "until you delete it there (service \"bridgewatch\", user name " + bridge.id + ").",
            )
            if not forced:
                return
            try:
                self.manager.remove(bridge_id, force=True)
            except ConfigError as error:
                self.inform("Bridge not removed", str(error), warning=True)
                return
        except ConfigError as exc:
            self.inform("Bridge not removed", str(exc), warning=True)
            return
        if not keep_history:
            self._delete_history(history_file, bridge_id)
        self.apply_config()

    def _delete_history(self, history_file: Path, bridge_id: str) -> None:
        import sqlite3

        from app.core.history import HistoryError, forget_bridge

        try:
            forget_bridge(history_file, bridge_id)
        except (HistoryError, sqlite3.Error) as exc:
            log.warning("Deleting the history of bridge %s failed: %s", bridge_id, exc)
            self.inform("History not deleted", f"The bridge was removed, but its history was not deleted: {exc}",
                        warning=True)
            return
        log.info("Deleted the history of removed bridge %s", bridge_id)

    def choose_import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import bridges", str(Path.home()), _FILE_FILTER)
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path):
        """Import the bridges listed in `path` and report the outcome; return the ImportReport or None."""
        try:
            report = self.manager.import_from(path)
        except ConfigError as exc:
            self.inform("Nothing imported", str(exc), warning=True)
            return None
        self.apply_config()
        self.inform("Import finished", report.summary())
        return report

    def choose_export_file(self) -> None:
        start = str(Path.home() / "bridgewatch-bridges.toml")
        path, _ = QFileDialog.getSaveFileName(self.window, "Export bridges", start, _FILE_FILTER)
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> bool:
        try:
            count = self.manager.export_to(path)
        except (ConfigError, OSError) as exc:
            self.inform("Export failed", f"Could not export to {path}: {exc}", warning=True)
            return False
        self.window.statusBar().showMessage(f"Exported {count} bridges to {path}, without tokens.", 10_000)
        return True

    def open_settings(self) -> None:
        try:
            dialog = SettingsDialog(self.paths, self.tokens, self.autostart, parent=self.window)
        except ConfigError as exc:
            self.inform("Config file not readable", str(exc), warning=True)
            return

        def saved() -> None:
            if dialog.bridges_changed:
                self.apply_config()
            if dialog.alerts_changed:
                self.tray_app.worker.set_policy_settings(dialog.chosen_alert_settings())

        self._show_dialog(dialog, saved)

    def start_demo(self) -> None:
        """Start `bridgewatch --demo` as its own process: a temporary profile, never this config."""
        command = launch_command() + ["--demo"]
        if not self.demo_launcher(command):
            self.inform("Demo not started", f"Could not start {' '.join(command)}.", warning=True)

    def _show_dialog(self, dialog: QDialog, on_accepted: Callable[[], None]) -> None:
        self.active_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(on_accepted)
        dialog.finished.connect(lambda *_: self._dialog_closed(dialog))
        dialog.open()

    def _dialog_closed(self, dialog: QDialog) -> None:
        if self.active_dialog is dialog:
            self.active_dialog = None

    # -- keeping the engine and the views in step ------------------------------------------------

    def apply_config(self, token_reload: set[str] = frozenset()) -> None:
        """Re-read the config and give the new bridge list to the window, the tray and the engine.

        Bridges in `token_reload` got a new or removed token: the engine reads it again and
        probes them at once, keeping their state and alert history.
        """
        config = self._load_config()
        if config is None:
            return
        bridges = config.bridges
        known = self.window.snapshots()
        snapshots = []
        for bridge in bridges:
            previous = known.get(bridge.id)
            if previous is None:
                snapshots.append(BridgeSnapshot(id=bridge.id, name=bridge.name, url=bridge.url, probe=bridge.probe))
            else:
                snapshots.append(replace(previous, name=bridge.name, url=bridge.url, probe=bridge.probe))
        self.tray_app.bridges = list(bridges)
        self.tray_app.tray.set_bridges(snapshots)
        self.window.set_bridges(snapshots)
        self.tray_app.worker.reconfigure(list(bridges), frozenset(token_reload))

    def _reload_token_if_unavailable(self, bridge_id: str) -> None:
        """On "Check now", read the token again if the keychain was locked or empty at the last read."""
        snapshot = self.window.snapshots().get(bridge_id)
        result = snapshot.result if snapshot else None
        if result is not None and result.error is not None and result.error.kind is ErrorKind.TOKEN_UNAVAILABLE:
            log.info("Reading the token of bridge %s again after a check request", bridge_id)
            self.apply_config(token_reload={bridge_id})

    # -- a tray that appears after start-up ----------------------------------------------------------

    def watch_for_tray(self, checks: int = TRAY_RECHECKS) -> None:
        """Look for a system tray every few seconds for a while, because a panel may start after an
        autostarted app (WORKAROUND for QTBUG-61898)."""
        self._tray_checks_left = checks
        self._tray_timer.start()

    def _recheck_tray(self) -> None:
        self._tray_checks_left -= 1
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._tray_timer.stop()
            log.info("A system tray appeared; Bridgewatch now keeps running in it")
            tray_app = self.tray_app
            tray_app.tray_available = True
            tray_app.window.keep_running_in_tray = True
            tray_app.tray.show()
            QApplication.setQuitOnLastWindowClosed(False)
            self.window.set_notice("tray", "")
        elif self._tray_checks_left <= 0:
            self._tray_timer.stop()


def _launch_detached(command: list[str]) -> bool:
    ok, _pid = QProcess.startDetached(command[0], command[1:])
    if not ok:
        log.error("Could not start %s", command)
    return bool(ok)
