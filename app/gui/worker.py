"""Runs the core engine on a worker thread with its own asyncio loop, and forwards its events as Qt signals."""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    import asyncio

    from app.core.config import BridgeConfig
    from app.core.engine import Engine
    from app.core.tokens import TokenStore

__all__ = ["EngineWorker"]

log = logging.getLogger(__name__)


class EngineWorker(QObject):
    """Own the engine thread. Signals reach GUI-thread slots as queued calls.

    Every method here only schedules work on the engine's loop and returns at once,
    except stop(), which waits at most `timeout` seconds for the thread to end. Calls made
    before the engine exists are queued and run, in order, once it does.

    The engine, the prober, httpx and the history store are imported on the engine thread, so
    the GUI thread shows the tray without waiting for them.
    """

    # The engine thread sends the events of one turn of its loop as one list through `_events`, so
    # a burst, such as 50 polls timing out together, costs the GUI thread one queued call. The
    # worker, which lives on the GUI thread, then emits these signals in the engine's order.
    snapshots_changed = Signal(object)  # list[BridgeSnapshot]: consecutive snapshots, in order
    transition = Signal(object)  # Transition
    notification = Signal(object)  # Alert
    engine_status = Signal(object)  # EngineStatus
    _events = Signal(object)  # list of (signal name, value) pairs

    def __init__(
        self,
        bridges: list[BridgeConfig],
        tokens: TokenStore,
        prober_factory=None,
        policy_factory=None,
        state_file: Path | None = None,
        parent=None,
    ) -> None:
        """`prober_factory` and `policy_factory` default to Prober and AlertPolicy, called on the engine thread."""
        super().__init__(parent)
        self._bridges = list(bridges)
        self._tokens = tokens
        self._prober_factory = prober_factory
        self._policy_factory = policy_factory
        self._state_file = state_file
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Engine | None = None
        self._task: asyncio.Task | None = None
        self._lock = threading.Lock()  # guards _engine, _queued and the start of _task against stop()
        self._queued: list[Callable[[Engine], object]] = []
        self._reconfigures: set[asyncio.Task] = set()
        self._batch: list[tuple[str, object]] = []  # events of the current loop turn, engine thread only
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # With no bridges there is nothing to poll, so the engine thread (and its imports of httpx,
        # asyncio and sqlite3) starts with the first bridge, for example one added on the
        # first-run page. NOTE: until then the hourly history retention pass does not run either.
        self._start_requested = False
        self._events.connect(self._dispatch)

    def start(self) -> None:
        """Start the engine thread, or with no bridges, wait for reconfigure() to give it some."""
        self._start_requested = True
        if self._bridges:
            self._start_thread()

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bridgewatch-engine", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import asyncio

        from app.core.engine import Engine, EngineListener

        loop = asyncio.new_event_loop()
        self._loop = loop
        # Once stop() began, nothing more is emitted: the GUI objects may be going away.
        listener = EngineListener(
            snapshot=lambda snapshot: self._add_event("snapshot", snapshot),
            transition=lambda transition: self._add_event("transition", transition),
            notification=lambda alert: self._add_event("notification", alert),
            status=lambda status: self._add_event("status", status),
        )

        async def main() -> None:
            engine = Engine(
                self._bridges,
                tokens=self._tokens,
                listener=listener,
                prober=self._make_prober(),
                policy=self._make_policy(),
                state_file=self._state_file,
            )
            with self._lock:
                stopped_early = self._stopping.is_set()  # stop() came while the engine was being built
                if not stopped_early:
                    self._engine = engine
                    self._task = asyncio.current_task()
                queued, self._queued = self._queued, []
            if stopped_early:
                engine.recorder.close()
                await engine.aclose()
                return
            # The engine's imports and start-up objects live as long as the app: move them out of
            # the collector's reach, as run_gui does for the GUI's (see the comment there).
            gc.freeze()
            for call in queued:
                loop.call_soon(call, engine)
            await engine.run()

        try:
            loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("The engine stopped on an unexpected error")
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _make_prober(self):
        if self._prober_factory is not None:
            return self._prober_factory()
        from app.core.probe import Prober

        return Prober()

    def _make_policy(self):
        if self._policy_factory is not None:
            return self._policy_factory()
        from app.core.policy import AlertPolicy

        return AlertPolicy()

    def _add_event(self, kind: str, value) -> None:
        """Collect an event on the engine thread; the first one of a loop turn schedules the send."""
        if not self._batch:
            self._loop.call_soon(self._send_batch)
        self._batch.append((kind, value))

    def _send_batch(self) -> None:
        batch, self._batch = self._batch, []
        if not self._stopping.is_set():
            self._events.emit(batch)

    def _dispatch(self, events: list[tuple[str, object]]) -> None:
        """Emit the public signals for one batch, on the GUI thread, in the engine's order."""
        signals = {"transition": self.transition, "notification": self.notification, "status": self.engine_status}
        snapshots: list = []
        for kind, value in events:
            if self._stopping.is_set():  # once stop() began, nothing more is emitted
                return
            if kind == "snapshot":
                snapshots.append(value)
                continue
            if snapshots:
                self.snapshots_changed.emit(snapshots)
                snapshots = []
            signals[kind].emit(value)
        if snapshots and not self._stopping.is_set():
            self.snapshots_changed.emit(snapshots)

    def _submit(self, call: Callable[[Engine], object]) -> None:
        """Run `call(engine)` on the engine's loop, or queue it until the engine exists."""
        with self._lock:
            if self._engine is None:
                if not self._stopping.is_set():
                    self._queued.append(call)
                return
            engine, loop = self._engine, self._loop
        if loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(call, engine)
        except RuntimeError:  # the loop closed in the meantime
            pass

    def _call(self, method_name: str, *args) -> None:
        self._submit(lambda engine: getattr(engine, method_name)(*args))

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
        bridges, token_reload = list(bridges), frozenset(token_reload)

        def start_reconfigure(engine: Engine) -> None:
            task = self._loop.create_task(engine.reconfigure(bridges, token_reload))
            self._reconfigures.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._reconfigures.discard)

        self._submit(start_reconfigure)
        if bridges and self._start_requested and self._thread is None and not self._stopping.is_set():
            self._start_thread()

    def stop(self, timeout: float = 1.0) -> bool:
        """Cancel every poll, hanging ones included; return True when the thread ended in time."""
        with self._lock:
            self._stopping.set()
            self._queued.clear()
            task, loop = self._task, self._loop
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed in the meantime
                pass
        if self._thread is None:
            return True
        self._thread.join(timeout)
        finished = not self._thread.is_alive()
        if not finished:
            log.warning("The engine thread did not stop within %.1f s; exiting anyway", timeout)
        return finished
