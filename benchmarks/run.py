"""Run every benchmark against its baseline and write benchmarks/RESULTS.md (`make bench`).

The idle-CPU measurement runs in the background during the others, so the whole run fits in
about 8 minutes on 2 cores. `--quick` shortens every benchmark, for trying the harness only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from harness import BENCH_DIR, CHILDREN_DIR, REPO_DIR, Child, Farm, Row, child_env, log, median_text
import gui_rows
import poll_cost

PROFILE_DIR = BENCH_DIR / "profiles"
RAW_RESULTS = BENCH_DIR / "results.json"  # every measured value of the last run, for --render-only
GROUPS = ("startup", "buildnotify", "polls", "stall", "idle", "day")  # the groups of rows that --only selects


def day_rows(repetitions: int) -> Row:
    """Memory after 24 simulated hours with faults against after the first hour, each run in its own process."""
    first_hour, full_day, notes = [], [], []
    for repetition in range(repetitions):
        child = Child([sys.executable, str(CHILDREN_DIR / "day_memory.py")], child_env())
        try:
            hour, _ = child.read(300)
            day, _ = child.read(600)
            done, _ = child.read(60)
        finally:
            child.finish()
        first_hour.append(hour["rss_kib"] / 1024)
        full_day.append(day["rss_kib"] / 1024)
        notes.append(
            f"run {repetition + 1}: {day['polls']} polls, {day['alerts']} alerts; Python's allocated blocks "
            f"{hour['blocks']} after 1 h, {day['blocks']} after 24 h ({done['seconds']:.0f} s of real time)"
        )
        log(f"24 h {repetition + 1}/{repetitions}: {first_hour[-1]:.1f} -> {full_day[-1]:.1f} MiB")
    return Row(
        "Resident memory after 24 simulated hours with faults (fake clock, engine and policy)",
        "the same process after the first simulated hour",
        "MiB", full_day, first_hour, "growth under 5 % (< 1.05×)", 1.05, notes=notes,
    )


def profile_startup() -> str:
    """Profile the tray app's start with an empty config, to its first tick; return the report path."""
    output = PROFILE_DIR / "startup.txt"
    home = gui_rows.make_home([])
    command = [
        sys.executable, "-m", "pyinstrument", "--renderer", "text", "--outfile", str(output),
        str(CHILDREN_DIR / "app_gui.py"), "tick",
    ]
    subprocess.run(command, env=child_env(home), capture_output=True, text=True, timeout=120, check=True)
    return str(output.relative_to(REPO_DIR))


def profile_stall(seconds: float) -> str:
    """Profile the GUI thread while 200 bridges are polled, 50 hanging; return the report path."""
    output = PROFILE_DIR / "stall.txt"
    with Farm(["healthy"] * 3 + ["hang"] * 2) as farm:
        home = gui_rows.make_home(gui_rows.stall_urls(farm.urls), interval=5.0)
        command = [
            sys.executable, "-m", "pyinstrument", "--renderer", "text", "--outfile", str(output),
            str(CHILDREN_DIR / "app_gui.py"), "stall", str(seconds),
        ]
        subprocess.run(command, env=child_env(home), capture_output=True, text=True, timeout=seconds + 120, check=True)
    return str(output.relative_to(REPO_DIR))


def profile_polls() -> str:
    """Profile 1,000 polls through the engine; return the report path."""
    from pyinstrument import Profiler

    output = PROFILE_DIR / "polls.txt"
    with Farm(["healthy", "healthy"]) as farm:
        urls = [farm.urls[number % 2] for number in range(poll_cost.BRIDGES)]
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        asyncio.run(poll_cost.engine_polls(urls, poll_cost.ROUNDS))
        profiler.stop()
    output.write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
    return str(output.relative_to(REPO_DIR))


def import_counts() -> dict[str, int]:
    """Return how many modules `python -c 'import X'` loads for the entry points that matter."""
    counts = {}
    for label, code in [
        ("python itself", "pass"),
        ("import app.cli (bridgewatch --version, check, list)", "import app.cli"),
        ("import app.core.engine", "import app.core.engine"),
        ("import app.gui.app (the tray app)", "import app.gui.app"),
    ]:
        done = subprocess.run(
            [sys.executable, "-c", f"import sys\n{code}\nprint(len(sys.modules))"],
            env=child_env(), capture_output=True, text=True, timeout=60, check=True,
        )
        counts[label] = int(done.stdout.strip())
    return counts


def machine_description() -> list[str]:
    cpu = "unknown processor"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import PySide6
    import httpx

    return [
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB of memory, {platform.platform()}",
        f"Python {platform.python_version()}, PySide6 {PySide6.__version__}, httpx {httpx.__version__}, "
        "Qt platform `offscreen`, no D-Bus session bus",
        "A shared machine: other processes may have run during the measurement.",
    ]


