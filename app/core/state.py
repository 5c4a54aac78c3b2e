"""Per-bridge state: the latest probe result and the transitions between statuses."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from app.core.config import BridgeConfig
from app.core.model import BridgeSnapshot, BridgeStatus, ProbeResult

__all__ = ["BridgeState", "Transition"]


@dataclass(frozen=True)
class Transition:
    """A bridge moved from one status to another."""

    bridge: BridgeSnapshot  # the snapshot after the change
    old: BridgeStatus
    new: BridgeStatus
    at: datetime
    problem_started: datetime | None  # when the bridge first left healthy, for recoveries
    previous_result: ProbeResult | None


class BridgeState:
    """Track one bridge's status over successive probe results."""

    def __init__(self, bridge: BridgeConfig) -> None:
        self._snapshot = BridgeSnapshot(id=bridge.id, name=bridge.name, url=bridge.url, probe=bridge.probe)
        self._problem_started: datetime | None = None

    @property
    def snapshot(self) -> BridgeSnapshot:
        return self._snapshot

    def reconfigure(self, bridge: BridgeConfig) -> None:
        """Take a renamed or re-pointed bridge's new settings, keeping its history."""
        self._snapshot = replace(self._snapshot, name=bridge.name, url=bridge.url, probe=bridge.probe)

    def apply(self, result: ProbeResult) -> Transition | None:
        """Record `result`; return the Transition when the status changed."""
        before = self._snapshot
        report = result.report
        changed = result.status is not before.status
        self._snapshot = replace(
            before,
            status=result.status,
            since=result.checked_at if changed or before.since is None else before.since,
            result=result,
            version=report.version if report and report.version else before.version,
            build=report.build if report and report.build else before.build,
        )
        if not changed:
            return None

        problem_started = self._problem_started
        if result.status.is_problem and self._problem_started is None:
            self._problem_started = result.checked_at
        elif result.status is BridgeStatus.HEALTHY:
            self._problem_started = None
        return Transition(
            bridge=self._snapshot,
            old=before.status,
            new=result.status,
            at=result.checked_at,
            problem_started=problem_started,
            previous_result=before.result,
        )
