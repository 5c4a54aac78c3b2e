"""Bridge URL normalisation and the plain-HTTP rule."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["BridgeUrlError", "NormalizedUrl", "normalize_bridge_url", "is_loopback_host", "same_origin"]

# Paths an administrator may paste along with the bridge address; the probe adds its own.
_KNOWN_PATHS = ("/app/status", "/app", "/health", "/monitoring", "/ping", "/metrics", "/scim")


class BridgeUrlError(ValueError):
    """A bridge URL that cannot be used. The message names the value and the fix."""


@dataclass(frozen=True)
class NormalizedUrl:
    url: str
    notes: tuple[str, ...] = ()


def is_loopback_host(host: str) -> bool:
    """Return True for localhost and addresses in 127.0.0.0/8 or ::1."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_bridge_url(text: str, *, allow_http: bool = False) -> NormalizedUrl:
    """Turn what an administrator typed into the bridge's base URL.

    A bare host becomes `https://host`; a pasted endpoint path such as `/app` or
    `/health` is dropped with a note. Plain `http://` is accepted only for loopback
    hosts unless `allow_http` is set, because the token would cross the network in
    clear text. Raises BridgeUrlError naming the value and the fix.

    Results are cached, because the prober and every config load call this for each bridge.
    """
    return _normalize_cached(text, allow_http)


@functools.lru_cache(maxsize=1024)
def _normalize_cached(text: str, allow_http: bool) -> NormalizedUrl:
    import httpx  # imported here so that loading an empty config, or `--version`, never loads httpx

    raw = text.strip()
    if not raw:
        raise BridgeUrlError("The bridge URL is empty: enter the domain or address of the SCIM bridge.")
    notes: list[str] = []
    assumed_https = "://" not in raw
    if assumed_https:
        raw = "https://" + raw
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError) as exc:
        raise BridgeUrlError(f"The bridge URL {text.strip()!r} is invalid ({exc}).") from None
    if url.scheme not in ("http", "https"):
        raise BridgeUrlError(
            f"The bridge URL {text.strip()!r} uses {url.scheme!r}: use https:// followed by the bridge's domain."
        )
    if not url.host:
        raise BridgeUrlError(
            f"The bridge URL {text.strip()!r} has no host name: enter the bridge's domain, "
            "for example https://scim.example.com."
        )
    if not _valid_host(url.raw_host.decode("ascii", "replace")):
        raise BridgeUrlError(
            f"The bridge URL {text.strip()!r} has an invalid host name {url.host!r}: use letters, digits, "
            "hyphens and dots, or an IP address."
        )
    try:
        port = url.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise BridgeUrlError(f"The bridge URL {text.strip()!r} has an invalid port: use 1 to 65535.")
    if url.userinfo:
        raise BridgeUrlError(
            f"The bridge URL for {url.host} contains a user name or password: remove it, "
            "because the token is kept in the keychain instead."
        )
    if url.query or url.fragment:
        notes.append("Removed the query string from the URL.")

    path = url.path.rstrip("/")
    for known in _KNOWN_PATHS:
        if path.lower().endswith(known):
            path = path[: -len(known)]
            notes.append(f"Removed {known} from the URL: Bridgewatch adds the endpoint itself.")
            break
    path = path.rstrip("/")

    if url.scheme == "http" and not is_loopback_host(url.host) and not allow_http:
        raise BridgeUrlError(
            f"The bridge URL {text.strip()!r} uses plain http:// to {url.host}: requests, and the token "
            "if there is one, would cross the network in clear text. Use https://, or allow unencrypted "
            "HTTP for this bridge explicitly (--allow-http on the command line)."
        )

    if assumed_https and is_loopback_host(url.host) and url.port is not None:
        # A local address with a port is often the simulator or a bridge's plain port, which speak HTTP.
        netloc = url.netloc.decode("ascii")
        notes.append(
            f"No scheme was given, so https:// is assumed. If {netloc} serves plain HTTP, "
            f"as `bridgewatch simulate` and a bridge's port 3002 do, write http://{netloc} instead."
        )
    base = url.copy_with(path=path or "/", query=None, fragment=None)
    normalized = str(base).rstrip("/")
    return NormalizedUrl(url=normalized, notes=tuple(notes))


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _valid_host(host: str) -> bool:
    host = host.strip("[]").lower()
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    # httpx turns international names into their xn-- form, so ASCII labels cover them too.
    return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def same_origin(first: httpx.URL, second: httpx.URL) -> bool:
    """Return True when both URLs share scheme, host and port (the default port filled in)."""
    return (
        first.scheme == second.scheme
        and first.host.lower() == second.host.lower()
        and _port(first) == _port(second)
    )


def _port(url: httpx.URL) -> int | None:
    if url.port is not None:
        return url.port
    return {"http": 80, "https": 443}.get(url.scheme)
