"""Parser for the SCIM bridge `/health` body and the bridge status derived from it."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from app.core.model import Component, ComponentStatus, HealthReport

__all__ = ["ReportError", "parse_report", "parse_timestamp"]


class ReportError(ValueError):
    """The body is not a SCIM bridge health report. The message names the bad field."""


def parse_timestamp(value: object, where: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime, or raise ReportError."""
    if not isinstance(value, str):
        raise ReportError(f"{where} must be an RFC 3339 timestamp string, got {_describe(value)}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{where} is not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise ReportError(f"{where} has no time zone: {value!r}")
    return parsed.astimezone(timezone.utc)


def parse_report(body: bytes | str | dict) -> HealthReport:
    """Parse a `/health` body into a HealthReport.

    Unknown top-level fields and unknown component names are accepted, because bridges
    add reports a few minutes after start-up. Raises ReportError for anything that is
    not JSON or lacks a required field.
    """
    if isinstance(body, dict):
        data = body
    else:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ReportError(f"the body is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ReportError(f"the body must be a JSON object, got {_describe(data)}")

    retrieved_at = parse_timestamp(data.get("retrievedAt"), "retrievedAt")
    version = _optional_string(data, "version")
    build = _optional_string(data, "build")

    reports = data.get("reports")
    if not isinstance(reports, list):
        raise ReportError(f"reports must be a list, got {_describe(reports)}")
    components = tuple(
        _parse_component(entry, f"reports[{index}]", retrieved_at)
        for index, entry in enumerate(reports)
    )
    return HealthReport(components=components, retrieved_at=retrieved_at, version=version, build=build)


def _parse_component(entry: object, where: str, retrieved_at: datetime) -> Component:
    if not isinstance(entry, dict):
        raise ReportError(f"{where} must be an object, got {_describe(entry)}")
    name = entry.get("source")
    if not isinstance(name, str) or not name.strip():
        raise ReportError(f"{where}.source must be a non-empty string, got {_describe(name)}")
    state = entry.get("state")
    if not isinstance(state, str):
        raise ReportError(f"{where}.state must be a string, got {_describe(state)}")
    reported_at = parse_timestamp(entry.get("time"), f"{where}.time")
    expires_at = parse_timestamp(entry.get("expires"), f"{where}.expires")

    # Staleness is judged against the bridge's own retrievedAt, never the local clock,
    # so a skewed desktop clock cannot raise false alarms.
    if state.strip().lower() != "healthy":
        status = ComponentStatus.UNHEALTHY
    elif expires_at < retrieved_at:
        status = ComponentStatus.STALE
    else:
        status = ComponentStatus.HEALTHY
    return Component(
        name=name.strip(), status=status, state=state, reported_at=reported_at, expires_at=expires_at
    )


def _optional_string(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReportError(f"{key} must be a string, got {_describe(value)}")
    return value


def _describe(value: object) -> str:
    if value is None:
        return "nothing (the field is missing or null)"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
