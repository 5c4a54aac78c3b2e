"""Tests for start at login: the XDG autostart file on Linux, the LaunchAgent plist, the command."""

from __future__ import annotations

import os
import plistlib
import shlex
import sys

import pytest

from app.core.autostart import AutostartError, autostart_for_platform, launch_command
from app.core.autostart.linux import XdgAutostart, desktop_entry, quote_exec_argument
from app.core.autostart.macos import LABEL, LaunchAgentAutostart
from app.core.autostart.windows import RunKeyAutostart

COMMAND = ["/opt/bridgewatch/bin/bridgewatch"]


@pytest.fixture
def xdg_config_home(tmp_path, monkeypatch):
    home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def desktop_values(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines()[1:]:
        key, _, value = line.partition("=")
        values[key] = value
    return values


def test_linux_enable_writes_entry(xdg_config_home):
    autostart = autostart_for_platform("linux")

    autostart.enable(COMMAND)

    path = xdg_config_home / "autostart" / "bridgewatch.desktop"
    text = path.read_text(encoding="utf-8")
    values = desktop_values(text)
    assert autostart.location == str(path)
    assert autostart.is_enabled() is True
    assert text.startswith("[Desktop Entry]\n")
    assert values["Type"] == "Application"
    assert values["Exec"] == "/opt/bridgewatch/bin/bridgewatch"
    assert values["Terminal"] == "false"


def test_linux_disable_removes_entry(xdg_config_home):
    autostart = autostart_for_platform("linux")
    autostart.enable(COMMAND)

    autostart.disable()

    assert not (xdg_config_home / "autostart" / "bridgewatch.desktop").exists()
    assert autostart.is_enabled() is False


def test_linux_disable_when_off(xdg_config_home):
    autostart = autostart_for_platform("linux")

    autostart.disable()

    assert autostart.is_enabled() is False


def test_linux_relative_config_home_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/path")
    monkeypatch.setenv("HOME", str(tmp_path))

    autostart = XdgAutostart()

    assert autostart.location == str(tmp_path / ".config" / "autostart" / "bridgewatch.desktop")


@pytest.mark.parametrize("line", ["Hidden=true", "X-GNOME-Autostart-enabled=false"])
def test_linux_entry_turned_off(xdg_config_home, line):
    autostart = XdgAutostart()
    autostart.enable(COMMAND)
    with autostart.path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")

    assert autostart.is_enabled() is False


def test_linux_enable_failure(tmp_path):
    blocker = tmp_path / "autostart"
    blocker.write_text("", encoding="utf-8")
    autostart = XdgAutostart(directory=blocker / "inside")

    with pytest.raises(AutostartError) as caught:
        autostart.enable(COMMAND)

    assert "bridgewatch.desktop" in str(caught.value)


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("/usr/bin/bridgewatch", "/usr/bin/bridgewatch"),
        ("/opt/my apps/bridgewatch", '"/opt/my apps/bridgewatch"'),
        ("/home/a$b/bridgewatch", '"/home/a\\\\$b/bridgewatch"'),
        ("--ratio=50%", "--ratio=50%%"),
    ],
)
def test_exec_quoting(argument, expected):
    assert quote_exec_argument(argument) == expected


def test_exec_rejects_line_break():
    with pytest.raises(AutostartError):
        quote_exec_argument("/tmp/a\nb")


def test_exec_line_joins_arguments():
    values = desktop_values(desktop_entry(["/usr/bin/python3", "-m", "app"]))

    assert shlex.split(values["Exec"]) == ["/usr/bin/python3", "-m", "app"]


def test_entry_try_exec_names_program():
    values = desktop_values(desktop_entry(["/opt/bridge watch/Bridgewatch"]))

    assert values["TryExec"] == "/opt/bridge watch/Bridgewatch"


def test_entry_without_absolute_program_has_no_try_exec():
    values = desktop_values(desktop_entry(["bridgewatch"]))

    assert "TryExec" not in values


def test_macos_plist(tmp_path):
    autostart = LaunchAgentAutostart(directory=tmp_path)

    autostart.enable(["/Applications/Bridgewatch.app/Contents/MacOS/Bridgewatch"])

    data = plistlib.loads((tmp_path / f"{LABEL}.plist").read_bytes())
    assert data["Label"] == LABEL
    assert data["ProgramArguments"] == ["/Applications/Bridgewatch.app/Contents/MacOS/Bridgewatch"]
    assert data["RunAtLoad"] is True
    assert autostart.is_enabled() is True
    autostart.disable()
    assert autostart.is_enabled() is False


def test_platform_choice():
    assert isinstance(autostart_for_platform("darwin"), LaunchAgentAutostart)
    assert isinstance(autostart_for_platform("win32"), RunKeyAutostart)
    assert isinstance(autostart_for_platform("linux"), XdgAutostart)


def test_windows_location_names_run_key():
    assert RunKeyAutostart().location == (
        "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Bridgewatch"
    )


def test_launch_command_is_executable():
    command = launch_command()

    assert os.access(command[0], os.X_OK)
    if command[0] == sys.executable:
        assert command[1:] == ["-m", "app"]
    else:
        assert os.path.basename(command[0]).startswith("bridgewatch")
