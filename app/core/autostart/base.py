"""The start-at-login interface that each platform module implements."""

from __future__ import annotations

import abc

__all__ = ["Autostart", "AutostartError"]


class AutostartError(Exception):
    """Start at login could not be turned on or off. The message names the file or key and the cause."""


class Autostart(abc.ABC):
    """Turn starting Bridgewatch at login on and off for the current user."""

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """The file or registry value that contains the setting, for the settings page."""

    @abc.abstractmethod
    def is_enabled(self) -> bool:
        """Return True when Bridgewatch starts at the next login."""

    @abc.abstractmethod
    def enable(self, command: list[str]) -> None:
        """Start `command` (program and arguments) at every login; raise AutostartError on failure."""

    @abc.abstractmethod
    def disable(self) -> None:
        """Stop starting Bridgewatch at login; do nothing when it is off. Raise AutostartError on failure."""
