"""The benchmarks that start the tray app as a process: start-up, memory, BuildNotify, GUI stalls, idle CPU."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.core.config import BridgeConfig, Config, save_config
from app.core.model import ProbeKind

from harness import CHILDREN_DIR, REPO_DIR, Child, Farm, Row, child_env, cpu_seconds, log

APP_CHILD = str(CHILDREN_DIR / "app_gui.py")
STAGES = {
    "imported": "after importing app.gui.app",
    "constructed": "after QApplication and TrayApp were built",
    "first_poll": "at the first completed poll",
    "polls_done": "after 1,000 polls",
}
BARE_CHILD = str(CHILDREN_DIR / "bare_tray.py")
BUILDNOTIFY_VENV = REPO_DIR / "build" / "bench-buildnotify-venv"
PROFILE_DIR = REPO_DIR / "benchmarks" / "profiles"


def make_home(urls: list[str], interval: float = 60.0) -> Path:
    """Create a HOME whose Bridgewatch config (in the XDG config folder) watches one bridge per URL on /health."""
    home = Path(tempfile.mkdtemp(prefix="bridgewatch-bench-"))
    bridges = [
        BridgeConfig(name=f"bridge-{number:03d}", url=url, probe=ProbeKind.HEALTH, interval=interval)
        for number, url in enumerate(urls)
    ]
    save_config(home / "xdg-config" / "Bridgewatch" / "config.toml", Config(bridges=bridges))
    return home


def run_child(
    argv: list[str], home: Path | None, timeout: float, reports: int = 1, bench_keyring: bool = True
) -> list[tuple[dict, float]]:
    """Run a child to completion; return its reports, each with the seconds since creation."""
    child = Child(argv, child_env(home, bench_keyring=bench_keyring))
    try:
        return [child.read(timeout) for _ in range(reports)]
    finally:
        child.finish()


def run_app_polls(home: Path, polls: int) -> tuple[float, dict[str, float]]:
    """Run the tray app to `polls` completed polls; return the seconds to the first and the RSS (MiB) by stage."""
    child = Child([sys.executable, APP_CHILD, "polls", str(polls)], child_env(home))
    try:
        first, seconds = child.read_event("first_poll", 60)
        done, _ = child.read_event("polls_done", 120)
    finally:
        child.finish()
    stages = {report["event"]: report["rss_kib"] / 1024 for report in [*child.earlier, first, done]}
    return seconds, stages


def startup_rows(repetitions: int) -> list[Row]:
    """Start to first poll of one bridge, and memory after 1,000 polls of 10, against the bare tray script."""
    first_poll, after_polls, bare_start, bare_rss = [], [], [], []
    stages: dict[str, list[float]] = {}
    with Farm(["healthy", "healthy"]) as farm:
        one_home = make_home(farm.urls[:1])
        ten_home = make_home([farm.urls[number % 2] for number in range(10)])
        try:
            # One untimed run of each first, so no side pays for a cold file cache.
            run_child([sys.executable, BARE_CHILD, "tick"], None, 30)
            run_app_polls(one_home, 1)
            for repetition in range(repetitions):
                (bare, seconds), = run_child([sys.executable, BARE_CHILD, "tick"], None, 30)
                bare_start.append(seconds)
                bare_rss.append(bare["rss_kib"] / 1024)
                seconds, _ = run_app_polls(one_home, 1)
                first_poll.append(seconds)
                _, memory = run_app_polls(ten_home, 1000)
                after_polls.append(memory["polls_done"])
                for stage, mebibytes in memory.items():
                    stages.setdefault(stage, []).append(mebibytes)
                log(f"start-up {repetition + 1}/{repetitions}: app {first_poll[-1]:.2f} s, {after_polls[-1]:.0f} MiB; "
                    f"bare {bare_start[-1]:.2f} s, {bare_rss[-1]:.0f} MiB")
        finally:
            shutil.rmtree(one_home, ignore_errors=True)
            shutil.rmtree(ten_home, ignore_errors=True)
    return [
        Row(
            "Start to first completed poll of one loopback bridge, offscreen",
            "bare QApplication + QSystemTrayIcon, to its first event-loop tick",
            "s", first_poll, bare_start, "≤ 1.2×", 1.2,
        ),
        Row(
            "Resident memory after 1,000 polls of 10 bridges",
            "the same bare script, after its first tick",
            "MiB", after_polls, bare_rss, "≤ 1.15×", 1.15,
            notes=["Median resident memory of the 10-bridge app by stage: " + ", ".join(
                f"{STAGES.get(stage, stage)} {statistics.median(values):.0f} MiB" for stage, values in stages.items()
            )],
        ),
    ]


def ensure_buildnotify() -> tuple[Path | None, str]:
    """Create the throwaway virtualenv with BuildNotify from PyPI; return its Python, or None and why not."""
    python = BUILDNOTIFY_VENV / "bin" / "python"
    if python.exists() and (BUILDNOTIFY_VENV / ".installed").exists():
        return python, _describe_buildnotify(python, "made by an earlier run of the benchmark")
    shutil.rmtree(BUILDNOTIFY_VENV, ignore_errors=True)
    steps = [
        [sys.executable, "-m", "venv", str(BUILDNOTIFY_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "BuildNotify"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return None, f"`{' '.join(step[-3:])}` failed with exit code {done.returncode}: {done.stderr.strip()[-800:]}"
    (BUILDNOTIFY_VENV / ".installed").touch()
    return python, _describe_buildnotify(python, "created by this run")


def _describe_buildnotify(python: Path, origin: str) -> str:
    pip_show = subprocess.run(
        [str(python), "-m", "pip", "show", "BuildNotify"], capture_output=True, text=True, timeout=60
    ).stdout
    line = next((text for text in pip_show.splitlines() if text.startswith("Version:")), "Version: unknown")
    return (
        f"BuildNotify {line.split(':', 1)[1].strip()} from PyPI, in the throwaway virtualenv "
        f"{BUILDNOTIFY_VENV.relative_to(REPO_DIR)} ({origin}, not committed), started offscreen with an empty "
        "settings file through benchmarks/children/buildnotify_tick.py, which only wraps QApplication.exec."
    )


def buildnotify_rows(repetitions: int) -> tuple[list[Row], str]:
    """Start time and memory at the first tick, app with an empty config against BuildNotify with empty settings."""
    python, description = ensure_buildnotify()
    log(f"BuildNotify: {description}")
    if python is None:
        return [], description
    app_start, app_rss, peer_start, peer_rss = [], [], [], []
    app_home = make_home([])
    peer_home = Path(tempfile.mkdtemp(prefix="buildnotify-bench-"))
    settings = peer_home / "buildnotify.ini"
    peer_argv = [str(python), str(CHILDREN_DIR / "buildnotify_tick.py"), str(settings)]
    try:
        try:
            run_child(peer_argv, peer_home, 60)  # untimed warm-up runs, as for the start-up row
        except (RuntimeError, TimeoutError) as exc:
            return [], f"{description}, but it did not start offscreen: {exc}"
        run_child([sys.executable, APP_CHILD, "tick"], app_home, 60, bench_keyring=False)
        for repetition in range(repetitions):
            try:
                (peer, seconds), = run_child(peer_argv, peer_home, 60)
            except (RuntimeError, TimeoutError) as exc:
                return [], f"{description}, but it did not start offscreen: {exc}"
            peer_start.append(seconds)
            peer_rss.append(peer["rss_kib"] / 1024)
            (app, seconds), = run_child([sys.executable, APP_CHILD, "tick"], app_home, 60, bench_keyring=False)
            app_start.append(seconds)
            app_rss.append(app["rss_kib"] / 1024)
            log(f"BuildNotify {repetition + 1}/{repetitions}: app {app_start[-1]:.2f} s {app_rss[-1]:.0f} MiB; "
                f"BuildNotify {peer_start[-1]:.2f} s {peer_rss[-1]:.0f} MiB")
    finally:
        shutil.rmtree(app_home, ignore_errors=True)
        shutil.rmtree(peer_home, ignore_errors=True)
    note = (
        "Both with an empty config; the app then shows its first-run window, BuildNotify shows no window. "
        "The app runs without the benchmark's keyring setting, as on a user's desktop, and like every "
        "child without a session bus, so its keychain check loads neither keyring nor dbus-fast; with a "
        "session bus it loads dbus-fast (about 6 MiB), which notifications use as well."
    )
    return [
        Row("Start time to the first event-loop tick, empty config", "BuildNotify, same conditions",
            "s", app_start, peer_start, "lower than it (< 1×)", 1.0, notes=[note]),
        Row("Resident memory at the first event-loop tick, empty config", "BuildNotify, same conditions",
            "MiB", app_rss, peer_rss, "lower than it (< 1×)", 1.0),
    ], description


def stall_urls(farm_urls: list[str]) -> list[str]:
    """Return 200 bridge URLs: 150 on the three healthy simulators, 50 on the two hanging ones."""
    healthy = [farm_urls[number % 3] for number in range(150)]
    return healthy + [farm_urls[3 + number % 2] for number in range(50)]


def stall_rows(repetitions: int, seconds: float) -> list[Row]:
    """Longest gap of a 1 ms timer while 200 bridges are polled, 50 of them hanging.

    Alternates two runs: the bare tray script and the app.
    """
    app_max, bare_max = [], []
    notes = []
    argv = [sys.executable, APP_CHILD, "stall", str(seconds)]
    with Farm(["healthy"] * 3 + ["hang"] * 2) as farm:
        home = make_home(stall_urls(farm.urls), interval=5.0)
        try:
            for repetition in range(repetitions):
                (bare, _), = run_child([sys.executable, BARE_CHILD, "stall", str(seconds)], None, seconds + 30)
                bare_max.append(bare["max_ms"])
                (app, _), = run_child(argv, home, seconds + 60)
                app_max.append(app["max_ms"])
                longest = ", ".join(f"{gap:g} ms at {end:g} s" for gap, end in app["longest"][:3])
                notes.append(f"run {repetition + 1}: p99 of the gaps: app {app['p99_ms']:.1f} ms over {app['ticks']} "
                             f"ticks, bare {bare['p99_ms']:.1f} ms; the app's longest gaps: {longest} after the start")
                log(f"stall {repetition + 1}/{repetitions}: app {app_max[-1]:.1f} ms, bare {bare_max[-1]:.1f} ms")
            polled = farm.request_count()
        finally:
            shutil.rmtree(home, ignore_errors=True)
    notes.append(f"The simulators served {polled} requests in all ({repetitions} app runs of {seconds:g} s, "
                 "healthy bridges every 5 s; the hanging ones time out after 10 s).")
    return [
        Row(
            "Longest GUI event-loop stall, 200 bridges polled (50 hanging until their timeout)",
            "the same 1 ms QTimer in the bare tray script",
            "ms", app_max, bare_max, "under 20 ms", 20.0, notes=notes, absolute=True,
        ),
    ]


class IdleRun:
    """Idle CPU of the tray app with 10 healthy bridges every 60 s, measured in the background.

    It runs while the other benchmarks run, because a 5-minute window does not otherwise fit in
    the time budget. Only its own CPU time is measured, so their load changes the result little.

    The row measures the app as it idles on a desktop with a system tray: the icon shown, the
    window closed (children/app_gui.py reports a tray with BRIDGEWATCH_BENCH_TRAY=1). A second,
    diagnostic row measures the same app where no tray exists, as offscreen Qt runs it unchanged:
    then the window is the app and stays open, and it updates its "checked 12 s ago" texts.
    """

    def __init__(self, seconds: float, settle: float = 20.0) -> None:
        self.seconds = seconds
        self.settle = settle
        self.farm = Farm(["healthy"] * 2)
        self.home = make_home([self.farm.urls[number % 2] for number in range(10)])
        self.child = Child([sys.executable, APP_CHILD, "idle"], child_env(self.home, BRIDGEWATCH_BENCH_TRAY="1"))
        self.child.read_event("idle_ready", 60)  # every bridge polled once
        # The window app in its own HOME, because a second instance on one profile only signals
        # the first and exits.
        self.window_home = make_home([self.farm.urls[number % 2] for number in range(10)])
        self.window_app = Child([sys.executable, APP_CHILD, "idle"], child_env(self.window_home))
        self.window_app.read_event("idle_ready", 60)
        self.bare = Child([sys.executable, BARE_CHILD, "idle"], child_env())
        self.bare.read_event("idle_ready", 60)
        time.sleep(self.settle)
        self.bare_start_cpu = cpu_seconds(self.bare.process.pid)
        self.window_start_cpu = cpu_seconds(self.window_app.process.pid)
        self.start_cpu = cpu_seconds(self.child.process.pid)
        self.start_wall = time.monotonic()

    def finish(self, profile: bool = True) -> Row:
        """Return the idle row; `window_row` is set as well, and `profile` unless `profile` is False."""
        remaining = self.start_wall + self.seconds - time.monotonic()
        if remaining > 0:
            log(f"idle: waiting {remaining:.0f} s more for the idle window")
            time.sleep(remaining)
        used = cpu_seconds(self.child.process.pid) - self.start_cpu
        bare_used = cpu_seconds(self.bare.process.pid) - self.bare_start_cpu
        window_used = cpu_seconds(self.window_app.process.pid) - self.window_start_cpu
        wall = time.monotonic() - self.start_wall
        for other in (self.bare, self.window_app):
            other.kill()
            other.finish()
        shutil.rmtree(self.window_home, ignore_errors=True)
        self.window_row = Row(
            "The same idle CPU without a system tray, so with the window open (offscreen Qt's default)",
            "—", "% of one core", [window_used / wall * 100], None, "(diagnostic)", 0.2,
            notes=[f"{window_used:.2f} s of CPU in {wall:.0f} s, measured beside the row above. The window's "
                   "5 s timer rewrites the age of each bridge's last check, and for the first 2 minutes after "
                   "the start a 5 s timer looks for a tray that may appear."],
        )
        requests = self.farm.request_count()
        self.profile = profile_idle(self.child.process.pid) if profile else "no idle profile (partial run)"
        self.child.kill()
        self.child.finish()
        self.farm.close()
        shutil.rmtree(self.home, ignore_errors=True)
        percent = used / wall * 100
        return Row(
            f"Idle CPU, 10 healthy bridges every 60 s, over {wall / 60:.1f} minutes (tray icon shown, window closed)",
            "—", "% of one core", [percent], None, "≤ 0.2 %", 0.2,
            notes=[f"{used:.2f} s of CPU in {wall:.0f} s, counted in clock ticks of 10 ms. The simulators served "
                   f"{requests} requests since the start. Measured while the other benchmarks ran.",
                   f"The bare tray script, idle beside it over the same window: {bare_used:.2f} s of CPU "
                   f"({bare_used / wall * 100:.3f} % of one core)."],
        )


def profile_idle(pid: int, seconds: int = 45) -> str:
    """Sample every thread of the idle app with py-spy; write the busiest stacks and return a description."""
    raw = PROFILE_DIR / "idle-raw.txt"
    output = PROFILE_DIR / "idle.txt"
    PROFILE_DIR.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--duration", str(seconds),
        "--rate", "200", "--format", "raw", "--output", str(raw), "--threads", "--nonblocking",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no idle profile: py-spy could not run ({exc})"
    if done.returncode != 0 or not raw.exists():
        return f"no idle profile: py-spy exited with {done.returncode}: {done.stderr.strip()[-400:]}"
    stacks = []
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            stacks.append((int(count), stack))
    raw.unlink()
    stacks.sort(reverse=True)
    total = sum(count for count, _ in stacks)
    lines = [
        f"py-spy record --threads --rate 200 over {seconds} s of the idle tray app (10 healthy bridges every 60 s).",
        f"{total} samples of busy threads (py-spy skips idle ones), {total / 200:.2f} s of CPU; busiest stacks, "
        "innermost 6 frames:",
        "",
    ]
    for count, stack in stacks[:30]:
        frames = stack.split(";")
        lines.append(f"{count:6d}  {frames[0]} … {' ; '.join(frames[-6:])}")
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"all threads of the idle app (py-spy): `{output.relative_to(REPO_DIR)}`"
