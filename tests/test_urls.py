"""Bridge URL normalisation: the scheme, the path, loopback plain HTTP, and the notes it returns."""

from __future__ import annotations

import pytest

from app.core.urls import BridgeUrlError, normalize_bridge_url


def test_bare_domain_gets_https():
    result = normalize_bridge_url("scim.acme.invalid")

    assert result.url == "https://scim.acme.invalid"
    assert result.notes == ()


@pytest.mark.parametrize(("text", "netloc"), [("127.0.0.1:38353", "127.0.0.1:38353"), ("[::1]:3002", "[::1]:3002")])
def test_loopback_port_without_scheme_notes_http(text, netloc):
    result = normalize_bridge_url(text)

    assert result.url == f"https://{netloc}"
    assert result.notes == (
        f"No scheme was given, so https:// is assumed. If {netloc} serves plain HTTP, as `bridgewatch simulate` "
        f"and a bridge's port 3002 do, write http://{netloc} instead.",
    )


def test_loopback_with_scheme_has_no_note():
    assert normalize_bridge_url("http://127.0.0.1:3002").notes == ()


def test_health_path_removed_with_note():
    result = normalize_bridge_url("https://scim.acme.invalid/health")

    assert result.url == "https://scim.acme.invalid"
    assert result.notes == ("Removed /health from the URL: Bridgewatch adds the endpoint itself.",)


def test_plain_http_remote_rejected():
    with pytest.raises(BridgeUrlError, match="plain http:// to scim.acme.invalid"):
        normalize_bridge_url("http://scim.acme.invalid")
