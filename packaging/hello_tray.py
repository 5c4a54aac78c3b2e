"""A bare PySide6 tray app, frozen with the same spec options as the baseline for Bridgewatch's bundle size.

It shows a tray icon with a Quit item and nothing else. With --version it prints one line and exits.
"""

import sys

from PySide6.QtWidgets import QApplication, QMenu, QStyle, QSystemTrayIcon


def main() -> int:
    if "--version" in sys.argv:
        print("hello tray")
        return 0
    app = QApplication(sys.argv)
    tray = QSystemTrayIcon(app.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon))
    menu = QMenu()
    menu.addAction("Quit", app.quit)
    tray.setContextMenu(menu)
    tray.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
