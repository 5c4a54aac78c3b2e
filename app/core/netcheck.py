"""The reference check for "is this computer offline?", made without sending any traffic."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

__all__ = ["has_default_route"]

log = logging.getLogger(__name__)

_IPV4_ROUTES = Path("/proc/net/route")
_IPV6_ROUTES = Path("/proc/net/ipv6_route")
_RTF_UP = 0x1


def has_default_route(ipv4_table: Path = _IPV4_ROUTES, ipv6_table: Path = _IPV6_ROUTES) -> bool:
    """Return True when the kernel has a default route that is up (IPv4 or IPv6).

    Only Linux exposes its routing table as files; elsewhere this returns True and the
    operating system's own network report (QNetworkInformation in the GUI) decides.
    """
    if not sys.platform.startswith("linux"):
        return True
    try:
        for line in ipv4_table.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[1] == "00000000" and int(fields[3], 16) & _RTF_UP:
                return True
    except (OSError, ValueError) as exc:
        log.debug("Cannot read %s: %s", ipv4_table, exc)
        return True  # no way to tell: never declare the machine offline on a guess
    try:
        for line in ipv6_table.read_text().splitlines():
            fields = line.split()
            # A default route has destination ::/0 and a device other than the loopback one.
            if len(fields) >= 10 and fields[0] == "0" * 32 and fields[1] == "00" and fields[9] != "lo":
                return True
    except (OSError, ValueError):
        pass
    return False
