"""The replay: the real policy over recorded timelines, on a fake clock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.replay import ReplayError, load_timeline, run_replay

DATA = Path(__file__).parent / "data"


def test_day_timeline_exact_notifications():
    """A 24-hour day with blips, outages, a network loss, a snooze and a sleep.

    The expected list was checked by hand: blips, the network loss and the degraded
    bridge's long incident raise nothing; simultaneous problems share one notification.
    """
    produced = run_replay(load_timeline(DATA / "day_timeline.json"))
    expected = [json.loads(line) for line in (DATA / "day_expected.jsonl").read_text().splitlines()]
    assert produced == expected


def test_day_timeline_key_facts():
    produced = run_replay(load_timeline(DATA / "day_timeline.json"))
    kinds = [n["kind"] for n in produced]
    assert kinds.count("unstable") == 1
    assert kinds.count("snooze_ended") == 1
    assert kinds.count("reminder") == 3
    grouped = [n for n in produced if n["title"] == "2 bridges have problems"]
    assert len(grouped) == 3
    # Nothing between the network loss at 10:00 and the first check after it returned.
    assert not [n for n in produced if 36000 <= n["t"] < 37230]
    # Nothing while the machine slept from 20:00 to 22:00.
    assert not [n for n in produced if 72000 <= n["t"] < 79200]
    recoveries = [n for n in produced if n["kind"] == "recovery"]
    assert all(n["bridges"][0]["downtime_seconds"] > 0 for n in recoveries)


def test_replay_blip_not_notified():
    timeline = {
        "bridges": ["eu"],
        "events": [
            {"t": 300, "bridge": "eu", "status": "unhealthy", "components": {"RedisCache": "unhealthy"}},
            {"t": 305, "bridge": "eu", "status": "healthy"},
        ],
    }
    assert run_replay(timeline) == []


def test_replay_outage_shows_latency_and_downtime():
    timeline = {
        "bridges": [{"name": "eu", "interval": 60}],
        "events": [
            {"t": 300, "bridge": "eu", "status": "unreachable"},
            {"t": 900, "bridge": "eu", "status": "healthy"},
        ],
    }
    problem, recovery = run_replay(timeline)
    assert problem["kind"] == "problem"
    assert 300 < problem["t"] < 300 + 60 + 15 + 10 + 1  # one interval, one confirmation, the group window
    assert problem["bridges"] == [{"name": "eu", "status": "unreachable"}]
    assert recovery["kind"] == "recovery"
    assert 550 < recovery["bridges"][0]["downtime_seconds"] < 700


def test_replay_settings_change_outcome():
    timeline = {
        "bridges": ["eu"],
        "settings": {"confirm_bad": 5},
        "events": [
            {"t": 300, "bridge": "eu", "status": "unhealthy"},
            {"t": 340, "bridge": "eu", "status": "healthy"},
        ],
    }
    assert run_replay(timeline) == []


@pytest.mark.parametrize(
    ("timeline", "message_part"),
    [
        ([], "JSON object"),
        ({"bridges": [], "events": []}, "non-empty `bridges`"),
        ({"bridges": ["eu"], "events": [{"t": -1, "bridge": "eu", "status": "healthy"}]}, "events[0].t"),
        ({"bridges": ["eu"], "events": [{"t": 1, "bridge": "us", "status": "healthy"}]}, "events[0].bridge"),
        ({"bridges": ["eu"], "events": [{"t": 1, "bridge": "eu", "status": "down"}]}, "events[0].status"),
        ({"bridges": ["eu"], "events": [{"t": 1, "event": "reboot"}]}, "events[0].event"),
        ({"bridges": ["eu"], "events": [{"t": 1, "event": "sleep"}]}, "events[0].seconds"),
        ({"bridges": ["eu", "eu"], "events": []}, "listed twice"),
        ({"bridges": ["eu"], "settings": {"confirm_bad": 0}, "events": []}, "settings.confirm_bad"),
    ],
)
def test_replay_rejects_bad_timeline(timeline, message_part):
    with pytest.raises(ReplayError) as raised:
        run_replay(timeline)
    assert message_part in str(raised.value)


def test_replay_command_prints_json_lines(tmp_path):
    path = tmp_path / "timeline.json"
    path.write_text(json.dumps({
        "bridges": ["eu", "us"],
        "events": [
            {"t": 100, "bridge": "eu", "status": "unhealthy"},
            {"t": 102, "bridge": "us", "status": "unhealthy"},
            {"t": 1000, "bridge": "eu", "status": "healthy"},
            {"t": 1000, "bridge": "us", "status": "healthy"},
        ],
    }))
    completed = subprocess.run(
        [sys.executable, "-m", "app", "replay", str(path)], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["problem", "recovery", "recovery"]
    assert set(lines[0]) == {"t", "kind", "bridges", "title", "body"}
    assert lines[0]["title"] == "2 bridges have problems"


def test_replay_command_bad_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    completed = subprocess.run(
        [sys.executable, "-m", "app", "replay", str(path)], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 3
    assert "not valid JSON" in completed.stderr
    assert str(path) in completed.stderr
