"""The asyncio engine: schedules the probes of every bridge and feeds them to the alert policy."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from app.core.clock import Clock, SystemClock, to_datetime
from app.core.config import BridgeConfig, atomic_write
from app.core.history import PRUNE_EVERY, Recorder, tray_recorder
from app.core.model import BridgeSnapshot, BridgeStatus, ErrorKind, ProbeError, ProbeResult
from app.core.netcheck import has_default_route
from app.core.policy import Alert, AlertPolicy, PolicySettings
from app.core.probe import Prober
from app.core.state import BridgeState, Transition
from app.core.tokens import TokenStore, TokenUnavailable
from app.core.versionwatch import apply_minimum

__all__ = ["Engine", "EngineListener", "EngineStatus", "SLEEP_JUMP"]

log = logging.getLogger(__name__)

SLEEP_JUMP = 60.0  # seconds the wall clock may gain on the monotonic clock before it counts as a wake-up
_SLEEP_CHECK = 15.0  # seconds between two comparisons of the clocks, and between reference checks while offline
# Seconds by which a poll or a policy timer delays saving the alert state, so that a burst of polls
# (every bridge at start, or many timing out together) serializes the state once instead of per poll.
# Commands such as snooze and pause, and the engine's stop, save at once.
STATE_SAVE_DELAY = 1.0


@dataclass(frozen=True)
class EngineStatus:
    """Machine-wide state: offline pauses monitoring; a pause silences every bridge."""

    offline: bool = False
    paused_until: float | None = None
    paused_until_recovery: bool = False


@dataclass
class EngineListener:
    """Callbacks the engine calls from its own loop thread. Each must return quickly."""

    snapshot: Callable[[BridgeSnapshot], None] = lambda snapshot: None
    transition: Callable[[Transition], None] = lambda transition: None
    notification: Callable[[Alert], None] = lambda alert: None
    status: Callable[[EngineStatus], None] = lambda status: None


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

    Every method except the `*_threadsafe` ones must be called on the engine's loop.
    """

    def __init__(
        self,
        bridges: list[BridgeConfig],
        *,
        tokens: TokenStore,
        listener: EngineListener | None = None,
        prober: Prober | None = None,
        policy: AlertPolicy | None = None,
        clock: Clock | None = None,
        state_file: Path | None = None,
        reference_check: Callable[[], bool] = has_default_route,
        recorder: Recorder | None = None,
    ) -> None:
        self._tokens = tokens
        # The history and the certificate and version watch. The tray app passes only
        # `state_file`, so it gets the history file in the data folder.
        if recorder is None:
            recorder = tray_recorder(state_file) if state_file is not None else Recorder(None)
        self.recorder = recorder
        self._listener = listener or EngineListener()
        self._prober = prober
        self.policy = policy or AlertPolicy(PolicySettings())
        self._clock = clock or SystemClock()
        self._state_file = state_file
        self._saved_state = ""
        self._save_handle: asyncio.TimerHandle | None = None
        self._reference_check = reference_check
        self._watched: dict[str, _Watched] = {}
        self._pending_config: list[BridgeConfig] | None = list(bridges)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False
        self._timer_changed: asyncio.Event | None = None
        self._online: asyncio.Event | None = None
        self._reported_status: EngineStatus | None = None
        self._offline_source = ""  # "os" or "reference" while offline

    @property
    def snapshots(self) -> list[BridgeSnapshot]:
        return [self._snapshot(watched) for watched in self._watched.values()]

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
                self.policy.remove_bridge(bridge_id)
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
            self.policy.add_bridge(bridge.id, bridge.name, bridge.interval)
        await self._load_tokens(changed)
        return changed

    async def _apply_pending_config(self) -> None:
        if self._pending_config is not None:
            pending, self._pending_config = self._pending_config, None
            await self._apply_config(pending)

    async def check_once(self, bridge_ids: list[str] | None = None) -> list[BridgeSnapshot]:
        """Probe the given bridges (all by default) once, concurrently; return their snapshots.

        The alert policy is not involved: this is the one-shot check of the command line.
        """
        await self._apply_pending_config()
        targets = [w for w in self._watched.values() if bridge_ids is None or w.config.id in bridge_ids]
        results = await asyncio.gather(*(self._probe(watched) for watched in targets))
        for watched, result in zip(targets, results):
            watched.state.apply(result)
        return [watched.state.snapshot for watched in targets]

    # -- the running engine ---------------------------------------------------------------------

    async def run(self) -> None:
        """Poll every bridge on the policy's schedule until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._running = True
        self._timer_changed = asyncio.Event()
        self._online = asyncio.Event()
        self._online.set()
        helpers: list[asyncio.Task] = []
        try:
            await self._apply_pending_config()
            self._restore_state()
            for watched in self._watched.values():
                self._start_watch(watched)
                self._listener.snapshot(self._snapshot(watched))
            self._report_status()
            helpers = [
                asyncio.create_task(self._run_timers(), name="policy-timers"),
                asyncio.create_task(self._watch_sleep(), name="sleep-watch"),
                asyncio.create_task(self._prune_history(), name="history-retention"),
            ]
            await asyncio.Event().wait()  # the tasks do the work until cancelled
        finally:
            self._running = False
            tasks = [w.task for w in self._watched.values() if w.task] + helpers
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._save_state()
            self.recorder.close()
            await self.aclose()

    async def aclose(self) -> None:
        if self._prober is not None:
            await self._prober.aclose()
            self._prober = None

    async def reconfigure(self, bridges: list[BridgeConfig], token_reload: frozenset[str] = frozenset()) -> None:
        """Replace the watched bridges; new or changed ones are probed at once.

        Bridges whose ids are in `token_reload` read their token from the keychain again and
        are probed at once, keeping their state and alert history.
        """
        self._pending_config = None  # the constructor's list must not come back on the first check
        changed = await self._apply_config(bridges)
        reload = [w for w in self._watched.values() if w.config.id in token_reload and w not in changed]
        if reload:
            await self._load_tokens(reload)
            changed += reload
        if self._running:
            for watched in changed:
                if watched.task is None or watched.task.done():
                    self._start_watch(watched)
                else:
                    watched.wake.set()
                self._listener.snapshot(self._snapshot(watched))
            self._save_state()

    def request_check(self, bridge_id: str | None = None) -> None:
        """Probe one bridge (or every bridge) now instead of at its next scheduled time."""
        for watched in self._watched.values():
            if (bridge_id is None or watched.config.id == bridge_id) and watched.wake is not None:
                watched.wake.set()

    def request_check_threadsafe(self, bridge_id: str | None = None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.request_check, bridge_id)

    # -- commands from the front end --------------------------------------------------------------

    def snooze(self, bridge_id: str, until: float | None) -> None:
        """Silence one bridge until `until` (epoch seconds), or until it recovers when None."""
        if bridge_id not in self._watched:
            return
        now = self._clock.time()
        if until is not None and until <= now:
            self._deliver(self.policy.unsnooze(bridge_id, now))
        else:
            self.policy.snooze(bridge_id, until, now)
        self._after_command(bridge_id)

    def set_policy_settings(self, settings: PolicySettings) -> None:
        """Apply new alert settings to every bridge; open incidents and snoozes are kept."""
        self.policy.settings = settings
        log.info("Alert settings changed")
        self._poke_timers()

    def pause(self, until: float | None) -> None:
        """Silence every bridge until `until`, or until all recover when None."""
        self.policy.pause(until, self._clock.time())
        self._after_command(None)

    def resume(self) -> None:
        self._deliver(self.policy.resume(self._clock.time()))
        self._after_command(None)

    def set_network_available(self, available: bool, source: str = "os") -> None:
        """Record whether this computer has a network, as reported by `source` ("os" or "reference")."""
        now = self._clock.time()
        if available == (not self.policy.offline):
            return
        log.info("Network %s", "available" if available else "lost")
        self._deliver(self.policy.set_offline(not available, now))
        if available:
            self._offline_source = ""
            self._online.set()
        else:
            self._offline_source = source
            self._online.clear()
        self._after_command(None)

    def call_threadsafe(self, method: Callable, *args) -> None:
        """Run `method(*args)` on the engine's loop; for the GUI thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(method, *args)

    def _after_command(self, bridge_id: str | None) -> None:
        for watched in self._watched.values():
            if bridge_id is None or watched.config.id == bridge_id:
                self._listener.snapshot(self._snapshot(watched))
        self._report_status()
        self._poke_timers()
        self._save_state()

    # -- tasks ------------------------------------------------------------------------------------

    def _start_watch(self, watched: _Watched) -> None:
        watched.wake = asyncio.Event()
        watched.task = asyncio.create_task(self._watch(watched), name=f"watch-{watched.config.id}")

    async def _watch(self, watched: _Watched) -> None:
        while True:
            await self._online.wait()
            await self._wait_out_wake()
            try:
                await self._poll(watched)
            except Exception:  # a bug in one bridge's poll must not stop the others
                log.exception("Polling bridge %s failed", watched.config.id)
            delay = self.policy.next_probe_delay(watched.config.id, self._clock.time())
            if delay is None:
                continue  # offline: the loop waits for the network first
            try:
                async with asyncio.timeout(delay):
                    await watched.wake.wait()
            except TimeoutError:
                pass
            watched.wake.clear()

    async def _wait_out_wake(self) -> None:
        """After a wake-up or reconnect, wait for the policy's delay, so every bridge is checked at once."""
        while self.policy.wake_until is not None:
            remaining = self.policy.wake_until - self._clock.time()
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)

    async def _run_timers(self) -> None:
        while True:
            now = self._clock.time()
            due = self.policy.next_timer(now)
            self._timer_changed.clear()
            timeout = None if due is None else max(0.0, due - now)
            try:
                async with asyncio.timeout(timeout):
                    await self._timer_changed.wait()
            except TimeoutError:
                pass
            self._deliver(self.policy.tick(self._clock.time()))
            self._report_status()
            self._save_state_soon()

    async def _prune_history(self) -> None:
        """Apply the history retention at start and then every hour, off the loop."""
        while True:
            await asyncio.to_thread(self.recorder.prune_file, self._clock.time())
            await asyncio.sleep(PRUNE_EVERY)

    def _poke_timers(self) -> None:
        if self._timer_changed is not None:
            self._timer_changed.set()

    async def _watch_sleep(self) -> None:
        """Notice a wake from sleep as the wall clock jumping ahead of the monotonic clock."""
        wall, mono = self._clock.time(), self._clock.monotonic()
        while True:
            await asyncio.sleep(_SLEEP_CHECK)
            new_wall, new_mono = self._clock.time(), self._clock.monotonic()
            gained = (new_wall - wall) - (new_mono - mono)
            wall, mono = new_wall, new_mono
            if gained > SLEEP_JUMP:
                log.info("Woke from sleep (the wall clock gained %.0f s); checking again after the wake delay", gained)
                self.policy.wake(new_wall)
                self.request_check(None)
                self._poke_timers()
            # Only an offline state this engine inferred ends on the reference check: when
            # the operating system reported it, the operating system reports the return.
            if self._offline_source == "reference" and await asyncio.to_thread(self._reference_check):
                log.info("The network is back (reference check passed)")
                self.set_network_available(True, "reference")

    # -- one poll ---------------------------------------------------------------------------------

    async def _probe(self, watched: _Watched) -> ProbeResult:
        config = watched.config
        if watched.token_error:
            error = ProbeError(
                ErrorKind.TOKEN_UNAVAILABLE,
                watched.token_error,
                "Store the token again, or probe /ping without a token.",
            )
            return ProbeResult(
                status=BridgeStatus.UNKNOWN, summary=watched.token_error, checked_at=self._clock.now(), error=error
            )
        prober = await self._ensure_prober()
        result = await prober.probe(config.url, config.probe, watched.token, allow_http=config.allow_http)
        result = apply_minimum(result, self.recorder.minimum_version(config.id, config.name))
        # Every probe is logged at DEBUG; a change of status is logged at INFO in _poll.
        log.debug(
            "Bridge %s (%s): %s, %s ms, %s",
            config.id,
            config.name,
            result.status.value,
            "no answer" if result.latency_ms is None else f"{result.latency_ms:.0f}",
            result.error.kind.value if result.error else "no error",
        )
        return result

    async def _poll(self, watched: _Watched) -> None:
        result = await self._probe(watched)
        config = watched.config
        if config.id not in self._watched or self.policy.offline:  # removed, or offline, while it ran
            return
        transition = watched.state.apply(result)
        if transition is not None:
            log.info(
                "Bridge %s (%s): %s -> %s: %s",
                config.id,
                config.name,
                transition.old.value,
                transition.new.value,
                result.error.kind.value if result.error else result.summary,
            )
            self._listener.transition(transition)

        if result.status is BridgeStatus.UNREACHABLE and await self._looks_offline():
            log.warning("Every bridge is unreachable and the reference check failed: monitoring paused")
            self.set_network_available(False, "reference")
            return

        failing = [c.name for c in result.components if c.status.value != "healthy"]
        detail = result.error.message if result.error else result.summary
        if result.error and result.error.hint:
            detail = f"{detail} {result.error.hint}"
        if result.status is BridgeStatus.UNREACHABLE:
            detail = f"{detail} URL: {config.url}"
        now = self._clock.time()
        alerts = self.policy.observe(config.id, result.status, now, failing=failing, detail=detail)
        for bridge_id in self.policy.bridges_to_probe_now(now):
            self.request_check(bridge_id)  # a shared cause shows on every bridge at once
        self._listener.snapshot(self._snapshot(watched))
        self._deliver(alerts)
        incident = self.policy.open_incidents().get(config.id)
        self._deliver(self.recorder.after_poll(config, result, incident, detail, now))
        self._poke_timers()
        self._save_state_soon()

    async def _looks_offline(self) -> bool:
        """Return True when every bridge's latest result is unreachable and the reference check fails."""
        latest = [w.state.snapshot.status for w in self._watched.values()]
        if not latest or any(status is not BridgeStatus.UNREACHABLE for status in latest):
            return False
        return not await asyncio.to_thread(self._reference_check)

    def _deliver(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            log.info("Alert %s: %s", alert.kind.value, alert.title)
            self._listener.notification(alert)

    def _snapshot(self, watched: _Watched) -> BridgeSnapshot:
        snapshot = watched.state.snapshot
        try:
            view = self.policy.view(watched.config.id)
        except KeyError:  # not in the policy, as in the one-shot check of the command line
            return snapshot
        return replace(
            snapshot,
            confirmed=view.confirmed,
            checking=view.checking,
            incident_since=to_datetime(view.incident_since) if view.incident_since else None,
            unstable=view.unstable,
            snoozed_until=to_datetime(view.snoozed_until) if view.snoozed_until else None,
            snoozed_until_recovery=view.snoozed_until_recovery,
        )

    def _report_status(self) -> None:
        status = EngineStatus(
            offline=self.policy.offline,
            paused_until=self.policy.pause_until,
            paused_until_recovery=self.policy.pause_until_recovery,
        )
        if status != self._reported_status:
            self._reported_status = status
            self._listener.status(status)

    # -- persistence ------------------------------------------------------------------------------

    def _restore_state(self) -> None:
        if self._state_file is None:
            return
        try:
            text = self._state_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("Cannot read the alert state %s: %s", self._state_file, exc)
            return
        try:
            self.policy.restore(json.loads(text))
        except json.JSONDecodeError as exc:
            log.warning("The alert state %s is not valid JSON (%s); starting without it", self._state_file, exc)
            return
        self._saved_state = text
        log.info("Restored %d open incidents from %s", len(self.policy.open_incidents()), self._state_file)

    def _save_state_soon(self) -> None:
        """Save the alert state STATE_SAVE_DELAY seconds from now, unless a save is already due."""
        if self._state_file is None or self._save_handle is not None:
            return
        if self._loop is None or not self._running:
            self._save_state()
            return
        self._save_handle = self._loop.call_later(STATE_SAVE_DELAY, self._save_state)

    def _save_state(self) -> None:
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        if self._state_file is None:
            return
        text = json.dumps(self.policy.to_dict(), indent=1, sort_keys=True)
        if text == self._saved_state:
            return
        try:
            atomic_write(self._state_file, text.encode("utf-8"))
        except OSError as exc:
            log.warning("Cannot save the alert state %s: %s", self._state_file, exc)
            return
        self._saved_state = text
