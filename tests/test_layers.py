"""Tests that the core and the CLI never load Qt, so they run on a machine without a display."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import app.core

CORE_DIR = Path(app.core.__file__).parent
QT_PACKAGES = ("PySide6", "shiboken6")


def qt_imports(path: Path) -> list[str]:
    """Return the Qt modules that the file at `path` imports, at any nesting level."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [name for name in names if name.split(".")[0] in QT_PACKAGES]
    return found


def core_files() -> list[Path]:
    return sorted(CORE_DIR.rglob("*.py"))


def test_core_has_python_files():
    names = {path.name for path in core_files()}

    assert {"probe.py", "engine.py", "simulator.py"} <= names


@pytest.mark.parametrize("path", core_files(), ids=lambda path: path.name)
def test_core_file_imports_no_qt(path):
    assert qt_imports(path) == []


def test_qt_import_detected(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from PySide6.QtCore import QObject\nimport shiboken6\n", encoding="utf-8")

    assert sorted(qt_imports(sample)) == ["PySide6.QtCore", "shiboken6"]


def test_core_and_cli_load_no_qt():
    modules = sorted(f"app.core.{info.name}" for info in pkgutil.iter_modules(app.core.__path__))
    script = (
        "import importlib, sys\n"
        f"for name in {modules + ['app.cli']!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = [name for name in sys.modules if name.split('.')[0] in {QT_PACKAGES!r}]\n"
        "assert not loaded, loaded\n"
        f"print(len({modules!r}))\n"
    )

    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(len(modules))
    assert "app.core.probe" in modules
