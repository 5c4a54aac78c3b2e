"""The alert policy on a fake clock: confirmation, incidents, reminders, flapping, offline, snoozes."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from app.core.model import BridgeStatus
from app.core.policy import AlertKind, AlertPolicy, PolicySettings, PolicySettingsError, tomorrow_at

H = BridgeStatus.HEALTHY
D = BridgeStatus.DEGRADED
U = BridgeStatus.UNHEALTHY
X = BridgeStatus.UNREACHABLE
A = BridgeStatus.UNAUTHORIZED
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Driver:
    """Feed a policy probe outcomes on a fake time line and collect every alert."""

    def __init__(self, settings=None, bridges=("eu",), interval=60.0):
        self.policy = AlertPolicy(settings or PolicySettings(), seed=1)
        self.now = T0
        self.alerts = []
        for name in bridges:
            self.policy.add_bridge(name, name, interval)

    def at(self, seconds):
        """Move to T0 + seconds, running the policy's timers on the way."""
        target = T0 + seconds
        while True:
            due = self.policy.next_timer(self.now)
            if due is None or due > target:
                break
            self.now = max(self.now, due)
            self.alerts += self.policy.tick(self.now)
        self.now = target
        self.alerts += self.policy.tick(self.now)
        return self

    def probe(self, seconds, bridge, status, failing=(), detail=""):
        self.at(seconds)
        self.alerts += self.policy.observe(bridge, status, self.now, failing=list(failing), detail=detail)
        return self

    def kinds(self):
        return [alert.kind for alert in self.alerts]


def test_first_healthy_check_is_silent():
    driver = Driver().probe(0, "eu", H).at(3600)
    assert driver.alerts == []
    assert driver.policy.view("eu").confirmed is H


def test_single_bad_probe_not_notified():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U, ["RedisCache"]).probe(75, "eu", H).at(3600)
    assert driver.alerts == []


def test_unconfirmed_problem_shows_checking():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U)
    view = driver.policy.view("eu")
    assert view.checking
    assert view.confirmed is H


def test_two_bad_probes_open_incident():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U, ["RedisCache"]).probe(75, "eu", U, ["RedisCache"])
    assert driver.alerts == []  # waiting for the grouping window
    driver.at(85)
    assert driver.kinds() == [AlertKind.PROBLEM]
    alert = driver.alerts[0]
    assert alert.title == "eu is unhealthy"
    assert "RedisCache" in alert.body
    assert alert.bridges[0].status is U


def test_bad_probes_of_different_kinds_do_not_confirm():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U).probe(75, "eu", D).probe(90, "eu", U).at(3600)
    assert driver.alerts == []


def test_recovery_needs_two_good_probes():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U).probe(75, "eu", U).at(100)
    driver.probe(600, "eu", H)
    assert driver.kinds() == [AlertKind.PROBLEM]
    driver.probe(615, "eu", H)
    assert driver.kinds() == [AlertKind.PROBLEM, AlertKind.RECOVERY]
    recovery = driver.alerts[1]
    assert recovery.bridges[0].downtime_seconds == 555.0  # from the first bad probe
    assert "after 9 min" in recovery.body


def test_recovery_names_recovered_components():
    driver = Driver().probe(0, "eu", H)
    driver.probe(60, "eu", U, ["RedisCache"]).probe(75, "eu", U, ["RedisCache", "SCIMServer"]).at(100)
    driver.probe(200, "eu", H).probe(215, "eu", H)
    assert "Recovered components: RedisCache, SCIMServer." in driver.alerts[-1].body


def test_escalation_notified_once_per_step():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", D).probe(75, "eu", D).at(100)
    driver.probe(200, "eu", U, ["RedisCache"]).probe(215, "eu", U, ["RedisCache"])
    driver.probe(300, "eu", X, detail="Connection refused.").probe(315, "eu", X, detail="Connection refused.")
    assert driver.kinds() == [AlertKind.PROBLEM, AlertKind.ESCALATION, AlertKind.ESCALATION]
    assert driver.alerts[1].title == "eu is now unhealthy"
    assert driver.alerts[2].title == "eu is now unreachable"


