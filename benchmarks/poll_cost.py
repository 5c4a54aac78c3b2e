"""CPU time of 1,000 polls through Bridgewatch's engine and probe, against a plain httpx loop.

Ten bridges on loopback simulators served by a separate process, so only the client's CPU
time counts. Each side makes 100 rounds of 10 concurrent requests on reused connections,
after one warm-up round; the sides alternate, and the medians are compared.

Run alone with `python benchmarks/poll_cost.py`; `benchmarks/run.py` includes it.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from app.core.config import BridgeConfig
from app.core.engine import Engine, EngineListener
from app.core.model import ProbeKind
from app.core.probe import Prober
from app.core.tokens import MemoryKeyring, TokenStore

from harness import TOKEN, Farm, Row, log

BRIDGES = 10
ROUNDS = 100


async def engine_polls(urls: list[str], rounds: int) -> float:
    """Return the CPU seconds of `rounds` x 10 polls through Engine.run, alert policy included."""
    store = TokenStore(MemoryKeyring())
    bridges = []
    for number, url in enumerate(urls):
        bridge = BridgeConfig(name=f"bridge-{number}", url=url, probe=ProbeKind.HEALTH, interval=60.0)
        store.set(bridge.id, TOKEN)
        bridges.append(bridge)
    polled = {"count": 0}
    round_done = asyncio.Event()

    def on_snapshot(snapshot) -> None:
        if snapshot.result is None:
            return
        polled["count"] += 1
        if polled["count"] % len(bridges) == 0:
            round_done.set()

    engine = Engine(bridges, tokens=store, listener=EngineListener(snapshot=on_snapshot), prober=Prober())
    runner = asyncio.create_task(engine.run())
    await round_done.wait()  # the first round opens the connections
    started = time.process_time()
    for _ in range(rounds):
        round_done.clear()
        engine.request_check(None)
        await round_done.wait()
    used = time.process_time() - started
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    return used


async def prober_polls(urls: list[str], rounds: int) -> float:
    """Return the CPU seconds of `rounds` x 10 calls of Prober.probe, without the engine."""
    prober = Prober()
    try:
        await asyncio.gather(*(prober.probe(url, ProbeKind.HEALTH, TOKEN) for url in urls))
        started = time.process_time()
        for _ in range(rounds):
            await asyncio.gather(*(prober.probe(url, ProbeKind.HEALTH, TOKEN) for url in urls))
        return time.process_time() - started
    finally:
        await prober.aclose()


async def httpx_polls(urls: list[str], rounds: int) -> float:
    """Return the CPU seconds of the same requests made with a plain httpx.AsyncClient and json()."""
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def get(client: httpx.AsyncClient, url: str) -> None:
        response = await client.get(url + "/health", headers=headers)
        response.json()

    async with httpx.AsyncClient() as client:
        await asyncio.gather(*(get(client, url) for url in urls))
        started = time.process_time()
        for _ in range(rounds):
            await asyncio.gather(*(get(client, url) for url in urls))
        return time.process_time() - started


def poll_rows(repetitions: int, rounds: int = ROUNDS) -> list[Row]:
    engine_ms, prober_ms, httpx_ms = [], [], []
    polls = rounds * BRIDGES
    with Farm(["healthy", "healthy"]) as farm:
        urls = [farm.urls[number % 2] for number in range(BRIDGES)]
        for repetition in range(repetitions):
            httpx_ms.append(asyncio.run(httpx_polls(urls, rounds)) * 1000)
            engine_ms.append(asyncio.run(engine_polls(urls, rounds)) * 1000)
            prober_ms.append(asyncio.run(prober_polls(urls, rounds)) * 1000)
            log(f"poll cost {repetition + 1}/{repetitions}: engine {engine_ms[-1]:.0f} ms, "
                f"prober {prober_ms[-1]:.0f} ms, httpx {httpx_ms[-1]:.0f} ms for {polls} polls")
    return [
        Row(f"CPU time for {polls:,} polls of 10 loopback bridges (engine, policy and probe)",
            f"plain httpx.AsyncClient loop, the same {polls:,} requests", "ms", engine_ms, httpx_ms, "≤ 1.3×", 1.3),
        Row(f"CPU time for {polls:,} polls, probe only (Prober.probe without the engine)",
            "the same plain httpx loop", "ms", prober_ms, httpx_ms, "(diagnostic)", 1.3),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds of 10 polls per repetition")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    for row in poll_rows(args.repetitions, args.rounds):
        print(f"{row.measure}: {row.app_median:.0f} ms against {row.base_median:.0f} ms, ratio {row.ratio:.2f}")


if __name__ == "__main__":
    main()
