"""The embedded demo: three simulated bridges on loopback with scripted behaviour."""

from __future__ import annotations

import secrets

from app.core.config import BridgeConfig
from app.core.model import ProbeKind
from app.core.policy import PolicySettings
from app.core.simulator import SimulatedBridge

__all__ = ["Demo", "DEMO_INTERVAL", "DEMO_POLICY"]

DEMO_INTERVAL = 5.0  # seconds: fast enough to watch the states change

# One cycle of three minutes: a problem, then an outage behind a proxy, then recovery.
FAILING_SCRIPT = [(40.0, "healthy"), (50.0, "unhealthy"), (50.0, "proxy-error"), (40.0, "healthy")]
# A blip of one probe at 20 s in each cycle: too short to confirm, so never notified.
BLIP_SCRIPT = [(20.0, "healthy"), (4.0, "unhealthy"), (156.0, "healthy")]
# Healthy at first, then a component stops reporting at the same moment as the failing bridge
# breaks, so the two problems share one grouped notification.
STALE_SCRIPT = [(40.0, "healthy"), (10_000_000.0, "stale")]

# The real policy with short reminders, so an incident's reminder shows within the demo.
DEMO_POLICY = PolicySettings(reminder_first=60.0, reminder_second=120.0, reminder_repeat=600.0)


class Demo:
    """Start and stop the demo bridges; each gets its own random token."""

    def __init__(self) -> None:
        self.entries: list[tuple[BridgeConfig, str, SimulatedBridge]] = []

    def start(self) -> list[tuple[BridgeConfig, str]]:
        """Start the simulators; return each bridge's config and token."""
        plans = [
            ("Production (EU)", "healthy", BLIP_SCRIPT),
            ("Staging (US)", "healthy", FAILING_SCRIPT),
            ("Lab", "healthy", STALE_SCRIPT),
        ]
        for name, scenario, script in plans:
            token = "demo-" + secrets.token_urlsafe(16)
            simulator = SimulatedBridge(scenario, token=token, script=script).start()
            # The health-check-only token on /monitoring: the least-privileged setup the README advises.
            config = BridgeConfig(name=name, url=simulator.url, probe=ProbeKind.MONITORING, interval=DEMO_INTERVAL)
            self.entries.append((config, token, simulator))
        return [(config, token) for config, token, _ in self.entries]

    def stop(self) -> None:
        for _, _, simulator in self.entries:
            simulator.stop()
        self.entries.clear()
