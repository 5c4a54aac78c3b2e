"""Short conversations with the D-Bus session bus, and whether a Secret Service is on it.

Each conversation gets a fresh connection on a thread of its own with its own event loop, so
callers may be plain threads or code inside an asyncio loop. This module imports neither
keyring, dbus-fast nor asyncio until it is used, so the keychain check of the first-run
window costs little.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["CALL_TIMEOUT", "SECRET_SERVICE_NAME", "BusUnreachable", "run_on_bus", "service_available"]

log = logging.getLogger(__name__)

SECRET_SERVICE_NAME = "org.freedesktop.secrets"
CALL_TIMEOUT = 25.0  # seconds before one D-Bus call counts as failed

T = TypeVar("T")


class BusUnreachable(Exception):
    """The session bus could not be reached; the message names the error type, not the address."""


async def _connect() -> Any:
    import asyncio

    from dbus_fast import BusType
    from dbus_fast.aio import MessageBus

    try:
        return await asyncio.wait_for(MessageBus(bus_type=BusType.SESSION).connect(), CALL_TIMEOUT)
    except Exception as exc:  # no address, a refused socket, a failed handshake: dbus-fast raises several kinds
        raise BusUnreachable(f"The session bus could not be reached ({type(exc).__name__}).") from None


def run_on_bus(operation: Callable[[Any], Awaitable[T]]) -> T:
    """Run `operation` with a fresh session-bus connection on a thread of its own; return or raise its outcome."""
    import asyncio

    outcome: dict[str, Any] = {}

    async def main() -> T:
        bus = await _connect()
        try:
            return await operation(bus)
        finally:
            bus.disconnect()

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(main())
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="bridgewatch-session-bus", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def service_available() -> bool:
    """Check the session bus for a Secret Service; return True when one runs or the bus can start one."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        # NOTE: without the variable, dbus-fast tries only the old X11 autolaunch file
        # (~/.dbus/session-bus/), which this check skips.
        return False

    async def ask(bus: Any) -> bool:
        import asyncio

        from dbus_fast import Message, MessageType

        async def call(member: str, signature: str, body: list) -> list | None:
            message = Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member=member,
                signature=signature,
                body=body,
            )
            reply = await asyncio.wait_for(bus.call(message), CALL_TIMEOUT)
            return None if reply.message_type == MessageType.ERROR else reply.body

        running = await call("NameHasOwner", "s", [SECRET_SERVICE_NAME])
        if running and running[0]:
            return True
        activatable = await call("ListActivatableNames", "", [])
        return bool(activatable) and SECRET_SERVICE_NAME in activatable[0]

    try:
        return run_on_bus(ask)
    except Exception as exc:  # a missing bus, or one that does not reply, means no service
        log.debug("No Secret Service found on the session bus: %s", type(exc).__name__)
        return False
