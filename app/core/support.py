"""The diagnostics report for support: versions, the bridge's settings, recent results, the last
`/health` body, the TLS summary, the last incident and the bridge's log lines.

Not the "Test connection" check (that is app.core.diagnosis). The report never contains a
token: every registered secret is replaced, as in the logs. With `mask`, host names and IP
addresses are replaced too, so the report can leave the company.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

from app import __version__
from app.core.certwatch import certificate_summary
from app.core.config import BridgeConfig
from app.core.history import DAY, HistoryError, HistoryReader
from app.core.model import CertificateInfo
from app.core.timefmt import format_duration
from app.core.redact import RedactingFilter

__all__ = ["build_report", "HostMasker", "redact_secrets", "RECENT_RESULTS", "LOG_LINES"]

log = logging.getLogger(__name__)

RECENT_RESULTS = 20
LOG_LINES = 40
_LOG_BACKUPS = 3  # the rotating log keeps bridgewatch.log.1 to .3

_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:%\w+)?(?![\w:])")
_HOST_NAME = re.compile(r"(?<![\w.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])")
# Dotted names that are not hosts: this program's modules and file names in its log lines.
_NOT_HOSTS = re.compile(
    r"^(?:app|asyncio|httpx|httpcore|keyring|desktop_notifier)\.|\.(?:py|log|toml|json|sqlite3|csv|png|svg|desktop|plist)$",
    re.IGNORECASE,
)


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace `secrets` and every token registered with app.core.tokens by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    record = logging.LogRecord("support", logging.INFO, __file__, 0, text, None, None)
    RedactingFilter().filter(record)
    return record.getMessage()


@dataclass
class HostMasker:
    """Replace host names and IP addresses by stable placeholders: host-1, address-1, ..."""

    known_hosts: list[str] = field(default_factory=list)
    _names: dict[str, str] = field(default_factory=dict)

    def _placeholder(self, value: str, kind: str) -> str:
        key = value.lower()
        if key not in self._names:
            count = sum(1 for name in self._names.values() if name.startswith(kind)) + 1
            self._names[key] = f"{kind}-{count}"
        return self._names[key]

    def mask(self, text: str) -> str:
        for host in sorted(self.known_hosts, key=len, reverse=True):
            if host:
                kind = "address" if _is_address(host) else "host"
                text = re.sub(re.escape(host), self._placeholder(host, kind), text, flags=re.IGNORECASE)
        text = _IPV4.sub(lambda m: self._placeholder(m.group(), "address") if _is_address(m.group()) else m.group(), text)
        text = _IPV6_CANDIDATE.sub(self._mask_ipv6, text)
        return _HOST_NAME.sub(self._mask_name, text)

    def _mask_ipv6(self, match: re.Match) -> str:
        value = match.group()
        if value.count(":") >= 2 and _is_address(value.split("%")[0].strip("[]")):
            return self._placeholder(value, "address")
        return value

    def _mask_name(self, match: re.Match) -> str:
        value = match.group()
        if _NOT_HOSTS.search(value):
            return value
        return self._placeholder(value, "host")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _log_lines(log_file: Path | None, bridge: BridgeConfig, limit: int) -> list[str]:
    """Return the last `limit` lines of the log and its backups that name the bridge's id or name."""
    if log_file is None:
        return []
    mentions = re.compile(rf"{re.escape(bridge.id)}|(?<!\w){re.escape(bridge.name)}(?!\w)")
    files = [log_file.with_name(f"{log_file.name}.{n}") for n in range(_LOG_BACKUPS, 0, -1)] + [log_file]
    found: list[str] = []
    for path in files:
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                found.extend(line.rstrip("\n") for line in handle if mentions.search(line))
        except FileNotFoundError:
            continue
        except OSError as exc:
            found.append(f"(cannot read {path}: {exc.strerror or exc})")
    return found[-limit:]


