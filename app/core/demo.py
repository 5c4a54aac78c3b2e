"""The embedded demo: three simulated bridges on loopback with scripted behaviour."""

from __future__ import annotations

import secrets

from app.core.config import BridgeConfig
from app.core.model import ProbeKind
from app.core.simulator import SimulatedBridge

__all__ = ["Demo", "DEMO_INTERVAL"]

DEMO_INTERVAL = 5.0  # seconds: fast enough to watch the states change

# One cycle of about three minutes: a problem, then an outage behind a proxy, then recovery.
FAILING_SCRIPT = [(40.0, "healthy"), (50.0, "unhealthy"), (50.0, "proxy-error"), (40.0, "healthy")]


class Demo:
    """Start and stop the demo bridges; each gets its own random token."""

    def __init__(self) -> None:
        self.entries: list[tuple[BridgeConfig, str, SimulatedBridge]] = []

    def start(self) -> list[tuple[BridgeConfig, str]]:
        """Start the simulators; return each bridge's config and token."""
        plans = [
            ("Production (EU)", "healthy", None),
            ("Staging (US)", "healthy", FAILING_SCRIPT),
            ("Lab", "stale", None),
        ]
        for name, scenario, script in plans:
            token = "demo-" + secrets.token_urlsafe(16)
            simulator = SimulatedBridge(scenario, token=token, script=script).start()
            config = BridgeConfig(name=name, url=simulator.url, probe=ProbeKind.HEALTH, interval=DEMO_INTERVAL)
            self.entries.append((config, token, simulator))
        return [(config, token) for config, token, _ in self.entries]

    def stop(self) -> None:
        for _, _, simulator in self.entries:
            simulator.stop()
        self.entries.clear()
