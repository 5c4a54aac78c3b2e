"""The running app follows edits of the config file made outside it (the CLI or a text editor)."""

import pytest

from app.core.config import BridgeConfig, Config, load_config, save_config
from app.core.model import ProbeKind
from app.core.paths import app_paths
from app.core.tokens import MemoryKeyring, TokenStore
from app.gui.app import TrayApp
from app.gui.notifier import LogBackend


@pytest.fixture
def running_app(qtbot, start_bridge, monkeypatch, tmp_path):
    monkeypatch.setenv("BRIDGEWATCH_HOME", str(tmp_path / "home"))
    simulator = start_bridge("healthy")
    first = BridgeConfig(name="first", url=simulator.url, probe=ProbeKind.PING, interval=3600)
    path = app_paths().config_file
    save_config(path, Config(bridges=[first]))
    tray_app = TrayApp(
        load_config(path).bridges, TokenStore(MemoryKeyring()), tray_available=True, notifier_backends=[LogBackend]
    )
    qtbot.addWidget(tray_app.window)
    tray_app.start(show_window=True)
    tray_app.watch_config(path)
    yield tray_app, path, simulator
    tray_app.worker.stop(timeout=2.0)
    tray_app.tray.hide()


def test_added_bridge_appears(qtbot, running_app):
    tray_app, path, simulator = running_app
    config = load_config(path)
    config.bridges.append(BridgeConfig(name="second", url=simulator.url, probe=ProbeKind.PING, interval=3600))
    save_config(path, config)
    qtbot.waitUntil(lambda: len(tray_app.window.snapshots()) == 2, timeout=5000)
    names = sorted(s.name for s in tray_app.window.snapshots().values())
    assert names == ["first", "second"]


def test_corrupt_config_keeps_bridges(qtbot, running_app):
    tray_app, path, _ = running_app
    path.write_text("[[bridges]\nname = ", encoding="utf-8")
    qtbot.waitUntil(lambda: tray_app.window.banner.isVisible(), timeout=5000)
    assert str(path) in tray_app.window.banner.text()
    assert "as they were" in tray_app.window.banner.text()
    assert [s.name for s in tray_app.window.snapshots().values()] == ["first"]
    assert "config file is invalid" in tray_app.tray.tooltip


def test_fixed_config_clears_notice(qtbot, running_app):
    tray_app, path, simulator = running_app
    good = path.read_text(encoding="utf-8")
    path.write_text("not toml at all [", encoding="utf-8")
    qtbot.waitUntil(lambda: tray_app.window.banner.isVisible(), timeout=5000)
    path.write_text(good, encoding="utf-8")
    qtbot.waitUntil(lambda: "config file is invalid" not in tray_app.tray.tooltip, timeout=5000)
    assert not tray_app.window.banner.isVisible()
