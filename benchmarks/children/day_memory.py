"""Run the engine's poll and alert pieces through 24 simulated hours with faults on a fake clock.

Ten bridges on loopback simulators (served by a separate process), probed on the policy's own
schedule: the fake clock jumps from one due probe or timer to the next, so nothing sleeps.
Reports (JSON lines on stdout) resident memory and Python's allocated blocks after the
first simulated hour and after the 24th.

NOTE: this drives the private methods Engine._poll and Engine._deliver, because Engine.run
waits on real asyncio timeouts. A rename in the engine breaks this script, not the app.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import TOKEN, Farm, rss_kib  # noqa: E402

from app.core.clock import FakeClock  # noqa: E402
from app.core.config import BridgeConfig  # noqa: E402
from app.core.engine import Engine, EngineListener  # noqa: E402
from app.core.model import ProbeKind  # noqa: E402
from app.core.probe import Prober  # noqa: E402
from app.core.tokens import MemoryKeyring, TokenStore  # noqa: E402

HOUR = 3600.0
BRIDGES = 10
HANG_TIMEOUT = 0.25  # real seconds a hanging bridge costs per probe, instead of the default 10
# Probes due within this many simulated seconds run together, so their loopback round trips
# overlap. A probe then runs at most this much earlier than the policy scheduled it.
BATCH_WINDOW = 5.0
# (start hour, end hour, bridge index, scenario): one fault of each kind, two of them long
# enough for reminders, and one bridge that flaps.
FAULTS = [
    (1.5, 2.5, 0, "unhealthy"),
    (3.0, 5.5, 1, "stale"),
    (6.0, 6.75, 2, "unauthorized"),
    (8.0, 8.5, 3, "proxy-error"),
    (10.0, 11.0, 4, "flapping"),
    (13.0, 13.3, 5, "hang"),
    (15.0, 18.0, 6, "unhealthy"),
    (19.0, 19.5, 7, "empty"),
    (21.0, 23.0, 8, "starting"),
]


def measure(label: str, hour: float, **extra) -> None:
    gc.collect()
    print(json.dumps({"event": label, "hour": hour, "rss_kib": rss_kib(),
                      "blocks": sys.getallocatedblocks(), **extra}), flush=True)


async def run_day(farm: Farm, state_dir: Path) -> None:
    clock = FakeClock()
    start = clock.time()
    store = TokenStore(MemoryKeyring())
    bridges = []
    for number in range(BRIDGES):
        bridge = BridgeConfig(name=f"bridge-{number}", url=farm.urls[number], probe=ProbeKind.HEALTH, interval=60.0)
        store.set(bridge.id, TOKEN)
        bridges.append(bridge)
    counts = {"polls": 0, "alerts": 0}
    listener = EngineListener(
        snapshot=lambda snapshot: None,
        notification=lambda alert: counts.__setitem__("alerts", counts["alerts"] + 1),
    )
    engine = Engine(
        bridges,
        tokens=store,
        listener=listener,
        prober=Prober(timeout=HANG_TIMEOUT),
        clock=clock,
        state_file=state_dir / "alert-state.json",
        reference_check=lambda: True,
    )
    await engine._apply_pending_config()
    watched = list(engine._watched.values())
    for entry in watched:
        entry.wake = asyncio.Event()  # set by the engine when another bridge shows a problem
    due = {entry.config.id: start for entry in watched}
    changes = sorted(
        [(start + begin * HOUR, index, scenario) for begin, _, index, scenario in FAULTS]
        + [(start + end * HOUR, index, "healthy") for _, end, index, _ in FAULTS]
    )
    marks = [1.0, 24.0]
    while marks:
        now = clock.time()
        timer = engine.policy.next_timer(now)
        candidates = [min(due.values()), start + marks[0] * HOUR]
        if timer is not None:
            candidates.append(timer)
        if changes:
            candidates.append(changes[0][0])
        clock.advance(max(0.0, min(candidates) - now))
        now = clock.time()

        if now >= start + marks[0] * HOUR:
            measure("mark", marks.pop(0), **counts)
            continue
        while changes and changes[0][0] <= now:
            _, index, scenario = changes.pop(0)
            farm.set(index, scenario)
        if timer is not None and timer <= now:
            engine._deliver(engine.policy.tick(now))
        ready = [entry for entry in watched if due[entry.config.id] <= now + BATCH_WINDOW or entry.wake.is_set()]
        for entry in ready:
            entry.wake.clear()
        await asyncio.gather(*(engine._poll(entry) for entry in ready))
        counts["polls"] += len(ready)
        for entry in ready:
            delay = engine.policy.next_probe_delay(entry.config.id, clock.time())
            due[entry.config.id] = clock.time() + (delay if delay is not None else 60.0)
    await engine.aclose()


def main() -> None:
    started = time.monotonic()
    with Farm(["healthy"] * BRIDGES) as farm, tempfile.TemporaryDirectory(prefix="bridgewatch-day-") as state_dir:
        asyncio.run(run_day(farm, Path(state_dir)))
    print(json.dumps({"event": "done", "seconds": time.monotonic() - started}), flush=True)


if __name__ == "__main__":
    main()
