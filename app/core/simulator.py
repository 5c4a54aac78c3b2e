"""A simulated SCIM bridge on loopback, for the demo, the tests and `bridgewatch simulate`."""

from __future__ import annotations

import gzip
import hmac
import json
import logging
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from app.core.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SimulatedBridge", "RecordedRequest", "health_body"]

log = logging.getLogger(__name__)


VERSION = "2.9.16"
BUILD = "209163"
_COMPONENTS = ("ConfirmationWatcher", "RedisCache", "SCIMServer", "StartProvisionWatcher")
_PROXY_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>simulated load balancer</center></body></html>"
)
_STATUS_PAGE = (
    b"<!DOCTYPE html><html><head><title>1Password SCIM Bridge</title></head>"
    b"<body><h1>1Password SCIM Bridge (simulated)</h1><p>Sign in with the bearer token to see the status.</p>"
    b"</body></html>"
)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def health_body(scenario: str, now: datetime | None = None) -> dict:
    """Build the `/health` JSON a bridge in `scenario` returns, in the published format."""
    now = now or datetime.now(timezone.utc)
    names = _COMPONENTS
    if scenario == "starting":
        names = ("RedisCache", "SCIMServer")
    elif scenario == "empty":
        names = ()
    reports = []
    for name in names:
        reported = now - timedelta(seconds=47)
        state = "healthy"
        if scenario == "unhealthy" and name == "RedisCache":
            state = "unhealthy"
        if scenario == "stale" and name == "ConfirmationWatcher":
            reported = now - timedelta(minutes=25)
        reports.append(
            {
                "source": name,
                "time": _timestamp(reported),
                "expires": _timestamp(reported + timedelta(minutes=10)),
                "state": state,
            }
        )
    return {"build": BUILD, "version": VERSION, "reports": reports, "retrievedAt": _timestamp(now)}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the simulator served. The token itself is never recorded."""

    path: str
    authorization_sent: bool
    token_accepted: bool


class SimulatedBridge:
    """A SCIM bridge stand-in served by a thread on 127.0.0.1.

    `script` is an optional list of (seconds, scenario) steps, played in a loop from start().
    Without a script, `scenario` applies, and tests may change it at any time.
    """

    def __init__(
        self,
        scenario: str = "healthy",
        *,
        token: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        ssl_context: ssl.SSLContext | None = None,
        script: list[tuple[float, str]] | None = None,
        redirect_to: str | None = None,
        monotonic=time.monotonic,
    ) -> None:
        self._check_scenario(scenario)
        for _, step in script or ():
            self._check_scenario(step)
        self.scenario = scenario
        self.script = script
        self.redirect_to = redirect_to
        self._token = token
        self._ssl_context = ssl_context
        self._monotonic = monotonic
        self._host = host
        self._requested_port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started_at = 0.0
        self._flip = 0
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []

    @staticmethod
    def _check_scenario(scenario: str) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"Unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}.")

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulated bridge is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        host = "localhost" if self._ssl_context else self._host
        return f"{scheme}://{host}:{self.port}"

    def current_scenario(self) -> str:
        if not self.script:
            return self.scenario
        cycle = sum(duration for duration, _ in self.script)
        position = (self._monotonic() - self._started_at) % cycle
        for duration, scenario in self.script:
            if position < duration:
                return scenario
            position -= duration
        return self.script[-1][1]

    def start(self) -> "SimulatedBridge":
        handler = type("Handler", (_Handler,), {"bridge": self})
        server = ThreadingHTTPServer((self._host, self._requested_port), handler)
        server.daemon_threads = True
        if self._ssl_context is not None:
            server.socket = self._ssl_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._started_at = self._monotonic()
        # A short poll interval lets stop() return quickly: serve_forever checks for shutdown between polls.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"simulator-{self.port}", daemon=True
        )
        self._thread.start()
        log.info("Simulated bridge listening on %s (scenario %s)", self.url, self.scenario)
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases handlers of the hang scenario
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_until_interrupted(self) -> None:
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> "SimulatedBridge":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _token_accepted(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        presented = header[len("Bearer "):].strip()
        if self._token is None:
            return bool(presented)
        return hmac.compare_digest(presented.encode(), self._token.encode())

    def _respond(self, handler: "_Handler") -> None:
        path = urlsplit(handler.path).path.rstrip("/") or "/"
        header = handler.headers.get("Authorization")
        accepted = self._token_accepted(header)
        with self._lock:
            self.requests.append(RecordedRequest(path, header is not None, accepted))
        scenario = self.current_scenario()

        if scenario == "hang":
            self._stopping.wait(600)
            handler.close_connection = True
            return
        if scenario == "proxy-error":
            handler.send_body(502, "text/html; charset=utf-8", _PROXY_PAGE)
            return
        if path == "/ping":
            handler.send_body(200, "text/plain; charset=utf-8", b"pong")
            return
        if path == "/":
            handler.send_body(307, "text/plain", b"", {"Location": "/app"})
            return
        if path in ("/app", "/app/status"):
            handler.send_body(200, "text/html; charset=utf-8", _STATUS_PAGE)
            return
        if path not in ("/health", "/monitoring"):
            handler.send_body(404, "text/plain", b"404 page not found")
            return

        if scenario == "redirect" and self.redirect_to:
            handler.send_body(302, "text/plain", b"", {"Location": self.redirect_to.rstrip("/") + path})
            return
        if scenario == "monitoring-off" and path == "/monitoring":
            handler.send_body(404, "text/plain", b"404 page not found")
            return
        if scenario == "unauthorized" or not accepted:
            handler.send_body(401, "application/json", b'{"message":"invalid bearer token"}')
            return
        if scenario == "oversized":
            padding = {"padding": "x" * (2 * 1024 * 1024)}
            body = gzip.compress(json.dumps(padding).encode())
            handler.send_body(200, "application/json", body, {"Content-Encoding": "gzip"})
            return

        effective = scenario
        if scenario == "flapping":
            with self._lock:
                self._flip += 1
                effective = "healthy" if self._flip % 2 else "unhealthy"
        status = 503 if effective == "unhealthy" else 200
        body = json.dumps(health_body(effective)).encode()
        handler.send_body(status, "application/json", body)


class _Handler(BaseHTTPRequestHandler):
    bridge: SimulatedBridge
    protocol_version = "HTTP/1.1"
    server_version = "SimulatedSCIMBridge"
    # Headers and body go out in separate writes: with Nagle's algorithm each response
    # waited about 40 ms for the client's delayed ACK on loopback.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (the name http.server looks up)
        self.bridge._respond(self)

    def send_body(self, status: int, content_type: str, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the signature http.server calls)
        log.debug("simulator %s: " + format, self.server.server_address[1], *args)
