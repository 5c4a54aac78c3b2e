"""The "Test connection" diagnosis: one request to a bridge, explained step by step in plain words.

It makes its own request under the poller's rules (see probe.py): TLS verified against the
OS trust store, no redirect to another origin, one deadline for the whole test and at most
1 MiB read. On top of the poller's result it records what a person setting up a bridge
needs: the resolved addresses, the connected peer, the certificate's issuer and expiry,
whether /ping responds when the token is rejected, and the next step for each failure.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Awaitable, Callable

import httpx

from app import __version__
from app.core.model import (
    BridgeStatus,
    Component,
    ComponentStatus,
    ErrorKind,
    ProbeError,
    ProbeKind,
    ProbeResult,
)
from app.core.probe import DEFAULT_TIMEOUT, MAX_BODY_BYTES, default_ssl_context, interpret_response
from app.core.tokens import register_secret
from app.core.urls import BridgeUrlError, normalize_bridge_url, same_origin

__all__ = [
    "CertificateInfo",
    "Diagnosis",
    "diagnose",
    "token_problem",
    "EXPIRY_WARNING_DAYS",
]

log = logging.getLogger(__name__)

EXPIRY_WARNING_DAYS = 21  # a Let's Encrypt certificate is renewed 30 days before it expires

# Resolve(host, port) -> addresses. The default uses the operating system's resolver.
Resolver = Callable[[str, int], Awaitable[list[str]]]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class CertificateInfo:
    """The bridge's TLS certificate, as presented during the test."""

    subject: str
    issuer: str
    not_after: datetime

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400


@dataclass(frozen=True)
class Diagnosis:
    """The outcome of a connection test; `rows()` and `next_step` are ready to show."""

    url: str  # the normalized base URL, or the text as typed when it was rejected
    probe: ProbeKind
    result: ProbeResult
    next_step: str
    url_notes: tuple[str, ...] = ()
    host: str = ""
    addresses: tuple[str, ...] = ()
    peer: str | None = None  # "address port N" of the connection that returned the response
    tls_used: bool = False
    certificate: CertificateInfo | None = None
    ping_answers: bool | None = None  # asked only when the token was rejected or the endpoint was missing
    request_sent: bool = False

    @property
    def status(self) -> BridgeStatus:
        return self.result.status

    @property
    def ok(self) -> bool:
        return self.result.status is BridgeStatus.HEALTHY

    @property
    def error_kind(self) -> ErrorKind | None:
        return self.result.error.kind if self.result.error else None

    def rows(self) -> list[tuple[str, str]]:
        """Return (label, text) pairs in the order of the test: address, TLS, HTTP, content."""
        result = self.result
        rows = [("URL", self.url + "".join(f"\n{note}" for note in self.url_notes))]
        rows.append(("Address", self._address_text()))

        if self.peer:
            rows.append(("Connected to", self.peer))
        rows.append(("TLS", self._tls_text()))
        rows.append(("HTTP status", str(result.http_status) if result.http_status else "no answer"))

        report = result.report
        if report is not None:
            version = report.version or "not reported"
            if report.build:
                version += f" (build {report.build})"
            rows.append(("Version", version))
            if report.components:
                lines = []
                for component in report.components:
                    lines.append(_component_text(component))
                rows.append(("Components", "\n".join(lines)))
            else:
                rows.append(("Components", "none reported"))
        elif self.probe is ProbeKind.PING and result.status is BridgeStatus.HEALTHY:
            rows.append(("Components", "not checked: /ping needs no token and shows no components"))
        if self.ping_answers is not None:
            rows.append(("/ping", "answers: the bridge process runs" if self.ping_answers else "no answer either"))

        label = result.status.label
        if result.status is BridgeStatus.UNKNOWN and not self.request_sent:
            label = "Not tested"
        outcome = f"{label}: {result.summary}"
        rows.append(("Result", outcome))
        rows.append(("Next step", self.next_step))
        return rows

    def to_text(self) -> str:
        return "\n".join(f"{label}: {text}" for label, text in self.rows())

    def _address_text(self) -> str:
        if not self.host:
            return "not looked up: the URL was rejected"
        if self.addresses:
            if self.addresses == (self.host.strip("[]"),):
                return f"{self.addresses[0]} (an IP address, so no lookup)"
            return f"{self.host} resolves to {', '.join(self.addresses)}"
        if self.error_kind is ErrorKind.NAME_NOT_FOUND:
            return f"{self.host} was not found"
        return "not looked up"

    def _tls_text(self) -> str:
        if not self.tls_used:
            return "not used: plain http://"
        if self.certificate is not None:
            cert = self.certificate
            days = cert.days_left(self.result.checked_at)
            when = cert.not_after.strftime("%Y-%m-%d")
            remaining = f"expired {-days:.0f} days ago" if days < 0 else f"in {days:.0f} days"
            return f"certificate for {cert.subject}, issued by {cert.issuer}, valid until {when} ({remaining})"
        if self.error_kind is ErrorKind.TLS:
            return f"failed: {self.result.error.message}"
        if self.request_sent and self.result.http_status:
            return "verified (certificate details not available on this platform)"
        return "not reached"


