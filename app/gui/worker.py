"""Runs the core engine on a worker thread with its own asyncio loop, and forwards its events as Qt signals."""

from __future__ import annotations

import asyncio
import logging
import threading

from PySide6.QtCore import QObject, Signal

from app.core.config import BridgeConfig
from app.core.engine import Engine, EngineListener
from app.core.probe import Prober
from app.core.tokens import TokenStore

__all__ = ["EngineWorker"]

log = logging.getLogger(__name__)


class EngineWorker(QObject):
    """Own the engine thread. Signals reach GUI-thread slots as queued calls.

    The GUI thread never waits on the network: every method here only schedules work
    on the engine's loop, except stop(), which waits at most `timeout` seconds.
    """

    snapshot_changed = Signal(object)  # BridgeSnapshot
    transition = Signal(object)  # Transition
    notification = Signal(object)  # Notification
    stopped = Signal()

    def __init__(self, bridges: list[BridgeConfig], tokens: TokenStore, prober_factory=Prober, parent=None) -> None:
        super().__init__(parent)
        self._bridges = list(bridges)
        self._tokens = tokens
        self._prober_factory = prober_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Engine | None = None
        self._task: asyncio.Task | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bridgewatch-engine", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        listener = EngineListener(
            snapshot=self.snapshot_changed.emit,
            transition=self.transition.emit,
            notification=self.notification.emit,
        )

        async def main() -> None:
            self._engine = Engine(self._bridges, tokens=self._tokens, listener=listener, prober=self._prober_factory())
            self._task = asyncio.current_task()
            self._ready.set()
            await self._engine.run()

        try:
            loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("The engine stopped on an unexpected error")
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self.stopped.emit()

    def check_now(self, bridge_id: str | None = None) -> None:
        if self._loop is not None and self._engine is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._engine.request_check, bridge_id)

    def reconfigure(self, bridges: list[BridgeConfig]) -> None:
        if self._loop is not None and self._engine is not None and not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._engine.reconfigure(bridges), self._loop)

    def stop(self, timeout: float = 1.0) -> bool:
        """Cancel every poll, hanging ones included; return True when the thread ended in time."""
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:  # the loop closed in the meantime
                pass
        if self._thread is None:
            return True
        self._thread.join(timeout)
        finished = not self._thread.is_alive()
        if not finished:
            log.warning("The engine thread did not stop within %.1f s; exiting anyway", timeout)
        return finished
