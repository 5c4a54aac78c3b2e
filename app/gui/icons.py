"""Status icons: one SVG per status, each with its own shape as well as colour."""

from __future__ import annotations

import functools
import sys
from importlib.resources import as_file, files

from PySide6.QtGui import QIcon

from app.core.model import BridgeStatus

__all__ = ["status_icon", "tray_status_icon", "app_icon", "icon_file"]


def icon_file(name: str):
    """Return a Traversable for resources/icons/NAME.svg inside the installed package."""
    return files("app.resources").joinpath("icons", f"{name}.svg")


@functools.cache
def _load(name: str) -> QIcon:
    with as_file(icon_file(name)) as path:
        icon = QIcon(str(path))
    if icon.isNull():
        raise FileNotFoundError(f"The icon {name}.svg is missing or unreadable: reinstall Bridgewatch.")
    return icon


def status_icon(status: BridgeStatus) -> QIcon:
    return _load(status.value)


@functools.cache
def tray_status_icon(status: BridgeStatus) -> QIcon:
    """Return the tray icon for `status`.

    On macOS this is a monochrome template, which the menu bar tints for light and dark mode.
    Elsewhere it is the coloured icon, whose white outline keeps it readable on dark panels.
    """
    if sys.platform != "darwin":
        return status_icon(status)
    icon = QIcon(_load(f"mono-{status.value}"))
    icon.setIsMask(True)
    return icon


def app_icon() -> QIcon:
    return _load("app")
