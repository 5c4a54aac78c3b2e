"""Folder locations for Bridgewatch's config, data and logs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

__all__ = ["AppPaths", "app_paths", "HOME_ENV"]

HOME_ENV = "BRIDGEWATCH_HOME"
APP_NAME = "Bridgewatch"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "bridgewatch.log"


def app_paths() -> AppPaths:
    """Return the folders in use: all in $BRIDGEWATCH_HOME when set, else the platform's."""
    home = os.environ.get(HOME_ENV, "").strip()
    if home:
        root = Path(home).expanduser()
        return AppPaths(config_dir=root, data_dir=root, log_dir=root)
    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
