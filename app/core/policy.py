"""The alert policy: confirmation, incidents, reminders, flapping, offline, snoozes and grouping.

Everything here runs on times passed in by the caller (seconds since the epoch), so the
same code serves the engine on the system clock and the replay and tests on a fake one.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.core.timefmt import format_duration
from app.core.clock import to_datetime
from app.core.model import BridgeStatus

__all__ = [
    "AlertKind",
    "Alert",
    "AlertBridge",
    "AlertPolicy",
    "BridgeView",
    "PolicySettings",
    "PolicySettingsError",
    "tomorrow_at",
]

_PROBLEM_TYPES = {
    BridgeStatus.UNHEALTHY: "notify_unhealthy",
    BridgeStatus.DEGRADED: "notify_degraded",
    BridgeStatus.UNREACHABLE: "notify_unreachable",
    BridgeStatus.UNAUTHORIZED: "notify_unauthorized",
}


class PolicySettingsError(ValueError):
    """A policy setting is invalid. The message names the key, the value and the range."""


@dataclass(frozen=True)
class PolicySettings:
    """Every number of the alert policy, with its default. Times are in seconds."""

    confirm_bad: int = 2  # consecutive bad probes of one kind before a problem is confirmed
    confirm_good: int = 2  # consecutive good probes before a recovery is confirmed
    fast_interval: float = 15.0  # probe interval while unconfirmed or in an incident
    jitter: float = 0.10  # each interval varies by up to this fraction either way
    reminder_first: float = 1800.0
    reminder_second: float = 7200.0
    reminder_repeat: float = 28800.0  # after the second reminder
    flap_changes: int = 4  # flips between healthy and a problem within flap_window: unstable
    flap_window: float = 900.0
    flap_quiet: float = 900.0  # an unstable incident ends after this long without a change
    wake_delay: float = 30.0  # wait after the network returns or the machine wakes
    group_window: float = 10.0  # problems starting this close together share one notification
    notify_unhealthy: bool = True
    notify_degraded: bool = True
    notify_unreachable: bool = True
    notify_unauthorized: bool = True
    notify_recovery: bool = True
    notify_reminders: bool = True
    remind_degraded: bool = False

    @classmethod
    def from_dict(cls, data: dict, where: str = "alerts") -> "PolicySettings":
        """Build settings from a config table, rejecting unknown keys and out-of-range values."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in data.items():
            if key not in fields:
                raise PolicySettingsError(f"{where}.{key} is not a known setting; known: {', '.join(fields)}.")
            default = fields[key].default
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise PolicySettingsError(f"{where}.{key} must be true or false, got {value!r}.")
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
                    raise PolicySettingsError(f"{where}.{key} must be a whole number from 1 to 100, got {value!r}.")
            else:
                upper = 0.5 if key == "jitter" else 7 * 86400
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= upper:
                    raise PolicySettingsError(f"{where}.{key} must be a number from 0 to {upper:g}, got {value!r}.")
                value = float(value)
            values[key] = value
        return cls(**values)

    def reminder_due(self, index: int) -> float:
        """Return the offset from an incident's start of reminder number `index` (from 0)."""
        if index == 0:
            return self.reminder_first
        return self.reminder_second + (index - 1) * self.reminder_repeat


class AlertKind(str, enum.Enum):
    PROBLEM = "problem"
    ESCALATION = "escalation"
    REMINDER = "reminder"
    RECOVERY = "recovery"
    UNSTABLE = "unstable"
    SNOOZE_ENDED = "snooze_ended"
    CERTIFICATE = "certificate"  # raised by app.core.certwatch: expiry warnings and renewals
    VERSION = "version"  # raised by app.core.versionwatch: a bridge's version changed


@dataclass(frozen=True)
class AlertBridge:
    id: str
    name: str
    status: BridgeStatus
    downtime_seconds: float | None = None


