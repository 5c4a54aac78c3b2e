"""CPU cost of one poll through Bridgewatch's probe, against a plain httpx loop as the baseline.

Both run against the same simulated bridge on 127.0.0.1, alternating, several repetitions;
the result is the median CPU time per request and the ratio between the two.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from app.core.model import ProbeKind
from app.core.probe import Prober
from app.core.simulator import SimulatedBridge

TOKEN = "benchmark-token"


async def probe_loop(url: str, count: int) -> float:
    prober = Prober()
    try:
        started = time.process_time()
        for _ in range(count):
            await prober.probe(url, ProbeKind.HEALTH, TOKEN)
        return time.process_time() - started
    finally:
        await prober.aclose()


async def baseline_loop(url: str, count: int) -> float:
    async with httpx.AsyncClient() as client:
        started = time.process_time()
        for _ in range(count):
            response = await client.get(url + "/health", headers={"Authorization": f"Bearer {TOKEN}"})
            response.json()
        return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300, help="requests per repetition")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()

    with SimulatedBridge("healthy", token=TOKEN) as simulator:
        # The simulator's server thread shares this process, so its CPU time counts on both sides.
        app_times, base_times = [], []
        for _ in range(args.repetitions):
            app_times.append(asyncio.run(probe_loop(simulator.url, args.requests)))
            base_times.append(asyncio.run(baseline_loop(simulator.url, args.requests)))
    app_ms = statistics.median(app_times) / args.requests * 1000
    base_ms = statistics.median(base_times) / args.requests * 1000
    print(f"CPU per poll, median of {args.repetitions} x {args.requests} requests on loopback:")
    print(f"  Bridgewatch probe (parse + classify): {app_ms:.2f} ms")
    print(f"  plain httpx.AsyncClient + json():     {base_ms:.2f} ms")
    print(f"  ratio: {app_ms / base_ms:.2f}x")


if __name__ == "__main__":
    main()
