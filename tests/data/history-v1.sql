-- A history database as the first release wrote it (schema version 1): probe times in
-- REAL seconds in a rowid table, no error kinds, no components, no aggregates.
PRAGMA user_version = 1;
CREATE TABLE bridges (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
CREATE TABLE probes (
    bridge INTEGER NOT NULL,
    at REAL NOT NULL,
    status TEXT NOT NULL,
    latency_ms REAL,
    http_status INTEGER
);
CREATE INDEX probes_by_time ON probes (bridge, at);
INSERT INTO bridges (key, id, name) VALUES (1, '0b6c6c1e-4a8e-4c55-9d9e-2f0a3c1d7e11', 'Prod');
-- 2026-01-01T00:00:00Z and the next three minutes
INSERT INTO probes VALUES (1, 1767225600.0, 'healthy', 41.5, 200);
INSERT INTO probes VALUES (1, 1767225660.25, 'healthy', 39.0, 200);
INSERT INTO probes VALUES (1, 1767225720.0, 'unreachable', NULL, NULL);
INSERT INTO probes VALUES (1, 1767225780.0, 'healthy', 44.0, 200);
