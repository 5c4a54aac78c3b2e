"""Tests for the "Test connection" diagnosis against the simulator and small servers on loopback."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
import truststore

from app.core.diagnosis import EXPIRY_WARNING_DAYS, diagnose, token_problem
from app.core.model import BridgeStatus, ErrorKind, ProbeKind
from app.core.simulator import SCENARIOS

SHORT_TIMEOUT = 0.5  # seconds: ample on loopback, short for the hang scenario

# scenario, probe, expected status, expected error kind, words the diagnosis must contain
SCENARIO_TABLE = [
    ("healthy", ProbeKind.HEALTH, BridgeStatus.HEALTHY, None, "Everything works"),
    ("unhealthy", ProbeKind.HEALTH, BridgeStatus.UNHEALTHY, None, "RedisCache means the bridge cannot reach its Redis"),
    ("stale", ProbeKind.HEALTH, BridgeStatus.DEGRADED, None, "stopped reporting: ConfirmationWatcher"),
    ("starting", ProbeKind.HEALTH, BridgeStatus.HEALTHY, None, "SCIMServer: healthy"),
    ("empty", ProbeKind.HEALTH, BridgeStatus.DEGRADED, None, "may still be starting"),
    ("unauthorized", ProbeKind.HEALTH, BridgeStatus.UNAUTHORIZED, ErrorKind.UNAUTHORIZED, "credentials were probably regenerated"),
    ("proxy-error", ProbeKind.HEALTH, BridgeStatus.UNREACHABLE, ErrorKind.PROXY_PAGE, "proxy or load balancer answered"),
    ("hang", ProbeKind.HEALTH, BridgeStatus.UNREACHABLE, ErrorKind.TIMEOUT, "No response within 0.5 s"),
    ("flapping", ProbeKind.HEALTH, BridgeStatus.HEALTHY, None, "Everything works"),
    ("monitoring-off", ProbeKind.MONITORING, BridgeStatus.UNREACHABLE, ErrorKind.HTTP_STATUS, "needs health monitoring turned on"),
    ("oversized", ProbeKind.HEALTH, BridgeStatus.UNREACHABLE, ErrorKind.OVERSIZED, "larger than 1024 KiB"),
    ("redirect", ProbeKind.HEALTH, BridgeStatus.UNREACHABLE, ErrorKind.REDIRECT, "does not send the token to another address"),
]


@pytest.fixture
def no_lookups(monkeypatch):
    """Record every host name given to the resolver and fail it, so no DNS query leaves this machine."""
    lookups: list[str] = []

    def recording_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    return lookups


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def test_table_covers_every_scenario():
    assert sorted(row[0] for row in SCENARIO_TABLE) == sorted(SCENARIOS)


@pytest.mark.parametrize(("scenario", "probe", "status", "kind", "words"), SCENARIO_TABLE, ids=[r[0] for r in SCENARIO_TABLE])
def test_scenario_diagnosis(simulator, run_async, token, scenario, probe, status, kind, words):
    options = {}
    if scenario == "redirect":
        options["redirect_to"] = simulator("healthy", token=token).url
    bridge = simulator(scenario, token=token, **options)

    diagnosis = run_async(diagnose(bridge.url, probe, token, timeout=SHORT_TIMEOUT))

    assert diagnosis.status is status
    assert diagnosis.error_kind is kind
    assert words in diagnosis.to_text()


def test_healthy_rows(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, token))

    rows = dict(diagnosis.rows())
    assert rows["Address"] == "127.0.0.1 (an IP address, so no lookup)"
    assert rows["Connected to"] == f"127.0.0.1 port {bridge.port}"
    assert rows["TLS"] == "not used: plain http://"
    assert rows["HTTP status"] == "200"
    assert rows["Version"] == "2.9.16 (build 209163)"
    assert rows["Components"].splitlines() == [
        "ConfirmationWatcher: healthy",
        "RedisCache: healthy",
        "SCIMServer: healthy",
        "StartProvisionWatcher: healthy",
    ]


def test_localhost_shows_resolved_address(simulator, run_async, token):
    bridge = simulator("healthy", token=token)
    url = bridge.url.replace("127.0.0.1", "localhost")

    diagnosis = run_async(diagnose(url, ProbeKind.HEALTH, token))

    assert dict(diagnosis.rows())["Address"].startswith("localhost resolves to ")
    assert "127.0.0.1" in diagnosis.addresses


def test_unauthorized_checks_ping(simulator, run_async, token):
    bridge = simulator("unauthorized", token=token)

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.MONITORING, token))

    assert diagnosis.ping_answers is True
    assert "The bridge runs (it answers /ping)" in diagnosis.next_step
    assert "Paste the new token" in diagnosis.next_step
    ping_requests = [r for r in bridge.requests if r.path == "/ping"]
    assert [r.authorization_sent for r in ping_requests] == [False]


def test_wrong_token_is_unauthorized(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, "test-other-token-0000"))

    assert diagnosis.status is BridgeStatus.UNAUTHORIZED
    assert "the health-check-only token works only on /monitoring" in diagnosis.next_step


def test_ping_probe_has_no_components(simulator, run_async):
    bridge = simulator("healthy")

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.PING, None))

    assert diagnosis.status is BridgeStatus.HEALTHY
    assert "not checked" in dict(diagnosis.rows())["Components"]
    assert "add the health-check-only token" in diagnosis.next_step
    assert not any(r.authorization_sent for r in bridge.requests)


def test_connection_refused_next_step(run_async):
    port = closed_port()

    diagnosis = run_async(diagnose(f"http://127.0.0.1:{port}", ProbeKind.PING, None))

    assert diagnosis.error_kind is ErrorKind.CONNECTION_REFUSED
    assert f"Nothing accepts connections on 127.0.0.1 port {port}" in diagnosis.next_step


def test_invalid_name_needs_no_lookup(run_async, no_lookups):
    diagnosis = run_async(diagnose("bridge.invalid", ProbeKind.PING, None))

    assert no_lookups == []
    assert diagnosis.error_kind is ErrorKind.NAME_NOT_FOUND
    assert dict(diagnosis.rows())["Address"] == "bridge.invalid was not found"
    assert "Check the domain" in diagnosis.next_step
    assert diagnosis.request_sent is False


def test_resolver_failure_is_name_not_found(run_async):
    asked = []

    async def failing_resolver(host, port):
        asked.append((host, port))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    diagnosis = run_async(diagnose("scim.example.invalid", ProbeKind.PING, None, resolver=failing_resolver))

    assert asked == [("scim.example.invalid", 443)]
    assert diagnosis.error_kind is ErrorKind.NAME_NOT_FOUND


def test_plain_http_refused_before_request(run_async, no_lookups, token):
    diagnosis = run_async(diagnose("http://bridge.invalid", ProbeKind.HEALTH, token))

    assert no_lookups == []
    assert diagnosis.request_sent is False
    assert diagnosis.error_kind is ErrorKind.INSECURE_URL
    assert "clear text" in diagnosis.result.summary
    assert "Allow unencrypted HTTP" in diagnosis.next_step
    assert dict(diagnosis.rows())["Result"].startswith("Not tested")


def test_plain_http_loopback_allowed(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, token))

    assert bridge.url.startswith("http://")
    assert diagnosis.ok


def test_url_notes_kept(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    diagnosis = run_async(diagnose(f"  {bridge.url}/app  ", ProbeKind.HEALTH, token))

    assert diagnosis.url == bridge.url
    assert any("Removed /app" in note for note in diagnosis.url_notes)
    assert diagnosis.ok


@pytest.mark.parametrize(
    ("bad_token", "words"),
    [("", "No token was given"), ("test-token\u2026", "characters that no bridge token has"), ("two parts", "space")],
)
def test_bad_token_sends_nothing(simulator, run_async, bad_token, words):
    bridge = simulator("healthy")

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, bad_token))

    assert bridge.requests == []
    assert diagnosis.error_kind is ErrorKind.TOKEN_UNAVAILABLE
    assert words in diagnosis.result.summary


def test_token_error_sends_nothing(simulator, run_async):
    bridge = simulator("healthy")
    message = "Token unavailable: the keychain is locked. Unlock it and check again."

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, None, token_error=message))

    assert bridge.requests == []
    assert diagnosis.result.summary == message


def test_token_problem_accepts_real_shape():
    assert token_problem("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl") is None


def test_cross_origin_redirect_keeps_token(simulator, run_async, token):
    other = simulator("healthy", token=token)
    bridge = simulator("redirect", token=token, redirect_to=other.url)

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, token))

    assert diagnosis.error_kind is ErrorKind.REDIRECT
    assert f"127.0.0.1:{other.port}" in diagnosis.result.summary
    assert other.requests == []


def test_hang_stops_at_deadline(simulator, run_async, token):
    bridge = simulator("hang", token=token)
    started = time.monotonic()

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, token, timeout=SHORT_TIMEOUT))

    elapsed = time.monotonic() - started
    assert diagnosis.error_kind is ErrorKind.TIMEOUT
    assert elapsed < SHORT_TIMEOUT + 2.0


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the name http.server looks up)
        body = f"Authorization: {self.headers.get('Authorization')}".encode()
        self.send_response(400)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002 (the signature http.server calls)
        pass


@pytest.fixture
def echo_server():
    """An HTTP server on 127.0.0.1 that responds to every GET with the request's Authorization header."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_echoed_token_absent(echo_server, run_async, token):
    diagnosis = run_async(diagnose(echo_server, ProbeKind.HEALTH, token))

    text = diagnosis.to_text()
    leaked = token in text
    assert not leaked, "the echoed token appears in the diagnosis"
    assert "repeats the token" in diagnosis.result.summary


