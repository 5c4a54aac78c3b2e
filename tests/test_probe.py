"""Tests for Prober against the simulated bridge and small servers on loopback."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from app.core.model import BridgeStatus, ErrorKind, ProbeKind
from app.core.probe import Prober, interpret_response
from app.core.simulator import SCENARIOS, health_body

SHORT_TIMEOUT = 0.5  # seconds: long enough for loopback, short enough for the hang scenario
FIXED_NOW = datetime(2026, 3, 3, 14, 7, tzinfo=timezone.utc)


async def probe_once(url, kind, token, **prober_options):
    """Probe once with a fresh Prober and close its client."""
    prober_options.setdefault("timeout", SHORT_TIMEOUT)
    prober = Prober(**prober_options)
    try:
        return await prober.probe(url, kind, token)
    finally:
        await prober.aclose()


async def probe_repeatedly(url, kind, token, count):
    prober = Prober(timeout=SHORT_TIMEOUT)
    try:
        return [await prober.probe(url, kind, token) for _ in range(count)]
    finally:
        await prober.aclose()


class _RouteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: dict
    seen: list

    def do_GET(self) -> None:  # noqa: N802 (the name http.server looks up)
        self.seen.append((self.path, self.headers.get("Authorization") is not None))
        route = self.routes.get(self.path)
        if route is None:
            status, headers, body = 404, {"Content-Type": "text/plain"}, b"404 page not found"
        else:
            status, headers, body = route(self) if callable(route) else route
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002 (the signature http.server calls)
        pass


@pytest.fixture
def route_server():
    """Start an HTTP server on 127.0.0.1 that serves fixed routes: path -> (status, headers, body).

    A route may also be a function of the request handler returning that tuple. The
    server's `seen` list records (path, whether an Authorization header was sent).
    """
    servers = []

    def start(routes: dict):
        seen: list = []
        handler = type("Handler", (_RouteHandler,), {"routes": routes, "seen": seen})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.seen = seen
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    yield start

    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def report_route():
    body = json.dumps(health_body("healthy")).encode()
    return 200, {"Content-Type": "application/json"}, body


# scenario, probe kind, expected status, expected error kind (None: a report was parsed)
SCENARIO_TABLE = [
    ("healthy", ProbeKind.HEALTH, BridgeStatus.HEALTHY, None),
    ("unhealthy", ProbeKind.HEALTH, BridgeStatus.UNHEALTHY, None),
    ("stale", ProbeKind.HEALTH, BridgeStatus.DEGRADED, None),
    ("starting", ProbeKind.HEALTH, BridgeStatus.HEALTHY, None),
    ("empty", ProbeKind.HEALTH, BridgeStatus.DEGRADED, None),
    ("unauthorized", ProbeKind.HEALTH, BridgeStatus.UNAUTHORIZED, ErrorKind.UNAUTHORIZED),
    ("proxy-error", ProbeKind.HEALTH, BridgeStatus.UNREACHABLE, ErrorKind.PROXY_PAGE),
    ("hang", ProbeKind.HEALTH, BridgeStatus.UNREACHABLE, ErrorKind.TIMEOUT),
    ("flapping", ProbeKind.HEALTH, BridgeStatus.HEALTHY, None),
    ("monitoring-off", ProbeKind.MONITORING, BridgeStatus.UNREACHABLE, ErrorKind.HTTP_STATUS),
    ("oversized", ProbeKind.HEALTH, BridgeStatus.UNREACHABLE, ErrorKind.OVERSIZED),
    ("redirect", ProbeKind.HEALTH, BridgeStatus.UNREACHABLE, ErrorKind.REDIRECT),
]


def test_table_covers_every_scenario():
    covered = {row[0] for row in SCENARIO_TABLE}

    assert covered == set(SCENARIOS)


@pytest.mark.parametrize(
    ("scenario", "kind", "expected_status", "expected_error"),
    SCENARIO_TABLE,
    ids=[row[0] for row in SCENARIO_TABLE],
)
def test_probe_each_scenario(simulator, run_async, token, scenario, kind, expected_status, expected_error):
    options = {"token": token}
    if scenario == "redirect":
        options["redirect_to"] = simulator("healthy", token=token).url
    bridge = simulator(scenario, **options)

    result = run_async(probe_once(bridge.url, kind, token))

    assert result.status is expected_status
    assert (result.error.kind if result.error else None) is expected_error
    assert result.latency_ms is not None


def test_unhealthy_names_redis_cache(simulator, run_async, token):
    bridge = simulator("unhealthy", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert result.http_status == 503
    assert "RedisCache" in result.summary
    assert [c.name for c in result.report.unhealthy] == ["RedisCache"]


def test_stale_names_component(simulator, run_async, token):
    bridge = simulator("stale", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert "ConfirmationWatcher" in result.summary
    assert [c.name for c in result.report.stale] == ["ConfirmationWatcher"]


def test_starting_has_two_components(simulator, run_async, token):
    bridge = simulator("starting", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert len(result.components) == 2
    assert result.report.version == "2.9.16"


def test_unauthorized_gives_hint(simulator, run_async, token):
    bridge = simulator("unauthorized", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert result.http_status == 401
    assert "regenerated" in result.error.hint


def test_wrong_token_is_unauthorized(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, "test-token-wrong-0000"))

    assert result.status is BridgeStatus.UNAUTHORIZED
    assert result.error.kind is ErrorKind.UNAUTHORIZED
    assert bridge.requests[-1].token_accepted is False


def test_hang_stops_at_timeout(simulator, run_async, token):
    bridge = simulator("hang", token=token)
    started = time.perf_counter()

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    elapsed = time.perf_counter() - started
    assert result.error.kind is ErrorKind.TIMEOUT
    assert elapsed < SHORT_TIMEOUT + 1.0
    assert result.latency_ms >= SHORT_TIMEOUT * 1000 * 0.9


def test_flapping_alternates(simulator, run_async, token):
    bridge = simulator("flapping", token=token)

    results = run_async(probe_repeatedly(bridge.url, ProbeKind.HEALTH, token, 4))

    statuses = [r.status for r in results]
    assert statuses == [BridgeStatus.HEALTHY, BridgeStatus.UNHEALTHY, BridgeStatus.HEALTHY, BridgeStatus.UNHEALTHY]


def test_monitoring_off_gives_hint(simulator, run_async, token):
    bridge = simulator("monitoring-off", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.MONITORING, token))

    assert result.http_status == 404
    assert "/monitoring" in result.error.message
    assert "health monitoring" in result.error.hint


def test_monitoring_off_health_works(simulator, run_async, token):
    bridge = simulator("monitoring-off", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert result.status is BridgeStatus.HEALTHY


def test_oversized_stops_reading(simulator, run_async, token):
    bridge = simulator("oversized", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert result.status is BridgeStatus.UNREACHABLE
    assert result.error.kind is ErrorKind.OVERSIZED


def test_proxy_page_not_a_report(simulator, run_async, token):
    bridge = simulator("proxy-error", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert result.http_status == 502
    assert result.report is None


def test_ping_sends_no_authorization(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.PING, token))

    assert result.status is BridgeStatus.HEALTHY
    assert [r.path for r in bridge.requests] == ["/ping"]
    assert bridge.requests[0].authorization_sent is False


def test_ping_answers_when_unauthorized(simulator, run_async, token):
    bridge = simulator("unauthorized", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.PING, None))

    assert result.status is BridgeStatus.HEALTHY


def test_health_sends_authorization(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert bridge.requests[0].path == "/health"
    assert bridge.requests[0].authorization_sent is True
    assert bridge.requests[0].token_accepted is True


def test_checked_at_uses_injected_clock(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token, now=lambda: FIXED_NOW))

    assert result.checked_at == FIXED_NOW


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def test_connection_refused_kind(run_async):
    port = _closed_port()

    result = run_async(probe_once(f"http://127.0.0.1:{port}", ProbeKind.PING, None))

    assert result.status is BridgeStatus.UNREACHABLE
    assert result.error.kind is ErrorKind.CONNECTION_REFUSED


def test_name_not_found_kind(run_async, monkeypatch):
    # The resolver is replaced, so no DNS query leaves this machine: the test checks only
    # how a resolver failure is reported.
    lookups = []

    def failing_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing_getaddrinfo)

    result = run_async(probe_once("https://bridge.invalid", ProbeKind.PING, None))

    assert lookups
    assert result.status is BridgeStatus.UNREACHABLE
    assert result.error.kind is ErrorKind.NAME_NOT_FOUND


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
def tls_bridge(simulator, certificate_authority, token):
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    return simulator("healthy", token=token, ssl_context=server_context)


def test_untrusted_certificate_is_tls(tls_bridge, run_async, token):
    result = run_async(probe_once(tls_bridge.url, ProbeKind.HEALTH, token))

    assert tls_bridge.url.startswith("https://")
    assert result.status is BridgeStatus.UNREACHABLE
    assert result.error.kind is ErrorKind.TLS
    assert "certificate" in result.error.message


def test_trusted_certificate_is_healthy(tls_bridge, certificate_authority, run_async, token):
    client_context = ssl.create_default_context()
    certificate_authority.configure_trust(client_context)

    result = run_async(probe_once(tls_bridge.url, ProbeKind.HEALTH, token, ssl_context=client_context))

    assert result.status is BridgeStatus.HEALTHY


def test_https_to_plain_port_is_tls(simulator, run_async, token):
    bridge = simulator("healthy", token=token)
    https_url = bridge.url.replace("http://", "https://")

    result = run_async(probe_once(https_url, ProbeKind.HEALTH, token))

    assert result.status is BridgeStatus.UNREACHABLE
    assert result.error.kind is ErrorKind.TLS
    assert result.error.hint.startswith("That port does not speak HTTPS: use http://")


def test_cross_origin_redirect_not_followed(simulator, run_async, token):
    other = simulator("healthy", token=token)
    bridge = simulator("redirect", token=token, redirect_to=other.url)

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, token))

    assert result.status is BridgeStatus.UNREACHABLE
    assert result.error.kind is ErrorKind.REDIRECT
    assert result.http_status == 302
    assert f"127.0.0.1:{other.port}" in result.error.message
    assert bridge.requests[0].authorization_sent is True
    assert not any(r.authorization_sent for r in other.requests)


def test_same_origin_redirect_followed(route_server, run_async, token):
    server = route_server({
        "/health": (302, {"Location": "/real-health"}, b""),
        "/real-health": report_route(),
    })

    result = run_async(probe_once(server.url, ProbeKind.HEALTH, token))

    assert result.status is BridgeStatus.HEALTHY
    assert server.seen == [("/health", True), ("/real-health", True)]


def test_second_redirect_not_followed(route_server, run_async, token):
    server = route_server({
        "/health": (302, {"Location": "/hop"}, b""),
        "/hop": (302, {"Location": "/real-health"}, b""),
        "/real-health": report_route(),
    })

    result = run_async(probe_once(server.url, ProbeKind.HEALTH, token))

    assert result.error.kind is ErrorKind.REDIRECT
    assert [path for path, _ in server.seen] == ["/health", "/hop"]


def test_plain_http_remote_rejected(run_async, monkeypatch, token):
    lookups = []

    def recording_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)

    result = run_async(probe_once("http://bridge.invalid", ProbeKind.HEALTH, token))

    assert result.status is BridgeStatus.UNKNOWN
    assert result.error.kind is ErrorKind.INSECURE_URL
    assert "bridge.invalid" in result.error.message
    assert lookups == []


def test_missing_token_sends_nothing(simulator, run_async):
    bridge = simulator("healthy")

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, None))

    assert result.status is BridgeStatus.UNKNOWN
    assert result.error.kind is ErrorKind.TOKEN_UNAVAILABLE
    assert bridge.requests == []


@pytest.mark.parametrize(
    ("scenario", "kind"),
    [
        ("healthy", ProbeKind.HEALTH),
        ("unhealthy", ProbeKind.HEALTH),
        ("unauthorized", ProbeKind.HEALTH),
        ("proxy-error", ProbeKind.HEALTH),
        ("monitoring-off", ProbeKind.MONITORING),
        ("oversized", ProbeKind.HEALTH),
        ("hang", ProbeKind.HEALTH),
    ],
)
def test_token_absent_from_result(simulator, run_async, token, scenario, kind):
    bridge = simulator(scenario, token=token)

    result = run_async(probe_once(bridge.url, kind, token))

    texts = [result.summary]
    if result.error:
        texts += [result.error.message, result.error.hint]
    leaked = any(token in text for text in texts)
    assert not leaked, "the token appears in the result summary or error"


def test_echoed_token_absent_from_result(route_server, run_async, token):
    # A URL that points at an echo service instead of the bridge: the body repeats the
    # request's Authorization header, as httpbin-style debugging endpoints do.
    def echo_headers(handler):
        body = f"Authorization: {handler.headers.get('Authorization')}".encode()
        return 400, {"Content-Type": "text/plain"}, body

    server = route_server({"/health": echo_headers})

    result = run_async(probe_once(server.url, ProbeKind.HEALTH, token))

    assert result.status is BridgeStatus.UNREACHABLE
    leaked_in_summary = token in result.summary
    assert not leaked_in_summary, "the echoed token appears in the result summary"
    leaked_in_message = token in result.error.message
    assert not leaked_in_message, "the echoed token appears in the error message"


def test_non_ascii_token_returns_result(simulator, run_async):
    # A token pasted with a stray typographic character: the probe must return a result, not raise.
    bridge = simulator("healthy")

    result = run_async(probe_once(bridge.url, ProbeKind.HEALTH, "test-token\u2026"))

    assert result.status is not BridgeStatus.HEALTHY
    assert result.error is not None


def test_5xx_with_healthy_report_is_unhealthy():
    body = json.dumps(health_body("healthy")).encode()

    result = interpret_response(ProbeKind.HEALTH, 500, "application/json", body, FIXED_NOW)

    assert result.status is BridgeStatus.UNHEALTHY
    assert result.summary.startswith("HTTP 500")


def test_200_non_report_is_invalid_report():
    result = interpret_response(ProbeKind.HEALTH, 200, "application/json", b'{"status": "UP"}', FIXED_NOW)

    assert result.status is BridgeStatus.UNREACHABLE
    assert result.error.kind is ErrorKind.INVALID_REPORT


def test_ping_without_pong_is_http_status():
    result = interpret_response(ProbeKind.PING, 200, "text/plain", b"OK", FIXED_NOW)

    assert result.status is BridgeStatus.UNREACHABLE
    assert result.error.kind is ErrorKind.HTTP_STATUS


@pytest.mark.parametrize("http_status", [401, 403])
def test_rejected_token_statuses(http_status):
    result = interpret_response(ProbeKind.MONITORING, http_status, "application/json", b"{}", FIXED_NOW)

    assert result.status is BridgeStatus.UNAUTHORIZED
    assert result.http_status == http_status
