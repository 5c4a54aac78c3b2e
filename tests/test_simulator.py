"""Tests for the simulated bridge's plain endpoints and its scenario checks."""

from __future__ import annotations

import httpx
import pytest

from app.core.model import BridgeStatus
from app.core.report import parse_report
from app.core.simulator import SCENARIOS, SimulatedBridge, health_body


@pytest.fixture
def client():
    with httpx.Client(follow_redirects=False, timeout=5) as http_client:
        yield http_client


def test_ping_returns_pong(simulator, client):
    bridge = simulator("healthy")

    response = client.get(bridge.url + "/ping")

    assert response.status_code == 200
    assert response.text == "pong"


def test_root_redirects_to_app(simulator, client):
    bridge = simulator("healthy")

    response = client.get(bridge.url + "/")

    assert response.status_code == 307
    assert response.headers["Location"] == "/app"


def test_app_is_html(simulator, client):
    bridge = simulator("healthy")

    response = client.get(bridge.url + "/app")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_unknown_path_is_404(simulator, client):
    bridge = simulator("healthy")

    response = client.get(bridge.url + "/scim/Users")

    assert response.status_code == 404


def test_health_needs_bearer_token(simulator, client, token):
    bridge = simulator("healthy", token=token)

    response = client.get(bridge.url + "/health")

    assert response.status_code == 401
    assert bridge.requests[0].authorization_sent is False


def test_health_with_token(simulator, client, token):
    bridge = simulator("healthy", token=token)

    response = client.get(bridge.url + "/health", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert parse_report(response.content).status() is BridgeStatus.HEALTHY
    assert bridge.requests[0].token_accepted is True


def test_unknown_scenario_names_choices():
    with pytest.raises(ValueError) as caught:
        SimulatedBridge("on-fire")

    message = str(caught.value)
    assert "'on-fire'" in message
    for name in SCENARIOS:
        assert name in message


def test_unknown_script_step_rejected():
    with pytest.raises(ValueError) as caught:
        SimulatedBridge("healthy", script=[(10.0, "healthy"), (10.0, "melting")])

    assert "'melting'" in str(caught.value)


def test_script_follows_injected_clock(simulator):
    clock = [100.0]
    bridge = simulator("healthy", script=[(10.0, "healthy"), (5.0, "unhealthy")], monotonic=lambda: clock[0])

    seen = []
    for offset in (0.0, 9.9, 10.0, 14.9, 15.0, 26.0):
        clock[0] = 100.0 + offset
        seen.append(bridge.current_scenario())

    assert seen == ["healthy", "healthy", "unhealthy", "unhealthy", "healthy", "unhealthy"]


def test_port_before_start_raises():
    with pytest.raises(RuntimeError):
        SimulatedBridge("healthy").port


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("healthy", BridgeStatus.HEALTHY),
        ("unhealthy", BridgeStatus.UNHEALTHY),
        ("stale", BridgeStatus.DEGRADED),
        ("starting", BridgeStatus.HEALTHY),
        ("empty", BridgeStatus.DEGRADED),
    ],
)
def test_health_body_parses(scenario, expected):
    report = parse_report(health_body(scenario))

    assert report.status() is expected
    assert report.build == "209163"