def _certificate_text(stored: str | None, now: float) -> str:
    if not stored:
        return "no certificate recorded (plain HTTP, or no successful HTTPS probe yet)"
    try:
        data = json.loads(stored)
        certificate = CertificateInfo(
            subject=data["subject"],
            issuer=data["issuer"],
            not_after=datetime.fromisoformat(data["not_after"]),
            serial=data.get("serial", ""),
            verified=bool(data.get("verified", True)),
        )
    except (ValueError, KeyError, TypeError):
        return "the stored certificate summary is unreadable"
    return certificate_summary(certificate, datetime.fromtimestamp(now, timezone.utc))


def build_report(
    bridge: BridgeConfig,
    *,
    history_file: Path | None,
    log_file: Path | None,
    secrets: Iterable[str] = (),
    mask: bool = False,
    now: float | None = None,
) -> str:
    """Build the diagnostics report for `bridge` as plain text."""
    now = time.time() if now is None else now
    lines = [
        "Bridgewatch diagnostics",
        f"Generated: {_utc(now)}",
        f"Bridgewatch {__version__}, Python {platform.python_version()}, {platform.platform()} ({sys.platform})",
        "",
        "== Bridge ==",
        f"Name: {bridge.name}",
        f"Id: {bridge.id}",
        f"URL: {bridge.url}",
        f"Probe: /{bridge.probe.value} ({'with a token from the keychain' if bridge.probe.needs_token else 'no token'})",
        f"Interval: {bridge.interval:g} s",
        f"Plain HTTP allowed: {'yes' if bridge.allow_http else 'no'}",
    ]
    lines += _history_sections(bridge, history_file, now)
    lines += ["", f"== Log lines about this bridge (last {LOG_LINES}) =="]
    lines += _log_lines(log_file, bridge, LOG_LINES) or ["(none)"]
    text = redact_secrets("\n".join(lines) + "\n", secrets)
    if mask:
        host = urlsplit(bridge.url).hostname or ""
        text = HostMasker(known_hosts=[host]).mask(text)
    return text


def _history_sections(bridge: BridgeConfig, history_file: Path | None, now: float) -> list[str]:
    if history_file is None:
        return ["", "== History ==", "(no history file)"]
    try:
        reader = HistoryReader(history_file)
    except HistoryError as exc:
        return ["", "== History ==", str(exc)]
    with reader:
        if reader.bridge(bridge.id) is None:
            return ["", "== History ==", "Nothing recorded for this bridge yet."]
        version = reader.state(bridge.id, "version") or "-"
        build = reader.state(bridge.id, "build")
        lines = ["", "== Version ==", f"{version}" + (f" (build {build})" if build else "")]
        lines += ["", "== Uptime =="]
        for label, days in (("24 hours", 1), ("7 days", 7), ("30 days", 30)):
            uptime = reader.uptime(bridge.id, now - days * DAY, now)
            percent = "no data" if uptime.percent is None else f"{uptime.percent:.2f} %"
            lines.append(f"{label}: {percent} (down {format_duration(uptime.down)}, "
                         f"no data {format_duration(uptime.no_data)})")
        lines += ["", f"== Last {RECENT_RESULTS} probe results =="]
        for sample in reader.recent(bridge.id, RECENT_RESULTS):
            latency = "-" if sample.latency_ms is None else f"{sample.latency_ms:.1f} ms"
            http = "-" if sample.http_status is None else str(sample.http_status)
            lines.append(f"{_utc(sample.at)}  {sample.status:<12} {latency:>10}  HTTP {http:<4} {sample.error_kind or ''}")
        lines += ["", "== TLS ==", _certificate_text(reader.state(bridge.id, "certificate_info"), now)]
        incidents = reader.incidents(bridge.id, limit=1)
        lines += ["", "== Last incident =="]
        if incidents:
            incident = incidents[0]
            end = "still open" if incident.closed_at is None else f"ended {_utc(incident.closed_at)}"
            lines.append(
                f"{incident.worst} from {_utc(incident.opened_at)}, {end}, lasted "
                f"{format_duration(incident.duration(now))}: {incident.cause}"
            )
        else:
            lines.append("(none recorded)")
        body = reader.state(bridge.id, "last_body")
        lines += ["", "== Last response body =="]
        lines.append(body if body else "(none: /ping, or no answer recorded)")
    return lines
