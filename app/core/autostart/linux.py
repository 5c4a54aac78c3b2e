"""Start at login on Linux and other XDG desktops: $XDG_CONFIG_HOME/autostart/bridgewatch.desktop.

The file format follows the freedesktop.org Desktop Entry Specification 1.5 and the
Desktop Application Autostart Specification 0.5.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.core.autostart.base import Autostart, AutostartError
from app.core.config import atomic_write

__all__ = ["XdgAutostart", "desktop_entry", "quote_exec_argument"]

FILE_NAME = "bridgewatch.desktop"

# Characters that force an Exec argument into double quotes (Desktop Entry Spec, "The Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _config_home() -> Path:
    value = os.environ.get("XDG_CONFIG_HOME", "").strip()
    # The spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".config"


def quote_exec_argument(argument: str) -> str:
    """Quote one Exec argument as the spec requires, then escape it as a desktop-file string value.

    Inside double quotes, `"`, backquote, `$` and backslash take a backslash. A literal `%`
    is written `%%`, because `%` starts a field code. Last, every backslash is doubled,
    because the string-value rules apply to the whole Exec value.
    """
    if "\n" in argument or "\r" in argument:
        raise AutostartError(f"The program path {argument!r} contains a line break, which an autostart entry cannot hold.")
    text = argument.replace("%", "%%")
    if any(ch in _RESERVED for ch in argument) or not argument:
        escaped = "".join("\\" + ch if ch in '"`$\\' else ch for ch in text)
        text = f'"{escaped}"'
    return text.replace("\\", "\\\\")


def desktop_entry(command: list[str]) -> str:
    """Return the autostart .desktop file that runs `command`."""
    exec_line = " ".join(quote_exec_argument(argument) for argument in command)
    # With TryExec, a desktop skips the entry once the program is gone (an uninstalled bundle).
    try_exec = ""
    if command and Path(command[0]).is_absolute():
        escaped = command[0].replace("\\", "\\\\")  # a string value: only the backslash needs escaping here
        try_exec = f"TryExec={escaped}\n"
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Bridgewatch\n"
        "Comment=Watches 1Password SCIM bridges from the system tray\n"
        f"Exec={exec_line}\n"
        f"{try_exec}"
        "Terminal=false\n"
        "Categories=Network;Monitor;\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


class XdgAutostart(Autostart):
    """An XDG autostart entry in the user's config folder."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @property
    def path(self) -> Path:
        return (self._directory or _config_home() / "autostart") / FILE_NAME

    @property
    def location(self) -> str:
        return str(self.path)

    def is_enabled(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        except (OSError, UnicodeDecodeError):
            return False
        values = {}
        for line in text.splitlines():
            key, separator, value = line.partition("=")
            if separator:
                values[key.strip()] = value.strip().lower()
        # A desktop may turn an entry off instead of deleting it.
        return values.get("Hidden") != "true" and values.get("X-GNOME-Autostart-enabled") != "false"

    def enable(self, command: list[str]) -> None:
        if not command:
            raise AutostartError("No command to start at login.")
        try:
            atomic_write(self.path, desktop_entry(command).encode("utf-8"))
        except OSError as exc:
            raise AutostartError(f"Could not write {self.path}: {exc.strerror or exc}.") from None

    def disable(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise AutostartError(f"Could not delete {self.path}: {exc.strerror or exc}.") from None