# -- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA(organization_name="Bridgewatch Test CA")


def tls_simulator(simulator, authority, token, **cert_options):
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", common_name="localhost", **cert_options).configure_cert(server_context)
    return simulator("healthy", token=token, ssl_context=server_context)


def trusting_context(authority) -> ssl.SSLContext:
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    authority.configure_trust(context)
    return context


def test_tls_issuer_and_expiry(simulator, certificate_authority, run_async, token):
    now = datetime.now(timezone.utc)
    bridge = tls_simulator(simulator, certificate_authority, token, not_after=now + timedelta(days=90))

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, token, ssl_context=trusting_context(certificate_authority)))

    tls = dict(diagnosis.rows())["TLS"]
    assert diagnosis.ok
    assert diagnosis.certificate.subject.startswith("localhost")
    assert "issued by Bridgewatch Test CA" in tls
    assert f"valid until {(now + timedelta(days=90)).strftime('%Y-%m-%d')}" in tls
    assert "expires in" not in diagnosis.next_step


def test_expiring_certificate_warned(simulator, certificate_authority, run_async, token):
    soon = datetime.now(timezone.utc) + timedelta(days=5, hours=1)
    bridge = tls_simulator(simulator, certificate_authority, token, not_after=soon)

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, token, ssl_context=trusting_context(certificate_authority)))

    assert diagnosis.ok
    assert EXPIRY_WARNING_DAYS > 5
    assert "certificate expires in 5 days" in diagnosis.next_step


def test_untrusted_certificate_blames_bridge(simulator, certificate_authority, run_async, token):
    bridge = tls_simulator(simulator, certificate_authority, token)

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, token))

    assert diagnosis.error_kind is ErrorKind.TLS
    assert "certificate is the problem, not Bridgewatch" in diagnosis.next_step
    assert bridge.requests == []


def test_expired_certificate_named(simulator, certificate_authority, run_async, token):
    now = datetime.now(timezone.utc)
    bridge = tls_simulator(
        simulator, certificate_authority, token, not_before=now - timedelta(days=100), not_after=now - timedelta(days=1)
    )

    diagnosis = run_async(diagnose(bridge.url, ProbeKind.HEALTH, token, ssl_context=trusting_context(certificate_authority)))

    assert diagnosis.error_kind is ErrorKind.TLS
    assert "expired" in diagnosis.result.summary
    assert bridge.requests == []


def test_https_to_plain_port(simulator, run_async, token):
    bridge = simulator("healthy", token=token)

    diagnosis = run_async(diagnose(bridge.url.replace("http://", "https://"), ProbeKind.HEALTH, token))

    assert diagnosis.error_kind is ErrorKind.TLS
    assert "does not speak HTTPS" in diagnosis.next_step