def _component_text(component: Component) -> str:
    if component.status is ComponentStatus.STALE:
        expired = component.expires_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
        return f"{component.name}: stopped reporting (its last report expired {expired} UTC)"
    if component.status is ComponentStatus.UNHEALTHY and component.state.lower() != "unhealthy":
        return f"{component.name}: not healthy (state {component.state!r})"
    return f"{component.name}: {component.status.value}"


def token_problem(token: str) -> str | None:
    """Return why `token` cannot be a bridge token, or None when it looks usable.

    The check is on characters only: an HTTP header carries ASCII, and a pasted token
    with a space, line break or typographic character would be rejected or garbled.
    """
    if not token:
        return "The token is empty: paste the token."
    if any(ch.isspace() for ch in token):
        return "The token contains a space or line break: paste exactly the token, on one line."
    if not token.isascii() or not token.isprintable():
        return (
            "The token contains characters that no bridge token has (for example a typographic "
            "quote or ellipsis): copy it again from the 1Password setup page."
        )
    return None


@dataclass
class _Progress:
    """Findings of the test so far, kept when a later step fails."""

    host: str = ""
    port: int = 0
    addresses: tuple[str, ...] = ()
    peer: str | None = None
    certificate: CertificateInfo | None = None
    request_sent: bool = False


