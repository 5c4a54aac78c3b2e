"""The probe history in SQLite: schema and migrations, writes from the engine, retention and uptime.

One `HistoryStore` (the engine's) writes; the GUI and the commands read through a
`HistoryReader`, a read-only connection. In WAL mode, SQLite lets readers and the writer
run at the same time without blocking each other.

Times are epoch seconds in the API. Raw probe times are stored as integer milliseconds.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from app.core import certwatch, versionwatch
from app.core.model import ProbeResult

__all__ = [
    "HISTORY_FILE",
    "SCHEMA_VERSION",
    "HistoryError",
    "HistorySettings",
    "HistoryStore",
    "Incident",
    "Sample",
    "Segment",
    "Uptime",
    "Recorder",
    "WatchSettings",
    "compute_uptime",
    "csv_rows",
    "forget_bridge",
    "has_history",
    "tray_recorder",
    "coverage_spans",
    "max_gap_for",
]

log = logging.getLogger(__name__)

HISTORY_FILE = "history.sqlite3"
SCHEMA_VERSION = 2
HOUR = 3600.0
DAY = 86400.0

UP_STATUSES = frozenset({"healthy", "degraded"})
DOWN_STATUSES = frozenset({"unhealthy", "unreachable"})
# "unknown" (no token) and "unauthorized" (token rejected) do not show whether the bridge
# worked, so they count as "no data", like the time Bridgewatch was not running.

NO_COMPONENT = "none"  # the component was not in the report, or there was no report


class HistoryError(Exception):
    """The history database cannot be opened, read or migrated. The message names the file."""


@dataclass(frozen=True)
class HistorySettings:
    """Retention, from the config's `[history]` table: `raw_days` and `hourly_days`."""

    raw_days: float = 30.0
    hourly_days: float = 365.0

    @classmethod
    def from_dict(cls, data: object) -> "HistorySettings":
        """Build settings from the `[history]` table; raise HistoryError on an invalid value."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise HistoryError(f"history must be a table ([history]), got {data!r}.")
        values = {}
        for key, value in data.items():
            if key not in ("raw_days", "hourly_days"):
                raise HistoryError(f"history.{key} is not a known setting; known: raw_days, hourly_days.")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 3650:
                raise HistoryError(f"history.{key} must be a number of days from 1 to 3650, got {value!r}.")
            values[key] = float(value)
        return cls(**values)


@dataclass(frozen=True)
class Sample:
    """One stored probe result."""

    at: float
    status: str
    latency_ms: float | None = None
    http_status: int | None = None
    error_kind: str | None = None


@dataclass(frozen=True)
class Uptime:
    """Seconds up, down and without data in a period; `percent` is None when nothing was measured."""

    up: float
    down: float
    no_data: float

    @property
    def percent(self) -> float | None:
        measured = self.up + self.down
        return None if measured <= 0 else 100.0 * self.up / measured


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    status: str


@dataclass(frozen=True)
class Incident:
    """One incident as the alert policy confirmed it; `closed_at` is None while it is open."""

    opened_at: float
    closed_at: float | None
    status: str
    worst: str
    cause: str

    def duration(self, now: float) -> float:
        return (self.closed_at if self.closed_at is not None else now) - self.opened_at


def max_gap_for(interval: float) -> float:
    """Return how long one probe result covers at most. Longer silences are "no data".

    1.5 intervals leave room for the ±10 % jitter and one slow probe. The 30 s term keeps
    the 15 s fast interval, used while a change is being confirmed, from looking like gaps.
    """
    return 1.5 * interval + 30.0


def _spans(samples: list[Sample], start: float, end: float, max_gap: float) -> Iterator[tuple[float, float, Sample]]:
    """Yield (from, to, sample): the part of [start, end) that each sample covers."""
    for index, sample in enumerate(samples):
        following = samples[index + 1].at if index + 1 < len(samples) else math.inf
        span_start = max(sample.at, start)
        span_end = min(following, sample.at + max_gap, end)
        if span_end > span_start:
            yield span_start, span_end, sample


def compute_uptime(samples: list[Sample], start: float, end: float, max_gap: float) -> Uptime:
    """Split [start, end) into up, down and no-data seconds.

    `samples` are sorted by time and may begin before `start`, because the last one before
    it covers the period's first seconds. A sample covers the time until the next one, at
    most `max_gap` seconds, so a closed app or a sleeping computer shows as no data.
    """
    up = down = 0.0
    for span_start, span_end, sample in _spans(samples, start, end, max_gap):
        if sample.status in UP_STATUSES:
            up += span_end - span_start
        elif sample.status in DOWN_STATUSES:
            down += span_end - span_start
    total = max(0.0, end - start)
    return Uptime(up=up, down=down, no_data=max(0.0, total - up - down))


def coverage_spans(samples: list[Sample], start: float, end: float, max_gap: float) -> list[tuple[float, float]]:
    """Return the merged periods of [start, end) that some probe result covers."""
    merged: list[tuple[float, float]] = []
    for span_start, span_end, _ in _spans(samples, start, end, max_gap):
        if merged and span_start <= merged[-1][1] + 1e-6:
            merged[-1] = (merged[-1][0], max(merged[-1][1], span_end))
        else:
            merged.append((span_start, span_end))
    return merged


_SCHEMA_V2 = """
CREATE TABLE bridges (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    interval REAL NOT NULL DEFAULT 60
);
CREATE TABLE probes (
    bridge INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status TEXT NOT NULL,
    latency_ms REAL,
    http_status INTEGER,
    error_kind TEXT,
    PRIMARY KEY (bridge, at)
) WITHOUT ROWID;
CREATE TABLE component_changes (
    bridge INTEGER NOT NULL,
    component TEXT NOT NULL,
    at INTEGER NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (bridge, component, at)
) WITHOUT ROWID;
CREATE TABLE hourly (
    bridge INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    up_seconds REAL NOT NULL,
    down_seconds REAL NOT NULL,
    samples INTEGER NOT NULL,
    latency_sum REAL NOT NULL,
    latency_count INTEGER NOT NULL,
    latency_max REAL,
    PRIMARY KEY (bridge, hour)
) WITHOUT ROWID;
CREATE TABLE incidents (
    bridge INTEGER NOT NULL,
    opened_at REAL NOT NULL,
    closed_at REAL,
    status TEXT NOT NULL,
    worst TEXT NOT NULL,
    cause TEXT NOT NULL,
    PRIMARY KEY (bridge, opened_at)
);
CREATE TABLE bridge_state (
    bridge INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (bridge, key)
) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
"""


# Version 1 stored REAL seconds in a rowid table and had no error kinds, components or aggregates.
_MIGRATE_1_TO_2 = """
        ALTER TABLE probes RENAME TO probes_v1;
        ALTER TABLE bridges ADD COLUMN interval REAL NOT NULL DEFAULT 60;
        CREATE TABLE probes (
            bridge INTEGER NOT NULL,
            at INTEGER NOT NULL,
            status TEXT NOT NULL,
            latency_ms REAL,
            http_status INTEGER,
            error_kind TEXT,
            PRIMARY KEY (bridge, at)
        ) WITHOUT ROWID;
        INSERT OR REPLACE INTO probes (bridge, at, status, latency_ms, http_status)
            SELECT bridge, CAST(ROUND(at * 1000) AS INTEGER), status, latency_ms, http_status FROM probes_v1;
        DROP TABLE probes_v1;
