"""The floor of the stack: a QApplication with a QSystemTrayIcon and nothing else.

Modes: `tick` reports (JSON on stdout) at the first event-loop tick and exits. `idle` reports
at the first tick and runs until killed. `stall SECONDS` measures the gaps of a 1 ms precise
timer for SECONDS, reports, and exits.
It imports nothing from Bridgewatch, so it also runs in another virtualenv.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def report(**values) -> None:
    print(json.dumps({**values, "rss_kib": rss_kib(), "modules": len(sys.modules)}), flush=True)


def main() -> int:
    mode = sys.argv[1]
    app = QApplication(sys.argv[:1])
    tray = QSystemTrayIcon()
    if mode == "tick":
        QTimer.singleShot(0, lambda: (report(event="tick"), app.quit()))
        return app.exec()
    if mode == "idle":  # runs until the parent kills it
        QTimer.singleShot(0, lambda: report(event="idle_ready"))
        return app.exec()

    seconds = float(sys.argv[2])
    gaps: list[float] = []
    last = [time.perf_counter()]
    end = last[0] + seconds
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now
        if now >= end:
            timer.stop()
            ordered = sorted(gaps)
            report(
                event="stall",
                max_ms=ordered[-1] * 1000,
                p99_ms=ordered[int(len(ordered) * 0.99)] * 1000,
                ticks=len(ordered),
            )
            app.quit()

    timer.timeout.connect(tick)
    timer.start()
    code = app.exec()
    del tray
    return code


if __name__ == "__main__":
    sys.exit(main())
