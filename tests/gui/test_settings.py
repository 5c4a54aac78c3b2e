"""The settings dialog: default interval, start at login, the keychain line; and the controller opening it."""

from __future__ import annotations

import keyring.backends.fail
import pytest

from app.core.autostart.linux import XdgAutostart
from app.core.bridges import BridgeForm, BridgeManager
from app.core.config import load_config
from app.core.model import ProbeKind
from app.core.paths import app_paths
from app.core.tokens import MemoryKeyring, TokenStore
from app.gui.dialogs import BridgeDialog
from app.gui.settings import SettingsDialog

LAUNCH = ["/opt/bridgewatch/bin/bridgewatch"]


@pytest.fixture
def autostart(tmp_path):
    return XdgAutostart(directory=tmp_path / "autostart")


@pytest.fixture
def store():
    return TokenStore(MemoryKeyring())


@pytest.fixture
def open_settings(qtbot, autostart, store):
    def make(tokens=None):
        dialog = SettingsDialog(app_paths(), tokens or store, autostart, launch=LAUNCH)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def add_bridges(store, count=2):
    manager = BridgeManager(app_paths().config_file, store)
    for index in range(count):
        manager.add(BridgeForm(name=f"lab-{index}", url=f"http://127.0.0.1:{3002 + index}", probe=ProbeKind.PING), None)
    return manager


def test_default_interval_saved(open_settings, store, qtbot):
    dialog = open_settings()
    dialog.interval_spin.setValue(300)

    dialog.save()

    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert load_config(app_paths().config_file).default_interval == 300.0
    assert dialog.bridges_changed is False


def test_new_bridge_starts_with_default(open_settings, store, qtbot):
    dialog = open_settings()
    dialog.interval_spin.setValue(120)
    dialog.save()
    config = load_config(app_paths().config_file)

    add_dialog = BridgeDialog(BridgeManager(app_paths().config_file, store), default_interval=config.default_interval)
    qtbot.addWidget(add_dialog)

    assert add_dialog.interval_spin.value() == 120


def test_apply_interval_to_every_bridge(open_settings, store):
    add_bridges(store)
    dialog = open_settings()
    dialog.interval_spin.setValue(600)

    dialog.apply_to_all.setChecked(True)
    dialog.save()

    intervals = [bridge.interval for bridge in load_config(app_paths().config_file).bridges]
    assert intervals == [600.0, 600.0]
    assert dialog.bridges_changed is True


def test_apply_disabled_without_bridges(open_settings):
    dialog = open_settings()

    assert not dialog.apply_to_all.isEnabled()


def test_start_at_login_toggles_file(open_settings, autostart):
    dialog = open_settings()
    unchecked_at_first = not dialog.start_at_login.isChecked()
    dialog.start_at_login.setChecked(True)
    dialog.save()
    text = autostart.path.read_text(encoding="utf-8")

    second = open_settings()
    checked_on_reopen = second.start_at_login.isChecked()
    second.start_at_login.setChecked(False)
    second.save()

    assert unchecked_at_first
    assert f"Exec={LAUNCH[0]}\n" in text
    assert checked_on_reopen
    assert not autostart.path.exists()


def test_start_at_login_failure_shown(open_settings, tmp_path, qtbot):
    blocker = tmp_path / "blocked"
    blocker.write_text("", encoding="utf-8")
    dialog = SettingsDialog(app_paths(), TokenStore(MemoryKeyring()), XdgAutostart(directory=blocker / "x"), launch=LAUNCH)
    qtbot.addWidget(dialog)
    dialog.start_at_login.setChecked(True)

    dialog.save()

    assert "Could not write" in dialog.error_label.text()
    assert dialog.result() == 0


def test_keychain_line(open_settings):
    usable_dialog = open_settings()
    missing_dialog = open_settings(TokenStore(keyring.backends.fail.Keyring()))

    usable = usable_dialog.keychain_label.text()
    missing = missing_dialog.keychain_label.text()

    assert usable == "Tokens are stored in a temporary in-memory keyring, never in a file."
    assert "No usable OS keychain" in missing
    assert "Bridges probed without a token keep working." in missing


def test_settings_has_accessible_names(open_settings):
    dialog = open_settings()

    assert dialog.interval_spin.accessibleName() == "Default check interval in seconds"
    assert dialog.start_at_login.accessibleName() == "Start Bridgewatch when I log in"



def test_notification_types_saved_and_applied(qtbot, tmp_path, monkeypatch):
    """Unticking a notification type writes only that change to [alerts] and reaches the policy."""
    from app.core.config import load_config
    from app.core.paths import app_paths
    from app.core.tokens import MemoryKeyring, TokenStore
    from app.gui.settings import SettingsDialog

    monkeypatch.setenv("BRIDGEWATCH_HOME", str(tmp_path / "home"))

    class NoAutostart:
        location = "nowhere"

        def is_enabled(self):
            return False

    dialog = SettingsDialog(app_paths(), TokenStore(MemoryKeyring()), NoAutostart())
    qtbot.addWidget(dialog)
    assert dialog.notify_boxes["notify_degraded"].isChecked()
    assert not dialog.notify_boxes["remind_degraded"].isChecked()
    dialog.notify_boxes["notify_degraded"].setChecked(False)
    dialog.save()

    assert dialog.alerts_changed
    assert dialog.chosen_alert_settings().notify_degraded is False
    assert load_config(app_paths().config_file).extra["alerts"] == {"notify_degraded": False}
