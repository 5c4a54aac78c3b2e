"""Start at login: one small interface, with a module per platform picked once by `autostart_for_platform`.

Linux writes an XDG autostart entry, macOS a LaunchAgent, Windows a value under
HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run. Only the Linux module runs in this
project's tests; the macOS plist is checked as a file, and the Windows module is untested.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from app.core.autostart.base import Autostart, AutostartError

__all__ = ["Autostart", "AutostartError", "autostart_for_platform", "launch_command"]


def launch_command() -> list[str]:
    """Return the command that starts this installation of Bridgewatch's tray app.

    A frozen app (PyInstaller) is its own executable. Otherwise the `bridgewatch` script
    installed beside this Python is used, and `python -m app` when there is none.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable]
    scripts = Path(sys.executable).parent
    for name in ("bridgewatch", "bridgewatch.exe"):
        candidate = scripts / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate)]
    found = shutil.which("bridgewatch")
    if found:
        return [found]
    return [sys.executable, "-m", "app"]


def autostart_for_platform(platform: str | None = None) -> Autostart:
    """Return the start-at-login implementation for `platform` (default: this one)."""
    platform = platform or sys.platform
    if platform == "darwin":
        from app.core.autostart.macos import LaunchAgentAutostart

        return LaunchAgentAutostart()
    if platform == "win32":
        from app.core.autostart.windows import RunKeyAutostart

        return RunKeyAutostart()
    from app.core.autostart.linux import XdgAutostart

    return XdgAutostart()