""" + "CREATE TABLE component_changes" + _SCHEMA_V2.split("CREATE TABLE component_changes", 1)[1]

# The SQL that brings a database from each older schema version to SCHEMA_VERSION.
_MIGRATIONS = {0: _SCHEMA_V2, 1: _MIGRATE_1_TO_2}


class HistoryStore:
    """The writer: the engine's one connection. Not thread-safe: use it from one thread."""

    def __init__(self, path: Path, settings: HistorySettings | None = None) -> None:
        self.path = path
        self.settings = settings or HistorySettings()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # SQLite gives the -wal and -shm files the database file's mode, so 0600 here covers all three.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            if os.name == "posix":
                os.chmod(path, 0o600)  # a database left by an older version was created 0644
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"Cannot open the history database {path}: {exc}.") from None
        try:
            self._db.execute("PRAGMA busy_timeout=5000")  # ms: writers wait for each other's short transactions
            self._enable_wal()
            # With WAL, NORMAL keeps the file consistent, and a power loss loses at most the last results.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise HistoryError(f"Cannot prepare the history database {path}: {exc}.") from None
        self._keys: dict[str, int] = {}
        self._components: dict[int, dict[str, str]] = {}

    def _enable_wal(self) -> None:
        """Switch to WAL, retrying for up to 2 s while another connection creates the same new file.

        SQLite 3.40 returns "database is locked" at once, without calling its busy handler, when
        two connections switch a new database to WAL at the same moment. That happens when the
        engine and the retention pass open the file at start, and in tests/test_history.py.
        """
        for attempt in range(100):
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"The history database {self.path} has schema version {version}, newer than this Bridgewatch "
                f"understands ({SCHEMA_VERSION}): update Bridgewatch, or move the file away to start over."
            )
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # Another connection (the retention pass at start) may have migrated meanwhile.
            version = self.schema_version
            if version != SCHEMA_VERSION:
                log.info("Migrating the history database %s from schema %d to %d", self.path, version, SCHEMA_VERSION)
                # One statement at a time: executescript would commit this transaction first.
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- writes from the engine --------------------------------------------------------------------

    def _key(self, bridge_id: str, name: str | None = None, interval: float | None = None) -> int:
        key = self._keys.get(bridge_id)
        if key is not None and name is None:
            return key
        row = self._db.execute("SELECT key, name, interval FROM bridges WHERE id = ?", (bridge_id,)).fetchone()
        if row is None:
            cursor = self._db.execute(
                "INSERT INTO bridges (id, name, interval) VALUES (?, ?, ?)",
                (bridge_id, name or bridge_id, interval or 60.0),
            )
            key = cursor.lastrowid
        else:
            key = row[0]
            if name is not None and (row[1], row[2]) != (name, interval or row[2]):
                self._db.execute(
                    "UPDATE bridges SET name = ?, interval = ? WHERE key = ?", (name, interval or row[2], key)
                )
        self._keys[bridge_id] = key
        return key

    def register_bridge(self, bridge_id: str, name: str, interval: float) -> None:
        """Record the bridge's current name and interval (the interval sets the no-data threshold)."""
        self._key(bridge_id, name, interval)

    def record(self, bridge_id: str, result: ProbeResult, incident: Incident | None = None) -> None:
        """Store one probe result, its component changes, and the bridge's open incident, if any.

        With `incident` None, any incident still open for the bridge is closed at the result's time.
        """
        at = result.checked_at.timestamp()
        self._db.execute("BEGIN")
        try:
            key = self._key(bridge_id)
            self._db.execute(
                "INSERT OR REPLACE INTO probes (bridge, at, status, latency_ms, http_status, error_kind) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key,
                    round(at * 1000),
                    result.status.value,
                    result.latency_ms,
                    result.http_status,
                    result.error.kind.value if result.error else None,
                ),
            )
            self._record_components(key, result, at)
            if incident is None:
                self._db.execute(
                    "UPDATE incidents SET closed_at = ? WHERE bridge = ? AND closed_at IS NULL", (at, key)
                )
            else:
                self._db.execute(
                    "INSERT INTO incidents (bridge, opened_at, closed_at, status, worst, cause) "
                    "VALUES (?, ?, NULL, ?, ?, ?) ON CONFLICT (bridge, opened_at) DO UPDATE SET "
                    "status = excluded.status, worst = excluded.worst, closed_at = NULL",
                    (key, incident.opened_at, incident.status, incident.worst, incident.cause),
                )
                self._db.execute(
                    "UPDATE incidents SET closed_at = ? WHERE bridge = ? AND closed_at IS NULL AND opened_at < ?",
                    (incident.opened_at, key, incident.opened_at),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _record_components(self, key: int, result: ProbeResult, at: float) -> None:
        known = self._components.get(key)
        if known is None:
            known = dict(
                self._db.execute(
                    "SELECT component, status FROM component_changes c WHERE bridge = ? AND at = "
                    "(SELECT MAX(at) FROM component_changes WHERE bridge = c.bridge AND component = c.component)",
                    (key,),
                ).fetchall()
            )
            self._components[key] = known
        current = {component.name: component.status.value for component in result.components}
        for name in set(known) | set(current):
            status = current.get(name, NO_COMPONENT)
            if known.get(name) != status:
                self._db.execute(
                    "INSERT OR REPLACE INTO component_changes (bridge, component, at, status) VALUES (?, ?, ?, ?)",
                    (key, name, round(at * 1000), status),
                )
                known[name] = status

    def set_state(self, bridge_id: str, key: str, value: str | None) -> None:
        """Store one per-bridge value (last version, last body, certificate watch state)."""
        self._db.execute(
            "INSERT OR REPLACE INTO bridge_state (bridge, key, value) VALUES (?, ?, ?)",
            (self._key(bridge_id), key, value),
        )

    def get_state(self, bridge_id: str, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM bridge_state WHERE bridge = ? AND key = ?", (self._key(bridge_id), key)
        ).fetchone()
        return row[0] if row else None

    def forget(self, bridge_id: str) -> None:
        """Delete everything stored about a bridge.

        NOTE: besides the engine, the GUI and `bridgewatch remove` call this on a connection of
        their own when a bridge is removed without keeping its history. SQLite's lock and the
        busy timeout serialize it with the engine's short transactions.
        """
        row = self._db.execute("SELECT key FROM bridges WHERE id = ?", (bridge_id,)).fetchone()
        self._keys.pop(bridge_id, None)
        if row is None:
            return
        key = row[0]
        self._components.pop(key, None)
        self._db.execute("BEGIN")
        try:
            for table in ("probes", "component_changes", "hourly", "incidents", "bridge_state"):
                self._db.execute(f"DELETE FROM {table} WHERE bridge = ?", (key,))
            self._db.execute("DELETE FROM bridges WHERE key = ?", (key,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- retention -----------------------------------------------------------------------------------

    def prune(self, now: float) -> None:
        """Roll complete hours up into aggregates, then delete what is older than the retention."""
        self.roll_up(now)
        raw_cutoff = round((now - self.settings.raw_days * DAY) * 1000)
        hourly_cutoff = now - self.settings.hourly_days * DAY
        self._db.execute("BEGIN")
        try:
            self._db.execute("DELETE FROM probes WHERE at < ?", (raw_cutoff,))
            # Keep each component's last change before the cutoff: it is the state at the window's start.
            self._db.execute(
                "DELETE FROM component_changes AS c WHERE at < ? AND at < (SELECT MAX(at) FROM component_changes "
                "WHERE bridge = c.bridge AND component = c.component AND at < ?)",
                (raw_cutoff, raw_cutoff),
            )
            self._db.execute("DELETE FROM hourly WHERE hour < ?", (hourly_cutoff,))
            self._db.execute("DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?", (hourly_cutoff,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def roll_up(self, now: float) -> None:
        """Write hourly aggregates for every complete hour not yet aggregated.

        One transaction per bridge keeps the engine's writes from waiting long. Rewriting an
        hour replaces its row, so a roll-up that stopped halfway is simply done again.
        """
        end_hour = math.floor(now / HOUR) * HOUR
        row = self._db.execute("SELECT value FROM meta WHERE key = 'rolled_up_to'").fetchone()
        done_until = float(row[0]) if row is not None else None
        for key, interval in self._db.execute("SELECT key, interval FROM bridges").fetchall():
            self._db.execute("BEGIN")
            try:
                self._roll_up_bridge(key, interval, done_until, end_hour)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rolled_up_to', ?)", (str(end_hour),))

    def _roll_up_bridge(self, key: int, interval: float, done_until: float | None, end_hour: float) -> None:
        first = self._db.execute("SELECT MIN(at) FROM probes WHERE bridge = ?", (key,)).fetchone()[0]
        if first is None:
            return
        start_hour = math.floor(first / 1000 / HOUR) * HOUR
        if done_until is not None:
            start_hour = max(start_hour, done_until)
        max_gap = max_gap_for(interval)
        samples = _Queries(self._db).samples_for_key(key, start_hour, end_hour)
        times = [sample.at for sample in samples]
        hour = start_hour
        while hour < end_hour:
            first_in = bisect.bisect_left(times, hour)
            after = bisect.bisect_left(times, hour + HOUR)
            in_hour = samples[first_in:after]
            # The last sample before the hour covers its first seconds.
            uptime = compute_uptime(samples[max(0, first_in - 1):after], hour, hour + HOUR, max_gap)
            if in_hour or uptime.up or uptime.down:
                latencies = [s.latency_ms for s in in_hour if s.latency_ms is not None]
                self._db.execute(
                    "INSERT OR REPLACE INTO hourly VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        int(hour),
                        uptime.up,
                        uptime.down,
                        len(in_hour),
                        sum(latencies),
                        len(latencies),
                        max(latencies) if latencies else None,
                    ),
                )
            hour += HOUR


class _Queries:
    """Read queries shared by the writer and the read-only connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def samples_for_key(self, key: int, start: float, end: float) -> list[Sample]:
        """Return the samples in [start, end), preceded by the last one before `start`."""
        rows = self._db.execute(
            "SELECT * FROM (SELECT at, status, latency_ms, http_status, error_kind FROM probes "
            "WHERE bridge = ? AND at < ? ORDER BY at DESC LIMIT 1) "
            "UNION ALL SELECT at, status, latency_ms, http_status, error_kind FROM probes "
            "WHERE bridge = ? AND at >= ? AND at < ? ORDER BY at",
            (key, round(start * 1000), key, round(start * 1000), round(end * 1000)),
        ).fetchall()
        return [Sample(at / 1000, status, latency, http, kind) for at, status, latency, http, kind in rows]


@dataclass
class BridgeInfo:
    id: str
    name: str
    interval: float
    key: int = field(repr=False, default=0)


class HistoryReader:
    """A read-only connection for the GUI and the commands. Raises HistoryError when the file is missing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            raise HistoryError(f"No history database at {path}: Bridgewatch has not recorded any probe yet.")
        try:
            self._db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout=250")  # a reader must never keep the GUI waiting
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise HistoryError(f"Cannot read the history database {path}: {exc}.") from None
        if version != SCHEMA_VERSION:
            self._db.close()
            raise HistoryError(
                f"The history database {path} has schema version {version}; this Bridgewatch reads version "
                f"{SCHEMA_VERSION}. Start the tray app once to migrate it."
            )
        self._queries = _Queries(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "HistoryReader":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def bridge(self, bridge_id: str) -> BridgeInfo | None:
        row = self._db.execute("SELECT key, id, name, interval FROM bridges WHERE id = ?", (bridge_id,)).fetchone()
        if row is None:
            return None
        return BridgeInfo(id=row[1], name=row[2], interval=row[3], key=row[0])

    def find_bridge(self, key: str) -> BridgeInfo | None:
        """Return the bridge whose id, or name ignoring case, is `key`."""
        info = self.bridge(key)
        if info is not None:
            return info
        row = self._db.execute(
            "SELECT id FROM bridges WHERE lower(name) = lower(?) ORDER BY key DESC LIMIT 1", (key,)
        ).fetchone()
        return self.bridge(row[0]) if row else None

    def samples(self, bridge_id: str, start: float, end: float) -> list[Sample]:
        """Return the samples in [start, end), preceded by the last one before `start` if any."""
        info = self.bridge(bridge_id)
        return [] if info is None else self._queries.samples_for_key(info.key, start, end)

    def recent(self, bridge_id: str, limit: int) -> list[Sample]:
        """Return the latest `limit` samples, newest last."""
        info = self.bridge(bridge_id)
        if info is None:
            return []
        rows = self._db.execute(
            "SELECT at, status, latency_ms, http_status, error_kind FROM probes WHERE bridge = ? "
            "ORDER BY at DESC LIMIT ?",
            (info.key, limit),
        ).fetchall()
        return [Sample(at / 1000, status, latency, http, kind) for at, status, latency, http, kind in reversed(rows)]

    def uptime(self, bridge_id: str, start: float, end: float) -> Uptime:
        """Return the uptime in [start, end): raw results where kept, hourly aggregates before that."""
        info = self.bridge(bridge_id)
        if info is None:
            return Uptime(0.0, 0.0, max(0.0, end - start))
        first_raw = self._db.execute("SELECT MIN(at) FROM probes WHERE bridge = ?", (info.key,)).fetchone()[0]
        raw_start = start if first_raw is None else max(start, math.floor(first_raw / 1000 / HOUR) * HOUR)
        up = down = 0.0
        if raw_start > start:
            hourly = self._db.execute(
                "SELECT COALESCE(SUM(up_seconds), 0), COALESCE(SUM(down_seconds), 0) FROM hourly "
                "WHERE bridge = ? AND hour >= ? AND hour < ?",
                (info.key, start, raw_start),
            ).fetchone()
            up, down = hourly
        raw = compute_uptime(self._queries.samples_for_key(info.key, raw_start, end), raw_start, end,
                             max_gap_for(info.interval))
        up, down = up + raw.up, down + raw.down
        return Uptime(up=up, down=down, no_data=max(0.0, end - start - up - down))

    def coverage(self, bridge_id: str, start: float, end: float) -> list[tuple[float, float]]:
        info = self.bridge(bridge_id)
        if info is None:
            return []
        samples = self._queries.samples_for_key(info.key, start, end)
        return coverage_spans(samples, start, end, max_gap_for(info.interval))

    def component_segments(self, bridge_id: str, start: float, end: float) -> dict[str, list[Segment]]:
        """Return each component's statuses over [start, end), one Segment per stretch of one status.

        The segments ignore gaps in the probes: intersect them with `coverage` to show "no data".
        """
        info = self.bridge(bridge_id)
        if info is None:
            return {}
        rows = self._db.execute(
            "SELECT component, at, status FROM component_changes c WHERE bridge = ? AND (at >= ? OR at = "
            "(SELECT MAX(at) FROM component_changes WHERE bridge = c.bridge AND component = c.component "
            "AND at < ?)) AND at < ? ORDER BY component, at",
            (info.key, round(start * 1000), round(start * 1000), round(end * 1000)),
        ).fetchall()
        segments: dict[str, list[Segment]] = {}
        for component, at, status in rows:
            entries = segments.setdefault(component, [])
            at = max(at / 1000, start)
            if entries:
                entries[-1] = Segment(entries[-1].start, at, entries[-1].status)
            entries.append(Segment(at, end, status))
        return {
            name: [s for s in entries if s.end > s.start]
            for name, entries in sorted(segments.items())
            if any(s.status != NO_COMPONENT for s in entries)
        }

    def incidents(self, bridge_id: str, since: float | None = None, limit: int = 100) -> list[Incident]:
        """Return the bridge's incidents, newest first."""
        info = self.bridge(bridge_id)
        if info is None:
            return []
        rows = self._db.execute(
            "SELECT opened_at, closed_at, status, worst, cause FROM incidents WHERE bridge = ? "
            "AND (closed_at IS NULL OR closed_at >= ?) ORDER BY opened_at DESC LIMIT ?",
            (info.key, since if since is not None else 0.0, limit),
        ).fetchall()
        return [Incident(*row) for row in rows]

    def state(self, bridge_id: str, key: str) -> str | None:
        info = self.bridge(bridge_id)
        if info is None:
            return None
        row = self._db.execute(
            "SELECT value FROM bridge_state WHERE bridge = ? AND key = ?", (info.key, key)
        ).fetchone()
        return row[0] if row else None

    def hourly(self, bridge_id: str, start: float, end: float) -> list[tuple[float, float, float, float | None]]:
        """Return (hour, up seconds, down seconds, mean latency in ms) for each aggregated hour."""
        info = self.bridge(bridge_id)
        if info is None:
            return []
        rows = self._db.execute(
            "SELECT hour, up_seconds, down_seconds, latency_sum, latency_count FROM hourly "
            "WHERE bridge = ? AND hour >= ? AND hour < ? ORDER BY hour",
            (info.key, start, end),
        ).fetchall()
        return [(hour, up, down, (total / count) if count else None) for hour, up, down, total, count in rows]


def csv_rows(samples: Iterable[Sample]) -> Iterator[list[str]]:
    """Yield the CSV header and one row per sample; times in UTC, RFC 3339."""
    yield ["checked_at", "status", "latency_ms", "http_status", "error_kind"]
    for sample in samples:
        moment = datetime.fromtimestamp(sample.at, timezone.utc).isoformat(timespec="milliseconds")
        yield [
            moment.replace("+00:00", "Z"),
            sample.status,
            "" if sample.latency_ms is None else f"{sample.latency_ms:.1f}",
            "" if sample.http_status is None else str(sample.http_status),
            sample.error_kind or "",
        ]


@dataclass(frozen=True)
class WatchSettings:
    """Retention, certificate thresholds and minimum versions, from the config's top-level tables."""

    history: HistorySettings = field(default_factory=HistorySettings)
    certificates: certwatch.CertificateSettings = field(default_factory=certwatch.CertificateSettings)
    versions: versionwatch.VersionSettings = field(default_factory=versionwatch.VersionSettings)

    @classmethod
    def from_config_extra(cls, extra: dict) -> "WatchSettings":
        """Read `[history]`, `[certificates]` and `[versions]`.

        Raises HistoryError or ValueError (the watch settings' errors) naming the invalid value.
        """
        return cls(
            history=HistorySettings.from_dict(extra.get("history")),
            certificates=certwatch.CertificateSettings.from_dict(extra.get("certificates")),
            versions=versionwatch.VersionSettings.from_dict(extra.get("versions")),
        )


PRUNE_EVERY = HOUR  # seconds between two retention passes


class Recorder:
    """The engine's side of the history: stores each polled result and raises the
    certificate and version alerts. Without a file it keeps the watch state in memory.

    Call it from the engine's loop only; `prune_file` is the one method meant for a worker thread.
    """

    def __init__(self, path: Path | None, settings: WatchSettings | None = None) -> None:
        self.path = path
        self.settings = settings or WatchSettings()
        self._store: HistoryStore | None = None
        self._failed = False
        self._certificates: dict[str, object] = {}
        self._versions: dict[str, str | None] = {}

    def minimum_version(self, bridge_id: str, name: str) -> str | None:
        return self.settings.versions.minimum_for(bridge_id, name)

    def _open(self) -> HistoryStore | None:
        if self._store is None and self.path is not None and not self._failed:
            try:
                self._store = HistoryStore(self.path, self.settings.history)
            except HistoryError as exc:
                self._failed = True  # logged once; monitoring goes on without history
                log.error("History is not recorded: %s", exc)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def after_poll(self, bridge, result: ProbeResult, incident, detail: str, now: float) -> list:
        """Store `result` for `bridge` (a BridgeConfig); return certificate and version alerts.

        `incident` is the alert policy's open incident for the bridge, or None.
        """
        store = self._open()
        if store is not None:
            try:
                store.register_bridge(bridge.id, bridge.name, bridge.interval)
                opened = None
                if incident is not None:
                    worst = incident.worst or incident.status
                    opened = Incident(incident.opened_at, None, incident.status.value, worst.value, detail)
                store.record(bridge.id, result, opened)
                if result.body is not None:
                    store.set_state(bridge.id, "last_body", result.body)
                if result.certificate is not None:
                    store.set_state(bridge.id, "certificate_info", _certificate_json(result.certificate))
            except sqlite3.Error as exc:
                log.warning("Cannot record the probe of bridge %s in %s: %s", bridge.id, self.path, exc)
        alerts = self._watch_certificate(bridge, result, now)
        alerts += self._watch_version(bridge, result, now)
        return alerts

    def _load_state(self, bridge_id: str, key: str) -> str | None:
        store = self._open()
        if store is None:
            return None
        try:
            return store.get_state(bridge_id, key)
        except sqlite3.Error as exc:
            log.warning("Cannot read the %s state of bridge %s: %s", key, bridge_id, exc)
            return None

    def _save_state(self, bridge_id: str, key: str, value: str | None) -> None:
        store = self._open()
        if store is None:
            return
        try:
            store.set_state(bridge_id, key, value)
        except sqlite3.Error as exc:
            log.warning("Cannot save the %s state of bridge %s: %s", key, bridge_id, exc)

    def _watch_certificate(self, bridge, result: ProbeResult, now: float) -> list:
        if result.certificate is None:
            return []
        watch = self._certificates.get(bridge.id)
        if watch is None:
            watch = certwatch.CertificateWatch.from_json(self._load_state(bridge.id, "certificate_watch"),
                                                         self.settings.certificates)
            self._certificates[bridge.id] = watch
        before = watch.to_json()
        events = watch.observe(result.certificate, result.checked_at)
        if watch.to_json() != before:
            self._save_state(bridge.id, "certificate_watch", watch.to_json())
        for event in events:
            log.info("Bridge %s: certificate %s (%.1f days left)", bridge.id, event.kind, event.days_left)
        return [certwatch.certificate_alert(event, bridge.id, bridge.name, now) for event in events]

    def _watch_version(self, bridge, result: ProbeResult, now: float) -> list:
        report = result.report
        if report is None or not report.version:
            return []
        if bridge.id not in self._versions:
            self._versions[bridge.id] = self._load_state(bridge.id, "version")
        previous = self._versions[bridge.id]
        if previous == report.version:
            return []
        self._versions[bridge.id] = report.version
        self._save_state(bridge.id, "version", report.version)
        self._save_state(bridge.id, "build", report.build)
        if previous is None:
            return []  # the first version seen is not a change
        log.info("Bridge %s: version changed from %s to %s", bridge.id, previous, report.version)
        return [versionwatch.version_alert(previous, report.version, bridge.id, bridge.name, now, report.build)]

    def prune_file(self, now: float) -> None:
        """Apply the retention through a connection of its own; runs on a worker thread."""
        if self.path is None or self._failed or not self.path.exists():
            return
        try:
            with HistoryStore(self.path, self.settings.history) as store:
                store.prune(now)
        except (HistoryError, sqlite3.Error) as exc:
            log.warning("Pruning the history %s failed: %s", self.path, exc)


def forget_bridge(path: Path, bridge_id: str) -> bool:
    """Delete a removed bridge's history from the file at `path`; return False when it had none."""
    if not path.exists():
        return False
    with HistoryStore(path) as store:
        known = store._db.execute("SELECT 1 FROM bridges WHERE id = ?", (bridge_id,)).fetchone() is not None
        store.forget(bridge_id)
    return known


def has_history(path: Path, bridge_id: str) -> bool:
    """Return True when the history file at `path` contains anything about the bridge."""
    try:
        with HistoryReader(path) as reader:
            return reader.bridge(bridge_id) is not None
    except (HistoryError, sqlite3.Error):
        return False


def _certificate_json(certificate) -> str:
    return json.dumps(
        {
            "subject": certificate.subject,
            "issuer": certificate.issuer,
            "not_after": certificate.not_after.isoformat(),
            "serial": certificate.serial,
            "verified": certificate.verified,
        }
    )


def tray_recorder(state_file: Path) -> Recorder:
    """Build the tray app's recorder: the history file in the data folder, settings from the config.

    TODO: the engine worker passes only `state_file`, so the tray app's history location and
    settings are derived here. Passing a recorder from the worker would make this explicit.
    """
    from app.core.config import ConfigError, load_config
    from app.core.paths import app_paths

    paths = app_paths()
    settings = WatchSettings()
    try:
        settings = WatchSettings.from_config_extra(load_config(paths.config_file).extra)
    except (ConfigError, HistoryError, ValueError) as exc:
        log.error("The [history], [certificates] or [versions] settings are invalid, so defaults apply: %s", exc)
    return Recorder(paths.data_dir / HISTORY_FILE, settings)
