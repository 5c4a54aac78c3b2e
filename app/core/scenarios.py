"""The simulator's scenario names and what each one does, without the simulator's HTTP server imports."""

from __future__ import annotations

__all__ = ["SCENARIOS"]

SCENARIOS = {
    "healthy": "every component healthy (HTTP 200)",
    "unhealthy": "RedisCache reports unhealthy (HTTP 503 with the report)",
    "stale": "ConfirmationWatcher stopped reporting: its report expired (HTTP 200)",
    "starting": "restarted: only two components report so far (HTTP 200)",
    "empty": "no component reports at all (HTTP 200)",
    "unauthorized": "every token is rejected on /health and /monitoring (HTTP 401); /ping answers",
    "proxy-error": "a load balancer answers every path with a 502 HTML page",
    "hang": "accepts connections and never answers",
    "flapping": "alternates healthy and unhealthy on each /health request",
    "monitoring-off": "/monitoring is not enabled (HTTP 404); /health works",
    "oversized": "/health returns a 2 MiB gzip-compressed body",
    "redirect": "/health and /monitoring redirect to redirect_to (another origin)",
}
