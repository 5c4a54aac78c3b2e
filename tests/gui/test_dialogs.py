"""The Add and Edit bridge dialog driven with pytest-qt: URL input, saving order and Test connection."""

from __future__ import annotations

import socket
import time

import keyring.errors
import pytest
from PySide6.QtCore import QTimer, Qt

from app.core.bridges import BridgeForm, BridgeManager, TokenChange
from app.core.config import load_config
from app.core.model import ProbeKind
from app.core.paths import app_paths
from app.core.simulator import SCENARIOS
from app.core.tokens import SERVICE, MemoryKeyring, TokenStore
from app.gui.dialogs import BridgeDialog

TOKEN = "gui-test-token"
NEW_TOKEN = "gui-test-token-replaced"

# scenario, probe, words the diagnosis view must show
SCENARIO_WORDS = [
    ("healthy", ProbeKind.HEALTH, "The bridge works."),
    ("unhealthy", ProbeKind.HEALTH, "RedisCache: unhealthy"),
    ("stale", ProbeKind.HEALTH, "ConfirmationWatcher: stopped reporting"),
    ("starting", ProbeKind.HEALTH, "The bridge works."),
    ("empty", ProbeKind.HEALTH, "may still be starting"),
    ("unauthorized", ProbeKind.HEALTH, "Paste the new token"),
    ("proxy-error", ProbeKind.HEALTH, "a proxy or load balancer answered"),
    ("hang", ProbeKind.HEALTH, "No response within 0.5 s"),
    ("flapping", ProbeKind.HEALTH, "The bridge works."),
    ("monitoring-off", ProbeKind.MONITORING, "health monitoring turned on"),
    ("oversized", ProbeKind.HEALTH, "far more than a health report"),
    ("redirect", ProbeKind.HEALTH, "not followed, so the token was not sent there"),
]


class FailingWriteKeyring(MemoryKeyring):
    """A keychain that reads but refuses every write, as a denied access does."""

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError("write refused")


@pytest.fixture
def config_path():
    return app_paths().config_file


@pytest.fixture
def memory_store():
    return MemoryKeyring()


@pytest.fixture
def manager(config_path, memory_store):
    return BridgeManager(config_path, TokenStore(memory_store))