class _Failure(Exception):
    def __init__(self, error: ProbeError, http_status: int | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.http_status = http_status


async def diagnose(
    url: str,
    probe: ProbeKind,
    token: str | None,
    *,
    allow_http: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = MAX_BODY_BYTES,
    resolver: Resolver | None = None,
    now: Callable[[], datetime] = _utcnow,
    token_error: str | None = None,
) -> Diagnosis:
    """Test one bridge and explain the outcome. Faults are returned as a Diagnosis, never raised.

    Nothing is sent when the URL is rejected (plain http:// to a remote host without
    `allow_http`), or when the probe needs a token and `token` is missing or malformed, or
    `token_error` says why the keychain could not provide it.
    """
    checked_at = now()
    try:
        normalized = normalize_bridge_url(url, allow_http=allow_http)
    except BridgeUrlError as exc:
        error = ProbeError(ErrorKind.INSECURE_URL, str(exc))
        return _finish(url.strip(), probe, (), _Progress(), checked_at, BridgeStatus.UNKNOWN, error)

    base = httpx.URL(normalized.url)
    progress = _Progress(host=base.host, port=base.port or (443 if base.scheme == "https" else 80))
    tls_used = base.scheme == "https"
    notes = normalized.notes

    def finish(status: BridgeStatus, error: ProbeError, http_status: int | None = None) -> Diagnosis:
        return _finish(normalized.url, probe, notes, progress, checked_at, status, error, http_status, tls_used)

    if probe.needs_token:
        if token_error:
            problem = token_error
        elif not token:
            problem = "No token was given: paste the token, or choose no token to probe /ping."
        else:
            problem = token_problem(token)
        if problem:
            return finish(BridgeStatus.UNKNOWN, ProbeError(ErrorKind.TOKEN_UNAVAILABLE, problem))
        register_secret(token)

    headers = {"Accept": "application/json"}
    if probe.needs_token:
        headers["Authorization"] = f"Bearer {token}"
    context = ssl_context or default_ssl_context()
    started = time.perf_counter()
    ping_answers: bool | None = None
    try:
        async with asyncio.timeout(timeout):
            progress.addresses = tuple(await (resolver or _resolve)(progress.host, progress.port))
            async with httpx.AsyncClient(
                verify=context,
                follow_redirects=False,
                timeout=httpx.Timeout(timeout),
                headers={"User-Agent": f"Bridgewatch/{__version__}"},
            ) as client:
                http_status, content_type, body = await _fetch(
                    client, httpx.URL(normalized.url + probe.path), headers, max_body, progress
                )
                result = interpret_response(probe, http_status, content_type, body, checked_at)
                result = _without_token(result, token, body)
                if result.error and (
                    result.error.kind is ErrorKind.UNAUTHORIZED or result.http_status == 404
                ) and probe is not ProbeKind.PING:
                    ping_answers = await _ping(client, httpx.URL(normalized.url + "/ping"), max_body)
    except _Failure as failure:
        return finish(BridgeStatus.UNREACHABLE, failure.error, failure.http_status)
    except socket.gaierror:
        error = ProbeError(ErrorKind.NAME_NOT_FOUND, f"Name not found: {progress.host} does not resolve.")
        return finish(BridgeStatus.UNREACHABLE, error)
    except (TimeoutError, httpx.TimeoutException):
        error = ProbeError(ErrorKind.TIMEOUT, f"No response within {timeout:g} s.")
        return finish(BridgeStatus.UNREACHABLE, error)
    except httpx.HTTPError as exc:
        return finish(BridgeStatus.UNREACHABLE, _describe_transport_error(exc))

    result = replace(result, latency_ms=round((time.perf_counter() - started) * 1000, 1))
    log.info("Connection test of %s: %s", normalized.url, result.status.value)
    return Diagnosis(
        url=normalized.url,
        probe=probe,
        result=result,
        next_step=_next_step(result, probe, progress, ping_answers, checked_at),
        url_notes=notes,
        host=progress.host,
        addresses=progress.addresses,
        peer=progress.peer,
        tls_used=tls_used,
        certificate=progress.certificate,
        ping_answers=ping_answers,
        request_sent=progress.request_sent,
    )


def _finish(
    url: str,
    probe: ProbeKind,
    notes: tuple[str, ...],
    progress: _Progress,
    checked_at: datetime,
    status: BridgeStatus,
    error: ProbeError,
    http_status: int | None = None,
    tls_used: bool = False,
) -> Diagnosis:
    result = ProbeResult(status=status, summary=error.message, checked_at=checked_at, http_status=http_status, error=error)
    log.info("Connection test of %s: %s (%s)", url, status.value, error.kind.value)
    return Diagnosis(
        url=url,
        probe=probe,
        result=result,
        next_step=_next_step(result, probe, progress, None, checked_at),
        url_notes=notes,
        host=progress.host,
        addresses=progress.addresses,
        peer=progress.peer,
        tls_used=tls_used,
        certificate=progress.certificate,
        request_sent=progress.request_sent,
    )


async def _resolve(host: str, port: int) -> list[str]:
    """Return the addresses of `host` from the OS resolver; raise socket.gaierror when none.

    An IP address is returned as it is. A name under `.invalid` fails here without a
    lookup, because RFC 6761 (section 6.4) reserves it to never resolve.
    """
    bare = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(bare))]
    except ValueError:
        pass
    if bare.lower().rstrip(".") == "invalid" or bare.lower().rstrip(".").endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    infos = await asyncio.get_running_loop().getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canonical, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


async def _fetch(
    client: httpx.AsyncClient, url: httpx.URL, headers: dict[str, str], max_body: int, progress: _Progress
) -> tuple[int, str, bytes]:
    """GET `url`, following at most one same-origin redirect; return status, content type and body."""
    for attempt in range(2):
        progress.request_sent = True
        async with client.stream("GET", url, headers=headers) as response:
            _record_connection(response, progress)
            if response.is_redirect:
                target = url.join(response.headers.get("Location", ""))
                if attempt == 0 and same_origin(url, target):
                    url = target
                    continue
                port = f":{target.port}" if target.port else ""
                raise _Failure(
                    ProbeError(
                        ErrorKind.REDIRECT,
                        f"HTTP {response.status_code} redirect to {target.scheme}://{target.host}{port}; "
                        "not followed, so the token was not sent there.",
                    ),
                    response.status_code,
                )
            body = await _read_body(response, max_body)
            return response.status_code, response.headers.get("Content-Type", ""), body
    raise AssertionError("unreachable: the loop returns or raises")


