"""Start at login on Windows: the value "Bridgewatch" under HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run.

NOTE: untested, because the tests run on Linux only; winreg is imported when used.
"""

from __future__ import annotations

import subprocess

from app.core.autostart.base import Autostart, AutostartError

__all__ = ["RunKeyAutostart", "RUN_KEY", "VALUE_NAME"]

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
VALUE_NAME = "Bridgewatch"


class RunKeyAutostart(Autostart):
    @property
    def location(self) -> str:
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{VALUE_NAME}"

    def is_enabled(self) -> bool:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.QueryValueEx(key, VALUE_NAME)
        except OSError:
            return False
        return True

    def enable(self, command: list[str]) -> None:
        import winreg

        if not command:
            raise AutostartError("No command to start at login.")
        # list2cmdline quotes each argument the way the C runtime parses a command line.
        line = subprocess.list2cmdline(command)
        try:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.SetValueEx(key, VALUE_NAME, 0, winreg.REG_SZ, line)
        except OSError as exc:
            raise AutostartError(f"Could not write {self.location}: {exc.strerror or exc}.") from None

    def disable(self) -> None:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, VALUE_NAME)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise AutostartError(f"Could not delete {self.location}: {exc.strerror or exc}.") from None
