"""Property-based tests of the alert policy over random probe sequences, snoozes and clock jumps."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.model import BridgeStatus
from app.core.policy import AlertKind, AlertPolicy, PolicySettings

T0 = 1_767_225_600.0
BRIDGES = ("a", "b")
STATUSES = [
    BridgeStatus.HEALTHY,
    BridgeStatus.DEGRADED,
    BridgeStatus.UNHEALTHY,
    BridgeStatus.UNREACHABLE,
    BridgeStatus.UNAUTHORIZED,
]
BAD = STATUSES[1:]

probe_step = st.tuples(
    st.just("probe"), st.floats(1, 900), st.sampled_from(BRIDGES), st.sampled_from(STATUSES)
)
machine_step = st.one_of(
    st.tuples(st.just("sleep"), st.floats(61, 40_000), st.just(""), st.none()),
    st.tuples(st.just("snooze"), st.floats(1, 20_000), st.sampled_from(BRIDGES), st.none()),
    st.tuples(st.just("snooze-recovery"), st.just(1.0), st.sampled_from(BRIDGES), st.none()),
    st.tuples(st.just("pause"), st.floats(1, 20_000), st.just(""), st.none()),
    st.tuples(st.just("offline"), st.floats(1, 600), st.just(""), st.none()),
    st.tuples(st.just("online"), st.floats(1, 600), st.just(""), st.none()),
)
steps = st.lists(st.one_of(probe_step, probe_step, probe_step, machine_step), max_size=120)


class Run:
    """Drive a policy through steps, checking the invariants after each one."""

    def __init__(self):
        self.policy = AlertPolicy(PolicySettings(), seed=0)
        for name in BRIDGES:
            self.policy.add_bridge(name, name, 60.0)
        self.now = T0
        self.openings: dict[str, set[float]] = {name: set() for name in BRIDGES}
        self.alerts = []

    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while True:
            due = self.policy.next_timer(self.now)
            if due is None or due > target:
                break
            self.now = max(self.now, due)
            self.check(lambda: self.policy.tick(self.now))
        self.now = target

    def check(self, action) -> None:
        before = {b: (i.opened_at, i.announced) for b, i in self.policy.open_incidents().items()}
        muted_before = {b: self.policy._mute_reason(self.policy._bridges[b], self.now) for b in BRIDGES}
        produced = action()
        self.alerts += produced
        after = self.policy.open_incidents()

        for alert in produced:
            for bridge in alert.bridges:
                # Nothing is shown while a bridge is snoozed, paused or offline, except the
                # one message that a snooze ended, and a recovery that ends an until-recovery snooze.
                if alert.kind is AlertKind.SNOOZE_ENDED:
                    continue
                if alert.kind is AlertKind.RECOVERY and muted_before[bridge.id] in ("snooze", "pause"):
                    assert not self.policy._mute_reason(self.policy._bridges[bridge.id], self.now)
                    continue
                assert not muted_before[bridge.id], (alert.kind, muted_before[bridge.id])
                if alert.kind in (AlertKind.PROBLEM, AlertKind.UNSTABLE):
                    opened = after[bridge.id].opened_at
                    assert opened not in self.openings[bridge.id], "two openings for one incident"
                    self.openings[bridge.id].add(opened)

        for bridge, (opened_at, announced) in before.items():
            closed = bridge not in after or after[bridge].opened_at != opened_at
            recoveries = [
                a for a in produced if a.kind is AlertKind.RECOVERY and any(b.id == bridge for b in a.bridges)
            ]
            if closed and announced and not self.policy._mute_reason(self.policy._bridges[bridge], self.now):
                assert len(recoveries) == 1, "an announced incident closed without exactly one recovery"
            else:
                assert len(recoveries) <= 1

    def step(self, kind, seconds, bridge, status) -> None:
        if kind == "probe":
            self.advance(seconds)
            self.check(lambda: self.policy.observe(bridge, status, self.now))
        elif kind == "sleep":
            self.now += seconds  # nothing runs while asleep
            self.policy.wake(self.now)
        elif kind == "snooze":
            self.policy.snooze(bridge, self.now + seconds, self.now)
        elif kind == "snooze-recovery":
            self.policy.snooze(bridge, None, self.now)
        elif kind == "pause":
            self.policy.pause(self.now + seconds, self.now)
        elif kind == "offline":
            self.advance(seconds)
            self.check(lambda: self.policy.set_offline(True, self.now))
        elif kind == "online":
            self.advance(seconds)
            self.check(lambda: self.policy.set_offline(False, self.now))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_policy_invariants(sequence):
    run = Run()
    for step in sequence:
        run.step(*step)
    run.advance(3 * 86400)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 900), st.sampled_from(BRIDGES), st.sampled_from(BAD)), max_size=80))
def test_short_bad_streaks_never_notify(bad_probes):
    """Every bad probe is followed by a good one, so no streak reaches the threshold of two."""
    run = Run()
    for name in BRIDGES:
        run.check(lambda name=name: run.policy.observe(name, BridgeStatus.HEALTHY, run.now))
    for seconds, bridge, status in bad_probes:
        run.advance(seconds)
        run.check(lambda: run.policy.observe(bridge, status, run.now))
        run.advance(15)
        run.check(lambda: run.policy.observe(bridge, BridgeStatus.HEALTHY, run.now))
    run.advance(86400)
    assert run.alerts == []
