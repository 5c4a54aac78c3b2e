"""Bridgewatch: a desktop monitor for 1Password SCIM bridges."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bridgewatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
