"""Certificate watch: warn ahead of a bridge certificate's expiry, and notice its renewal.

A bridge with `OP_TLS_DOMAIN` renews its Let's Encrypt certificate itself, so a renewal
that fails shows first as a certificate nearing its notAfter. Warnings never count as
downtime: they are alerts beside the status, not a status.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from app.core.model import BridgeStatus, CertificateInfo
from app.core.policy import Alert, AlertBridge, AlertKind

__all__ = ["CertificateSettings", "CertificateEvent", "CertificateWatch", "certificate_summary"]

DEFAULT_WARN_DAYS = (21.0, 7.0, 2.0)


class CertificateSettingsError(ValueError):
    """The `[certificates]` table is invalid. The message names the key and the accepted values."""


@dataclass(frozen=True)
class CertificateSettings:
    """The days before expiry at which to warn, from the config's `[certificates] warn_days`."""

    warn_days: tuple[float, ...] = DEFAULT_WARN_DAYS

    @classmethod
    def from_dict(cls, data: object) -> "CertificateSettings":
        if data is None:
            return cls()
        if not isinstance(data, dict) or set(data) - {"warn_days"}:
            raise CertificateSettingsError("certificates accepts one key, warn_days, a list of days such as [21, 7, 2].")
        days = data.get("warn_days", list(DEFAULT_WARN_DAYS))
        if not isinstance(days, list) or not all(
            isinstance(d, (int, float)) and not isinstance(d, bool) and 0 < d <= 365 for d in days
        ):
            raise CertificateSettingsError(f"certificates.warn_days must be a list of days from 1 to 365, got {days!r}.")
        return cls(warn_days=tuple(sorted({float(d) for d in days}, reverse=True)))


@dataclass(frozen=True)
class CertificateEvent:
    """`kind` is "expiring" (with the threshold crossed) or "renewed"."""

    kind: str
    certificate: CertificateInfo
    days_left: float
    threshold: float | None = None


class CertificateWatch:
    """Per-bridge state: the certificate last seen and the thresholds already warned about.

    The state round-trips through `to_json`/`from_json` so a restart neither repeats a
    warning nor misses a renewal.
    """

    def __init__(self, settings: CertificateSettings | None = None) -> None:
        self.settings = settings or CertificateSettings()
        self.not_after: datetime | None = None
        self.serial = ""
        self.warned: set[float] = set()

    @classmethod
    def from_json(cls, text: str | None, settings: CertificateSettings | None = None) -> "CertificateWatch":
        watch = cls(settings)
        if not text:
            return watch
        try:
            data = json.loads(text)
            watch.not_after = datetime.fromisoformat(data["not_after"])
            watch.serial = str(data.get("serial", ""))
            watch.warned = {float(day) for day in data.get("warned", [])}
        except (ValueError, KeyError, TypeError):
            return cls(settings)  # an unreadable state starts over: at worst one warning repeats
        return watch

    def to_json(self) -> str:
        return json.dumps(
            {
                "not_after": self.not_after.isoformat() if self.not_after else None,
                "serial": self.serial,
                "warned": sorted(self.warned, reverse=True),
            }
        )

    def observe(self, certificate: CertificateInfo, now: datetime) -> list[CertificateEvent]:
        """Record the certificate of one probe; return the events to announce (usually none)."""
        events: list[CertificateEvent] = []
        days_left = certificate.days_left(now)
        if self.not_after is None or certificate.not_after != self.not_after:
            if self.not_after is not None and certificate.not_after > self.not_after:
                events.append(CertificateEvent("renewed", certificate, days_left))
            # A new certificate starts with no warnings, renewed or not (for example another
            # server behind a load balancer).
            self.not_after = certificate.not_after
            self.serial = certificate.serial
            self.warned = set()
        crossed = {day for day in self.settings.warn_days if days_left <= day}
        new = crossed - self.warned
        if new:
            # First seen already past several thresholds: one warning, for the closest one.
            events.append(CertificateEvent("expiring", certificate, days_left, threshold=min(new)))
            self.warned |= crossed
        return events


def certificate_alert(event: CertificateEvent, bridge_id: str, name: str, at: float) -> Alert:
    """Build the notification for a certificate event.

    The alert's bridge status is degraded for a warning and healthy for a renewal, so a
    warning is shown as a warning and a renewal as information, whatever the bridge's status.
    """
    expiry = event.certificate.not_after.strftime("%Y-%m-%d %H:%M UTC")
    if event.kind == "renewed":
        status = BridgeStatus.HEALTHY
        title = f"{name}: certificate renewed"
        body = f"{name} presents a new TLS certificate, valid until {expiry} ({event.days_left:.0f} days)."
    else:
        status = BridgeStatus.DEGRADED
        days = max(0, int(event.days_left))
        title = f"{name}: certificate expires in {days} {'day' if days == 1 else 'days'}"
        body = (
            f"The TLS certificate of {name} ({event.certificate.subject}) expires on {expiry}. "
            "If the bridge renews a Let's Encrypt certificate itself, the renewal has not happened yet: "
            "check the bridge's log and that port 443 is reachable for the ACME challenge."
        )
    return Alert(AlertKind.CERTIFICATE, at, title, body, (AlertBridge(bridge_id, name, status),))


def certificate_summary(certificate: CertificateInfo | None, now: datetime) -> str:
    """Describe a certificate on one line for the window and the diagnostics."""
    if certificate is None:
        return "-"
    days = certificate.days_left(now)
    verified = "chain verified" if certificate.verified else "chain not verified"
    return (
        f"{certificate.subject}, issued by {certificate.issuer}; expires "
        f"{certificate.not_after.strftime('%Y-%m-%d %H:%M UTC')} ({days:.0f} days left); {verified}"
    )