def write_results(path: Path, rows: list[Row], context: dict) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{context['command']}` on {context['date']} in {context['wall']:.0f} s of wall time.",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in machine_description()],
        "",
        "## Results",
        "",
        "Medians of alternating runs of the app and its baseline in one invocation; the range "
        "(minimum–maximum) follows in brackets. The ratio is app ÷ baseline.",
        "",
        "| Measure | App | Baseline | Ratio | Target | Met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "-"
        met = "yes" if row.met else "**no**"
        if row.target.startswith("("):
            met = "-"
        lines.append(
            f"| {row.measure} | {median_text(row.app, row.unit)} | {row.baseline}: "
            f"{median_text(row.base, row.unit)} | {ratio} | {row.target} | {met} |"
        )
    lines += ["", "## Notes on the rows", ""]
    for row in rows:
        for note in row.notes:
            lines.append(f"- {row.measure}: {note}")
    lines += ["", "## BuildNotify baseline", "", context["buildnotify"], ""]
    lines += ["## Modules imported", "", "| Import | Modules in sys.modules |", "| --- | --- |"]
    lines += [f"| {label} | {count} |" for label, count in context["imports"].items()]
    lines += ["", "## Profiles", ""]
    lines += [f"- {line}" for line in context["profiles"]]
    analysis = BENCH_DIR / "ANALYSIS.md"
    if analysis.exists():
        lines += ["", analysis.read_text(encoding="utf-8").rstrip()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and a 1-minute idle window")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md", help="the results file to write")
    parser.add_argument(
        "--render-only", action="store_true", help=f"only write the results file again from {RAW_RESULTS.name}"
    )
    parser.add_argument(
        "--only", action="append", choices=GROUPS, metavar="GROUP",
        help=f"run only this group of rows, repeatable ({', '.join(GROUPS)}); needs --output, so that a "
        "partial run never replaces RESULTS.md",
    )
    args = parser.parse_args()
    if args.render_only:
        return render_only(args.output)
    if args.only:
        if args.output == BENCH_DIR / "RESULTS.md":
            parser.error("--only writes a partial table: give --output with another file, such as /tmp/partial.md")
        return run_only(args)
    started = time.monotonic()
    repetitions = 2 if args.quick else 5

    idle: dict[str, object] = {}

    def measure_idle() -> None:
        try:
            run = gui_rows.IdleRun(60.0 if args.quick else 300.0)
            idle["row"] = run.finish()
            idle["window_row"] = run.window_row
            idle["profile"] = run.profile
        except Exception as exc:  # reported in the results instead of losing the other rows
            idle["error"] = f"{type(exc).__name__}: {exc}"

    idle_thread = threading.Thread(target=measure_idle, name="idle-cpu")
    idle_thread.start()

    rows: list[Row] = []
    rows += gui_rows.startup_rows(repetitions)
    peer_rows, buildnotify_text = gui_rows.buildnotify_rows(repetitions)
    rows += peer_rows
    rows += poll_cost.poll_rows(repetitions)
    rows += gui_rows.stall_rows(2 if args.quick else 3, 8.0 if args.quick else 15.0)
    rows.append(day_rows(1 if args.quick else 2))

    profiles = []
    try:
        PROFILE_DIR.mkdir(exist_ok=True)
        profiles.append(f"start-up of the tray app to its first tick (pyinstrument): `{profile_startup()}`")
        profiles.append(f"1,000 polls through the engine (pyinstrument): `{profile_polls()}`")
        profiles.append(f"GUI thread during the stall benchmark (pyinstrument): `{profile_stall(8.0 if args.quick else 15.0)}`")
    except (ImportError, subprocess.CalledProcessError) as exc:
        profiles.append(f"no profile: {exc} (`make bench` installs pyinstrument from the `bench` extra)")

    idle_thread.join()
    if "row" in idle:
        rows.insert(-1, idle["row"])
        rows.insert(-1, idle["window_row"])
        profiles.append(idle["profile"])
    else:
        log(f"idle CPU failed: {idle.get('error')}")

    context = {
        "command": "make bench" + (" (python benchmarks/run.py --quick)" if args.quick else ""),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall": time.monotonic() - started,
        "buildnotify": buildnotify_text,
        "imports": import_counts(),
        "profiles": profiles,
    }
    RAW_RESULTS.write_text(
        json.dumps({"rows": [dataclasses.asdict(row) for row in rows], "context": context}, indent=1) + "\n",
        encoding="utf-8",
    )
    write_results(args.output, rows, context)
    log(f"wrote {args.output} and {RAW_RESULTS.name} after {context['wall']:.0f} s")
    return 0


def run_only(args) -> int:
    """Run the chosen groups of rows in the foreground and write them to `args.output`, without profiles."""
    started = time.monotonic()
    repetitions = 2 if args.quick else 5
    seconds = 8.0 if args.quick else 15.0
    rows: list[Row] = []
    buildnotify_text = "not run"
    for group in args.only:
        if group == "startup":
            rows += gui_rows.startup_rows(repetitions)
        elif group == "buildnotify":
            peer_rows, buildnotify_text = gui_rows.buildnotify_rows(repetitions)
            rows += peer_rows
        elif group == "polls":
            rows += poll_cost.poll_rows(repetitions)
        elif group == "stall":
            rows += gui_rows.stall_rows(2 if args.quick else 3, seconds)
        elif group == "idle":
            run = gui_rows.IdleRun(60.0 if args.quick else 300.0)
            rows += [run.finish(profile=False), run.window_row]
        elif group == "day":
            rows.append(day_rows(1 if args.quick else 2))
    context = {
        "command": "python benchmarks/run.py " + " ".join(f"--only {group}" for group in args.only),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall": time.monotonic() - started,
        "buildnotify": buildnotify_text,
        "imports": import_counts(),
        "profiles": ["not recorded by a partial run"],
    }
    write_results(args.output, rows, context)
    log(f"wrote {args.output} after {context['wall']:.0f} s")
    return 0


def render_only(output: Path) -> int:
    """Write the results file again from the raw results of the last run, with the current ANALYSIS.md."""
    raw = json.loads(RAW_RESULTS.read_text(encoding="utf-8"))
    write_results(output, [Row(**row) for row in raw["rows"]], raw["context"])
    log(f"wrote {output} from {RAW_RESULTS.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
