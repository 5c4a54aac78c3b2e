"""The HTTP probe: one request to a bridge, turned into a ProbeResult."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

import httpx
import truststore

from app import __version__
from app.core.model import (
    BridgeStatus,
    CertificateInfo,
    ErrorKind,
    HealthReport,
    ProbeError,
    ProbeKind,
    ProbeResult,
)
from app.core.report import ReportError, parse_report
from app.core.urls import BridgeUrlError, normalize_bridge_url, same_origin

__all__ = ["Prober", "interpret_response", "DEFAULT_TIMEOUT", "MAX_BODY_BYTES"]

log = logging.getLogger(__name__)


DEFAULT_TIMEOUT = 10.0  # seconds, for the connection and for the whole request
MAX_BODY_BYTES = 1024 * 1024  # after decompression

UNAUTHORIZED_HINT = (
    "The credentials may have been regenerated on the bridge: store the new token "
    "(bridgewatch token NAME, or Edit bridge in the app)."
)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def default_ssl_context() -> ssl.SSLContext:
    """Return a verifying TLS context backed by the operating system's trust store."""
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Prober:
    """Probe bridges over one shared httpx client, so connections are reused."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_body: int = MAX_BODY_BYTES,
        ssl_context: ssl.SSLContext | None = None,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.timeout = timeout
        self.max_body = max_body
        self._now = now
        # TLS verification is always on: only the trust store can be chosen.
        self._client = httpx.AsyncClient(
            verify=ssl_context or default_ssl_context(),
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": f"Bridgewatch/{__version__}"},
            # No cap on connections: the engine has at most one request in flight per bridge, so
            # the number of bridges bounds them. With httpx's default cap of 100, more bridges
            # than that queue their requests, and httpcore matches every queued request against
            # every connection at each request's start and end. With 200 bridges, py-spy found a third
            # of the engine thread's busy samples there, time in which the GUI thread waits for the GIL.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def probe(
        self,
        url: str,
        kind: ProbeKind,
        token: str | None,
        *,
        allow_http: bool = False,
        timeout: float | None = None,
    ) -> ProbeResult:
        """Probe one bridge. Network and bridge faults are returned as results, not raised."""
        checked_at = self._now()
        started = time.perf_counter()
        try:
            base = normalize_bridge_url(url, allow_http=allow_http).url
        except BridgeUrlError as exc:
            return _error_result(checked_at, BridgeStatus.UNKNOWN, ProbeError(ErrorKind.INSECURE_URL, str(exc)))
        if token and not _valid_token(token):
            error = ProbeError(
                ErrorKind.TOKEN_UNAVAILABLE,
                "The stored token contains spaces, control or non-ASCII characters, so it cannot be sent.",
                "Store the token again, copied exactly.",
            )
            return _error_result(checked_at, BridgeStatus.UNKNOWN, error)
        if kind.needs_token and not token:
            error = ProbeError(
                ErrorKind.TOKEN_UNAVAILABLE,
                "Token unavailable: no token is stored for this bridge.",
                f"Store the token for the /{kind.value} probe, or probe /ping without a token.",
            )
            return _error_result(checked_at, BridgeStatus.UNKNOWN, error)

        headers = {"Accept": "application/json"}
        if kind.needs_token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with asyncio.timeout(timeout or self.timeout):
                http_status, content_type, body, certificate = await self._fetch(httpx.URL(base + kind.path), headers)
        except _ProbeFailure as failure:
            return _error_result(checked_at, BridgeStatus.UNREACHABLE, failure.error, failure.http_status,
                                 _elapsed_ms(started))
        except (TimeoutError, httpx.TimeoutException):
            error = ProbeError(
                ErrorKind.TIMEOUT,
                f"No response within {timeout or self.timeout:g} s.",
                "The bridge or a firewall in front of it is not answering: check that it is running.",
            )
            return _error_result(checked_at, BridgeStatus.UNREACHABLE, error, None, _elapsed_ms(started))
        except httpx.HTTPError as exc:
            error = _describe_transport_error(exc)
            return _error_result(checked_at, BridgeStatus.UNREACHABLE, error, None, _elapsed_ms(started))

        result = interpret_response(kind, http_status, content_type, body, checked_at, secret=token)
        result = replace(result, certificate=certificate, body=_body_text(body, kind, token))
        return _with_latency(result, _elapsed_ms(started))

    async def _fetch(
        self, url: httpx.URL, headers: dict[str, str]
    ) -> tuple[int, str, bytes, CertificateInfo | None]:
        """GET `url`, following at most one same-origin redirect; return status, type, body, certificate."""
        for attempt in range(2):
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.is_redirect:
                    target = url.join(response.headers.get("Location", ""))
                    if attempt == 0 and same_origin(url, target):
                        url = target
                        continue
                    raise _ProbeFailure(
                        ProbeError(
                            ErrorKind.REDIRECT,
                            f"HTTP {response.status_code} redirect to {_origin(target)}; "
                            "not followed, so the token was not sent there.",
                            "Use the bridge's own address as the URL.",
                        ),
                        response.status_code,
                    )
                certificate = _peer_certificate(response)
                body = await self._read_body(response)
                return response.status_code, response.headers.get("Content-Type", ""), body, certificate
        raise AssertionError("unreachable: the loop returns or raises")

    async def _read_body(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        # NOTE: httpx decompresses a whole network chunk at once, so one decoded chunk can
        # briefly exceed the limit before it is counted here.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body:
                raise _ProbeFailure(
                    ProbeError(
                        ErrorKind.OVERSIZED,
                        f"The response is larger than {self.max_body // 1024} KiB, far more than a health "
                        "report; reading stopped.",
                        "Check that the URL points at the SCIM bridge and not at another service.",
                    ),
                    response.status_code,
                )
            chunks.append(chunk)
        return b"".join(chunks)


class _ProbeFailure(Exception):
    def __init__(self, error: ProbeError, http_status: int | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.http_status = http_status


def interpret_response(
    kind: ProbeKind,
    http_status: int,
    content_type: str,
    body: bytes,
    checked_at: datetime,
    *,
    secret: str | None = None,
) -> ProbeResult:
    """Classify an HTTP response from a bridge endpoint into a ProbeResult.

    `secret` is the token that was sent: it is masked in any part of the body quoted back.
    """
    if http_status in (401, 403):
        error = ProbeError(ErrorKind.UNAUTHORIZED, f"Token rejected (HTTP {http_status}).", UNAUTHORIZED_HINT)
        return _error_result(checked_at, BridgeStatus.UNAUTHORIZED, error, http_status)

    looks_html = "html" in content_type.lower() or body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))

    if kind is ProbeKind.PING:
        if 200 <= http_status < 300 and body.strip().lower() == b"pong":
            return ProbeResult(
                status=BridgeStatus.HEALTHY,
                summary="Answers /ping (no token, so components are not checked)",
                checked_at=checked_at,
                http_status=http_status,
            )
        return _unexpected_answer(kind, http_status, looks_html, body, checked_at, secret)

    report: HealthReport | None = None
    report_error: ReportError | None = None
    if not looks_html:
        try:
            report = parse_report(body)
        except ReportError as exc:
            report_error = exc

    if report is not None and (200 <= http_status < 300 or 500 <= http_status < 600):
        status = report.status()
        if http_status >= 500:
            status = BridgeStatus.UNHEALTHY  # the bridge itself reports a failure
        return ProbeResult(
            status=status,
            summary=_report_summary(report, status, http_status),
            checked_at=checked_at,
            http_status=http_status,
            report=report,
        )
    if 200 <= http_status < 300 and report_error is not None and not looks_html:
        error = ProbeError(
            ErrorKind.INVALID_REPORT,
            f"The response is not a SCIM bridge health report: {report_error}.",
            "Check that the URL points at the SCIM bridge.",
        )
        return _error_result(checked_at, BridgeStatus.UNREACHABLE, error, http_status)
    return _unexpected_answer(kind, http_status, looks_html, body, checked_at, secret)


def _unexpected_answer(
    kind: ProbeKind, http_status: int, looks_html: bool, body: bytes, checked_at: datetime, secret: str | None
) -> ProbeResult:
    if looks_html:
        error = ProbeError(
            ErrorKind.PROXY_PAGE,
            f"HTTP {http_status} with an HTML page: a proxy or load balancer answered, not the bridge.",
            "The bridge behind the proxy is down or unreachable from it: check the bridge's container or service.",
        )
    elif http_status == 404:
        hint = "Check that the URL points at the SCIM bridge."
        if kind is ProbeKind.MONITORING:
            hint = (
                "The health-check-only token needs health monitoring turned on in the bridge; "
                "or probe /health with the bearer token."
            )
        error = ProbeError(ErrorKind.HTTP_STATUS, f"HTTP 404: {kind.path} was not found.", hint)
    else:
        snippet = body[:80].decode("utf-8", "replace").strip()
        # A debugging endpoint may echo the request headers back: never quote the token.
        if secret and secret in body.decode("utf-8", "replace"):
            snippet = "(the body repeats the token, so it is not shown)"
        detail = f": {snippet!r}" if snippet else ""
        error = ProbeError(
            ErrorKind.HTTP_STATUS,
            f"HTTP {http_status} on {kind.path}, not a health report{detail}.",
            "Check that the URL points at the SCIM bridge.",
        )
    return _error_result(checked_at, BridgeStatus.UNREACHABLE, error, http_status)


def _report_summary(report: HealthReport, status: BridgeStatus, http_status: int) -> str:
    prefix = f"HTTP {http_status}: " if http_status >= 300 else ""
    if report.unhealthy:
        names = ", ".join(f"{c.name} ({c.state})" for c in report.unhealthy)
        noun = "component" if len(report.unhealthy) == 1 else "components"
        return f"{prefix}{len(report.unhealthy)} {noun} not healthy: {names}"
    if not report.components:
        if status is BridgeStatus.UNHEALTHY:
            return f"{prefix}the bridge reports a failure but lists no components"
        return "The bridge lists no components yet (it may still be starting)"
    if report.stale:
        names = ", ".join(c.name for c in report.stale)
        noun = "component" if len(report.stale) == 1 else "components"
        return f"{prefix}{len(report.stale)} {noun} stopped reporting: {names}"
    if status is BridgeStatus.UNHEALTHY:
        return f"{prefix}the bridge reports a failure although every component is healthy"
    count = len(report.components)
    return f"All {count} components healthy" if count != 1 else "The only component is healthy"


def _valid_token(token: str) -> bool:
    return token.isascii() and token.isprintable() and not any(ch.isspace() for ch in token)


def _causes(exc: BaseException) -> list[BaseException]:
    """Return `exc` and its causes, looking inside exception groups (several addresses tried)."""
    found: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(found) < 20:
        current = pending.pop(0)
        if current in found:
            continue
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        following = current.__cause__ or current.__context__
        if following is not None:
            pending.append(following)
    return found


def _describe_transport_error(exc: httpx.HTTPError) -> ProbeError:
    """Name the cause of a failed connection in plain words."""
    chain = _causes(exc)

    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or "the certificate could not be verified"
            return ProbeError(
                ErrorKind.TLS,
                f"TLS certificate rejected: {reason}.",
                "The bridge's certificate is the problem, not Bridgewatch: renew it or install the full chain.",
            )
        if isinstance(cause, ssl.SSLError):
            reason = str(cause.reason or cause)
            # OpenSSL's reasons when the server replies in plain HTTP instead of TLS.
            plain_http = reason.upper() in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE")
            hint = (
                "That port does not speak HTTPS: use http:// with the bridge's plain port (3002 by default), "
                "or the port where TLS is served."
                if plain_http
                else "Check that the bridge serves HTTPS on this port with a valid certificate."
            )
            return ProbeError(ErrorKind.TLS, f"TLS handshake failed: {reason}.", hint)
        if isinstance(cause, socket.gaierror):
            return ProbeError(
                ErrorKind.NAME_NOT_FOUND,
                "Name not found: the host name does not resolve.",
                "Check the bridge's domain in the URL and your DNS.",
            )
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return ProbeError(
                ErrorKind.CONNECTION_REFUSED,
                "Connection refused: nothing is listening on that port.",
                "The bridge is not running, or it crash-loops (often because Redis is down). Check the URL's port.",
            )
    if isinstance(exc, httpx.TimeoutException):
        return ProbeError(ErrorKind.TIMEOUT, "The request timed out.", "Check that the bridge is running.")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return ProbeError(
            ErrorKind.CONNECTION_FAILED,
            "The connection closed before a complete answer.",
            "Check that the URL's scheme and port match the bridge (https on 443, or http on 3002).",
        )
    if isinstance(exc, httpx.DecodingError):
        return ProbeError(ErrorKind.INVALID_REPORT, "The response could not be decoded.", "")
    text = str(exc) or type(exc).__name__
    return ProbeError(ErrorKind.CONNECTION_FAILED, f"Connection failed: {text}.", "Check the URL and the network.")


def _error_result(
    checked_at: datetime,
    status: BridgeStatus,
    error: ProbeError,
    http_status: int | None = None,
    latency_ms: float | None = None,
) -> ProbeResult:
    return ProbeResult(
        status=status,
        summary=error.message,
        checked_at=checked_at,
        latency_ms=latency_ms,
        http_status=http_status,
        error=error,
    )


def _with_latency(result: ProbeResult, latency_ms: float) -> ProbeResult:
    return replace(result, latency_ms=latency_ms)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


MAX_KEPT_BODY = 64 * 1024  # bytes: a larger body is not kept for diagnostics


def _body_text(body: bytes, kind: ProbeKind, token: str | None) -> str | None:
    """Return the body as text for diagnostics, with the token masked; None for /ping or a huge body."""
    if kind is ProbeKind.PING or len(body) > MAX_KEPT_BODY:
        return None
    text = body.decode("utf-8", "replace")
    if token:
        text = text.replace(token, "***")
    return text


def _peer_certificate(response: httpx.Response) -> CertificateInfo | None:
    """Read the server certificate of the connection that carried `response`; None over plain HTTP.

    NOTE: tested on Linux only. On macOS and Windows, truststore 0.10 shakes hands with
    verification off and then verifies through the platform. Where `getpeercert()` then
    returns an empty dict, no certificate is reported.
    """
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    try:
        peer = ssl_object.getpeercert()
    except (ValueError, ssl.SSLError) as exc:
        log.debug("Cannot read the peer certificate: %s", exc)
        return None
    if not peer or "notAfter" not in peer:
        return None
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), timezone.utc)
    return CertificateInfo(
        subject=_name_text(peer.get("subject", ())),
        issuer=_name_text(peer.get("issuer", ())),
        not_after=not_after,
        serial=str(peer.get("serialNumber", "")),
    )


def _name_text(name: tuple) -> str:
    """Format a certificate name such as ((('commonName', 'x'),),) as "CN=x, O=y"."""
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C"}
    parts = []
    for relative in name:
        for key, value in relative:
            parts.append(f"{short.get(key, key)}={value}")
    return ", ".join(parts)
