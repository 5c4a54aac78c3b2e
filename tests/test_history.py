"""Tests for the history store: schema, migrations, retention, uptime, concurrent reads, engine writes and the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import cli
from app.core.clock import FakeClock, to_datetime
from app.core.config import BridgeConfig, Config, save_config
from app.core.engine import Engine
from app.core.history import (
    DAY,
    HISTORY_FILE,
    HOUR,
    SCHEMA_VERSION,
    HistoryError,
    HistoryReader,
    HistorySettings,
    HistoryStore,
    Incident,
    Recorder,
    Sample,
    compute_uptime,
    coverage_spans,
)
from app.core.model import (
    BridgeStatus,
    Component,
    ComponentStatus,
    ErrorKind,
    HealthReport,
    ProbeError,
    ProbeKind,
    ProbeResult,
)
from app.core.policy import AlertPolicy, PolicySettings
from app.core.probe import Prober
from app.core.tokens import TokenStore

DATA = Path(__file__).parent / "data"
BRIDGE_ID = "0b6c6c1e-4a8e-4c55-9d9e-2f0a3c1d7e11"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, FakeClock's default


def probe_result(at: float, status: str = "healthy", latency: float | None = 40.0, components=None) -> ProbeResult:
    moment = to_datetime(at)
    report = None
    if components is not None:
        report = HealthReport(
            components=tuple(
                Component(name, ComponentStatus(state), state, moment, moment + timedelta(minutes=10))
                for name, state in components.items()
            ),
            retrieved_at=moment,
            version="2.9.16",
            build="209163",
        )
    error = None
    if status == "unreachable":
        error = ProbeError(ErrorKind.CONNECTION_REFUSED, "Connection refused.")
        latency = None
    return ProbeResult(
        status=BridgeStatus(status),
        summary=status,
        checked_at=moment,
        latency_ms=latency,
        http_status=None if error else 200,
        report=report,
        error=error,
    )


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / HISTORY_FILE


# -- schema and migrations ------------------------------------------------------------------------


def test_new_database_schema(db_path):
    with HistoryStore(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION

    db = sqlite3.connect(db_path)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()
    assert {"bridges", "probes", "component_changes", "hourly", "incidents", "bridge_state", "meta"} <= tables
    assert journal == "wal"


def test_migration_from_version_1(db_path):
    db = sqlite3.connect(db_path)
    try:
        db.executescript((DATA / "history-v1.sql").read_text(encoding="utf-8"))
    finally:
        db.close()

    with HistoryStore(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        store.register_bridge(BRIDGE_ID, "Prod", 60)
        store.record(BRIDGE_ID, probe_result(START + 240, "unhealthy"))

    with HistoryReader(db_path) as reader:
        samples = reader.samples(BRIDGE_ID, START, START + 300)
        bridge = reader.bridge(BRIDGE_ID)
    assert [s.at for s in samples] == [START, START + 60.25, START + 120, START + 180, START + 240]
    assert [s.status for s in samples] == ["healthy", "healthy", "unreachable", "healthy", "unhealthy"]
    assert samples[0].latency_ms == 41.5
    assert samples[0].error_kind is None
    assert bridge.name == "Prod"
    assert bridge.interval == 60


def test_newer_schema_rejected(db_path):
    db = sqlite3.connect(db_path)
    try:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    finally:
        db.close()

    with pytest.raises(HistoryError, match="newer than this Bridgewatch"):
        HistoryStore(db_path)


def test_reader_needs_existing_file(db_path):
    with pytest.raises(HistoryError, match="No history database"):
        HistoryReader(db_path)


def test_reader_cannot_write(db_path):
    HistoryStore(db_path).close()

    with HistoryReader(db_path) as reader:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._db.execute("DELETE FROM probes")


# -- uptime arithmetic ------------------------------------------------------------------------------


def test_uptime_without_gaps():
    samples = [Sample(0, "healthy"), Sample(60, "healthy"), Sample(120, "unreachable"), Sample(180, "healthy")]

    uptime = compute_uptime(samples, 0, 240, max_gap=120)

    assert uptime.up == 180
    assert uptime.down == 60
    assert uptime.no_data == 0
    assert uptime.percent == 75.0


def test_uptime_gap_is_no_data():
    # The app was closed between 120 s and 1000 s: that time is neither up nor down.
    samples = [Sample(0, "healthy"), Sample(60, "healthy"), Sample(1000, "unhealthy")]

    uptime = compute_uptime(samples, 0, 1100, max_gap=120)

    assert uptime.up == 180  # 0-60, then 60 stands for 120 s
    assert uptime.down == 100
    assert uptime.no_data == 820
    assert uptime.percent == pytest.approx(100 * 180 / 280)


def test_uptime_sample_before_window():
    samples = [Sample(-30, "unreachable"), Sample(60, "healthy")]

    uptime = compute_uptime(samples, 0, 120, max_gap=100)

    assert uptime.down == 60  # the sample at -30 covers up to 60, clipped at the window's start
    assert uptime.up == 60


def test_uptime_unknown_and_unauthorized_are_no_data():
    samples = [Sample(0, "unknown"), Sample(60, "unauthorized"), Sample(120, "degraded")]

    uptime = compute_uptime(samples, 0, 180, max_gap=120)

    assert uptime.up == 60  # degraded still serves
    assert uptime.down == 0
    assert uptime.no_data == 120


def test_uptime_nothing_measured():
    uptime = compute_uptime([], 0, 3600, max_gap=120)

    assert uptime.percent is None
    assert uptime.no_data == 3600


def test_coverage_spans_merge():
    samples = [Sample(0, "healthy"), Sample(60, "unhealthy"), Sample(500, "healthy")]

    assert coverage_spans(samples, 0, 600, max_gap=100) == [(0, 160), (500, 600)]


def test_reader_uptime_periods(db_path):
    clock = FakeClock(START)
    with HistoryStore(db_path) as store:
        store.register_bridge(BRIDGE_ID, "Prod", 60)
        # Day 1: healthy every minute. Day 2: closed. Day 3: down for its first hour, then healthy.
        for minute in range(1440):
            store.record(BRIDGE_ID, probe_result(START + minute * 60))
        for minute in range(1440):
            status = "unreachable" if minute < 60 else "healthy"
            store.record(BRIDGE_ID, probe_result(START + 2 * DAY + minute * 60, status))
    clock.advance(3 * DAY)
    now = clock.time()

    with HistoryReader(db_path) as reader:
        day = reader.uptime(BRIDGE_ID, now - DAY, now)
        week = reader.uptime(BRIDGE_ID, now - 7 * DAY, now)

    assert day.down == pytest.approx(3600)
    assert day.up == pytest.approx(23 * 3600)
    assert day.percent == pytest.approx(100 * 23 / 24)
    assert week.up == pytest.approx(47 * 3600 + 60)  # day 1's last sample stands for 120 s, 60 s past the day
    assert week.down == pytest.approx(3600)
    assert week.no_data == pytest.approx(7 * DAY - week.up - week.down)


# -- retention -------------------------------------------------------------------------------------


def test_prune_keeps_aggregates(db_path):
    clock = FakeClock(START)
    settings = HistorySettings(raw_days=30, hourly_days=35)
    with HistoryStore(db_path, settings) as store:
        store.register_bridge(BRIDGE_ID, "Prod", 600)
        for step in range(40 * 144):  # 40 days, one probe every 10 minutes
            status = "unreachable" if step % 144 == 0 else "healthy"
            store.record(BRIDGE_ID, probe_result(clock.time(), status))
            clock.advance(600)
        store.prune(clock.time())
        now = clock.time()

    with HistoryReader(db_path) as reader:
        oldest_raw = reader.samples(BRIDGE_ID, 0, now)[0].at
        hourly = reader.hourly(BRIDGE_ID, 0, now)
        month = reader.uptime(BRIDGE_ID, now - 33 * DAY, now)

    assert oldest_raw >= now - 30 * DAY
    assert hourly[0][0] >= now - 35 * DAY  # older aggregates were pruned too
    assert hourly[0][0] < now - 30 * DAY  # aggregates outlive the raw results
    assert len(hourly) == 35 * 24
    # Every day has one 10-minute outage; the hourly part and the raw part add up to it.
    assert month.down == pytest.approx(33 * 600, rel=0.01)
    assert month.up + month.down == pytest.approx(33 * DAY, rel=0.001)


def test_prune_keeps_component_state(db_path):
    with HistoryStore(db_path, HistorySettings(raw_days=1)) as store:
        store.register_bridge(BRIDGE_ID, "Prod", 60)
        store.record(BRIDGE_ID, probe_result(START, components={"RedisCache": "healthy"}))
        store.record(BRIDGE_ID, probe_result(START + 3 * DAY, components={"RedisCache": "healthy"}))
        store.prune(START + 3 * DAY + 60)

    with HistoryReader(db_path) as reader:
        segments = reader.component_segments(BRIDGE_ID, START + 3 * DAY - 600, START + 3 * DAY + 60)

    # The only change is older than the retention, yet it still gives the component's state.
    assert [s.status for s in segments["RedisCache"]] == ["healthy"]


# -- components and incidents -----------------------------------------------------------------------


def test_component_changes_only(db_path):
    with HistoryStore(db_path) as store:
        store.register_bridge(BRIDGE_ID, "Prod", 60)
        store.record(BRIDGE_ID, probe_result(START, components={"RedisCache": "healthy", "SCIMServer": "healthy"}))
        store.record(BRIDGE_ID, probe_result(START + 60, components={"RedisCache": "healthy", "SCIMServer": "healthy"}))
        store.record(BRIDGE_ID, probe_result(START + 120, components={"RedisCache": "unhealthy", "SCIMServer": "healthy"}))
        store.record(BRIDGE_ID, probe_result(START + 180, "unreachable"))
        store.record(BRIDGE_ID, probe_result(START + 240, components={"RedisCache": "healthy", "SCIMServer": "healthy"}))
        rows = store._db.execute("SELECT COUNT(*) FROM component_changes").fetchone()[0]

    with HistoryReader(db_path) as reader:
        segments = reader.component_segments(BRIDGE_ID, START, START + 300)

    assert rows == 7  # 2 first seen, 1 RedisCache failing, 2 without a report, 2 back
    redis = [(s.start - START, s.end - START, s.status) for s in segments["RedisCache"]]
    assert redis == [(0, 120, "healthy"), (120, 180, "unhealthy"), (180, 240, "none"), (240, 300, "healthy")]


def test_incident_open_and_close(db_path):
    with HistoryStore(db_path) as store:
        store.register_bridge(BRIDGE_ID, "Prod", 60)
        opened = Incident(START + 60, None, "unhealthy", "unhealthy", "Failing: RedisCache.")
        store.record(BRIDGE_ID, probe_result(START + 60, "unhealthy"), opened)
        worse = Incident(START + 60, None, "unreachable", "unreachable", "Connection refused.")
        store.record(BRIDGE_ID, probe_result(START + 120, "unreachable"), worse)
        store.record(BRIDGE_ID, probe_result(START + 600))

    with HistoryReader(db_path) as reader:
        incidents = reader.incidents(BRIDGE_ID)

    assert len(incidents) == 1
    assert incidents[0].closed_at == START + 600
    assert incidents[0].worst == "unreachable"
    assert incidents[0].cause == "Failing: RedisCache."  # the cause at the start is kept
    assert incidents[0].duration(START + 9999) == 540


def test_forget_bridge(db_path):
    with HistoryStore(db_path) as store:
        store.register_bridge(BRIDGE_ID, "Prod", 60)
        store.record(BRIDGE_ID, probe_result(START, components={"RedisCache": "healthy"}))
        store.set_state(BRIDGE_ID, "version", "2.9.16")
        store.forget(BRIDGE_ID)
        counts = [store._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                  for table in ("bridges", "probes", "component_changes", "bridge_state")]

    assert counts == [0, 0, 0, 0]


# -- concurrency --------------------------------------------------------------------------------------


def test_reads_while_engine_writes(db_path):
    store = HistoryStore(db_path)
    store.register_bridge(BRIDGE_ID, "Prod", 60)
    store.record(BRIDGE_ID, probe_result(START))
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for step in range(1, 400):
                store.record(BRIDGE_ID, probe_result(START + step * 60, components={"RedisCache": "healthy"}))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    counts = []
    with HistoryReader(db_path) as reader:
        writer.start()
        while not done.is_set():
            counts.append(len(reader.samples(BRIDGE_ID, START, START + DAY)))
            reader.uptime(BRIDGE_ID, START, START + DAY)
        writer.join()
        counts.append(len(reader.samples(BRIDGE_ID, START, START + DAY)))
    store.close()

    assert errors == []
    assert counts == sorted(counts)
    assert counts[-1] == 400


# -- engine writes -------------------------------------------------------------------------------------


def test_engine_records_polls(simulator, run_async, memory_keyring, token, db_path):
    store = TokenStore(memory_keyring)
    server = simulator("healthy", token=token)
    bridge = BridgeConfig(name="Prod", url=server.url, probe=ProbeKind.HEALTH, interval=3600)
    store.set(bridge.id, token)

    async def scenario():
        policy = AlertPolicy(PolicySettings(confirm_bad=1, confirm_good=1, group_window=0))
        engine = Engine([bridge], tokens=store, prober=Prober(timeout=2.0), policy=policy,
                        recorder=Recorder(db_path))
        task = asyncio.create_task(engine.run())
        try:
            await wait_for_requests(server, 1)
            server.scenario = "unhealthy"
            engine.request_check(bridge.id)
            await wait_for_requests(server, 2)
            server.scenario = "healthy"
            engine.request_check(bridge.id)
            await wait_for_requests(server, 3)
            await asyncio.sleep(0.05)  # the third poll's write follows its response
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_async(scenario(), timeout=10)

    with HistoryReader(db_path) as reader:
        samples = reader.samples(bridge.id, 0, 4e9)
        incidents = reader.incidents(bridge.id)
        body = reader.state(bridge.id, "last_body")
        segments = reader.component_segments(bridge.id, 0, 4e9)
    assert [s.status for s in samples] == ["healthy", "unhealthy", "healthy"]
    assert samples[1].http_status == 503
    assert len(incidents) == 1
    assert incidents[0].closed_at is not None
    assert "RedisCache" in incidents[0].cause
    assert '"version": "2.9.16"' in body
    assert token not in body
    assert [s.status for s in segments["RedisCache"]] == ["healthy", "unhealthy", "healthy"]
    assert token.encode() not in db_path.read_bytes()


async def wait_for_requests(server, count: int) -> None:
    while len(server.requests) < count:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)


# -- the history command -------------------------------------------------------------------------------


@pytest.fixture
def recorded_bridge(bridgewatch_home) -> BridgeConfig:
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com", probe=ProbeKind.PING, interval=60)
    save_config(bridgewatch_home / "config.toml", Config(bridges=[bridge]))
    with HistoryStore(bridgewatch_home / HISTORY_FILE) as store:
        store.register_bridge(bridge.id, bridge.name, 60)
        store.record(bridge.id, probe_result(START))
        store.record(bridge.id, probe_result(START + 60, "unreachable"))
        store.record(bridge.id, probe_result(START + DAY))
    return bridge


def test_history_command_csv(recorded_bridge, capsys):
    code = cli.main(["history", "prod", "--csv"])

    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert code == 0
    assert rows[0] == ["checked_at", "status", "latency_ms", "http_status", "error_kind"]
    assert rows[1] == ["2026-01-01T00:00:00.000Z", "healthy", "40.0", "200", ""]
    assert rows[2][1:] == ["unreachable", "", "", "connection_refused"]
    assert len(rows) == 4


def test_history_command_since(recorded_bridge, capsys):
    code = cli.main(["history", "Prod", "--since", "2026-01-01T12:00+00:00"])

    out = capsys.readouterr().out
    assert code == 0
    assert "2026-01-02" in out
    assert "connection_refused" not in out
    assert "uptime 24 h no data" in out  # the results are older than 30 days


def test_history_command_bad_input(recorded_bridge, capsys):
    assert cli.main(["history", "prod", "--since", "last tuesday"]) == 3
    assert "--since" in capsys.readouterr().err
    assert cli.main(["history", "nope"]) == 3
    assert "No bridge named" in capsys.readouterr().err


def test_history_command_no_database(bridgewatch_home, capsys):
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com", probe=ProbeKind.PING)
    save_config(bridgewatch_home / "config.toml", Config(bridges=[bridge]))

    assert cli.main(["history", "prod"]) == 1
    assert "No history database" in capsys.readouterr().err


def test_since_parsing():
    assert cli.parse_since("2026-03-01") == datetime(2026, 3, 1).astimezone().timestamp()  # local midnight
    assert cli.parse_since("2026-03-01T10:30:00+01:00") == datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc).timestamp()


def test_size_per_bridge_day(db_path):
    """One bridge probed every 60 s for a day, with four components, stays far below the budget.

    The budget: 10 bridges for a year under 50 MB, with 30 days of raw results, is about
    150 KiB per bridge-day of raw results once the hourly aggregates are set aside.
    """
    components = {"ConfirmationWatcher": "healthy", "RedisCache": "healthy", "SCIMServer": "healthy",
                  "StartProvisionWatcher": "healthy"}
    with HistoryStore(db_path) as store:
        store.register_bridge(BRIDGE_ID, "Prod", 60)
        store._db.execute("PRAGMA synchronous=OFF")  # test data only
        for minute in range(1440):
            store.record(BRIDGE_ID, probe_result(START + minute * 60, latency=40 + minute % 17, components=components))
        store.roll_up(START + DAY)
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store._db.execute("VACUUM")

    assert db_path.stat().st_size < 100 * 1024


def test_remove_keeps_history_by_default(recorded_bridge, capsys):
    assert cli.main(["remove", "prod"]) == 0
    assert "Its history was kept" in capsys.readouterr().out

    assert cli.main(["history", recorded_bridge.id, "--csv"]) == 0  # still readable by id
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_remove_delete_history(recorded_bridge, bridgewatch_home, capsys):
    assert cli.main(["remove", "prod", "--delete-history"]) == 0
    assert "Deleted the history of Prod" in capsys.readouterr().out

    with HistoryReader(bridgewatch_home / HISTORY_FILE) as reader:
        assert reader.bridge(recorded_bridge.id) is None


def test_concurrent_first_open(db_path):
    """The engine and the retention pass may create the database at the same moment."""
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            HistoryStore(db_path).close()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with HistoryStore(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION
