"""Start BuildNotify (installed from PyPI into a throwaway virtualenv) and report at its first event-loop tick.

Runs with that virtualenv's Python; argv[1] is the settings file to use (empty, so no build
server is configured). Only QApplication.exec is wrapped; BuildNotify itself runs unchanged.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main() -> None:
    original_exec = QApplication.exec

    def exec_with_report(*_instance):  # called as app.exec(), so the instance may come first
        def report() -> None:
            print(json.dumps({"event": "tick", "rss_kib": rss_kib(), "modules": len(sys.modules)}), flush=True)
            QApplication.quit()

        QTimer.singleShot(0, report)
        return original_exec()

    QApplication.exec = exec_with_report
    from buildnotifylib.__main__ import main as buildnotify

    buildnotify(["buildnotify", "--settings", sys.argv[1]])


if __name__ == "__main__":
    main()