def test_unreachable_suppresses_components():
    driver = Driver().probe(0, "eu", H)
    driver.probe(60, "eu", X, ["RedisCache"], "Connection refused.").probe(75, "eu", X, ["RedisCache"], "Connection refused.")
    driver.at(100)
    assert driver.alerts[0].body == "Connection refused."
    assert "RedisCache" not in driver.alerts[0].body


def test_recovery_states_worst_status():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", X).probe(75, "eu", X).at(100)
    driver.probe(200, "eu", U).probe(215, "eu", U).probe(300, "eu", H).probe(315, "eu", H)
    assert "worst: unreachable" in driver.alerts[-1].body


def test_reminder_schedule():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U).probe(75, "eu", U)
    driver.at(75 + 17 * 3600)
    reminders = [a for a in driver.alerts if a.kind is AlertKind.REMINDER]
    offsets = [round(a.at - T0 - 60) for a in reminders]  # the incident began with the first bad probe
    assert offsets == [1800, 7200, 7200 + 28800]


def test_no_reminder_after_recovery():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U).probe(75, "eu", U)
    driver.probe(600, "eu", H).probe(615, "eu", H).at(48 * 3600)
    assert AlertKind.REMINDER not in driver.kinds()


def test_degraded_reminders_off_by_default():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", D).probe(75, "eu", D).at(3 * 3600)
    assert driver.kinds() == [AlertKind.PROBLEM]


def test_degraded_reminders_when_enabled():
    driver = Driver(PolicySettings(remind_degraded=True)).probe(0, "eu", H).probe(60, "eu", D).probe(75, "eu", D)
    driver.at(3 * 3600)
    assert driver.kinds() == [AlertKind.PROBLEM, AlertKind.REMINDER, AlertKind.REMINDER]


def test_notify_type_switched_off():
    driver = Driver(PolicySettings(notify_degraded=False)).probe(0, "eu", H).probe(60, "eu", D).probe(75, "eu", D)
    driver.probe(200, "eu", H).probe(215, "eu", H).at(3 * 3600)
    assert driver.alerts == []


def test_degraded_off_then_unhealthy_is_announced():
    driver = Driver(PolicySettings(notify_degraded=False)).probe(0, "eu", H).probe(60, "eu", D).probe(75, "eu", D)
    driver.probe(200, "eu", U).probe(215, "eu", U).at(300)
    assert driver.kinds() == [AlertKind.PROBLEM]
    assert driver.alerts[0].title == "eu is unhealthy"


def test_flapping_opens_one_unstable_incident():
    driver = Driver().probe(0, "eu", H)
    t = 60
    for status in (U, H, U, H, U, H, U, H):
        driver.probe(t, "eu", status).probe(t + 15, "eu", status)
        t += 60
    kinds = driver.kinds()
    assert kinds.count(AlertKind.UNSTABLE) == 1
    assert kinds.index(AlertKind.UNSTABLE) == len(kinds) - 1  # nothing per flip after it
    unstable_at = driver.alerts[-1].at
    driver.at(unstable_at - T0 + 899)
    assert driver.kinds()[-1] is AlertKind.UNSTABLE
    driver.at(t + 900)
    assert driver.kinds()[-1] is AlertKind.RECOVERY


def test_unstable_settles_into_problem():
    driver = Driver().probe(0, "eu", H)
    t = 60
    for status in (U, H, U, H, U):
        driver.probe(t, "eu", status).probe(t + 15, "eu", status)
        t += 60
    count = len(driver.alerts)
    driver.at(t + 3000)
    new = driver.kinds()[count:]
    assert AlertKind.RECOVERY not in new
    assert driver.policy.open_incidents()["eu"].unstable is False


def test_offline_raises_no_alert():
    driver = Driver(bridges=("eu", "us")).probe(0, "eu", H).probe(0, "us", H)
    driver.alerts += driver.policy.set_offline(True, T0 + 50)
    driver.probe(60, "eu", X).probe(75, "eu", X).probe(60, "us", X).probe(75, "us", X).at(3600)
    assert driver.alerts == []
    assert driver.policy.next_probe_delay("eu", T0 + 3600) is None