@dataclass(frozen=True)
class Alert:
    """One notification to show: the title and body name every bridge with its status."""

    kind: AlertKind
    at: float
    title: str
    body: str
    bridges: tuple[AlertBridge, ...]

    @property
    def severity(self) -> str:
        if self.kind is AlertKind.RECOVERY:
            return "info"
        statuses = {b.status for b in self.bridges}
        if self.kind in (AlertKind.CERTIFICATE, AlertKind.VERSION) and statuses <= {BridgeStatus.HEALTHY}:
            return "info"  # a renewed certificate or a new version: nothing to do
        if statuses <= {BridgeStatus.DEGRADED, BridgeStatus.HEALTHY, BridgeStatus.UNKNOWN}:
            return "warning"
        return "critical"


@dataclass
class Incident:
    opened_at: float
    status: BridgeStatus
    last_change_at: float
    components: list[str] = field(default_factory=list)
    announced: bool = False
    reminders_sent: int = 0
    unstable: bool = False
    muted_by: str = ""  # "snooze", "pause" or "offline" when the opening was not shown
    rechecks: int = 0  # probes confirming an offline-muted incident after the network returned
    worst: BridgeStatus | None = None  # the highest-severity status during the incident


@dataclass
class _Bridge:
    id: str
    name: str
    interval: float
    confirmed: BridgeStatus = BridgeStatus.UNKNOWN
    candidate: BridgeStatus | None = None
    streak: int = 0
    last_status: BridgeStatus | None = None
    unreachable_streak: int = 0
    detail: str = ""
    failing: list[str] = field(default_factory=list)
    incident: Incident | None = None
    changes: list[float] = field(default_factory=list)
    snooze_until: float | None = None
    snooze_until_recovery: bool = False
    last_good_at: float | None = None  # the latest healthy probe
    last_probe_at: float | None = None
    candidate_since: float | None = None  # the first probe of the current unconfirmed streak
    problem_window: tuple[float, float] | None = None  # when the open problem started: between these

    def start_window(self) -> tuple[float, float] | None:
        """Return the interval in which the current or pending problem began, if there is one."""
        if self.candidate is not None and self.candidate.is_problem and self.candidate_since is not None:
            return (self.last_good_at if self.last_good_at is not None else self.candidate_since, self.candidate_since)
        return self.problem_window


@dataclass(frozen=True)
class BridgeView:
    """The policy's view of a bridge, shown by the front ends beside its raw probe result."""

    confirmed: BridgeStatus
    checking: bool  # a different status was seen but is not confirmed yet
    incident_since: float | None
    unstable: bool
    snoozed_until: float | None
    snoozed_until_recovery: bool


def tomorrow_at(now: float, hour: int = 9) -> float:
    """Return the next local `hour`:00 that is on a later calendar day than `now`."""
    local = datetime.fromtimestamp(now).astimezone()
    target = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return target.timestamp()


