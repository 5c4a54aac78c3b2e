"""Notification rules: the status transitions that raise a notification, and its text."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.core.model import BridgeStatus
from app.core.state import Transition

__all__ = ["Notification", "Severity", "notification_for", "format_duration"]


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Notification:
    bridge_id: str
    title: str
    body: str
    severity: Severity
    status: BridgeStatus


def format_duration(seconds: float) -> str:
    """Format a duration for people: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def notification_for(transition: Transition) -> Notification | None:
    """Return the notification for a status change, or None when it needs none.

    A first check that finds the bridge healthy, and moves into `unknown`, are silent.
    """
    bridge = transition.bridge
    result = bridge.result
    new, old = transition.new, transition.old
    name = bridge.name

    def make(title: str, body: str, severity: Severity) -> Notification:
        return Notification(bridge_id=bridge.id, title=title, body=body, severity=severity, status=new)

    if new is BridgeStatus.HEALTHY:
        if not old.is_problem:
            return None
        duration = ""
        if transition.problem_started is not None:
            duration = f" after {format_duration((transition.at - transition.problem_started).total_seconds())}"
        return make(f"{name} recovered", f"{name} is healthy again{duration} (it was {old.value}).", Severity.INFO)

    if new is BridgeStatus.UNHEALTHY:
        failing = result.report.unhealthy if result and result.report else []
        if failing:
            listed = ", ".join(f"{c.name} ({c.state})" for c in failing)
            body = f"Failing: {listed}."
        else:
            body = result.summary if result else "The bridge reports a failure."
        return make(f"{name} is unhealthy", body, Severity.CRITICAL)

    if new is BridgeStatus.UNREACHABLE:
        error = result.error if result else None
        cause = error.message if error else "No answer."
        hint = error.hint if error and error.hint else ""
        body = f"{cause} {hint}".strip() + f" Check the URL: {bridge.url}"
        return make(f"{name} is unreachable", body, Severity.CRITICAL)

    if new is BridgeStatus.UNAUTHORIZED:
        error = result.error if result else None
        body = f"{error.message} {error.hint}" if error else "The token was rejected."
        return make(f"{name} rejected the token", body.strip(), Severity.CRITICAL)

    if new is BridgeStatus.DEGRADED:
        body = result.summary if result else "Some components stopped reporting."
        return make(f"{name} is degraded", body, Severity.WARNING)

    return None