def test_online_waits_then_checks_all():
    driver = Driver().probe(0, "eu", H)
    driver.policy.set_offline(True, T0 + 50)
    driver.policy.set_offline(False, T0 + 500)
    assert driver.policy.next_probe_delay("eu", T0 + 500) == pytest.approx(30.0)
    driver.probe(510, "eu", X).probe(520, "eu", X)  # inside the wait: ignored
    driver.at(2000)
    assert driver.alerts == []


def test_problem_before_offline_needs_reconfirmation():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U).probe(75, "eu", U)
    driver.policy.set_offline(True, T0 + 76)  # inside the grouping window: not shown yet
    driver.policy.set_offline(False, T0 + 600)
    driver.at(700)
    assert driver.alerts == []
    driver.probe(700, "eu", U).probe(715, "eu", U).at(730)
    assert driver.kinds() == [AlertKind.PROBLEM]


def test_wake_from_sleep_ignores_results_briefly():
    driver = Driver().probe(0, "eu", H)
    driver.policy.wake(T0 + 5000)
    driver.probe(5010, "eu", X).probe(5020, "eu", X).at(5029)
    assert driver.alerts == []
    assert driver.policy.view("eu").confirmed is H


def test_grouping_within_window():
    driver = Driver(bridges=("eu", "us")).probe(0, "eu", H).probe(0, "us", H)
    driver.probe(60, "eu", U).probe(63, "us", X).probe(75, "eu", U).probe(78, "us", X).at(120)
    assert driver.kinds() == [AlertKind.PROBLEM]
    alert = driver.alerts[0]
    assert alert.title == "2 bridges have problems"
    assert [(b.name, b.status) for b in alert.bridges] == [("eu", U), ("us", X)]


def test_grouping_window_expires():
    driver = Driver(bridges=("eu", "us")).probe(0, "eu", H).probe(0, "us", H)
    driver.probe(60, "eu", U).probe(75, "eu", U).probe(100, "us", X).probe(115, "us", X).at(200)
    assert driver.kinds() == [AlertKind.PROBLEM, AlertKind.PROBLEM]


def test_snooze_silences_then_says_once():
    driver = Driver().probe(0, "eu", H)
    driver.policy.snooze("eu", T0 + 3600, T0 + 10)
    driver.probe(60, "eu", U).probe(75, "eu", U).at(3599)
    assert driver.alerts == []
    driver.at(3601)
    assert driver.kinds() == [AlertKind.SNOOZE_ENDED]
    assert driver.alerts[0].title == "eu is still unhealthy"
    driver.at(3700)
    assert driver.kinds() == [AlertKind.SNOOZE_ENDED]


def test_snooze_until_recovery():
    driver = Driver().probe(0, "eu", H).probe(60, "eu", U).probe(75, "eu", U).at(100)
    driver.policy.snooze("eu", None, T0 + 100)
    driver.at(30000)
    assert driver.kinds() == [AlertKind.PROBLEM]  # no reminders while snoozed
    driver.probe(30000, "eu", H).probe(30015, "eu", H)
    assert driver.kinds() == [AlertKind.PROBLEM, AlertKind.RECOVERY]
    assert driver.policy.view("eu").snoozed_until_recovery is False


def test_snoozed_bridge_shows_real_state():
    driver = Driver().probe(0, "eu", H)
    driver.policy.snooze("eu", T0 + 3600, T0)
    driver.probe(60, "eu", X).probe(75, "eu", X)
    assert driver.policy.view("eu").confirmed is X


def test_pause_all_and_resume():
    driver = Driver(bridges=("eu", "us")).probe(0, "eu", H).probe(0, "us", H)
    driver.policy.pause(T0 + 7200, T0 + 10)
    driver.probe(60, "eu", U).probe(75, "eu", U).at(7199)
    assert driver.alerts == []
    driver.at(7201)
    assert driver.kinds() == [AlertKind.SNOOZE_ENDED]


def test_pause_until_all_recover():
    driver = Driver(bridges=("eu", "us")).probe(0, "eu", H).probe(0, "us", H)
    driver.policy.pause(None, T0 + 10)
    driver.probe(60, "eu", U).probe(75, "eu", U).probe(600, "eu", H).probe(615, "eu", H)
    assert driver.alerts == []
    assert driver.policy.pause_until_recovery is False
    driver.probe(700, "us", U).probe(715, "us", U).at(800)
    assert driver.kinds() == [AlertKind.PROBLEM]


