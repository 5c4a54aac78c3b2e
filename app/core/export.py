"""The stable JSON shape of a bridge's state, printed by `check --json`.

Scripts depend on these field names: add fields, never rename or remove one.
"""

from __future__ import annotations

from datetime import datetime

from app.core.model import BridgeSnapshot, worst_status

__all__ = ["snapshot_to_dict", "check_document"]


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def snapshot_to_dict(snapshot: BridgeSnapshot) -> dict:
    result = snapshot.result
    error = result.error if result else None
    return {
        "id": snapshot.id,
        "name": snapshot.name,
        "url": snapshot.url,
        "probe": snapshot.probe.value,
        "status": snapshot.status.value,
        "summary": snapshot.summary,
        "checked_at": _time(result.checked_at if result else None),
        "latency_ms": result.latency_ms if result else None,
        "http_status": result.http_status if result else None,
        "version": snapshot.version,
        "build": snapshot.build,
        "error": {"kind": error.kind.value, "message": error.message, "hint": error.hint} if error else None,
        "components": [
            {
                "name": component.name,
                "status": component.status.value,
                "state": component.state,
                "reported_at": _time(component.reported_at),
                "expires_at": _time(component.expires_at),
            }
            for component in (result.components if result else ())
        ],
    }


def check_document(snapshots: list[BridgeSnapshot]) -> dict:
    """Return the whole `check --json` object: overall status and one entry per bridge."""
    return {
        "status": worst_status(s.status for s in snapshots).value,
        "bridges": [snapshot_to_dict(snapshot) for snapshot in snapshots],
    }
