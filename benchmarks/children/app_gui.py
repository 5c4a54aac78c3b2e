"""Run the real tray app (`bridgewatch` with no command) offscreen and report on stdout as JSON lines.

The parent writes the config into the XDG config folder under the child's HOME, and
harness.child_env names the keyring backend of bench_keyring.py in PYTHON_KEYRING_BACKEND. This
script only adds hooks around TrayApp.start and QApplication.exec, so the measured path is the one
`bridgewatch` runs.

Modes (the first argument):
  tick            report at the first event-loop tick, then quit
  polls N         report after the imports, after TrayApp was built and at the first completed
                  poll, ask for rounds of checks until N polls have completed, report again,
                  then quit
  idle            report once every bridge was polled once, then keep running until killed
  stall SECONDS   measure the gaps of a 1 ms timer for SECONDS after the app started, then quit

The offscreen platform has no system tray, so the app runs as a window app there: its window
opens at start and stays open. With BRIDGEWATCH_BENCH_TRAY=1 in the environment, the child
reports a system tray instead, so the app starts in the tray with its window closed, as it does
on a desktop with a tray.
"""

from __future__ import annotations

import json
import os
import sys
import time

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

TRAY_ENV = "BRIDGEWATCH_BENCH_TRAY"


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def report(**values) -> None:
    values.setdefault("rss_kib", rss_kib())
    values.setdefault("modules", len(sys.modules))
    print(json.dumps(values), flush=True)


class PollCounter(QObject):
    """Count completed polls from the worker's snapshot lists; ask for a new round when one ends."""

    def __init__(self, tray_app, target: int, mode: str) -> None:
        super().__init__()
        self.tray_app = tray_app
        self.target = target
        self.mode = mode
        self.bridges = max(1, len(tray_app.bridges))
        self.count = 0
        self.round_end = self.bridges  # the count at which the current round of checks is complete
        self.done = False
        tray_app.worker.snapshots_changed.connect(self.on_snapshots, Qt.ConnectionType.QueuedConnection)

    def on_snapshots(self, snapshots) -> None:
        before = self.count
        self.count += sum(1 for snapshot in snapshots if snapshot.result is not None)
        if self.count == before or self.done:
            return
        if before == 0:
            report(event="first_poll")
        if self.mode == "idle":
            if before < self.bridges <= self.count:
                report(event="idle_ready")
            return
        if self.count >= self.target:
            self.done = True
            report(event="polls_done", polls=self.count)
            self.tray_app.quit()
        elif self.count >= self.round_end:
            while self.round_end <= self.count:
                self.round_end += self.bridges
            self.tray_app.worker.check_now(None)


class StallMeter(QObject):
    """Record the longest gap between ticks of a 1 ms precise timer."""

    def __init__(self, seconds: float, on_done) -> None:
        super().__init__()
        self.gaps: list[float] = []
        self.ends: list[float] = []  # seconds from the start to the end of each gap
        self.last = self.start = time.perf_counter()
        self.end = self.last + seconds
        self.on_done = on_done
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(1)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.ends.append(now - self.start)
        self.last = now
        if now >= self.end:
            self.timer.stop()
            gaps = sorted(self.gaps)
            longest = sorted(zip(self.gaps, self.ends), reverse=True)[:5]
            report(
                event="stall",
                max_ms=gaps[-1] * 1000,
                p99_ms=gaps[int(len(gaps) * 0.99)] * 1000,
                ticks=len(gaps),
                longest=[[round(gap * 1000, 1), round(end, 2)] for gap, end in longest],
            )
            self.on_done()


def install_hooks(mode: str, argument: float) -> list:
    """Wrap TrayApp.start and QApplication.exec; return a list that keeps the hook objects alive."""
    import app.gui.app as gui_app

    if mode == "polls":
        report(event="imported")
    if os.environ.get(TRAY_ENV) == "1":
        QSystemTrayIcon.isSystemTrayAvailable = staticmethod(lambda: True)
    keep: list = []
    original_start = gui_app.TrayApp.start
    original_exec = QApplication.exec

    def start(self, *, show_window: bool) -> None:
        if mode == "polls":
            report(event="constructed")
        if mode in ("polls", "idle"):
            keep.append(PollCounter(self, int(argument), mode))
        original_start(self, show_window=show_window)
        if mode == "stall":
            keep.append(StallMeter(argument, self.quit))

    def exec_with_report(*_instance):  # called as app.exec(), so the instance may come first
        if mode == "tick":
            QTimer.singleShot(0, lambda: (report(event="tick"), QApplication.quit()))
        return original_exec()

    gui_app.TrayApp.start = start
    QApplication.exec = exec_with_report
    return keep


def main() -> int:
    mode = sys.argv[1]
    argument = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    keep = install_hooks(mode, argument)

    from app.cli import main as bridgewatch

    code = bridgewatch([])
    del keep
    return code


if __name__ == "__main__":
    sys.exit(main())
