"""Runs the core engine on a worker thread with its own asyncio loop, and forwards its events as Qt signals."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.config import BridgeConfig
from app.core.engine import Engine, EngineListener
from app.core.policy import AlertPolicy
from app.core.probe import Prober
from app.core.tokens import TokenStore

__all__ = ["EngineWorker"]

log = logging.getLogger(__name__)


class EngineWorker(QObject):
    """Own the engine thread. Signals reach GUI-thread slots as queued calls.

    Every method here only schedules work on the engine's loop and returns at once,
    except stop(), which waits at most `timeout` seconds for the thread to end.
    """

    snapshot_changed = Signal(object)  # BridgeSnapshot
    transition = Signal(object)  # Transition
    notification = Signal(object)  # Alert
    engine_status = Signal(object)  # EngineStatus

    def __init__(
        self,
        bridges: list[BridgeConfig],
        tokens: TokenStore,
        prober_factory=Prober,
        policy_factory=AlertPolicy,
        state_file: Path | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self._bridges = list(bridges)
        self._tokens = tokens
        self._prober_factory = prober_factory
        self._policy_factory = policy_factory
        self._state_file = state_file
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Engine | None = None
        self._task: asyncio.Task | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bridgewatch-engine", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        # Once stop() began, nothing more is emitted: the GUI objects may be going away.
        listener = EngineListener(
            snapshot=lambda snapshot: self._emit(self.snapshot_changed, snapshot),
            transition=lambda transition: self._emit(self.transition, transition),
            notification=lambda alert: self._emit(self.notification, alert),
            status=lambda status: self._emit(self.engine_status, status),
        )

        async def main() -> None:
            self._engine = Engine(
                self._bridges,
                tokens=self._tokens,
                listener=listener,
                prober=self._prober_factory(),
                policy=self._policy_factory(),
                state_file=self._state_file,
            )
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

    def _emit(self, signal, value) -> None:
        if not self._stopping.is_set():
            signal.emit(value)

    def _call(self, method_name: str, *args) -> None:
        if self._loop is not None and self._engine is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(getattr(self._engine, method_name), *args)
            except RuntimeError:  # the loop closed in the meantime
                pass

    def check_now(self, bridge_id: str | None = None) -> None:
        self._call("request_check", bridge_id)

    def snooze(self, bridge_id: str, until: float | None) -> None:
        """Silence a bridge until `until` (epoch seconds), or until it recovers when None."""
        self._call("snooze", bridge_id, until)

    def pause(self, until: float | None) -> None:
        self._call("pause", until)

    def resume(self) -> None:
        self._call("resume")

    def set_policy_settings(self, settings) -> None:
        """Use new alert policy settings (PolicySettings) from the next decision on."""
        self._call("set_policy_settings", settings)

    def set_network_available(self, available: bool) -> None:
        self._call("set_network_available", available)

    def reconfigure(self, bridges: list[BridgeConfig], token_reload: frozenset[str] = frozenset()) -> None:
        """Give the engine a new bridge list; `token_reload` names bridges whose token changed."""
        if self._loop is not None and self._engine is not None and not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(
                self._engine.reconfigure(list(bridges), frozenset(token_reload)), self._loop
            )

    def stop(self, timeout: float = 1.0) -> bool:
        """Cancel every poll, hanging ones included; return True when the thread ended in time."""
        self._stopping.set()
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
