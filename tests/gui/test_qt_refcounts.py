"""Guard against Qt bindings that lose references on signal emissions and slot calls.

PySide6 6.12.0 decremented the reference count of None or True on nearly every signal
emission, slot call and setVisible() call, so the tray app aborted with "none_dealloc"
after a few minutes. Each probe runs in its own process, so a crash fails one test
instead of ending the test run.
"""

import os
import subprocess
import sys
import textwrap

import pytest

CALLS = 500  # enough to show a per-call loss; the bindings' own caches move counts by a handful

PROBES = {
    "signal with an object": """
        class Sender(QObject):
            sent = Signal(object)
        sender = Sender(); sender.sent.connect(lambda value: None)
        run(lambda: sender.sent.emit(True))
    """,
    "action to a slot": """
        action = QAction("x"); action.triggered.connect(lambda: None)
        run(action.trigger)
    """,
    "menu triggered with the action": """
        menu = QMenu(); entry = menu.addAction("x"); menu.triggered.connect(lambda action: None)
        run(entry.trigger)
    """,
    "tray activated": """
        tray = QSystemTrayIcon(); tray.activated.connect(lambda reason: None)
        run(lambda: tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger))
    """,
    "widget visibility": """
        widget = QWidget()
        run(lambda: (widget.setVisible(True), widget.setVisible(False)))
    """,
}

PRELUDE = """
import gc, sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget
app = QApplication([])

def counts():
    gc.collect()
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)

def run(call):
    call()  # the first call may fill caches
    before = counts()
    for _ in range({calls}):
        call()
    after = counts()
    print(*(a - b for a, b in zip(after, before)))
"""


@pytest.mark.parametrize("name", sorted(PROBES))
def test_no_reference_lost_per_call(name):
    code = PRELUDE.format(calls=CALLS) + textwrap.dedent(PROBES[name])
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lost_none, lost_true, lost_false = (int(value) for value in completed.stdout.split()[-3:])
    for label, change in (("None", lost_none), ("True", lost_true), ("False", lost_false)):
        assert change > -CALLS // 10, f"{name}: {label} lost {-change} references in {CALLS} calls"
