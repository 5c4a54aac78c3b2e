"""Tests of the PyInstaller packaging: the spec's settings, the generated icons, the Linux
desktop entry and install.sh, the hidden --self-test flag, and the built bundle itself.

The bundle tests need dist/Bridgewatch from `make package` and skip without it (or when the
sources are newer than it). With BRIDGEWATCH_REQUIRE_BUNDLE=1, as `make package-test` and CI
set it, a missing or outdated bundle fails them instead.
"""

from __future__ import annotations

import ast
import configparser
import os
import pkgutil
import plistlib
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import app
from app.core.autostart.linux import desktop_entry

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

import bundle_config  # noqa: E402
import make_icons  # noqa: E402

DESKTOP_FILE = PACKAGING / "linux" / f"{bundle_config.APP_ID}.desktop"
INSTALL_SH = PACKAGING / "linux" / "install.sh"
BUNDLE = ROOT / "dist" / "Bridgewatch"
EXECUTABLE = BUNDLE / "Bridgewatch"
VERSION = bundle_config.project_version()


def source_modules() -> set[str]:
    """Return every module of the app package in the source tree, as dotted names.

    app.__main__ is left out: the bundle starts through its own entry script instead.
    """
    names = {"app"}
    for module in pkgutil.walk_packages(app.__path__, "app."):
        names.add(module.name)
    return names - {"app.__main__"}


def read_desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def spec_calls() -> dict[str, dict[str, ast.expr]]:
    """Return the keyword arguments of each PyInstaller call (Analysis, EXE, ...) in the spec."""
    tree = ast.parse((PACKAGING / "bridgewatch.spec").read_text(encoding="utf-8"))
    calls = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
            calls[node.func.id] = {keyword.arg: keyword.value for keyword in node.keywords}
    return calls


# The spec and its settings


def test_spec_is_one_folder_and_windowed():
    calls = spec_calls()
    assert set(calls) >= {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"}
    exe = calls["EXE"]
    assert ast.literal_eval(exe["exclude_binaries"]) is True  # one folder: COLLECT gathers the libraries
    assert ast.literal_eval(exe["console"]) is False
    assert ast.unparse(calls["Analysis"]["excludes"]) == "bundle_config.excluded_modules()"


def test_spec_macos_bundle_uses_shared_settings():
    bundle = spec_calls()["BUNDLE"]
    assert ast.unparse(bundle["info_plist"]) == "bundle_config.info_plist(VERSION)"
    assert "bundle_config.APP_ID" in ast.unparse(bundle["bundle_identifier"])
    assert "Bridgewatch.icns" in ast.unparse(bundle["icon"])


def test_excluded_qt_modules():
    excluded = bundle_config.excluded_modules()
    for name in ("QtWebEngineCore", "QtWebEngineWidgets", "QtQml", "QtQuick", "QtPdf", "Qt3DCore"):
        assert f"PySide6.{name}" in excluded
    for name in bundle_config.QT_MODULES_USED:
        assert f"PySide6.{name}" not in excluded


def test_qt_modules_used_match_app_imports():
    """A new PySide6 import in app/ must be added to QT_MODULES_USED, or the bundle would lack it."""
    imported = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("PySide6."):
                imported.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                imported.update(a.name.split(".")[1] for a in node.names if a.name.startswith("PySide6."))
    assert imported <= set(bundle_config.QT_MODULES_USED)
    assert {f"PySide6.{name}" for name in imported}.isdisjoint(bundle_config.excluded_modules())


@pytest.mark.parametrize(
    ("dest", "unused"),
    [
        ("PySide6/Qt/translations/qtbase_de.qm", True),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", True),
        ("PySide6/Qt/plugins/printsupport/libcupsprintersupport.so", True),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),
        ("PySide6/Qt/plugins/imageformats/libqico.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", False),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6/Qt/lib/libQt6Widgets.so.6", False),
        ("PySide6\\plugins\\imageformats\\qsvg.dll", False),
        ("app/resources/icons/app.svg", False),
    ],
)
def test_unused_qt_file_filter(dest, unused):
    assert bundle_config.is_unused_qt_file(dest) is unused


