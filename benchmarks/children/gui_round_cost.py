"""Time the GUI thread's work for one round of 200 snapshots, without and with the proposed GUI change.

Builds a TrayApp with 200 bridges offscreen (its engine is never started) and feeds it the
snapshots of one healthy poll of every bridge, three rounds per variant, each variant in its
own process. Run: `python benchmarks/children/gui_round_cost.py` (prints one line a variant).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

BRIDGES = 200
ROUNDS = 3


def measure(variant: str) -> dict:
    from PySide6.QtWidgets import QApplication

    if variant == "gui-batch":
        from gui_experiment import apply_gui_batching

        apply_gui_batching()
    from app.core.config import BridgeConfig
    from app.core.model import ProbeKind
    from app.core.probe import interpret_response
    from app.core.simulator import health_body
    from app.core.state import BridgeState
    from app.core.tokens import MemoryKeyring, TokenStore
    from app.gui.app import TrayApp

    application = QApplication.instance() or QApplication(sys.argv[:1])
    bridges = [
        BridgeConfig(name=f"bridge-{number:03d}", url=f"http://127.0.0.1:{9000 + number % 5}", probe=ProbeKind.HEALTH)
        for number in range(BRIDGES)
    ]
    tray_app = TrayApp(bridges, TokenStore(MemoryKeyring()), tray_available=True)
    body = json.dumps(health_body("healthy")).encode()
    result = interpret_response(ProbeKind.HEALTH, 200, "application/json", body, datetime.now(timezone.utc))
    snapshots = []
    for bridge in bridges:
        state = BridgeState(bridge)
        state.apply(result)
        snapshots.append(state.snapshot)

    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for snapshot in snapshots:
            tray_app._on_snapshot(snapshot)
        application.processEvents()  # runs the refresh that the change defers to the next turn
        rounds.append((time.perf_counter() - started) * 1000)
    tray_app.worker.stop(timeout=1.0)
    return {"variant": variant, "round_ms": rounds}


def main() -> None:
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1])), flush=True)
        return
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for variant in ("app", "gui-batch"):
        done = subprocess.run([sys.executable, __file__, variant], env=env, capture_output=True, text=True, check=True)
        report = json.loads(done.stdout.splitlines()[-1])
        rounds = ", ".join(f"{value:.0f}" for value in report["round_ms"])
        print(f"{variant}: median {statistics.median(report['round_ms']):.0f} ms per round of {BRIDGES} snapshots "
              f"(rounds: {rounds} ms)")


if __name__ == "__main__":
    main()
