"""Serve one SimulatedBridge per scenario named on the command line, on 127.0.0.1, until stdin closes.

Prints {"urls": [...]} first. Then it reads commands from stdin, one a line, and replies to each
with one JSON line. `set INDEX SCENARIO` changes one simulator's scenario, and `count` returns
the number of requests served so far.
"""

from __future__ import annotations

import json
import sys

from app.core import simulator
from app.core.simulator import SimulatedBridge

TOKEN = "benchmark-token-not-a-secret"

# The handler writes the headers and the body in two sends. With Nagle's algorithm on, the
# body waits for the client's delayed ACK of the headers: about 40 ms per request on Linux
# loopback, which would make every benchmark wait on the simulator instead of the app.
simulator._Handler.disable_nagle_algorithm = True


def main() -> None:
    bridges = [SimulatedBridge(scenario, token=TOKEN).start() for scenario in sys.argv[1:]]
    print(json.dumps({"urls": [bridge.url for bridge in bridges]}), flush=True)
    try:
        for line in sys.stdin:
            command, *arguments = line.split()
            if command == "set":
                bridges[int(arguments[0])].scenario = arguments[1]
                print(json.dumps({"ok": True}), flush=True)
            elif command == "count":
                count = sum(len(bridge.requests) for bridge in bridges)
                print(json.dumps({"count": count}), flush=True)
    finally:
        for bridge in bridges:
            bridge.stop()


if __name__ == "__main__":
    main()