@pytest.fixture
def open_dialog(qtbot):
    """Create BridgeDialog instances; each one's connection test is cancelled and joined at teardown."""
    dialogs = []

    def make(manager, bridge=None, **options):
        options.setdefault("test_timeout", 0.5)
        dialog = BridgeDialog(manager, bridge, **options)
        qtbot.addWidget(dialog)
        dialog.show()
        dialogs.append(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.runner.cancel()
        assert dialog.runner.wait(5.0)


def fill(dialog, name="Prod", url="scim.example.com", token=TOKEN, probe=ProbeKind.MONITORING):
    dialog.name_edit.setText(name)
    dialog.url_edit.setText(url)
    dialog.set_probe(probe)
    if token is not None:
        dialog.token_edit.setText(token)


def run_test(qtbot, dialog, timeout_ms=5000):
    with qtbot.waitSignal(dialog.runner.finished, timeout=timeout_ms):
        dialog.start_test()
    return dialog.diagnosis_view.text()


@pytest.mark.parametrize(
    ("typed", "shown", "note"),
    [
        ("scim.example.com", "Checks https://scim.example.com/monitoring", None),
        ("   scim.example.com   ", "Checks https://scim.example.com/monitoring", None),
        ("https://scim.example.com/app", "Checks https://scim.example.com/monitoring", "Removed /app from the URL"),
        ("scim.example.com/health", "Checks https://scim.example.com/monitoring", "Removed /health from the URL"),
        ("http://127.0.0.1:3002/", "Checks http://127.0.0.1:3002/monitoring", None),
    ],
)
def test_url_normalized_with_note(open_dialog, manager, config_path, typed, shown, note):
    dialog = open_dialog(manager)
    fill(dialog, url=typed)

    text = dialog.url_note.text()
    dialog.save()

    assert text.splitlines()[0] == shown
    if note:
        assert note in text
    else:
        assert len(text.splitlines()) == 1
    saved = load_config(config_path).bridges[0]
    assert saved.url == shown.split()[1].removesuffix("/monitoring")


def test_plain_http_refused(open_dialog, manager, config_path, monkeypatch, qtbot):
    lookups = []

    def recording_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    dialog = open_dialog(manager)
    fill(dialog, url="http://bridge.invalid")

    note = dialog.url_note.text()
    dialog.save()
    shown = run_test(qtbot, dialog)

    assert "clear text" in note
    assert "clear text" in dialog.error_label.text()
    assert dialog.isVisible()
    assert not config_path.exists()
    assert "Not tested" in shown
    assert lookups == []


def test_plain_http_allowed_when_ticked(open_dialog, manager, config_path):
    dialog = open_dialog(manager)
    fill(dialog, url="http://bridge.invalid")

    dialog.allow_http.setChecked(True)
    warning_shown = dialog.http_warning.isVisible()
    dialog.save()

    saved = load_config(config_path).bridges[0]
    assert warning_shown
    assert "clear text" in dialog.http_warning.text()
    assert saved.url == "http://bridge.invalid"
    assert saved.allow_http is True


def test_save_order_keychain_first(open_dialog, config_path):
    manager = BridgeManager(config_path, TokenStore(FailingWriteKeyring()))
    dialog = open_dialog(manager)
    fill(dialog)

    dialog.save()

    assert dialog.isVisible()
    assert dialog.result() == 0
    assert "nothing was changed" in dialog.error_label.text()
    assert not config_path.exists()


def test_edit_failed_keychain_keeps_old(open_dialog, config_path, manager, memory_store):
    bridge = manager.add(_form(), TOKEN)
    failing = FailingWriteKeyring()
    failing._store = dict(memory_store._store)
    dialog = open_dialog(BridgeManager(config_path, TokenStore(failing)), bridge)
    dialog.url_edit.setText("https://moved.example.com")
    dialog.replace_token_button.click()
    dialog.token_edit.setText(NEW_TOKEN)

    dialog.save()

    assert dialog.isVisible()
    assert load_config(config_path).bridges == [bridge]
    assert failing.get_password(SERVICE, bridge.id) == TOKEN


def _form():
    return BridgeForm(name="Prod", url="scim.example.com", probe=ProbeKind.MONITORING)


def test_edit_never_shows_token(open_dialog, manager):
    bridge = manager.add(_form(), TOKEN)

    dialog = open_dialog(manager, bridge)

    assert dialog.token_edit.text() == ""
    assert dialog.token_edit.isHidden()
    assert dialog.token_edit.echoMode() == dialog.token_edit.EchoMode.Password
    assert dialog.token_status.text() == "Token stored in a temporary in-memory keyring."
    assert dialog.replace_token_button.isVisibleTo(dialog)
    assert dialog.remove_token_button.isVisibleTo(dialog)


def test_edit_replace_token(open_dialog, manager, memory_store):
    bridge = manager.add(_form(), TOKEN)
    dialog = open_dialog(manager, bridge)

    dialog.replace_token_button.click()
    dialog.token_edit.setText(NEW_TOKEN)
    dialog.save()

    assert dialog.saved_bridge.id == bridge.id
    assert dialog.token_change is TokenChange.REPLACE
    assert memory_store.get_password(SERVICE, bridge.id) == NEW_TOKEN
    assert dialog.token_edit.text() == ""


def test_edit_remove_token(open_dialog, manager, memory_store, config_path):
    bridge = manager.add(_form(), TOKEN)
    dialog = open_dialog(manager, bridge)

    dialog.remove_token_button.click()
    dialog.save()
    refused = dialog.error_label.text()
    dialog.set_probe(ProbeKind.PING)
    dialog.save()

    assert "choose no token before removing it" in refused
    assert memory_store.get_password(SERVICE, bridge.id) is None
    assert load_config(config_path).bridges[0].probe is ProbeKind.PING


def test_missing_token_rejected(open_dialog, manager, config_path):
    dialog = open_dialog(manager)
    fill(dialog, token="")

    dialog.save()

    assert "needs a token" in dialog.error_label.text()
    assert not config_path.exists()


def test_ping_needs_no_token(open_dialog, manager, config_path, memory_store):
    dialog = open_dialog(manager)
    fill(dialog, url="http://127.0.0.1:3002", token=None, probe=ProbeKind.PING)

    hidden = dialog.token_edit.isHidden()
    dialog.save()

    assert hidden
    assert load_config(config_path).bridges[0].probe is ProbeKind.PING
    assert memory_store._store == {}


def test_new_bridge_uses_default_interval(open_dialog, manager):
    dialog = open_dialog(manager, default_interval=300.0)

    assert dialog.interval_spin.value() == 300


@pytest.mark.parametrize(("scenario", "probe", "words"), SCENARIO_WORDS, ids=[row[0] for row in SCENARIO_WORDS])
def test_connection_test_names_cause(qtbot, open_dialog, manager, start_bridge, scenario, probe, words):
    bridge = start_bridge(scenario, token=TOKEN)
    if scenario == "redirect":
        bridge.redirect_to = start_bridge("healthy", token=TOKEN).url
    dialog = open_dialog(manager)
    fill(dialog, url=bridge.url, probe=probe)

    shown = run_test(qtbot, dialog)

    assert words in shown
    assert dialog.test_button.isEnabled()


def test_scenario_table_complete():
    assert sorted(row[0] for row in SCENARIO_WORDS) == sorted(SCENARIOS)


def test_connection_test_uses_stored_token(qtbot, open_dialog, manager, start_bridge):
    simulator = start_bridge("healthy", token=TOKEN)
    bridge = manager.add(BridgeForm(name="Sim", url=simulator.url, probe=ProbeKind.HEALTH), TOKEN)
    dialog = open_dialog(manager, bridge)

    shown = run_test(qtbot, dialog)

    assert "The bridge works." in shown
    assert simulator.requests[-1].token_accepted is True


def test_dialog_responsive_while_hanging(qtbot, open_dialog, manager, start_bridge):
    simulator = start_bridge("hang", token=TOKEN)
    dialog = open_dialog(manager, test_timeout=30.0)
    fill(dialog, url=simulator.url, probe=ProbeKind.HEALTH)

    dialog.start_test()
    qtbot.waitUntil(lambda: len(simulator.requests) == 1, timeout=5000)
    fired = []
    started = time.monotonic()
    QTimer.singleShot(20, lambda: fired.append(time.monotonic() - started))
    qtbot.waitUntil(lambda: bool(fired), timeout=1000)
    qtbot.keyClicks(dialog.name_edit, " typed")
    running_text = dialog.diagnosis_view.headline.text()
    with qtbot.waitSignal(dialog.runner.finished, timeout=2000) as blocker:
        qtbot.mouseClick(dialog.cancel_test_button, Qt.MouseButton.LeftButton)

    assert fired[0] < 0.5
    assert dialog.name_edit.text() == "Prod typed"
    assert "Testing the connection" in running_text
    assert blocker.args == [None]
    assert dialog.diagnosis_view.headline.text() == "Test cancelled."
    assert dialog.runner.wait(2.0)


def test_closing_dialog_cancels_test(qtbot, open_dialog, manager, start_bridge):
    simulator = start_bridge("hang", token=TOKEN)
    dialog = open_dialog(manager, test_timeout=30.0)
    fill(dialog, url=simulator.url, probe=ProbeKind.HEALTH)
    dialog.start_test()
    qtbot.waitUntil(lambda: len(simulator.requests) == 1, timeout=5000)

    dialog.reject()

    assert dialog.runner.wait(2.0)


def test_controls_have_accessible_names(open_dialog, manager):
    from PySide6.QtWidgets import QAbstractButton, QLineEdit, QSpinBox

    dialog = open_dialog(manager)

    controls = dialog.findChildren(QLineEdit) + dialog.findChildren(QSpinBox) + dialog.findChildren(QAbstractButton)
    unnamed = [type(control).__name__ for control in controls if not (control.accessibleName() or getattr(control, "text", lambda: "")())]
    assert unnamed == []
    assert dialog.name_edit.accessibleName() == "Bridge name"
