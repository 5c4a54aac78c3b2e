"""Replay of a recorded timeline through the real alert policy on a fake clock.

The timeline is JSON: `bridges` (names with optional per-bridge settings), optional
`settings` (alert policy settings for every bridge), optional `end` (seconds) and `events`,
each either a probe outcome `{"t", "bridge", "status", "components"}` that sets what the
bridge returns from `t` on, or a machine event `{"t", "event"}` with `offline`, `online`,
`sleep` (with `seconds`), `snooze` (with `bridge` and `seconds`, or `"seconds": null` for
"until it recovers") or `pause` (with `seconds`). Probes happen when the policy's own
schedule says, so detection latency shows in the output.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
from dataclasses import dataclass, field

from app.core.config import DEFAULT_INTERVAL
from app.core.model import BridgeStatus
from app.core.policy import Alert, AlertPolicy, PolicySettings, PolicySettingsError

__all__ = ["ReplayError", "run_replay", "alert_to_dict", "REPLAY_EPOCH"]

REPLAY_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: t = 0 of every replay
_MACHINE_EVENTS = ("offline", "online", "sleep", "snooze", "pause")
_MAX_STEPS = 5_000_000  # a guard against a policy timer that never advances


class ReplayError(ValueError):
    """The timeline is invalid. The message names the event and the field."""


@dataclass
class _Answer:
    status: BridgeStatus = BridgeStatus.HEALTHY
    failing: list[str] = field(default_factory=list)


def alert_to_dict(alert: Alert, epoch: float = REPLAY_EPOCH) -> dict:
    bridges = []
    for bridge in alert.bridges:
        entry = {"name": bridge.name, "status": bridge.status.value}
        if bridge.downtime_seconds is not None:
            entry["downtime_seconds"] = bridge.downtime_seconds
        bridges.append(entry)
    return {
        "t": round(alert.at - epoch, 1),
        "kind": alert.kind.value,
        "bridges": bridges,
        "title": alert.title,
        "body": alert.body,
    }


def _parse_timeline(timeline: object) -> tuple[list[dict], list[dict], float | None]:
    if not isinstance(timeline, dict):
        raise ReplayError("The timeline must be a JSON object with `bridges` and `events`.")
    bridges = timeline.get("bridges")
    events = timeline.get("events")
    if not isinstance(bridges, list) or not bridges:
        raise ReplayError("The timeline needs a non-empty `bridges` list, for example [{\"name\": \"eu\"}].")
    if not isinstance(events, list):
        raise ReplayError("The timeline needs an `events` list.")
    normalized = []
    for index, bridge in enumerate(bridges):
        if isinstance(bridge, str):
            bridge = {"name": bridge}
        if not isinstance(bridge, dict) or not isinstance(bridge.get("name"), str):
            raise ReplayError(f"bridges[{index}] must be a name or an object with a `name`.")
        normalized.append(bridge)
    end = timeline.get("end")
    if end is not None and (isinstance(end, bool) or not isinstance(end, (int, float)) or end < 0):
        raise ReplayError(f"`end` must be a number of seconds, got {end!r}.")
    return normalized, events, end


def run_replay(timeline: object, settings: PolicySettings | None = None, *, seed: int = 0) -> list[dict]:
    """Run the policy over `timeline`; return every notification as a dict (see alert_to_dict)."""
    bridges, events, end = _parse_timeline(timeline)
    if settings is None and timeline.get("settings") is not None:
        if not isinstance(timeline["settings"], dict):
            raise ReplayError("`settings` must be an object of alert policy settings.")
        try:
            settings = PolicySettings.from_dict(timeline["settings"], "settings")
        except PolicySettingsError as exc:
            raise ReplayError(str(exc)) from None
    policy = AlertPolicy(settings, seed=seed)
    names: dict[str, str] = {}
    for index, bridge in enumerate(bridges):
        name = bridge["name"]
        if name in names:
            raise ReplayError(f"bridges[{index}]: the name {name!r} is listed twice.")
        interval = bridge.get("interval", DEFAULT_INTERVAL)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise ReplayError(f"bridges[{index}].interval must be a positive number of seconds, got {interval!r}.")
        overrides = {k: v for k, v in bridge.items() if k not in ("name", "interval")}
        try:
            bridge_settings = PolicySettings.from_dict(
                {**_settings_dict(policy.settings), **overrides}, f"bridges[{index}]"
            ) if overrides else None
        except PolicySettingsError as exc:
            raise ReplayError(str(exc)) from None
        names[name] = name
        policy.add_bridge(name, name, float(interval), bridge_settings)

    parsed = [_parse_event(index, event, names) for index, event in enumerate(events)]
    parsed.sort(key=lambda event: event["t"])
    last = parsed[-1]["t"] if parsed else 0.0
    end = float(end) if end is not None else last + 3600.0

    answers = {name: _Answer() for name in names}
    # Queue entries are (time, order, action, bridge): machine events sort before probes at equal times.
    queue: list[tuple[float, int, str, str]] = []
    for index, event in enumerate(parsed):
        heapq.heappush(queue, (event["t"], 0, f"event:{index}", ""))

    # Each bridge has at most one probe planned. A queue entry that no longer matches the
    # plan was replaced by an earlier probe, so it is skipped.
    planned: dict[str, float | None] = {}

    def plan_probe(bridge_name: str, at: float) -> None:
        current = planned.get(bridge_name)
        if current is not None and current <= at:
            return
        planned[bridge_name] = at
        heapq.heappush(queue, (at, 1, "probe", bridge_name))

    for name in names:
        plan_probe(name, 0.0)

    alerts: list[Alert] = []
    asleep_until = -1.0
    scheduled_timers: set[float] = set()

    def schedule_timer(now: float) -> None:
        due = policy.next_timer(REPLAY_EPOCH + now)
        if due is None:
            return
        due = max(due - REPLAY_EPOCH, now)
        if due not in scheduled_timers:
            scheduled_timers.add(due)
            heapq.heappush(queue, (due, 2, "timer", ""))

    def plan_all(now: float) -> None:
        for bridge_name in names:
            delay = policy.next_probe_delay(bridge_name, REPLAY_EPOCH + now)
            if delay is not None:
                planned[bridge_name] = None
                plan_probe(bridge_name, now + delay)

    steps = 0
    while queue:
        t, _, action, name = heapq.heappop(queue)
        if t > end:
            break
        steps += 1
        if steps > _MAX_STEPS:
            raise ReplayError(f"The replay stopped after {_MAX_STEPS} steps at t={t:g}: shorten the timeline.")
        wall = REPLAY_EPOCH + t
        if action == "probe" and planned.get(name) != t:
            continue
        if action.startswith("event:"):
            event = parsed[int(action.split(":", 1)[1])]
            kind = event.get("event")
            if kind is None:
                answers[event["bridge"]] = _Answer(event["status"], event["failing"])
            elif t < asleep_until:
                pass  # nothing runs on a sleeping machine; its events are lost, as they would be
            elif kind == "offline":
                alerts += policy.set_offline(True, wall)
                planned.clear()  # no probes while offline
            elif kind == "online":
                alerts += policy.set_offline(False, wall)
                plan_all(t)
            elif kind == "sleep":
                asleep_until = t + event["seconds"]
                planned.clear()
                heapq.heappush(queue, (asleep_until, 0, "wake", ""))
            elif kind == "snooze":
                until = None if event["seconds"] is None else wall + event["seconds"]
                policy.snooze(event["bridge"], until, wall)
            elif kind == "pause":
                until = None if event["seconds"] is None else wall + event["seconds"]
                policy.pause(until, wall)
        elif action == "wake":
            policy.wake(wall)
            plan_all(t)
        elif t < asleep_until:
            continue
        elif action == "probe":
            planned[name] = None
            answer = answers[name]
            alerts += policy.observe(name, answer.status, wall, failing=answer.failing, detail=_detail(answer))
            delay = policy.next_probe_delay(name, wall)
            if delay is not None:
                plan_probe(name, t + delay)
            for other in policy.bridges_to_probe_now(wall):
                plan_probe(other, t + 1.0)  # the engine checks these at once; a second models the request
        elif action == "timer":
            scheduled_timers.discard(t)
            alerts += policy.tick(wall)
        schedule_timer(t)
    return [alert_to_dict(alert) for alert in alerts]


def _settings_dict(settings: PolicySettings) -> dict:
    return dataclasses.asdict(settings)


def _detail(answer: _Answer) -> str:
    if answer.status is BridgeStatus.UNREACHABLE:
        return "No answer from the bridge."
    if answer.status is BridgeStatus.UNAUTHORIZED:
        return "Token rejected (HTTP 401)."
    return ""


def _parse_event(index: int, event: object, names: dict[str, str]) -> dict:
    where = f"events[{index}]"
    if not isinstance(event, dict):
        raise ReplayError(f"{where} must be an object.")
    t = event.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
        raise ReplayError(f"{where}.t must be a number of seconds from the start, got {t!r}.")
    kind = event.get("event")
    if kind is not None:
        if kind not in _MACHINE_EVENTS:
            raise ReplayError(f"{where}.event is {kind!r}: choose one of {', '.join(_MACHINE_EVENTS)}.")
        parsed = {"t": float(t), "event": kind}
        if kind in ("sleep", "snooze", "pause"):
            seconds = event.get("seconds")
            allowed_none = kind in ("snooze", "pause")
            if seconds is None and allowed_none:
                parsed["seconds"] = None
            elif isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
                raise ReplayError(f"{where}.seconds must be a positive number, got {seconds!r}.")
            else:
                parsed["seconds"] = float(seconds)
        if kind == "snooze":
            parsed["bridge"] = _bridge_name(event, where, names)
        return parsed
    bridge = _bridge_name(event, where, names)
    try:
        status = BridgeStatus(event.get("status"))
    except ValueError:
        choices = ", ".join(s.value for s in BridgeStatus)
        raise ReplayError(f"{where}.status is {event.get('status')!r}: choose one of {choices}.") from None
    components = event.get("components", {})
    if not isinstance(components, dict):
        raise ReplayError(f"{where}.components must map component names to statuses.")
    failing = [str(name) for name, state in components.items() if str(state).lower() != "healthy"]
    return {"t": float(t), "bridge": bridge, "status": status, "failing": failing}


def _bridge_name(event: dict, where: str, names: dict[str, str]) -> str:
    bridge = event.get("bridge")
    if bridge not in names:
        raise ReplayError(f"{where}.bridge is {bridge!r}, which is not in `bridges` ({', '.join(names)}).")
    return bridge


def load_timeline(path) -> object:
    """Read a timeline file; raise ReplayError naming the file and the JSON error."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise ReplayError(f"Cannot read the timeline {path}: {exc.strerror or exc}.") from None
    except json.JSONDecodeError as exc:
        raise ReplayError(f"The timeline {path} is not valid JSON: {exc}.") from None
