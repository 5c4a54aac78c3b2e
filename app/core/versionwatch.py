"""Version watch: announce a bridge's version change, and flag bridges below a minimum version.

1Password stops syncing a deprecated bridge version about 90 days after its notice, so a
bridge below the configured minimum shows as degraded even when every component is healthy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from app.core.model import BridgeStatus, ProbeResult
from app.core.policy import Alert, AlertBridge, AlertKind

__all__ = ["VersionSettings", "VersionSettingsError", "apply_minimum", "parse_version", "version_alert"]

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")

OUTDATED_NOTE = (
    "Outdated bridges stop syncing about 90 days after 1Password deprecates their version: update the bridge."
)


class VersionSettingsError(ValueError):
    """The `[versions]` table is invalid. The message names the key and value."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Return (major, minor, patch) from "2.9.16" or "v2.9", or None when `text` is not a version."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


@dataclass(frozen=True)
class VersionSettings:
    """From the config's `[versions]` table: `minimum` for every bridge, and `[versions.bridges]`
    mapping a bridge's name or id to its own minimum."""

    minimum: str | None = None
    per_bridge: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: object) -> "VersionSettings":
        if data is None:
            return cls()
        if not isinstance(data, dict) or set(data) - {"minimum", "bridges"}:
            raise VersionSettingsError("versions accepts minimum = \"2.9.13\" and a [versions.bridges] table.")
        minimum = data.get("minimum")
        if minimum is not None and (not isinstance(minimum, str) or parse_version(minimum) is None):
            raise VersionSettingsError(f"versions.minimum must be a version such as \"2.9.13\", got {minimum!r}.")
        per_bridge = data.get("bridges", {})
        if not isinstance(per_bridge, dict):
            raise VersionSettingsError("versions.bridges must be a table of bridge name = \"minimum version\".")
        for key, value in per_bridge.items():
            if not isinstance(value, str) or parse_version(value) is None:
                raise VersionSettingsError(f"versions.bridges.{key} must be a version such as \"2.9.13\", got {value!r}.")
        return cls(minimum=minimum, per_bridge={str(k).lower(): v for k, v in per_bridge.items()})

    def minimum_for(self, bridge_id: str, name: str) -> str | None:
        return self.per_bridge.get(bridge_id.lower()) or self.per_bridge.get(name.lower()) or self.minimum


def apply_minimum(result: ProbeResult, minimum: str | None) -> ProbeResult:
    """Return `result` as degraded, with a note, when the reported version is below `minimum`.

    Only a healthy result changes, because a worse status is already the more urgent report.
    """
    version = result.report.version if result.report else None
    if minimum is None or version is None or result.status is not BridgeStatus.HEALTHY:
        return result
    current, wanted = parse_version(version), parse_version(minimum)
    if current is None or wanted is None or current >= wanted:
        return result
    summary = f"Version {version} is below the minimum {minimum}. {OUTDATED_NOTE}"
    return replace(result, status=BridgeStatus.DEGRADED, summary=summary)


def version_alert(
    previous: str, current: str, bridge_id: str, name: str, at: float, build: str | None = None
) -> Alert:
    """Build the notification for a version change, shown as information."""
    built = f" (build {build})" if build else ""
    title = f"{name} updated from {previous} to {current}"
    direction = "downgraded" if (parse_version(current) or ()) < (parse_version(previous) or ()) else "updated"
    body = f"{name} was {direction} from {previous} to {current}{built}."
    if direction == "downgraded":
        title = f"{name} downgraded from {previous} to {current}"
    return Alert(AlertKind.VERSION, at, title, body, (AlertBridge(bridge_id, name, BridgeStatus.HEALTHY),))