def test_info_plist_values():
    values = bundle_config.info_plist(VERSION)
    assert values["LSUIElement"] is True
    assert values["CFBundleIdentifier"] == "io.github.bridgewatch.Bridgewatch"
    assert values["CFBundleShortVersionString"] == VERSION
    assert values["CFBundleVersion"] == VERSION
    assert values["CFBundleName"] == "Bridgewatch"
    assert plistlib.loads(plistlib.dumps(values)) == values


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1.0", (0, 1, 0, 0)), ("1.2.3.4", (1, 2, 3, 4)), ("2.0rc1", (2, 0, 0, 0)), ("3", (3, 0, 0, 0))],
)
def test_windows_version_tuple(version, expected):
    assert bundle_config.windows_version_tuple(version) == expected


def test_windows_version_tuple_rejects_large_part():
    with pytest.raises(ValueError, match="65535"):
        bundle_config.windows_version_tuple("70000.1")


def test_windows_version_info_evaluates():
    """The text must evaluate with PyInstaller's VSVersionInfo constructors; stand-ins record the arguments."""

    def record(kind):
        return lambda *args, **kwargs: (kind, args, kwargs)

    names = ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct", "VarFileInfo", "VarStruct")
    info = eval(bundle_config.windows_version_info("1.2.3"), {name: record(name) for name in names})  # noqa: S307

    kind, _, fields = info
    assert kind == "VSVersionInfo"
    fixed = fields["ffi"][2]
    assert fixed["filevers"] == (1, 2, 3, 0)
    assert fixed["prodvers"] == (1, 2, 3, 0)
    string_table = fields["kids"][0][1][0][0]
    strings = {struct_args[0]: struct_args[1] for _, struct_args, _ in string_table[1][1]}
    assert strings["OriginalFilename"] == "Bridgewatch.exe"
    assert strings["ProductVersion"] == "1.2.3"
    assert strings["FileVersion"] == "1.2.3"


def test_tarball_name():
    assert bundle_config.tarball_name("0.1.0") == "Bridgewatch-0.1.0-linux-x86_64.tar.gz"


# Generated icons


@pytest.fixture(scope="module")
def icon_dir(tmp_path_factory):
    """Run make_icons.py as the spec does, in its own process, so the test process never loads QtSvg."""
    folder = tmp_path_factory.mktemp("icons")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "make_icons.py"), str(folder)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return folder


def test_hicolor_pngs_have_their_sizes(icon_dir, qapp):
    from PySide6.QtGui import QImage

    for size in bundle_config.ICON_SIZES:
        path = icon_dir / "hicolor" / f"{size}x{size}" / "apps" / f"{bundle_config.APP_ID}.png"
        image = QImage(str(path))
        assert not image.isNull(), path
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # the icon's opaque square
        assert image.pixelColor(0, 0).alpha() == 0  # its rounded corner stays transparent
    assert (icon_dir / "hicolor" / "scalable" / "apps" / f"{bundle_config.APP_ID}.svg").is_file()


def test_ico_file_structure(icon_dir):
    data = (icon_dir / "Bridgewatch.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind, count) == (0, 1, len(make_icons.ICO_SIZES))
    for index, size in enumerate(make_icons.ICO_SIZES):
        width, height, _, _, planes, bits, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * index)
        assert width == height == (0 if size == 256 else size)
        assert (planes, bits) == (1, 32)
        assert data[offset:offset + 8] == b"\x89PNG\r\n\x1a\n"
        assert offset + length <= len(data)


def test_ico_file_reads_in_qt(icon_dir, qapp):
    from PySide6.QtGui import QImageReader

    reader = QImageReader(str(icon_dir / "Bridgewatch.ico"))
    assert reader.canRead(), reader.errorString()
    assert reader.imageCount() == len(make_icons.ICO_SIZES)


