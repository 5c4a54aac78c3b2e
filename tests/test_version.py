"""Checks that app.__version__ stays equal to the version in pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import app

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_version_matches_pyproject():
    with PYPROJECT.open("rb") as file:
        project_version = tomllib.load(file)["project"]["version"]

    assert app.__version__ == project_version, "change __version__ in app/__init__.py with pyproject.toml"
