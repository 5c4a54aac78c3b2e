"""Shared pieces of the benchmarks: child processes, resident memory, simulator farms and result rows.

Every benchmark runs the app and its baseline alternately in one invocation and reports the
medians and their ratio. Absolute numbers vary on a shared machine, and the ratios vary less.
"""

from __future__ import annotations

import json
import os
import selectors
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
CHILDREN_DIR = BENCH_DIR / "children"
TOKEN = "benchmark-token-not-a-secret"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One line of the results table: the app's median against the baseline's, and the target."""

    measure: str
    baseline: str
    unit: str
    app: list[float]
    base: list[float] | None
    target: str
    limit: float  # the target as a number: a ratio when there is a baseline, else an absolute value
    lower_is_better: bool = True
    notes: list[str] = field(default_factory=list)
    absolute: bool = False  # the target applies to the app's median, the baseline is only for comparison

    @property
    def app_median(self) -> float:
        return statistics.median(self.app)

    @property
    def base_median(self) -> float | None:
        return statistics.median(self.base) if self.base else None

    @property
    def ratio(self) -> float | None:
        base = self.base_median
        if base is None or base == 0:
            return None
        return self.app_median / base

    @property
    def met(self) -> bool:
        value = self.ratio if self.base and not self.absolute else self.app_median
        if value is None:
            return False
        return value <= self.limit if self.lower_is_better else value >= self.limit


def median_text(values: list[float] | None, unit: str) -> str:
    if not values:
        return "-"
    middle = statistics.median(values)
    spread = f" ({number_text(min(values))}–{number_text(max(values))})" if len(values) > 1 else ""
    return f"{number_text(middle)} {unit}{spread}"


def number_text(value: float) -> str:
    """Format with three significant digits, without an exponent for values up to 10^6."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def rss_kib(pid: int | str = "self") -> int:
    """Return the resident set size of a process in KiB, read from /proc (Linux only)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS line for process {pid}")


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of a process, in seconds, read from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime field 14 and stime field 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def child_env(home: Path | None = None, *, bench_keyring: bool = True, **extra: str) -> dict[str, str]:
    """Return an environment for a child: offscreen Qt, no proxy, and `home` as HOME and XDG base folders.

    `bench_keyring=False` leaves out the keyring setting below, for runs that read no token: a
    configured backend makes the app load keyring at start, which a user's desktop does not.
    """
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = str(REPO_DIR)
    # The app children read every token from children/bench_keyring.py; the directory of a child's
    # script is first on its sys.path, and the others never load keyring.
    if bench_keyring:
        env["PYTHON_KEYRING_BACKEND"] = "bench_keyring.BenchmarkKeyring"
    else:
        env.pop("PYTHON_KEYRING_BACKEND", None)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # the same on both sides: no session bus
    env.pop("BRIDGEWATCH_HOME", None)
    if home is not None:
        # The platform's layout, as a user has it: config, data and logs in separate folders.
        # BRIDGEWATCH_HOME would put them in one, where every log or history write wakes the
        # config file watcher.
        env["HOME"] = str(home)
        env["XDG_CONFIG_HOME"] = str(home / "xdg-config")
        env["XDG_DATA_HOME"] = str(home / "xdg-data")
        env["XDG_CACHE_HOME"] = str(home / "xdg-cache")
        env["XDG_STATE_HOME"] = str(home / "xdg-state")
        env["XDG_RUNTIME_DIR"] = str(home / "xdg-runtime")
        (home / "xdg-runtime").mkdir(parents=True, exist_ok=True)
        os.chmod(home / "xdg-runtime", 0o700)
    env.update(extra)
    return env


class Child:
    """A benchmark child process that reports on stdout with lines of JSON.

    `started` is the monotonic time just before the process was created, so a parent can
    measure from creation to a report line, interpreter start-up included.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        # Bytes read from stdout but not yet returned. The fd is read directly, because select()
        # cannot see lines that a buffered readline() has already taken from the pipe.
        self._unread = b""
        self.earlier: list[dict] = []

    def read(self, timeout: float) -> tuple[dict, float]:
        """Return the next JSON report and the seconds since creation when it arrived."""
        deadline = time.monotonic() + timeout
        while True:
            line, newline, rest = self._unread.partition(b"\n")
            if newline:
                self._unread = rest
                if line.startswith(b"{"):
                    return json.loads(line), time.monotonic() - self.started
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                self.kill()
                raise TimeoutError(f"{self.process.args[:3]} sent no report within {timeout:g} s")
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                stderr = self.process.stderr.read()
                raise RuntimeError(f"{self.process.args[:3]} exited with {self.process.wait()}:\n{stderr[-3000:]}")
            self._unread += chunk

    def read_event(self, event: str, timeout: float) -> tuple[dict, float]:
        """Return the next report whose "event" is `event`, keeping the reports before it in `earlier`."""
        deadline = time.monotonic() + timeout
        while True:
            report, arrived = self.read(max(0.1, deadline - time.monotonic()))
            if report.get("event") == event:
                return report, arrived
            self.earlier.append(report)

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 10) -> None:
        """Close stdin (each child stops on end of input) and wait; kill it past `timeout`."""
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._selector.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Farm:
    """Simulated bridges served by a separate process, so their CPU time and memory never count.

    `scenarios` gives one scenario per simulator; `set(index, scenario)` changes one later.
    """

    def __init__(self, scenarios: list[str]) -> None:
        self.child = Child([sys.executable, str(BENCH_DIR / "simfarm.py"), *scenarios], child_env())
        report, _ = self.child.read(30)
        self.urls: list[str] = report["urls"]

    def set(self, index: int, scenario: str) -> None:
        self.child.send(f"set {index} {scenario}")
        self.child.read(10)

    def request_count(self) -> int:
        self.child.send("count")
        report, _ = self.child.read(10)
        return report["count"]

    def close(self) -> None:
        self.child.finish()

    def __enter__(self) -> "Farm":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
