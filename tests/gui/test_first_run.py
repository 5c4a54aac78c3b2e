"""First run and bridge management through the whole tray app: add, edit, remove, import, export, demo."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import keyring.backends.fail
import pytest

from app.core.autostart.linux import XdgAutostart
from app.core.bridges import BridgeForm, BridgeManager
from app.core.config import load_config
from app.core.model import BridgeStatus, ProbeKind
from app.core.paths import app_paths
from app.core.tokens import SERVICE, MemoryKeyring, TokenStore
from app.gui.dialogs import BridgeDialog
from app.gui.settings import SettingsDialog

TOKEN = "gui-test-token"
WRONG_TOKEN = "gui-test-token-outdated"


@pytest.fixture
def make_tray_app(qtbot):
    """Build TrayApp instances with short probe timeouts; their engines are stopped at teardown.

    Call it as `make_tray_app(bridges, store=None, tray_available=True)`.
    """
    from app.core.probe import Prober
    from app.core.tokens import MemoryKeyring, TokenStore
    from app.gui.app import TrayApp

    apps = []

    def make(bridges, store=None, tray_available=True):
        options = {}
        try:  # never a real desktop notification from a test
            from app.gui.notifier import LogBackend

            options["notifier_backends"] = [LogBackend]
        except ImportError:
            pass
        tray_app = TrayApp(
            bridges,
            store or TokenStore(MemoryKeyring()),
            prober_factory=lambda: Prober(timeout=2.0),
            tray_available=tray_available,
            **options,
        )
        qtbot.addWidget(tray_app.window)
        apps.append(tray_app)
        return tray_app

    yield make
    for tray_app in apps:
        tray_app.worker.stop(timeout=2.0)
        tray_app.tray.hide()


@pytest.fixture
def memory_store():
    return MemoryKeyring()


@pytest.fixture
def store(memory_store):
    return TokenStore(memory_store)


@pytest.fixture
def answers():
    """Questions the controller asked, and the answer each gets (Yes unless a test sets another)."""
    return {"asked": [], "informed": [], "answer": True}


@pytest.fixture
def app_with(make_tray_app, store, answers):
    def make(bridges=(), **options):
        tray_app = make_tray_app(list(bridges), store, **options)

        def confirm(title, text):
            answers["asked"].append(text)
            return answers["answer"]

        tray_app.setup.confirm = confirm
        tray_app.setup.inform = lambda title, text, warning=False: answers["informed"].append(text)
        return tray_app

    return make


def status_of(tray_app, bridge_id):
    snapshot = tray_app.window.snapshots().get(bridge_id)
    return snapshot.status if snapshot else None


def test_first_run_page(app_with):
    tray_app = app_with()

    page = tray_app.window.empty
    assert tray_app.window.pages.currentWidget() is page
    assert page.add_button.text() == "Add your first bridge…"
    assert page.demo_button.text() == "Try the demo"
    assert page.add_button.accessibleName() == "Add your first bridge"
    assert tray_app.window.bridge_list.isHidden()
    assert not tray_app.window.edit_action.isEnabled()


def test_add_first_bridge_monitors_it(qtbot, app_with, start_bridge, memory_store):
    simulator = start_bridge("healthy", token=TOKEN)
    tray_app = app_with()
    tray_app.start(show_window=True)

    tray_app.window.empty.add_button.click()
    dialog = tray_app.setup.active_dialog
    dialog.name_edit.setText("Production")
    dialog.url_edit.setText(simulator.url)
    dialog.set_probe(ProbeKind.HEALTH)
    dialog.token_edit.setText(TOKEN)
    dialog.save()

    bridge = load_config(app_paths().config_file).bridges[0]
    qtbot.waitUntil(lambda: status_of(tray_app, bridge.id) is BridgeStatus.HEALTHY, timeout=5000)
    assert isinstance(dialog, BridgeDialog)
    assert memory_store.get_password(SERVICE, bridge.id) == TOKEN
    assert tray_app.window.pages.currentWidget() is tray_app.window.details
    assert tray_app.tray.status is BridgeStatus.HEALTHY


def test_replaced_token_reaches_engine(qtbot, app_with, start_bridge, store):
    simulator = start_bridge("healthy", token=TOKEN)
    manager = BridgeManager(app_paths().config_file, store)
    bridge = manager.add(BridgeForm(name="Prod", url=simulator.url, probe=ProbeKind.HEALTH, interval=3600), WRONG_TOKEN)
    tray_app = app_with([bridge])
    tray_app.start(show_window=True)
    qtbot.waitUntil(lambda: status_of(tray_app, bridge.id) is BridgeStatus.UNAUTHORIZED, timeout=5000)

    tray_app.window.edit_action.trigger()
    dialog = tray_app.setup.active_dialog
    dialog.replace_token_button.click()
    dialog.token_edit.setText(TOKEN)
    dialog.save()

    qtbot.waitUntil(lambda: status_of(tray_app, bridge.id) is BridgeStatus.HEALTHY, timeout=5000)
    assert simulator.requests[-1].token_accepted is True


def test_remove_deletes_config_and_token(qtbot, app_with, store, memory_store, answers):
    manager = BridgeManager(app_paths().config_file, store)
    bridge = manager.add(BridgeForm(name="Prod", url="scim.example.invalid"), TOKEN)
    tray_app = app_with([bridge])
    tray_app.window.select_bridge(bridge.id)

    tray_app.window.remove_action.trigger()

    assert "Remove Prod (https://scim.example.invalid)?" in answers["asked"][0]
    assert "deletes its token from the keychain" in answers["asked"][0]
    assert load_config(app_paths().config_file).bridges == []
    assert memory_store.get_password(SERVICE, bridge.id) is None
    assert tray_app.window.pages.currentWidget() is tray_app.window.empty


def test_remove_cancelled_keeps_bridge(app_with, store, answers):
    bridge = BridgeManager(app_paths().config_file, store).add(BridgeForm(name="Prod", url="scim.example.invalid"), TOKEN)
    tray_app = app_with([bridge])
    answers["answer"] = False

    tray_app.setup.remove_bridge(bridge.id)

    assert [b.id for b in load_config(app_paths().config_file).bridges] == [bridge.id]


def test_export_then_import(app_with, store, answers, tmp_path, make_tray_app):
    manager = BridgeManager(app_paths().config_file, store)
    prod = manager.add(BridgeForm(name="Prod", url="scim.example.invalid"), TOKEN)
    manager.add(BridgeForm(name="Lab", url="http://127.0.0.1:3002", probe=ProbeKind.PING), None)
    exported = tmp_path / "bridges.toml"
    tray_app = app_with([prod])

    exported_ok = tray_app.setup.export_to(exported)
    manager.remove(prod.id)
    manager.remove(manager.load().find("Lab").id)
    report = tray_app.setup.import_from(exported)

    text = exported.read_text(encoding="utf-8")
    assert exported_ok
    assert TOKEN not in text
    assert [b.name for b in load_config(app_paths().config_file).bridges] == ["Prod", "Lab"]
    assert [b.name for b in report.need_token] == ["Prod"]
    assert "Still need a token: Prod" in answers["informed"][-1]
    assert sorted(tray_app.window.snapshots()) == sorted(b.id for b in report.added)


def test_try_demo_starts_separate_process(app_with):
    tray_app = app_with()
    launched = []
    tray_app.setup.demo_launcher = lambda command: launched.append(command) or True

    tray_app.window.empty.demo_button.click()

    assert launched[0][-1] == "--demo"
    assert not app_paths().config_file.exists()


def test_demo_writes_no_user_config(bridgewatch_home, tmp_path):
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    environment["TMPDIR"] = str(tmp_path)  # the demo's temporary profile lands here
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        profiles = []
        while time.monotonic() < deadline and not profiles:
            profiles = [p for p in tmp_path.glob("bridgewatch-demo-*") if (p / "config.toml").exists()]
            time.sleep(0.1)
        still_running = process.poll() is None
        demo_bridges = [len(load_config(profile / "config.toml").bridges) for profile in profiles]
    finally:
        process.terminate()
        process.wait(timeout=20)

    assert still_running
    assert demo_bridges == [3]
    assert not (bridgewatch_home / "config.toml").exists()
    assert not profiles[0].exists(), "the demo left its temporary profile behind"


def test_no_keychain_explained(qtbot, app_with, make_tray_app):
    tray_app = make_tray_app([], TokenStore(keyring.backends.fail.Keyring()))

    # The keychain is checked on a thread, so the notice arrives after the window is built.
    qtbot.waitUntil(lambda: "No usable OS keychain" in tray_app.window.banner.text(), timeout=5000)
    banner = tray_app.window.banner.text()
    assert "No usable OS keychain" in banner
    assert "Bridges probed without a token are still checked." in banner


def test_locked_keychain_reported_per_bridge(qtbot, make_tray_app, start_bridge):
    simulator = start_bridge("healthy", token=TOKEN)

    class LockedKeyring(MemoryKeyring):
        def get_password(self, service, username):
            raise keyring.errors.KeyringLocked("locked")

    bridge = BridgeManager(app_paths().config_file, TokenStore(MemoryKeyring())).add(
        BridgeForm(name="Prod", url=simulator.url, probe=ProbeKind.HEALTH), TOKEN
    )
    tray_app = make_tray_app([bridge], TokenStore(LockedKeyring()))
    tray_app.start(show_window=True)

    qtbot.waitUntil(lambda: tray_app.window.snapshots()[bridge.id].result is not None, timeout=5000)
    snapshot = tray_app.window.snapshots()[bridge.id]
    assert snapshot.status is BridgeStatus.UNKNOWN
    assert snapshot.summary == "Token unavailable: the keychain is locked. Unlock it and check again."
    assert simulator.requests == []


def test_no_tray_runs_as_window(make_tray_app):
    tray_app = make_tray_app([], tray_available=False)

    assert tray_app.window.keep_running_in_tray is False
    assert "AppIndicator extension" in tray_app.window.banner.text()


def test_window_keyboard_shortcuts(app_with):
    window = app_with().window

    assert window.add_action.shortcut().toString() == "Ctrl+N"
    assert window.edit_action.shortcut().toString() == "Ctrl+E"
    assert not window.remove_action.shortcut().isEmpty()
    assert not window.settings_action.shortcut().isEmpty()


def test_window_opens_settings(qtbot, make_tray_app, tmp_path):
    tray_app = make_tray_app([])
    tray_app.setup.autostart = XdgAutostart(directory=tmp_path / "autostart")

    tray_app.window.settings_action.trigger()

    assert isinstance(tray_app.setup.active_dialog, SettingsDialog)
    tray_app.setup.active_dialog.reject()
    qtbot.waitUntil(lambda: tray_app.setup.active_dialog is None, timeout=2000)