def test_restart_keeps_open_incident():
    first = Driver().probe(0, "eu", H).probe(60, "eu", U).probe(75, "eu", U).at(100)
    saved = json.loads(json.dumps(first.policy.to_dict()))

    second = Driver()
    second.policy.restore(saved)
    second.now = T0 + 5000
    second.probe(5000, "eu", U).probe(5015, "eu", U)
    assert AlertKind.PROBLEM not in second.kinds()
    assert second.policy.view("eu").confirmed is U


def test_recovery_while_closed_notified_on_start():
    first = Driver().probe(0, "eu", H).probe(60, "eu", U).probe(75, "eu", U).at(100)
    saved = json.loads(json.dumps(first.policy.to_dict()))

    second = Driver()
    second.policy.restore(saved)
    second.now = T0 + 900
    second.probe(900, "eu", H).probe(915, "eu", H)
    assert second.kinds() == [AlertKind.RECOVERY]
    assert second.alerts[0].bridges[0].downtime_seconds == 855.0


def test_restore_ignores_garbage():
    driver = Driver()
    driver.policy.restore({"version": 1, "bridges": {"eu": {"confirmed": "nonsense", "incident": {"x": 1}}}})
    assert driver.policy.view("eu").confirmed is BridgeStatus.UNKNOWN
    assert driver.policy.open_incidents() == {}


def test_unknown_outcome_never_counts():
    driver = Driver().probe(0, "eu", H)
    for t in range(60, 600, 15):
        driver.probe(t, "eu", BridgeStatus.UNKNOWN)
    assert driver.alerts == []
    assert driver.policy.view("eu").checking is False


@pytest.mark.parametrize("seed", range(5))
def test_probe_delay_has_jitter(seed):
    policy = AlertPolicy(PolicySettings(), seed=seed)
    policy.add_bridge("eu", "eu", 60.0)
    delays = [policy.next_probe_delay("eu", T0) for _ in range(50)]
    assert min(delays) >= 54.0
    assert max(delays) <= 66.0
    assert len(set(delays)) > 1


def test_fast_interval_while_unconfirmed():
    policy = AlertPolicy(PolicySettings(jitter=0), seed=0)
    policy.add_bridge("eu", "eu", 60.0)
    policy.observe("eu", H, T0)
    assert policy.next_probe_delay("eu", T0) == 60.0
    policy.observe("eu", U, T0 + 60)
    assert policy.next_probe_delay("eu", T0 + 60) == 15.0


def test_unreachable_backs_off():
    policy = AlertPolicy(PolicySettings(jitter=0), seed=0)
    policy.add_bridge("eu", "eu", 60.0)
    policy.observe("eu", H, T0)
    delays = []
    for step in range(5):
        policy.observe("eu", X, T0 + 100 + step)
        delays.append(policy.next_probe_delay("eu", T0 + 100 + step))
    assert delays == [15.0, 30.0, 60.0, 60.0, 60.0]


def test_tomorrow_at_is_next_day():
    noon = T0 + 12 * 3600
    moment = tomorrow_at(noon, 9)
    assert 0 < moment - noon <= 2 * 86400
    local = datetime.fromtimestamp(moment).astimezone()
    assert (local.hour, local.minute) == (9, 0)


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        ({"confirm_bad": 0}, "confirm_bad"),
        ({"jitter": 0.9}, "jitter"),
        ({"notify_recovery": "yes"}, "true or false"),
        ({"reminder_first": -1}, "reminder_first"),
        ({"nonsense": 1}, "not a known setting"),
    ],
)
def test_settings_reject_bad_values(data, message_part):
    with pytest.raises(PolicySettingsError) as raised:
        PolicySettings.from_dict(data)
    assert message_part in str(raised.value)


def test_settings_from_dict_accepts_known():
    settings = PolicySettings.from_dict({"confirm_bad": 3, "reminder_first": 600, "notify_degraded": False})
    assert settings.confirm_bad == 3
    assert settings.reminder_first == 600.0
    assert settings.notify_degraded is False
