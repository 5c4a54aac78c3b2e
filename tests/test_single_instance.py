"""Only one tray app runs per profile: tested with real `python -m app` processes, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

START_TIMEOUT = 20.0  # seconds for a tray app process to start listening
LISTENING = "Single-instance server listening"
ACTIVATED = "Another start asked for the window"


@pytest.fixture
def gui_env(bridgewatch_home):
    environment = dict(os.environ)  # BRIDGEWATCH_HOME is already the test's own folder
    environment["QT_QPA_PLATFORM"] = "offscreen"
    environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return environment


@pytest.fixture
def processes():
    """Started processes; each one still running at teardown is terminated.

    SIGTERM, not SIGINT: the app installs its SIGINT handler only once its window exists,
    and a SIGINT that arrives earlier does not end it.
    """
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def start_app(environment, processes) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "app"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    processes.append(process)
    return process


def wait_for_log(log_file, text: str, count: int = 1) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if log_file.exists() and log_file.read_text(encoding="utf-8").count(text) >= count:
            return
        time.sleep(0.05)
    content = log_file.read_text(encoding="utf-8") if log_file.exists() else "(no log file)"
    raise AssertionError(f"{text!r} not logged {count} times within {START_TIMEOUT:g} s:\n{content[-2000:]}")


def test_second_start_activates_first(gui_env, processes, bridgewatch_home):
    log_file = bridgewatch_home / "bridgewatch.log"
    first = start_app(gui_env, processes)
    wait_for_log(log_file, LISTENING)

    second = start_app(gui_env, processes)
    output, _ = second.communicate(timeout=START_TIMEOUT)
    wait_for_log(log_file, ACTIVATED)

    assert second.returncode == 0
    assert "already running" in output
    assert first.poll() is None
    assert log_file.read_text(encoding="utf-8").count(LISTENING) == 1


def test_lock_of_killed_process_taken_over(gui_env, processes, bridgewatch_home):
    log_file = bridgewatch_home / "bridgewatch.log"
    first = start_app(gui_env, processes)
    wait_for_log(log_file, LISTENING)
    first.kill()
    first.wait(timeout=10)

    second = start_app(gui_env, processes)
    wait_for_log(log_file, LISTENING, count=2)

    assert second.poll() is None


def test_other_profile_runs_separately(gui_env, processes, bridgewatch_home, tmp_path):
    first = start_app(gui_env, processes)
    wait_for_log(bridgewatch_home / "bridgewatch.log", LISTENING)
    other_home = tmp_path / "other-profile"
    other_env = dict(gui_env, BRIDGEWATCH_HOME=str(other_home))

    second = start_app(other_env, processes)
    wait_for_log(other_home / "bridgewatch.log", LISTENING)

    assert first.poll() is None
    assert second.poll() is None


def test_demo_removes_its_profile(gui_env, processes, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    gui_env["TMPDIR"] = str(temporary)  # where the demo's tempfile.mkdtemp creates its profile
    demo = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo"], env=gui_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    processes.append(demo)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and not list(temporary.glob("bridgewatch-demo-*/bridgewatch.log")):
        time.sleep(0.05)
    (log_file,) = temporary.glob("bridgewatch-demo-*/bridgewatch.log")
    wait_for_log(log_file, "-> healthy")  # the engine runs, so the quit handler is in place

    demo.terminate()

    assert demo.wait(timeout=START_TIMEOUT) == 0
    assert list(temporary.iterdir()) == []
