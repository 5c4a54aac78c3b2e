"""Start at login on macOS: a LaunchAgent plist in ~/Library/LaunchAgents, loaded by launchd at login.

NOTE: only the plist file is tested (on Linux); loading it with launchd is untested here.
"""

from __future__ import annotations

import plistlib
from pathlib import Path

from app.core.autostart.base import Autostart, AutostartError
from app.core.config import atomic_write

__all__ = ["LaunchAgentAutostart", "LABEL", "launch_agent_plist"]

LABEL = "io.github.bridgewatch.tray"


def launch_agent_plist(command: list[str]) -> bytes:
    """Return the LaunchAgent plist that runs `command` once at login in the user's GUI session."""
    return plistlib.dumps(
        {
            "Label": LABEL,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }
    )


class LaunchAgentAutostart(Autostart):
    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @property
    def path(self) -> Path:
        return (self._directory or Path.home() / "Library" / "LaunchAgents") / f"{LABEL}.plist"

    @property
    def location(self) -> str:
        return str(self.path)

    def is_enabled(self) -> bool:
        try:
            with self.path.open("rb") as handle:
                data = plistlib.load(handle)
        except (OSError, plistlib.InvalidFileException, ValueError):
            return False
        return isinstance(data, dict) and not data.get("Disabled", False)

    def enable(self, command: list[str]) -> None:
        if not command:
            raise AutostartError("No command to start at login.")
        try:
            atomic_write(self.path, launch_agent_plist(command))
        except OSError as exc:
            raise AutostartError(f"Could not write {self.path}: {exc.strerror or exc}.") from None

    def disable(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise AutostartError(f"Could not delete {self.path}: {exc.strerror or exc}.") from None
