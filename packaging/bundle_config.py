"""Settings of the PyInstaller bundle that the spec, the build script and the tests share.

Plain Python with no PyInstaller import, so tests/test_packaging.py checks the same values
that bridgewatch.spec builds with.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

__all__ = [
    "APP_ID",
    "APP_NAME",
    "ICON_SIZES",
    "QT_MODULES_USED",
    "ROOT",
    "excluded_modules",
    "info_plist",
    "is_unused_qt_file",
    "project_version",
    "tarball_name",
    "windows_version_info",
    "windows_version_tuple",
]

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "Bridgewatch"
# Reverse-DNS id: the macOS bundle identifier, the Linux .desktop file name and the icon name.
APP_ID = "io.github.bridgewatch.Bridgewatch"
# Freedesktop hicolor sizes in pixels; the .icns and .ico files take their subsets of these.
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)

# The PySide6 modules that app/ imports. Every other Qt binding is excluded, so no stray
# import (a library probing for Qt) can pull in its libraries, plugins and hooks.
QT_MODULES_USED = ("QtCore", "QtGui", "QtWidgets", "QtNetwork")
_QT_MODULES_EXCLUDED = (
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
    "QtAxContainer", "QtBluetooth", "QtCharts", "QtConcurrent", "QtDBus", "QtDataVisualization",
    "QtDesigner", "QtGraphs", "QtGraphsWidgets", "QtHelp", "QtHttpServer", "QtLocation",
    "QtMultimedia", "QtMultimediaWidgets", "QtNetworkAuth", "QtNfc", "QtOpenGL", "QtOpenGLWidgets",
    "QtPdf", "QtPdfWidgets", "QtPositioning", "QtPrintSupport", "QtQml", "QtQuick", "QtQuick3D",
    "QtQuickControls2", "QtQuickWidgets", "QtRemoteObjects", "QtScxml", "QtSensors", "QtSerialBus",
    "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine", "QtSvg", "QtSvgWidgets", "QtTest",
    "QtTextToSpeech", "QtUiTools", "QtWebChannel", "QtWebEngineCore", "QtWebEngineQuick",
    "QtWebEngineWidgets", "QtWebSockets", "QtWebView", "QtXml",
)
# Modules that the app never uses at run time. A build environment with the test extra would
# still pull them in: httpx's command-line client imports pygments (4.5 MB of source) when it is
# installed, and the rest are tooling.
_OTHER_EXCLUDED = (
    "tkinter", "unittest", "pydoc", "pydoc_data", "lib2to3", "setuptools", "pip",
    "pygments", "pytest", "_pytest", "hypothesis", "trustme", "pyflakes",
    # keyring's stock Linux backend and what it needs (14 MB, mostly cryptography): the app talks
    # to the Secret Service through app.core.secretservice instead.
    "secretstorage", "jeepney", "cryptography", "cffi", "_cffi_backend",
)

# Plugin folders that the app needs none of: printing, SQL, QML tooling, the designer, Wayland
# compositor integration and EGLFS (a full-screen embedded platform).
_UNUSED_PLUGIN_DIRS = (
    "designer", "egldeviceintegrations", "printsupport", "qmltooling", "sqldrivers",
    "wayland-graphics-integration-server", "vectorimageformats",
)
# Image formats: the icons are SVG (rendered by the svg icon engine and image plugin) and PNG
# (built into QtGui). The others would pull in their codecs, and pdf pulls in QtPdf.
_UNUSED_IMAGE_PLUGINS = ("qgif", "qjpeg", "qpdf", "qtga", "qtiff", "qwbmp", "qwebp")


def excluded_modules() -> list[str]:
    """Return the module names the spec passes to Analysis(excludes=...)."""
    return [f"PySide6.{name}" for name in _QT_MODULES_EXCLUDED] + list(_OTHER_EXCLUDED)


def is_unused_qt_file(dest: str) -> bool:
    """Tell whether a collected file (its path inside the bundle) is Qt content the app does not use.

    That is every Qt translation (the app ships English only), the plugin folders above and the
    unused image formats. The .icns and .ico plugins stay, because macOS and Windows load them.
    """
    parts = Path(dest).as_posix().split("/")
    if "PySide6" not in parts:
        return False
    if "translations" in parts:
        return True
    if "plugins" in parts:
        plugin_dir = parts[parts.index("plugins") + 1] if parts[-1] != "plugins" else ""
        if plugin_dir in _UNUSED_PLUGIN_DIRS:
            return True
        if plugin_dir == "imageformats":
            stem = parts[-1].split(".")[0].removeprefix("lib")
            return stem in _UNUSED_IMAGE_PLUGINS
    return False


def project_version(root: Path = ROOT) -> str:
    """Return [project] version from pyproject.toml, the one place the version is set."""
    with open(root / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


def tarball_name(version: str) -> str:
    return f"{APP_NAME}-{version}-linux-x86_64.tar.gz"


def windows_version_tuple(version: str) -> tuple[int, int, int, int]:
    """Return the four 16-bit numbers of a Windows VERSIONINFO for a version such as 0.1.0 or 1.2.0rc1.

    Suffixes after the last number are dropped, since the binary fields hold numbers only.
    """
    numbers = []
    for part in version.split(".")[:4]:
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        numbers.append(int(digits or 0))
        if len(digits) < len(part):
            break
    numbers += [0] * (4 - len(numbers))
    if any(number > 0xFFFF for number in numbers):
        raise ValueError(f"Version {version!r} does not fit a Windows version resource: each part must be at most 65535.")
    return tuple(numbers)


def info_plist(version: str) -> dict:
    """Return the Info.plist keys the macOS bundle gets on top of PyInstaller's defaults."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": APP_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        # A menu-bar app: no Dock icon and no main menu.
        "LSUIElement": True,
        "NSHighResolutionCapable": True,
        "NSHumanReadableCopyright": "Bridgewatch contributors",
    }


def windows_version_info(version: str) -> str:
    """Return the version resource of Bridgewatch.exe in the text form that EXE(version=FILE) reads.

    PyInstaller evaluates this text into its VSVersionInfo classes; Explorer shows the strings
    under Properties > Details.
    """
    numbers = windows_version_tuple(version)
    strings = {
        "CompanyName": "Bridgewatch contributors",
        "FileDescription": "Bridgewatch: 1Password SCIM bridge monitor",
        "FileVersion": version,
        "InternalName": APP_NAME,
        "LegalCopyright": "Bridgewatch contributors",
        "OriginalFilename": f"{APP_NAME}.exe",
        "ProductName": APP_NAME,
        "ProductVersion": version,
    }
    string_structs = ",\n          ".join(f"StringStruct({key!r}, {value!r})" for key, value in strings.items())
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers!r},
    prodvers={numbers!r},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo([
      StringTable(
        '040904B0',
        [
          {string_structs}
        ])
    ]),
    VarFileInfo([VarStruct('Translation', [0x0409, 1200])])
  ]
)
"""
