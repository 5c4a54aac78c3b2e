"""Build the Bridgewatch bundle for this platform with PyInstaller; `make package` runs this.

    python packaging/build.py            dist/Bridgewatch/ (and dist/Bridgewatch.app on macOS);
                                         on Linux also dist/Bridgewatch-<version>-linux-x86_64.tar.gz
    python packaging/build.py --measure  the same, then the bare PySide6 tray app with the same
                                         spec options, and build/size-report.json comparing the two

Run it with the Python of the environment that has Bridgewatch and the `package` extra installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bundle_config import APP_ID, APP_NAME, ROOT, project_version, tarball_name  # noqa: E402

__all__ = ["folder_size", "main", "make_tarball", "run_pyinstaller"]

PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "bridgewatch.spec"
BUILD = ROOT / "build"
DIST = ROOT / "dist"
HELLO_NAME = "BridgewatchHello"


def run_pyinstaller(workpath: Path, distpath: Path, *spec_args: str) -> float:
    """Run PyInstaller on the spec from a clean work folder; return the seconds it took."""
    command = [
        sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
        "--workpath", str(workpath), "--distpath", str(distpath), str(SPEC),
    ]
    if spec_args:
        command += ["--", *spec_args]
    started = time.monotonic()
    subprocess.run(command, check=True, cwd=ROOT)
    return time.monotonic() - started


def folder_size(path: Path) -> int:
    """Return the bytes of all regular files under `path`, not following symbolic links."""
    total = 0
    for folder, _subfolders, names in os.walk(path):
        for name in names:
            file = Path(folder) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def make_tarball(bundle: Path, icons: Path, version: str, output: Path) -> Path:
    """Pack the bundle, install.sh, the .desktop file and the hicolor icons into one tar.gz.

    Everything sits under one top folder named like the archive, so unpacking creates
    nothing else in the current folder.
    """
    top = output.name.removesuffix(".tar.gz")
    linux = PACKAGING / "linux"
    with tarfile.open(output, "w:gz", compresslevel=6) as archive:
        archive.add(bundle, arcname=f"{top}/{APP_NAME}")
        archive.add(linux / "install.sh", arcname=f"{top}/install.sh")
        archive.add(linux / f"{APP_ID}.desktop", arcname=f"{top}/{APP_ID}.desktop")
        archive.add(icons / "hicolor", arcname=f"{top}/icons/hicolor")
        version_file = BUILD / "VERSION"
        version_file.write_text(f"{version}\n", encoding="utf-8")
        archive.add(version_file, arcname=f"{top}/VERSION")
    return output


def measure(app_seconds: float, version: str) -> dict:
    """Build the bare tray app with the same spec options and return the size comparison."""
    hello_seconds = run_pyinstaller(BUILD / "hello", BUILD / "hello-dist", "--hello")
    app_bytes = folder_size(DIST / APP_NAME)
    hello_bytes = folder_size(BUILD / "hello-dist" / HELLO_NAME)
    return {
        "version": version,
        "platform": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "bundle_bytes": app_bytes,
        "hello_bytes": hello_bytes,
        "ratio": round(app_bytes / hello_bytes, 3),
        "bundle_build_seconds": round(app_seconds, 1),
        "hello_build_seconds": round(hello_seconds, 1),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="build.py", description=__doc__.split("\n")[0])
    options.add_argument(
        "--measure", action="store_true", help="also build the bare PySide6 tray app and compare the sizes"
    )
    args = options.parse_args(argv)
    version = project_version()

    shutil.rmtree(DIST / APP_NAME, ignore_errors=True)
    shutil.rmtree(DIST / f"{APP_NAME}.app", ignore_errors=True)
    work = BUILD / "pyinstaller"
    seconds = run_pyinstaller(work, DIST)
    print(f"Built {DIST / APP_NAME} ({folder_size(DIST / APP_NAME) / 1e6:.1f} MB) in {seconds:.0f} s")

    if sys.platform == "linux":
        icons = work / "bridgewatch" / "icons"  # written by the spec through make_icons.py
        tarball = make_tarball(DIST / APP_NAME, icons, version, DIST / tarball_name(version))
        print(f"Packed {tarball} ({tarball.stat().st_size / 1e6:.1f} MB)")

    if args.measure:
        report = measure(seconds, version)
        report_file = BUILD / "size-report.json"
        report_file.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(
            f"Bundle {report['bundle_bytes'] / 1e6:.1f} MB, bare PySide6 tray app "
            f"{report['hello_bytes'] / 1e6:.1f} MB, ratio {report['ratio']:.3f} (written to {report_file})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