def test_icns_file_structure(icon_dir):
    data = (icon_dir / "Bridgewatch.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack_from(">I", data, 4)[0] == len(data)
    position, kinds = 8, []
    while position < len(data):
        kind = data[position:position + 4].decode("ascii")
        length = struct.unpack_from(">I", data, position + 4)[0]
        assert data[position + 8:position + 16] == b"\x89PNG\r\n\x1a\n", kind
        kinds.append(kind)
        position += length
    assert position == len(data)
    assert kinds == list(make_icons.ICNS_TYPES)


def test_icns_file_reads_in_qt(icon_dir, qapp):
    from PySide6.QtGui import QImageReader

    reader = QImageReader(str(icon_dir / "Bridgewatch.icns"))
    assert reader.canRead(), reader.errorString()
    sizes = set()
    for _ in range(reader.imageCount()):
        image = reader.read()
        assert not image.isNull(), reader.errorString()
        sizes.add(image.width())
        reader.jumpToNextImage()
    assert sizes == set(make_icons.ICNS_TYPES.values())


# The Linux desktop entry and install.sh


def test_desktop_entry_keys():
    entry = read_desktop_entry(DESKTOP_FILE)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Bridgewatch"
    assert entry["Icon"] == bundle_config.APP_ID
    assert entry["Exec"] == "bridgewatch"  # install.sh replaces it with the installed path
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")
    assert entry["StartupWMClass"] == "Bridgewatch"  # Qt's WM_CLASS is the application name


def desktop_file_validate(path: Path) -> None:
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate is not installed (Debian package desktop-file-utils)")
    result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout  # warnings and hints count too


def test_desktop_entry_validates():
    desktop_file_validate(DESKTOP_FILE)


def make_unpacked_archive(folder: Path, icon_source: Path) -> Path:
    """Lay out what the tarball unpacks to, with a shell script standing in for the bundle."""
    top = folder / "Bridgewatch-test"
    (top / "Bridgewatch" / "_internal").mkdir(parents=True)
    executable = top / "Bridgewatch" / "Bridgewatch"
    executable.write_text("#!/bin/sh\necho bridgewatch fake\n", encoding="utf-8")
    executable.chmod(0o755)
    shutil.copy2(INSTALL_SH, top / "install.sh")
    shutil.copy2(DESKTOP_FILE, top / DESKTOP_FILE.name)
    shutil.copytree(icon_source / "hicolor", top / "icons" / "hicolor")
    (top / "VERSION").write_text("9.9.9\n", encoding="utf-8")
    return top


def run_install(top: Path, prefix: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(prefix.parent),
        "PREFIX": str(prefix),
        "XDG_CONFIG_HOME": str(prefix.parent / ".config"),
    }
    return subprocess.run(["sh", str(top / "install.sh"), *args], capture_output=True, text=True, env=env, timeout=60)


def test_install_sh_installs_and_uninstalls(tmp_path, icon_dir):
    top = make_unpacked_archive(tmp_path / "unpacked", icon_dir)
    prefix = tmp_path / "home" / ".local"

    result = run_install(top, prefix)
    assert result.returncode == 0, result.stderr
    assert "Installed Bridgewatch 9.9.9" in result.stdout

    app_dir = prefix / "lib" / "bridgewatch"
    link = prefix / "bin" / "bridgewatch"
    assert link.is_symlink()
    assert link.resolve() == (app_dir / "Bridgewatch").resolve()
    assert subprocess.run([str(link)], capture_output=True, text=True).stdout == "bridgewatch fake\n"

    desktop = prefix / "share" / "applications" / DESKTOP_FILE.name
    entry = read_desktop_entry(desktop)
    assert entry["Exec"] == f'"{app_dir}/Bridgewatch"'
    assert entry["TryExec"] == f"{app_dir}/Bridgewatch"
    assert entry["Icon"] == bundle_config.APP_ID
    icons = prefix / "share" / "icons" / "hicolor"
    for size in bundle_config.ICON_SIZES:
        assert (icons / f"{size}x{size}" / "apps" / f"{bundle_config.APP_ID}.png").is_file()
    assert (icons / "scalable" / "apps" / f"{bundle_config.APP_ID}.svg").is_file()
    desktop_file_validate(desktop)
    autostart = prefix.parent / ".config" / "autostart" / "bridgewatch.desktop"
    autostart.parent.mkdir(parents=True)
    autostart.write_text(desktop_entry([str(app_dir / "Bridgewatch")]), encoding="utf-8")

    result = run_install(top, prefix, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not autostart.exists()
    assert f"Removed the start-at-login entry {autostart}." in result.stdout
    assert f"settings and bridge list  {prefix.parent / '.config' / 'Bridgewatch'}" in result.stdout
    assert "bridgewatch remove NAME" in result.stdout
    assert not app_dir.exists()
    assert not link.is_symlink()
    assert not link.exists()
    assert not desktop.exists()
    assert not any(icons.rglob(f"{bundle_config.APP_ID}.*"))


def test_install_sh_keeps_other_autostart_entry(tmp_path, icon_dir):
    top = make_unpacked_archive(tmp_path / "unpacked", icon_dir)
    prefix = tmp_path / "home" / ".local"
    assert run_install(top, prefix).returncode == 0
    autostart = prefix.parent / ".config" / "autostart" / "bridgewatch.desktop"
    autostart.parent.mkdir(parents=True)
    autostart.write_text(desktop_entry(["/usr/bin/python3", "-m", "app"]), encoding="utf-8")

    result = run_install(top, prefix, "--uninstall")

    assert result.returncode == 0, result.stderr
    assert autostart.is_file()
    assert "start-at-login" not in result.stdout


def test_install_sh_upgrade_replaces_old_files(tmp_path, icon_dir):
    top = make_unpacked_archive(tmp_path / "unpacked", icon_dir)
    prefix = tmp_path / "home" / ".local"
    assert run_install(top, prefix).returncode == 0
    stale = prefix / "lib" / "bridgewatch" / "_internal" / "stale-from-old-version.so"
    stale.write_text("old", encoding="utf-8")

    result = run_install(top, prefix)
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert not (prefix / "lib" / "bridgewatch.new").exists()


def test_install_sh_rejects_unquotable_prefix(tmp_path, icon_dir):
    top = make_unpacked_archive(tmp_path / "unpacked", icon_dir)
    result = run_install(top, tmp_path / "home" / 'we"ird')
    assert result.returncode == 1
    assert "set PREFIX to another folder" in result.stderr


def test_install_sh_needs_the_bundle(tmp_path, icon_dir):
    top = make_unpacked_archive(tmp_path / "unpacked", icon_dir)
    shutil.rmtree(top / "Bridgewatch")
    result = run_install(top, tmp_path / "home" / ".local")
    assert result.returncode == 1
    assert "Bridgewatch/Bridgewatch is missing" in result.stderr


# The hidden --self-test flag, run from the source tree


def run_self_test(*python_args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, *python_args], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT
    )


def test_self_test_imports_every_module():
    result = run_self_test("-m", "app", "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    imported = {line.split()[-1] for line in result.stdout.splitlines() if line.startswith("ok   import ")}
    assert source_modules() <= imported
    assert "ok   icon rendering" in result.stdout
    assert result.stdout.splitlines()[-1] == "self-test passed: 0 failed checks"


def test_self_test_fails_on_missing_module():
    # A meta path finder that makes one app module unimportable, as if the bundle lacked it.
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'app.core.replay':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from app.cli import main\n"
        "sys.exit(main(['--self-test']))\n"
    )
    result = run_self_test("-c", blocker)
    assert result.returncode == 1
    assert "FAIL import app.core.replay" in result.stdout
    assert result.stdout.splitlines()[-1] == "self-test failed: 1 failed checks"


def test_self_test_hidden_from_help():
    result = run_self_test("-m", "app", "--help")
    assert result.returncode == 0
    assert "self-test" not in result.stdout


# The built bundle (after `make package`)


def _bundle_problem() -> str | None:
    if not EXECUTABLE.is_file():
        return f"{EXECUTABLE} is not built: run `make package`"
    built = EXECUTABLE.stat().st_mtime
    newer = [path for path in (ROOT / "app").rglob("*.py") if path.stat().st_mtime > built]
    if newer:
        return f"{EXECUTABLE} is older than {newer[0].relative_to(ROOT)}: run `make package` again"
    return None


@pytest.fixture
def bundle() -> Path:
    problem = _bundle_problem()
    if problem:
        if os.environ.get("BRIDGEWATCH_REQUIRE_BUNDLE") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    return BUNDLE


def run_frozen(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BRIDGEWATCH_HOME=str(home))
    return subprocess.run([str(EXECUTABLE), *args], capture_output=True, text=True, env=env, timeout=120)


def test_frozen_self_test_finds_every_module(bundle, tmp_path):
    result = run_frozen("--self-test", home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    imported = {line.split()[-1] for line in result.stdout.splitlines() if line.startswith("ok   import ")}
    missing = source_modules() - imported
    assert not missing, f"modules missing from the bundle: {sorted(missing)}"
    assert "ok   icon rendering" in result.stdout


def test_frozen_version_matches_pyproject(bundle, tmp_path):
    result = run_frozen("--version", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"bridgewatch {VERSION}"


def test_frozen_bundle_leaves_out_unused_qt(bundle):
    internal = bundle / "_internal"
    names = {path.name for path in internal.rglob("*")}
    for prefix in ("libQt6WebEngine", "libQt6Qml", "libQt6Quick", "libQt6Pdf", "QtWebEngine", "QtQml", "QtQuick"):
        assert not any(name.startswith(prefix) for name in names), prefix
    assert not list(internal.rglob("*.qm")), "Qt translations were collected"
    assert not (internal / "pygments").exists()
    assert (internal / "PySide6" / "Qt" / "plugins" / "iconengines").is_dir()
    bundled_icons = {path.name for path in (internal / "app" / "resources" / "icons").glob("*.svg")}
    assert bundled_icons == {path.name for path in (ROOT / "resources" / "icons").glob("*.svg")}
    assert list((internal / "desktop_notifier" / "resources").glob("*.png"))


def test_tarball_installs_and_runs(bundle, tmp_path):
    tarball = ROOT / "dist" / bundle_config.tarball_name(VERSION)
    assert tarball.is_file(), f"{tarball} is missing: `make package` builds it on Linux"
    top = f"Bridgewatch-{VERSION}-linux-x86_64"
    with tarfile.open(tarball) as archive:
        members = {member.name: member for member in archive.getmembers()}
        assert all(name == top or name.startswith(top + "/") for name in members)
        assert members[f"{top}/install.sh"].mode & stat.S_IXUSR
        assert members[f"{top}/Bridgewatch/Bridgewatch"].mode & stat.S_IXUSR
        assert f"{top}/{bundle_config.APP_ID}.desktop" in members
        assert f"{top}/icons/hicolor/256x256/apps/{bundle_config.APP_ID}.png" in members
        archive.extractall(tmp_path / "unpacked", filter="tar")

    prefix = tmp_path / "home" / ".local"
    result = run_install(tmp_path / "unpacked" / top, prefix)
    assert result.returncode == 0, result.stderr
    installed = prefix / "bin" / "bridgewatch"
    version = subprocess.run([str(installed), "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == f"bridgewatch {VERSION}", version.stderr


READ_BACK = """
import sys
sys.path.insert(0, sys.argv[1])
import keyring.backends.SecretService
from app.core.config import load_config
from app.core.paths import app_paths
(bridge,) = load_config(app_paths().config_file).bridges
stored = keyring.backends.SecretService.Keyring().get_password("bridgewatch", bridge.id)
print("read back: " + ("same token" if stored == "frozen-test-token" else "a different token"))
"""


def test_frozen_keychain_stores_token(bundle, tmp_path):
    """The bundle stores a token in a real Secret Service through its own client, without SecretStorage."""
    if shutil.which("dbus-run-session") is None or shutil.which("gnome-keyring-daemon") is None:
        pytest.skip("dbus-run-session or gnome-keyring-daemon is missing (Debian packages dbus, gnome-keyring)")
    internal = bundle / "_internal"
    for left_out in ("cryptography", "secretstorage", "jeepney", "cffi"):
        assert not (internal / left_out).exists(), f"{left_out} was collected into the bundle"
    assert not list(internal.glob("_cffi_backend*"))
    script = (
        "printf keyring-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null\n"
        'echo frozen-test-token | "$BUNDLE_EXE" add keychain-test http://127.0.0.1:9 --probe monitoring\n'
        '"$PYTHON" -c "$READ_BACK" "$ROOT"\n'
        '"$BUNDLE_EXE" remove keychain-test\n'
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "BRIDGEWATCH_HOME": str(tmp_path / "home"),
        "BUNDLE_EXE": str(EXECUTABLE),
        "PYTHON": sys.executable,
        "READ_BACK": READ_BACK,
        "ROOT": str(ROOT),
    }
    result = subprocess.run(
        ["dbus-run-session", "--", "sh", "-e", "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "token stored in the Secret Service keychain" in result.stdout
    assert "read back: same token" in result.stdout
    assert "Removed keychain-test and its keychain entry." in result.stdout
