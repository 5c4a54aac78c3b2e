"""Guards against start-up regressions that a noisy machine cannot hide: counts of imported modules.

A module count depends only on the code and the installed packages, not on the machine's load.
These checks are therefore stable where a timing is not. The ceilings leave room for new
modules of the app itself, so crossing one means that a heavy package became an eager import.
benchmarks/RESULTS.md lists the counts of the last benchmark run.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# Measured with Python 3.11, httpx 0.29, keyring 25.7 and PySide6 6.11.3: `import app.gui.app`
# loaded 213 modules, `import app.core.engine` 306, `import app.cli` 108, and the interpreter
# alone 68. Each ceiling leaves about 10 % for new modules of the app itself.
TRAY_APP_CEILING = 240
ENGINE_CEILING = 340
CLI_CEILING = 120

# Loaded on the engine thread, or when the window, a command or a token needs them, never to show the tray.
ENGINE_ONLY_MODULES = {
    "httpx", "asyncio", "sqlite3", "keyring", "app.core.engine", "app.core.probe", "app.core.history"
}


def loaded_modules(code: str) -> set[str]:
    """Return the names in sys.modules after running `code` in a fresh interpreter."""
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize(
    ("code", "ceiling"),
    [
        ("import app.gui.app", TRAY_APP_CEILING),
        ("import app.core.engine", ENGINE_CEILING),
        ("import app.cli", CLI_CEILING),
    ],
    ids=["tray-app", "engine", "cli"],
)
def test_import_count_under_ceiling(code, ceiling):
    count = len(loaded_modules(code))

    assert count <= ceiling, f"`{code}` loaded {count} modules, more than {ceiling}: import heavy packages lazily"


def test_engine_loads_no_gui_or_notifier():
    modules = loaded_modules("import app.core.engine")
    top_level = {name.split(".")[0] for name in modules}

    assert "PySide6" not in top_level
    assert "desktop_notifier" not in top_level


def test_tray_app_loads_only_qt_essentials():
    modules = loaded_modules("import app.gui.app")
    qt_modules = {name for name in modules if name.startswith("PySide6.Qt")}

    assert qt_modules <= {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtNetwork", "PySide6.QtSvg"}


@pytest.mark.parametrize("code", ["import app.gui.app", "import app.cli"], ids=["tray-app", "cli"])
def test_start_defers_engine_modules(code):
    loaded = ENGINE_ONLY_MODULES & loaded_modules(code)

    assert not loaded, f"`{code}` loaded {sorted(loaded)}: import them where they are used"
