"""Data model shared by every layer: statuses, components, probe results and snapshots."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "BridgeStatus",
    "ComponentStatus",
    "ProbeKind",
    "ErrorKind",
    "Component",
    "HealthReport",
    "ProbeError",
    "ProbeResult",
    "CertificateInfo",
    "BridgeSnapshot",
    "worst_status",
]


class BridgeStatus(str, enum.Enum):
    """Overall status of one bridge, as shown in the tray and printed by `check`."""

    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    UNREACHABLE = "unreachable"
    UNAUTHORIZED = "unauthorized"

    @property
    def severity(self) -> int:
        """Rank for "worst status" comparisons: a higher rank is worse."""
        return _SEVERITY[self]

    @property
    def is_problem(self) -> bool:
        return self not in (BridgeStatus.UNKNOWN, BridgeStatus.HEALTHY)

    @property
    def exit_code(self) -> int:
        """Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
        return _EXIT_CODE[self]

    @property
    def label(self) -> str:
        return self.value.capitalize()


_SEVERITY = {
    BridgeStatus.HEALTHY: 0,
    BridgeStatus.UNKNOWN: 1,
    BridgeStatus.DEGRADED: 2,
    BridgeStatus.UNAUTHORIZED: 3,
    BridgeStatus.UNHEALTHY: 4,
    BridgeStatus.UNREACHABLE: 5,
}

_EXIT_CODE = {
    BridgeStatus.HEALTHY: 0,
    BridgeStatus.DEGRADED: 1,
    BridgeStatus.UNHEALTHY: 2,
    BridgeStatus.UNREACHABLE: 2,
    BridgeStatus.UNAUTHORIZED: 2,
    BridgeStatus.UNKNOWN: 3,
}


def worst_status(statuses) -> BridgeStatus:
    """Return the worst of `statuses`, or UNKNOWN when there are none."""
    statuses = list(statuses)
    if not statuses:
        return BridgeStatus.UNKNOWN
    return max(statuses, key=lambda status: status.severity)


class ComponentStatus(str, enum.Enum):
    """Status of one component report (RedisCache, SCIMServer, a watcher, ...)."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    STALE = "stale"


class ProbeKind(str, enum.Enum):
    """The endpoint a bridge is probed on, which decides the token it needs."""

    HEALTH = "health"  # /health with the bearer token
    MONITORING = "monitoring"  # /monitoring with the health-check-only token
    PING = "ping"  # /ping, no token: liveness only

    @property
    def path(self) -> str:
        return "/" + self.value

    @property
    def needs_token(self) -> bool:
        return self is not ProbeKind.PING


class ErrorKind(str, enum.Enum):
    """The reason a probe returned no health report. The values are part of `check --json`."""

    NAME_NOT_FOUND = "name_not_found"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_FAILED = "connection_failed"
    TIMEOUT = "timeout"
    TLS = "tls"
    HTTP_STATUS = "http_status"
    PROXY_PAGE = "proxy_page"
    INVALID_REPORT = "invalid_report"
    OVERSIZED = "oversized"
    REDIRECT = "redirect"
    UNAUTHORIZED = "unauthorized"
    INSECURE_URL = "insecure_url"
    TOKEN_UNAVAILABLE = "token_unavailable"


@dataclass(frozen=True)
class Component:
    """One entry of a health report's `reports` list."""

    name: str
    status: ComponentStatus
    state: str  # the raw `state` string, shown verbatim
    reported_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class HealthReport:
    """A parsed `/health` body: the components and the bridge's own version."""

    components: tuple[Component, ...]
    retrieved_at: datetime
    version: str | None = None
    build: str | None = None

    @property
    def unhealthy(self) -> list[Component]:
        return [c for c in self.components if c.status is ComponentStatus.UNHEALTHY]

    @property
    def stale(self) -> list[Component]:
        return [c for c in self.components if c.status is ComponentStatus.STALE]

    def status(self) -> BridgeStatus:
        """Derive the bridge status: the body has no overall status field of its own."""
        if self.unhealthy:
            return BridgeStatus.UNHEALTHY
        if self.stale or not self.components:
            return BridgeStatus.DEGRADED
        return BridgeStatus.HEALTHY


@dataclass(frozen=True)
class ProbeError:
    """The cause of a failed probe, in plain words. `message` never contains a token."""

    kind: ErrorKind
    message: str
    hint: str = ""


@dataclass(frozen=True)
class CertificateInfo:
    """The TLS certificate a bridge presented in a completed, verified handshake."""

    subject: str
    issuer: str
    not_after: datetime
    serial: str
    verified: bool = True  # TLS verification is always on, so a completed handshake verified the chain

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe of one bridge."""

    status: BridgeStatus
    summary: str
    checked_at: datetime
    latency_ms: float | None = None
    http_status: int | None = None
    report: HealthReport | None = None
    error: ProbeError | None = None
    certificate: CertificateInfo | None = None  # HTTPS only
    body: str | None = None  # the raw /health or /monitoring body, token masked, for diagnostics

    @property
    def components(self) -> tuple[Component, ...]:
        return self.report.components if self.report else ()


@dataclass(frozen=True)
class BridgeSnapshot:
    """The state the front ends render for one bridge: its settings and its latest result."""

    id: str
    name: str
    url: str
    probe: ProbeKind
    status: BridgeStatus = BridgeStatus.UNKNOWN
    since: datetime | None = None  # when the bridge entered `status`
    result: ProbeResult | None = None
    version: str | None = None  # the last version seen, kept while the bridge is down
    build: str | None = None
    extra: dict = field(default_factory=dict)
    # Set by the alert policy in the tray app; None or False in one-shot checks.
    confirmed: BridgeStatus | None = None  # the status the icon shows: changes only once confirmed
    checking: bool = False  # a different status was seen and awaits confirmation
    incident_since: datetime | None = None
    unstable: bool = False
    snoozed_until: datetime | None = None
    snoozed_until_recovery: bool = False

    @property
    def shown_status(self) -> BridgeStatus:
        """Return the status for the tray: the confirmed one when the policy runs."""
        return self.confirmed if self.confirmed is not None else self.status

    @property
    def summary(self) -> str:
        return self.result.summary if self.result else "Not checked yet"
