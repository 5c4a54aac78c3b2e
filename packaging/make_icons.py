"""Render the app icon SVG into the icon files each platform's bundle needs.

    python packaging/make_icons.py OUTPUT_DIR

writes, from resources/icons/app.svg:

- hicolor/<N>x<N>/apps/<APP_ID>.png for the freedesktop sizes, and hicolor/scalable/apps/<APP_ID>.svg
- Bridgewatch.ico (Windows): PNG-compressed images of 16 to 256 px, which Windows reads since Vista
- Bridgewatch.icns (macOS): PNG-compressed images of 16 to 1024 px under the element types
  that iconutil writes for them

Rendering uses Qt's QSvgRenderer, so it needs no tool beyond PySide6; it runs offscreen.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bundle_config import APP_ID, APP_NAME, ICON_SIZES, ROOT  # noqa: E402

__all__ = ["ICNS_TYPES", "ICO_SIZES", "icns_bytes", "ico_bytes", "make_icons", "render_png"]

SOURCE_SVG = ROOT / "resources" / "icons" / "app.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element type -> pixel size of its PNG (Apple's "icns" format: the @2x types hold the
# double-size image of the point size they name).
ICNS_TYPES = {
    "icp4": 16,
    "icp5": 32,
    "ic11": 32,  # 16 pt @2x
    "ic12": 64,  # 32 pt @2x
    "ic07": 128,
    "ic13": 256,  # 128 pt @2x
    "ic08": 256,
    "ic14": 512,  # 256 pt @2x
    "ic09": 512,
    "ic10": 1024,  # 512 pt @2x
}


def render_png(svg: Path, size: int) -> bytes:
    """Render `svg` into a square transparent PNG of `size` pixels and return the file's bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"Qt could not encode the {size} px rendering of {svg} as PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """Pack PNG images into a Windows .ico file: an ICONDIR, one 16-byte entry per image, then the images."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))  # reserved, type 1 = icon, image count
    offset = len(header) + 16 * len(sizes)
    entries = b""
    for size in sizes:
        if not 1 <= size <= 256:
            raise ValueError(f"An .ico image must be 1 to 256 px wide, not {size}")
        dimension = 0 if size == 256 else size  # 0 means 256 in the one-byte width and height fields
        entries += struct.pack("<BBBBHHII", dimension, dimension, 0, 0, 1, 32, len(pngs[size]), offset)
        offset += len(pngs[size])
    return header + entries + b"".join(pngs[size] for size in sizes)


def icns_bytes(elements: dict[str, bytes]) -> bytes:
    """Pack PNG images into a macOS .icns file: 'icns', the total length, then type-length-data elements.

    Lengths are big-endian and include the 8-byte element header.
    """
    body = b"".join(kind.encode("ascii") + struct.pack(">I", 8 + len(data)) + data for kind, data in elements.items())
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def make_icons(output: Path, svg: Path = SOURCE_SVG) -> None:
    """Write the hicolor tree, the .ico and the .icns for `svg` into `output`."""
    needed = set(ICON_SIZES) | set(ICO_SIZES) | set(ICNS_TYPES.values())
    pngs = {size: render_png(svg, size) for size in sorted(needed)}

    for size in ICON_SIZES:
        folder = output / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{APP_ID}.png").write_bytes(pngs[size])
    scalable = output / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable / f"{APP_ID}.svg")

    (output / f"{APP_NAME}.ico").write_bytes(ico_bytes({size: pngs[size] for size in ICO_SIZES}))
    (output / f"{APP_NAME}.icns").write_bytes(icns_bytes({kind: pngs[size] for kind, size in ICNS_TYPES.items()}))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make_icons.py OUTPUT_DIR", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # noqa: F841 (QPainter needs it)
    make_icons(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