async def _read_body(response: httpx.Response, max_body: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_body:
            raise _Failure(
                ProbeError(
                    ErrorKind.OVERSIZED,
                    f"The response is larger than {max_body // 1024} KiB, far more than a health report; "
                    "reading stopped.",
                ),
                response.status_code,
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def _ping(client: httpx.AsyncClient, url: httpx.URL, max_body: int) -> bool:
    """Return True when `url` (the bridge's /ping) returns `pong`. The request carries no token."""
    try:
        async with client.stream("GET", url) as response:
            body = await _read_body(response, max_body)
            return response.status_code == 200 and body.strip().lower() == b"pong"
    except (_Failure, httpx.HTTPError) as exc:
        log.info("The /ping follow-up of a connection test failed: %s", type(exc).__name__)
        return False


def _record_connection(response: httpx.Response, progress: _Progress) -> None:
    """Store the connected peer and the verified certificate of the response's connection."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return
    peer = stream.get_extra_info("server_addr")
    if peer:
        progress.peer = f"{peer[0]} port {peer[1]}"
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is not None:
        progress.certificate = _certificate_info(ssl_object)


def _certificate_info(ssl_object) -> CertificateInfo | None:
    # NOTE: with truststore on macOS and Windows, OpenSSL does not verify the chain itself,
    # so getpeercert() returns an empty dict there and the details are left out.
    try:
        details = ssl_object.getpeercert()
    except (ValueError, ssl.SSLError):
        return None
    if not details or "notAfter" not in details:
        return None
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(details["notAfter"]), timezone.utc)
    return CertificateInfo(
        subject=_name_text(details.get("subject", ())),
        issuer=_name_text(details.get("issuer", ())),
        not_after=not_after,
    )


def _name_text(name: tuple) -> str:
    """Format an X.509 name from getpeercert() as "common name (organization)"."""
    fields: dict[str, str] = {}
    for relative_name in name:
        for key, value in relative_name:
            fields.setdefault(key, value)
    common = fields.get("commonName")
    organization = fields.get("organizationName")
    if common and organization:
        return f"{common} ({organization})"
    return common or organization or fields.get("organizationalUnitName") or "an unnamed authority"


def _without_token(result: ProbeResult, token: str | None, body: bytes) -> ProbeResult:
    """Drop body text from the result when the body echoes the token (an echo service, not a bridge)."""
    if not token or token.encode("ascii", "replace") not in body or result.error is None:
        return result
    path_message = f"HTTP {result.http_status}: the response is not a health report, and it repeats the token."
    error = replace(result.error, message=path_message)
    return replace(result, summary=path_message, error=error)


def _describe_transport_error(exc: httpx.HTTPError) -> ProbeError:
    """Name the cause of a failed connection, walking the exception chain."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__

    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or "the certificate could not be verified"
            return ProbeError(ErrorKind.TLS, f"TLS certificate rejected: {reason}.")
        if isinstance(cause, ssl.SSLError):
            return ProbeError(ErrorKind.TLS, f"TLS handshake failed: {cause.reason or cause}.")
        if isinstance(cause, socket.gaierror):
            return ProbeError(ErrorKind.NAME_NOT_FOUND, "Name not found: the host name does not resolve.")
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return ProbeError(ErrorKind.CONNECTION_REFUSED, "Connection refused: nothing is listening on that port.")
    if isinstance(exc, httpx.RemoteProtocolError):
        return ProbeError(ErrorKind.CONNECTION_FAILED, "The connection closed before a complete answer.")
    return ProbeError(ErrorKind.CONNECTION_FAILED, f"Connection failed: {str(exc) or type(exc).__name__}.")


def _next_step(
    result: ProbeResult,
    probe: ProbeKind,
    progress: _Progress,
    ping_answers: bool | None,
    now: datetime,
) -> str:
    """Return what the administrator should do next, in one or two sentences."""
    step = _step_for_result(result, probe, progress, ping_answers)
    certificate = progress.certificate
    if certificate is not None:
        days = certificate.days_left(now)
        if days < EXPIRY_WARNING_DAYS:
            step += (
                f" The bridge's certificate expires in {max(days, 0):.0f} days: check that its renewal works "
                "(a bridge that manages its own Let's Encrypt certificate renews it itself)."
            )
    return step


def _step_for_result(result: ProbeResult, probe: ProbeKind, progress: _Progress, ping_answers: bool | None) -> str:
    error = result.error
    if error is None:
        return _step_for_report(result, probe)

    host, port = progress.host, progress.port
    kind = error.kind
    if kind is ErrorKind.INSECURE_URL:
        if "clear text" in error.message:
            return (
                "Use https://, or tick \"Allow unencrypted HTTP\" only if this bridge has no TLS and "
                "the network to it is trusted."
            )
        return "Correct the URL: enter the domain or address where the SCIM bridge is deployed."
    if kind is ErrorKind.TOKEN_UNAVAILABLE:
        return "Paste the token, or choose \"No token\" to check only that the bridge answers /ping."
    if kind is ErrorKind.NAME_NOT_FOUND:
        return (
            f"Check the domain: {host} was not found. Correct the URL, or connect to the network "
            "(for example the VPN) whose DNS knows the bridge."
        )
    if kind is ErrorKind.CONNECTION_REFUSED:
        return (
            f"Nothing accepts connections on {host} port {port}: check the port in the URL and that the "
            "bridge runs. A bridge whose Redis is down restarts over and over; its logs show why."
        )
    if kind is ErrorKind.TIMEOUT:
        return "Check that the bridge runs and that no firewall drops the traffic between this computer and it."
    if kind is ErrorKind.TLS:
        reason = error.message.lower().replace("_", " ")
        if "wrong version number" in reason or "record layer" in reason or "http request" in reason:
            return (
                "That port does not speak HTTPS: use http:// with the bridge's plain port (3002 by default), "
                "or the port where TLS is served."
            )
        if error.message.startswith("TLS certificate rejected"):
            return (
                "The bridge's certificate is the problem, not Bridgewatch: renew it, or install the full "
                "chain with the intermediate certificates on the bridge or its load balancer."
            )
        return (
            "The TLS handshake failed on the bridge's side, not in Bridgewatch: check that the bridge or its "
            "load balancer serves HTTPS on this port with a valid certificate."
        )
    if kind is ErrorKind.UNAUTHORIZED:
        runs = "The bridge runs (it answers /ping) but rejected the token" if ping_answers else "The token was rejected"
        step = f"{runs}: the credentials were probably regenerated. Paste the new token."
        if probe is ProbeKind.MONITORING:
            step += " Check too that it is the health-check-only token, not the bearer token."
        elif probe is ProbeKind.HEALTH:
            step += " Check too that it is the bearer token: the health-check-only token works only on /monitoring."
        return step
    if kind is ErrorKind.HTTP_STATUS and result.http_status == 404:
        if probe is ProbeKind.MONITORING:
            return (
                "/monitoring was not found: the health-check-only token needs health monitoring turned on in "
                "the bridge. Turn it on, or choose the bearer token, which is probed on /health."
            )
        return f"{probe.path} was not found: check that the URL points at the SCIM bridge."
    if kind is ErrorKind.PROXY_PAGE:
        return (
            "A proxy or load balancer answered with its own HTML page, not the bridge: the bridge behind it "
            "is down or unreachable from it. Check the bridge's container or service."
        )
    if kind is ErrorKind.REDIRECT:
        return "Use the bridge's own address as the URL: Bridgewatch does not send the token to another address."
    if kind is ErrorKind.CONNECTION_FAILED:
        return "Check that the URL's scheme and port match the bridge (https on 443, or http on 3002)."
    return "Something answered, but not a SCIM bridge: check that the URL points at the bridge."


def _step_for_report(result: ProbeResult, probe: ProbeKind) -> str:
    report = result.report
    if probe is ProbeKind.PING:
        return (
            "The bridge answers. Without a token Bridgewatch sees only that it runs: add the "
            "health-check-only token to see its components."
        )
    if report is None:
        return "Save the bridge to watch it."
    if report.unhealthy:
        names = ", ".join(component.name for component in report.unhealthy)
        step = f"The bridge answers but reports failing components ({names}): check them on the bridge."
        if any(component.name == "RedisCache" for component in report.unhealthy):
            step += " A failing RedisCache means the bridge cannot reach its Redis."
        if any(component.name == "ConfirmationWatcher" for component in report.unhealthy):
            step += " A failing ConfirmationWatcher often means provisioning is not yet turned on in 1Password."
        return step
    if not report.components:
        return "The bridge lists no components yet: it may still be starting. Test again in a minute."
    if report.stale:
        names = ", ".join(component.name for component in report.stale)
        return (
            f"These components stopped reporting: {names}. The bridge may not reach 1Password "
            "(a firewall rule or an account policy): see the bridge's logs."
        )
    if result.status is BridgeStatus.UNHEALTHY:
        return f"The bridge answers HTTP {result.http_status} although its components are healthy: see its logs."
    return "Everything works. Save the bridge to watch it."
