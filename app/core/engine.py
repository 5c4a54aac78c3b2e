"""The asyncio engine: schedules the probes of every bridge and reports what changed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from app.core.alerts import Notification, notification_for
from app.core.config import BridgeConfig
from app.core.model import BridgeSnapshot, BridgeStatus, ErrorKind, ProbeError, ProbeResult
from app.core.probe import Prober
from app.core.state import BridgeState, Transition
from app.core.tokens import TokenStore, TokenUnavailable

__all__ = ["Engine", "EngineListener"]

log = logging.getLogger(__name__)


@dataclass
class EngineListener:
    """Callbacks the engine calls from its own loop thread. Each must return quickly."""

    snapshot: Callable[[BridgeSnapshot], None] = lambda snapshot: None
    transition: Callable[[Transition], None] = lambda transition: None
    notification: Callable[[Notification], None] = lambda notification: None


@dataclass
class _Watched:
    config: BridgeConfig
    state: BridgeState
    token: str | None = None
    token_error: str | None = None
    wake: asyncio.Event | None = None
    task: asyncio.Task | None = None


class Engine:
    """Poll bridges concurrently on one event loop. Used by the tray app and by `check`.

    Every method except `request_check_threadsafe` must be called on the engine's loop.
    """

    def __init__(
        self,
        bridges: list[BridgeConfig],
        *,
        tokens: TokenStore,
        listener: EngineListener | None = None,
        prober: Prober | None = None,
    ) -> None:
        self._tokens = tokens
        self._listener = listener or EngineListener()
        self._prober = prober
        self._watched: dict[str, _Watched] = {}
        self._pending_config = list(bridges)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False

    @property
    def snapshots(self) -> list[BridgeSnapshot]:
        return [watched.state.snapshot for watched in self._watched.values()]

    async def _ensure_prober(self) -> Prober:
        if self._prober is None:
            self._prober = Prober()
        return self._prober

    async def _load_tokens(self, bridges: list[_Watched]) -> None:
        """Read tokens once, off the loop: a Secret Service may prompt or block."""
        for watched in bridges:
            watched.token, watched.token_error = None, None
            if not watched.config.probe.needs_token:
                continue
            try:
                watched.token = await asyncio.to_thread(self._tokens.get, watched.config.id)
            except TokenUnavailable as exc:
                watched.token_error = str(exc)
                log.warning("Token for bridge %s unavailable: %s", watched.config.id, exc)
                continue
            if watched.token is None:
                watched.token_error = "Token unavailable: no token is stored in the keychain for this bridge."

    async def _apply_config(self, bridges: list[BridgeConfig]) -> list[_Watched]:
        """Make the watched set match `bridges`; return the entries whose settings changed."""
        wanted = {bridge.id: bridge for bridge in bridges}
        for bridge_id in list(self._watched):
            if bridge_id not in wanted:
                watched = self._watched.pop(bridge_id)
                if watched.task:
                    watched.task.cancel()
        changed = []
        for bridge in bridges:
            watched = self._watched.get(bridge.id)
            if watched is None:
                watched = _Watched(config=bridge, state=BridgeState(bridge))
                self._watched[bridge.id] = watched
                changed.append(watched)
            elif watched.config != bridge:
                watched.config = bridge
                watched.state.reconfigure(bridge)
                changed.append(watched)
        await self._load_tokens(changed)
        return changed

    async def check_once(self, bridge_ids: list[str] | None = None) -> list[BridgeSnapshot]:
        """Probe the given bridges (all by default) once, concurrently; return their snapshots."""
        if self._pending_config is not None:
            await self._apply_config(self._pending_config)
            self._pending_config = None
        targets = [w for w in self._watched.values() if bridge_ids is None or w.config.id in bridge_ids]
        await asyncio.gather(*(self._poll(watched, notify=False) for watched in targets))
        return [watched.state.snapshot for watched in targets]

    async def run(self) -> None:
        """Poll every bridge on its interval until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._running = True
        try:
            if self._pending_config is not None:
                await self._apply_config(self._pending_config)
                self._pending_config = None
            for watched in self._watched.values():
                self._start_watch(watched)
                self._listener.snapshot(watched.state.snapshot)
            await asyncio.Event().wait()  # the watch tasks do the work until cancelled
        finally:
            self._running = False
            tasks = [w.task for w in self._watched.values() if w.task]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.aclose()

    async def aclose(self) -> None:
        if self._prober is not None:
            await self._prober.aclose()
            self._prober = None

    async def reconfigure(self, bridges: list[BridgeConfig]) -> None:
        """Replace the watched bridges; new or changed ones are probed at once."""
        self._pending_config = None  # the constructor's list must not come back on the first check
        changed = await self._apply_config(bridges)
        if self._running:
            for watched in changed:
                if watched.task is None or watched.task.done():
                    self._start_watch(watched)
                else:
                    watched.wake.set()
                self._listener.snapshot(watched.state.snapshot)

    def request_check(self, bridge_id: str | None = None) -> None:
        """Probe one bridge (or every bridge) now instead of at its next interval."""
        for watched in self._watched.values():
            if (bridge_id is None or watched.config.id == bridge_id) and watched.wake is not None:
                watched.wake.set()

    def request_check_threadsafe(self, bridge_id: str | None = None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.request_check, bridge_id)

    def _start_watch(self, watched: _Watched) -> None:
        watched.wake = asyncio.Event()
        watched.task = asyncio.create_task(self._watch(watched), name=f"watch-{watched.config.id}")

    async def _watch(self, watched: _Watched) -> None:
        while True:
            try:
                await self._poll(watched, notify=True)
            except Exception:  # a bug in one bridge's poll must not stop the others
                log.exception("Polling bridge %s failed", watched.config.id)
            try:
                async with asyncio.timeout(watched.config.interval):
                    await watched.wake.wait()
            except TimeoutError:
                pass
            watched.wake.clear()

    async def _poll(self, watched: _Watched, *, notify: bool) -> None:
        config = watched.config
        if watched.token_error:
            error = ProbeError(
                ErrorKind.TOKEN_UNAVAILABLE,
                watched.token_error,
                "Store the token again, or probe /ping without a token.",
            )
            result = ProbeResult(
                status=BridgeStatus.UNKNOWN,
                summary=watched.token_error,
                checked_at=datetime.now(timezone.utc),
                error=error,
            )
        else:
            prober = await self._ensure_prober()
            result = await prober.probe(config.url, config.probe, watched.token, allow_http=config.allow_http)

        log.info(
            "Bridge %s (%s): %s in %s ms, %s",
            config.id,
            config.name,
            result.status.value,
            result.latency_ms,
            result.error.kind.value if result.error else "no error",
        )
        if config.id not in self._watched:  # removed while the probe ran
            return
        transition = watched.state.apply(result)
        if not notify:
            return
        self._listener.snapshot(watched.state.snapshot)
        if transition is not None:
            log.info("Bridge %s: %s -> %s", config.id, transition.old.value, transition.new.value)
            self._listener.transition(transition)
            notification = notification_for(transition)
            if notification is not None:
                self._listener.notification(notification)
