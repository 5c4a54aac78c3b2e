"""The files that name bridges (the log and the history database) are readable by their owner only."""

from __future__ import annotations

import logging
import os
import stat
import sys

import pytest

from app.core.history import HistoryStore
from app.core.logs import setup_logging

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def restore_logging():
    yield
    setup_logging(None)


def test_log_file_private(tmp_path, restore_logging):
    log_file = tmp_path / "logs" / "bridgewatch.log"

    setup_logging(log_file)
    logging.getLogger("bridgewatch.test").warning("bridge Prod checked")

    assert mode(log_file) == 0o600


def test_old_log_file_made_private(tmp_path, restore_logging):
    log_file = tmp_path / "bridgewatch.log"
    log_file.write_text("an older version's line\n", encoding="utf-8")
    log_file.chmod(0o644)

    setup_logging(log_file)

    assert mode(log_file) == 0o600
    assert log_file.read_text(encoding="utf-8").startswith("an older version's line\n")


def test_rotated_log_file_private(tmp_path, restore_logging):
    log_file = tmp_path / "bridgewatch.log"
    setup_logging(log_file)
    (handler,) = [handler for handler in logging.getLogger().handlers if getattr(handler, "_bridgewatch", False)]

    handler.doRollover()
    logging.getLogger("bridgewatch.test").warning("after the rollover")

    assert mode(log_file) == 0o600
    assert mode(tmp_path / "bridgewatch.log.1") == 0o600


def test_history_files_private(tmp_path):
    path = tmp_path / "data" / "history.sqlite3"
    store = HistoryStore(path)
    try:
        modes = {file.name: mode(file) for file in path.parent.iterdir()}
    finally:
        store.close()

    assert "history.sqlite3-wal" in modes
    assert set(modes.values()) == {0o600}


def test_old_history_file_made_private(tmp_path):
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()
    path.chmod(0o644)

    HistoryStore(path).close()

    assert mode(path) == 0o600