class AlertPolicy:
    """Turn probe outcomes and machine events into the notifications an administrator should see.

    Not thread-safe: the engine calls it from its own loop only.
    """

    def __init__(self, settings: PolicySettings | None = None, *, seed: int | None = None) -> None:
        self.settings = settings or PolicySettings()
        self._random = random.Random(seed)
        self._bridges: dict[str, _Bridge] = {}
        self._overrides: dict[str, PolicySettings] = {}
        self.offline = False
        self.offline_since: float | None = None
        self.wake_until: float | None = None
        self.pause_until: float | None = None
        self.pause_until_recovery = False
        self._group: list[str] = []
        self._group_deadline: float | None = None
        self._group_hold_until: float | None = None  # the latest a group waits for a late confirmation

    # -- bridges ------------------------------------------------------------------------------

    def add_bridge(self, bridge_id: str, name: str, interval: float, settings: PolicySettings | None = None) -> None:
        existing = self._bridges.get(bridge_id)
        if existing is None:
            self._bridges[bridge_id] = _Bridge(id=bridge_id, name=name, interval=interval)
        else:
            existing.name, existing.interval = name, interval
        if settings is not None:
            self._overrides[bridge_id] = settings
        else:
            self._overrides.pop(bridge_id, None)

    def remove_bridge(self, bridge_id: str) -> None:
        self._bridges.pop(bridge_id, None)
        self._overrides.pop(bridge_id, None)
        if bridge_id in self._group:
            self._group.remove(bridge_id)

    def bridge_ids(self) -> list[str]:
        return list(self._bridges)

    def _settings(self, bridge_id: str) -> PolicySettings:
        return self._overrides.get(bridge_id, self.settings)

    def view(self, bridge_id: str) -> BridgeView:
        bridge = self._bridges[bridge_id]
        incident = bridge.incident
        return BridgeView(
            confirmed=bridge.confirmed,
            checking=bridge.candidate is not None,
            incident_since=incident.opened_at if incident else None,
            unstable=bool(incident and incident.unstable),
            snoozed_until=bridge.snooze_until,
            snoozed_until_recovery=bridge.snooze_until_recovery,
        )

    def open_incidents(self) -> dict[str, Incident]:
        return {b.id: b.incident for b in self._bridges.values() if b.incident is not None}

    # -- probe outcomes -------------------------------------------------------------------------

    def observe(
        self,
        bridge_id: str,
        status: BridgeStatus,
        at: float,
        *,
        failing: list[str] | None = None,
        detail: str = "",
    ) -> list[Alert]:
        """Take one probe outcome; return the notifications it causes now.

        `failing` names the components that are not healthy, `detail` is the cause in words.
        Outcomes are ignored while offline or during the wait after a wake-up, and `unknown`
        (for example a token that cannot be read) is never counted as a bridge failure.
        """
        bridge = self._bridges[bridge_id]
        if self.offline or (self.wake_until is not None and at < self.wake_until):
            return []
        if status is BridgeStatus.UNKNOWN:
            return []
        bridge.last_status = status
        bridge.last_probe_at = at
        if status is BridgeStatus.HEALTHY:
            bridge.last_good_at = at
        bridge.unreachable_streak = bridge.unreachable_streak + 1 if status is BridgeStatus.UNREACHABLE else 0
        if status is not BridgeStatus.HEALTHY:
            bridge.detail = detail
            bridge.failing = list(failing or [])
            if bridge.incident is not None and status is bridge.confirmed:
                for name in bridge.failing:
                    if name not in bridge.incident.components:
                        bridge.incident.components.append(name)

        if status is bridge.confirmed:
            bridge.candidate, bridge.streak = None, 0
            incident = bridge.incident
            if incident is not None and incident.muted_by == "offline" and not incident.announced:
                # Opened just before this computer went offline: show it only once it is
                # confirmed again, so a laptop coming back online raises no stale alerts.
                incident.rechecks += 1
                if incident.rechecks >= self._settings(bridge_id).confirm_bad:
                    incident.muted_by = ""
                    self._announce(bridge, at)
            return self.tick(at)
        if status is bridge.candidate:
            bridge.streak += 1
        else:
            bridge.candidate, bridge.streak, bridge.candidate_since = status, 1, at

        settings = self._settings(bridge_id)
        needed = settings.confirm_good if status is BridgeStatus.HEALTHY else settings.confirm_bad
        if bridge.confirmed is BridgeStatus.UNKNOWN and status is BridgeStatus.HEALTHY:
            needed = 1  # a first check that finds the bridge healthy needs no confirmation
        alerts = []
        if bridge.streak >= needed:
            alerts += self._confirm(bridge, status, at)
        return alerts + self.tick(at)

    def _confirm(self, bridge: _Bridge, status: BridgeStatus, at: float) -> list[Alert]:
        old = bridge.confirmed
        if status.is_problem and not old.is_problem:
            bridge.problem_window = bridge.start_window()
        bridge.confirmed = status
        bridge.candidate, bridge.streak = None, 0
        settings = self._settings(bridge.id)
        # Flapping counts flips between healthy and a problem; escalations are not flips.
        if old is not BridgeStatus.UNKNOWN and old.is_problem != status.is_problem:
            bridge.changes = [t for t in bridge.changes if at - t < settings.flap_window] + [at]
        flapping = len(bridge.changes) >= settings.flap_changes

        if status.is_problem:
            return self._confirm_problem(bridge, old, status, at, flapping)
        incident = bridge.incident
        if incident is None:
            return []
        incident.last_change_at = at
        if incident.unstable:
            return []
        if flapping:
            return self._make_unstable(bridge, at)
        return self._close(bridge, at)

    def _confirm_problem(
        self, bridge: _Bridge, old: BridgeStatus, status: BridgeStatus, at: float, flapping: bool
    ) -> list[Alert]:
        incident = bridge.incident
        if incident is None:
            # The problem began at the first bad probe, so the downtime counts from there.
            started = bridge.problem_window[1] if bridge.problem_window else at
            bridge.incident = Incident(
                opened_at=started, status=status, last_change_at=at, components=list(bridge.failing), worst=status
            )
            if flapping:
                return self._make_unstable(bridge, at)
            self._announce(bridge, at)
            return []
        previous = incident.status
        incident.status, incident.last_change_at = status, at
        if incident.worst is None or status.severity > incident.worst.severity:
            incident.worst = status
        for name in bridge.failing:
            if name not in incident.components:
                incident.components.append(name)
        if incident.unstable:
            return []
        if flapping:
            return self._make_unstable(bridge, at)
        if not incident.announced:
            self._announce(bridge, at)  # for example degraded (not notified) became unhealthy
            return []
        if status is previous or not self._wants(bridge, status) or self._muted(bridge, at):
            return []
        title = f"{bridge.name} is now {status.value}"
        if status is BridgeStatus.UNAUTHORIZED:
            title = f"{bridge.name} rejected the token"
        body = f"{bridge.name} is now {status.value} (it was {previous.value}). {self._cause(bridge)}".strip()
        return [Alert(AlertKind.ESCALATION, at, title, body, (AlertBridge(bridge.id, bridge.name, status),))]

    def _wants(self, bridge: _Bridge, status: BridgeStatus) -> bool:
        setting = _PROBLEM_TYPES.get(status)
        return bool(setting and getattr(self._settings(bridge.id), setting))

    def _announce(self, bridge: _Bridge, at: float) -> None:
        """Queue an incident's opening for the grouped problem notification."""
        incident = bridge.incident
        if incident is None or not self._wants(bridge, incident.status):
            return
        reason = self._mute_reason(bridge, at)
        if reason:
            incident.muted_by = reason
            return
        if bridge.id not in self._group:
            self._group.append(bridge.id)
        if self._group_deadline is None:
            self._group_deadline = at + self.settings.group_window
            # Bridges are probed at different moments, so a problem that began at the same time
            # elsewhere may need up to two more probes to confirm: wait for those, within bounds.
            settings = self.settings
            self._group_hold_until = self._group_deadline + settings.fast_interval * settings.confirm_bad

    def _make_unstable(self, bridge: _Bridge, at: float) -> list[Alert]:
        incident = bridge.incident
        if incident is None:
            incident = bridge.incident = Incident(opened_at=at, status=bridge.confirmed, last_change_at=at)
        incident.unstable, incident.last_change_at = True, at
        if bridge.confirmed.is_problem:
            incident.status = bridge.confirmed
        if bridge.id in self._group:
            self._group.remove(bridge.id)
        was_announced = incident.announced
        incident.announced = True
        if self._muted(bridge, at):
            return []
        settings = self._settings(bridge.id)
        window = format_duration(settings.flap_window)
        quiet = format_duration(settings.flap_quiet)
        title = f"{bridge.name} is unstable"
        body = (
            f"{bridge.name} changed status {len(bridge.changes)} times within {window} (now {bridge.confirmed.value}). "
            f"No further alerts for it until it stays stable for {quiet}."
        )
        if was_announced:
            body += " The open incident stays open."
        return [Alert(AlertKind.UNSTABLE, at, title, body, (AlertBridge(bridge.id, bridge.name, bridge.confirmed),))]

    def _close(self, bridge: _Bridge, at: float) -> list[Alert]:
        incident = bridge.incident
        bridge.incident = None
        if bridge.id in self._group:
            self._group.remove(bridge.id)  # recovered before its opening was shown
        if bridge.snooze_until_recovery:
            bridge.snooze_until, bridge.snooze_until_recovery = None, False
        if self.pause_until_recovery and all(not b.confirmed.is_problem for b in self._bridges.values()):
            self.pause_until_recovery = False  # the last recovery ends the pause and is shown
        if incident is None or not incident.announced:
            return []
        if not self._settings(bridge.id).notify_recovery or self._muted(bridge, at):
            return []
        downtime = at - incident.opened_at
        components = ""
        if incident.components:
            components = f" Recovered components: {', '.join(incident.components)}."
        title = f"{bridge.name} recovered"
        body = (
            f"{bridge.name} is healthy again after {format_duration(downtime)} "
            f"(worst: {(incident.worst or incident.status).value}).{components}"
        )
        return [
            Alert(
                AlertKind.RECOVERY,
                at,
                title,
                body,
                (AlertBridge(bridge.id, bridge.name, BridgeStatus.HEALTHY, downtime_seconds=round(downtime, 1)),),
            )
        ]

    def _cause(self, bridge: _Bridge) -> str:
        # An unreachable bridge explains its components: list them only when the bridge responded.
        if bridge.confirmed is BridgeStatus.UNREACHABLE or not bridge.failing:
            return bridge.detail
        if bridge.confirmed is BridgeStatus.DEGRADED:
            return f"Stopped reporting: {', '.join(bridge.failing)}."
        return f"Failing: {', '.join(bridge.failing)}."

    # -- muting ---------------------------------------------------------------------------------

    def _mute_reason(self, bridge: _Bridge, at: float) -> str:
        if self.offline or (self.wake_until is not None and at < self.wake_until):
            return "offline"
        if self.pause_until_recovery or (self.pause_until is not None and at < self.pause_until):
            return "pause"
        if bridge.snooze_until_recovery or (bridge.snooze_until is not None and at < bridge.snooze_until):
            return "snooze"
        return ""

    def _muted(self, bridge: _Bridge, at: float) -> bool:
        return bool(self._mute_reason(bridge, at))

    def snooze(self, bridge_id: str, until: float | None, at: float) -> None:
        """Silence one bridge until `until`, or until it recovers when `until` is None."""
        bridge = self._bridges[bridge_id]
        bridge.snooze_until = until
        bridge.snooze_until_recovery = until is None
        if bridge_id in self._group:
            self._group.remove(bridge_id)
            if bridge.incident is not None:
                bridge.incident.muted_by = "snooze"

    def unsnooze(self, bridge_id: str, at: float) -> list[Alert]:
        bridge = self._bridges[bridge_id]
        bridge.snooze_until, bridge.snooze_until_recovery = at, False
        return self.tick(at)

    def pause(self, until: float | None, at: float) -> None:
        """Silence every bridge until `until`, or when `until` is None until a recovery leaves every bridge healthy."""
        self.pause_until = until
        self.pause_until_recovery = until is None
        for bridge_id in list(self._group):
            incident = self._bridges[bridge_id].incident
            if incident is not None:
                incident.muted_by = "pause"
        self._group.clear()
        self._group_deadline = None
        self._group_hold_until = None

    def resume(self, at: float) -> list[Alert]:
        self.pause_until, self.pause_until_recovery = at, False
        return self.tick(at)

    # -- machine events -------------------------------------------------------------------------

    def set_offline(self, offline: bool, at: float) -> list[Alert]:
        """Record that this computer lost or regained its network."""
        if offline == self.offline:
            return []
        self.offline = offline
        for bridge in self._bridges.values():
            bridge.candidate, bridge.streak = None, 0
        if offline:
            self.offline_since = at
            for bridge_id in list(self._group):
                incident = self._bridges[bridge_id].incident
                if incident is not None:
                    incident.muted_by = "offline"
            self._group.clear()
            self._group_deadline = None
            self._group_hold_until = None
            return []
        self.offline_since = None
        self.wake_until = at + self.settings.wake_delay
        return []

    def wake(self, at: float) -> None:
        """Record a wake-up from sleep: results are ignored until the wake delay has passed."""
        for bridge in self._bridges.values():
            bridge.candidate, bridge.streak = None, 0
        self.wake_until = at + self.settings.wake_delay

    # -- timers ---------------------------------------------------------------------------------

    def tick(self, at: float) -> list[Alert]:
        """Run what is due at `at`: grouped problems, snooze ends, reminders, unstable ends."""
        alerts: list[Alert] = []
        if self.wake_until is not None and at >= self.wake_until:
            self.wake_until = None
        if self._group_deadline is not None and at >= self._group_deadline:
            alerts += self._flush_group(at)
        alerts += self._end_snoozes(at)
        for bridge in self._bridges.values():
            incident = bridge.incident
            if incident is None:
                continue
            settings = self._settings(bridge.id)
            if incident.unstable and at - incident.last_change_at >= settings.flap_quiet:
                alerts += self._end_unstable(bridge, at)
                continue
            alerts += self._remind(bridge, at)
        if self._group_deadline is not None and at >= self._group_deadline:
            alerts += self._flush_group(at)
        return alerts

    def _waiting_for_group(self, at: float) -> bool:
        """Return True while another bridge has an unconfirmed problem that began with the group's."""
        if self._group_hold_until is None or at >= self._group_hold_until:
            return False
        windows = [self._bridges[i].problem_window for i in self._group if i in self._bridges]
        windows = [w for w in windows if w is not None]
        if not windows:
            return False
        margin = self.settings.group_window
        earliest, latest = min(w[0] for w in windows) - margin, max(w[1] for w in windows) + margin
        for bridge in self._bridges.values():
            if bridge.id in self._group or bridge.candidate is None or not bridge.candidate.is_problem:
                continue
            window = bridge.start_window()
            if window is not None and window[0] <= latest and window[1] >= earliest and not self._muted(bridge, at):
                return True
        return False

    def _flush_group(self, at: float) -> list[Alert]:
        if self._waiting_for_group(at):
            self._group_deadline = min(self._group_hold_until, at + 1.0)
            return []
        members = [self._bridges[i] for i in self._group if i in self._bridges]
        self._group.clear()
        self._group_deadline = None
        self._group_hold_until = None
        self._group_hold_until = None
        members = [b for b in members if b.incident is not None and not b.incident.announced]
        shown = []
        for bridge in members:
            reason = self._mute_reason(bridge, at)
            if reason:
                bridge.incident.muted_by = reason  # muted since it joined: announced when that ends
            else:
                shown.append(bridge)
        members = shown
        if not members:
            return []
        for bridge in members:
            bridge.incident.announced = True
        entries = tuple(AlertBridge(b.id, b.name, b.incident.status) for b in members)
        if len(members) == 1:
            bridge = members[0]
            status = bridge.incident.status
            title = f"{bridge.name} is {status.value}"
            if status is BridgeStatus.UNAUTHORIZED:
                title = f"{bridge.name} rejected the token"
            body = self._cause(bridge) or f"{bridge.name} is {status.value}."
        else:
            title = f"{len(members)} bridges have problems"
            lines = [f"{b.name}: {b.incident.status.value}. {self._cause(b)}".strip() for b in members]
            body = "\n".join(lines)
        return [Alert(AlertKind.PROBLEM, at, title, body, entries)]

    def _end_snoozes(self, at: float) -> list[Alert]:
        ended: list[_Bridge] = []
        pause_ended = False
        if self.pause_until is not None and at >= self.pause_until:
            self.pause_until = None
            pause_ended = True
        for bridge in self._bridges.values():
            if bridge.snooze_until is not None and at >= bridge.snooze_until:
                bridge.snooze_until = None
                ended.append(bridge)
            elif pause_ended and not self._muted(bridge, at):
                ended.append(bridge)
        alerts = []
        for bridge in ended:
            incident = bridge.incident
            if incident is None or self._muted(bridge, at) or not bridge.confirmed.is_problem:
                continue
            incident.announced, incident.muted_by = True, ""
            since = to_datetime(incident.opened_at).astimezone().strftime("%H:%M")
            what = "Notifications" if pause_ended else f"The snooze for {bridge.name}"
            title = f"{bridge.name} is still {bridge.confirmed.value}"
            body = f"{what} ended while the problem continues: {bridge.name} is {bridge.confirmed.value} since {since}."
            alerts.append(
                Alert(AlertKind.SNOOZE_ENDED, at, title, body, (AlertBridge(bridge.id, bridge.name, bridge.confirmed),))
            )
        return alerts

    def _remind(self, bridge: _Bridge, at: float) -> list[Alert]:
        incident = bridge.incident
        settings = self._settings(bridge.id)
        if incident is None or incident.unstable:
            return []
        elapsed = at - incident.opened_at
        due_index = incident.reminders_sent
        if elapsed < settings.reminder_due(due_index):
            return []
        while elapsed >= settings.reminder_due(due_index + 1):
            due_index += 1  # reminders missed while muted or asleep are skipped, not stacked
        incident.reminders_sent = due_index + 1
        if not incident.announced or not settings.notify_reminders or self._muted(bridge, at):
            return []
        if incident.status is BridgeStatus.DEGRADED and not settings.remind_degraded:
            return []
        title = f"Reminder: {bridge.name} is still {bridge.confirmed.value}"
        body = f"{bridge.name} has been {bridge.confirmed.value} for {format_duration(elapsed)}. {self._cause(bridge)}"
        return [Alert(AlertKind.REMINDER, at, title, body.strip(), (AlertBridge(bridge.id, bridge.name, bridge.confirmed),))]

    def _end_unstable(self, bridge: _Bridge, at: float) -> list[Alert]:
        incident = bridge.incident
        incident.unstable = False
        bridge.changes.clear()
        if bridge.confirmed.is_problem:
            incident.status = bridge.confirmed
            return []  # it settled into a problem: the incident goes on as an ordinary one
        return self._close(bridge, at)

    def bridges_to_probe_now(self, at: float) -> list[str]:
        """Return the bridges to probe at once because another one just showed a problem.

        Problems that begin together, such as a shared Redis or proxy failing, are then
        confirmed together and share one notification instead of arriving a minute apart.
        """
        fresh = [
            b.candidate_since
            for b in self._bridges.values()
            if b.candidate is not None
            and b.candidate.is_problem
            and b.candidate_since is not None
            and at - b.candidate_since <= self.settings.group_window
        ]
        if not fresh:
            return []
        onset = min(fresh)
        wanted = []
        for bridge in self._bridges.values():
            if bridge.candidate is not None or bridge.confirmed.is_problem or self._muted(bridge, at):
                continue
            if bridge.last_probe_at is None or bridge.last_probe_at < onset:
                wanted.append(bridge.id)
        return wanted

    def next_timer(self, at: float) -> float | None:
        """Return when tick() has something to do next, or None."""
        times = []
        if self._group_deadline is not None:
            times.append(self._group_deadline)
        if self.wake_until is not None:
            times.append(self.wake_until)
        if self.pause_until is not None:
            times.append(self.pause_until)
        for bridge in self._bridges.values():
            if bridge.snooze_until is not None:
                times.append(bridge.snooze_until)
            incident = bridge.incident
            if incident is None:
                continue
            settings = self._settings(bridge.id)
            if incident.unstable:
                times.append(incident.last_change_at + settings.flap_quiet)
            else:
                times.append(incident.opened_at + settings.reminder_due(incident.reminders_sent))
        return min(times) if times else None

    def next_probe_delay(self, bridge_id: str, at: float) -> float | None:
        """Return the seconds until this bridge's next probe, or None while offline."""
        if self.offline:
            return None
        if self.wake_until is not None and at < self.wake_until:
            return self.wake_until - at  # everything is checked at once when the wait ends
        bridge = self._bridges[bridge_id]
        settings = self._settings(bridge_id)
        fast = min(settings.fast_interval, bridge.interval)
        if bridge.last_status is BridgeStatus.UNREACHABLE and bridge.unreachable_streak > 0:
            delay = min(bridge.interval, fast * 2 ** (bridge.unreachable_streak - 1))
        elif bridge.candidate is not None or bridge.incident is not None:
            delay = fast
        else:
            delay = bridge.interval
        return delay * (1 + self._random.uniform(-settings.jitter, settings.jitter))

    # -- persistence ----------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Return what a restart needs: open incidents, snoozes, the pause and confirmed statuses."""
        bridges = {}
        for bridge in self._bridges.values():
            entry = {
                "name": bridge.name,
                "confirmed": bridge.confirmed.value,
                "snooze_until": bridge.snooze_until,
                "snooze_until_recovery": bridge.snooze_until_recovery,
                "detail": bridge.detail,
                "failing": bridge.failing,
            }
            if bridge.incident is not None:
                entry["incident"] = dataclasses.asdict(bridge.incident)
                entry["incident"]["status"] = bridge.incident.status.value
                entry["incident"]["worst"] = (bridge.incident.worst or bridge.incident.status).value
            bridges[bridge.id] = entry
        return {
            "version": 1,
            "pause_until": self.pause_until,
            "pause_until_recovery": self.pause_until_recovery,
            "bridges": bridges,
        }

    def restore(self, data: dict) -> None:
        """Load state saved by to_dict() for the bridges already added; ignore the rest."""
        if not isinstance(data, dict) or data.get("version") != 1:
            return
        self.pause_until = _number_or_none(data.get("pause_until"))
        self.pause_until_recovery = data.get("pause_until_recovery") is True
        saved = data.get("bridges")
        if not isinstance(saved, dict):
            return
        for bridge_id, entry in saved.items():
            bridge = self._bridges.get(bridge_id)
            if bridge is None or not isinstance(entry, dict):
                continue
            try:
                bridge.confirmed = BridgeStatus(entry.get("confirmed", "unknown"))
            except ValueError:
                bridge.confirmed = BridgeStatus.UNKNOWN
            bridge.snooze_until = _number_or_none(entry.get("snooze_until"))
            bridge.snooze_until_recovery = entry.get("snooze_until_recovery") is True
            bridge.detail = str(entry.get("detail", ""))
            bridge.failing = [str(name) for name in entry.get("failing", []) if isinstance(name, str)]
            incident = entry.get("incident")
            if isinstance(incident, dict):
                try:
                    bridge.incident = Incident(
                        opened_at=float(incident["opened_at"]),
                        status=BridgeStatus(incident["status"]),
                        last_change_at=float(incident["last_change_at"]),
                        components=[str(c) for c in incident.get("components", [])],
                        announced=bool(incident.get("announced", False)),
                        reminders_sent=int(incident.get("reminders_sent", 0)),
                        unstable=bool(incident.get("unstable", False)),
                        muted_by=str(incident.get("muted_by", "")),
                        worst=BridgeStatus(incident.get("worst", incident["status"])),
                    )
                except (KeyError, TypeError, ValueError):
                    bridge.incident = None


def _number_or_none(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None
