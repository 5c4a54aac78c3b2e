"""One tray app per user and profile: a second start requests the running one to show its window, then exits.

A QLockFile in the data folder decides which process is the primary one, so two starts
at the same moment cannot both win; QLockFile also takes over the lock of a process that
died. The primary listens on a QLocalServer whose name is derived from the user and the
config folder, so a profile set with BRIDGEWATCH_HOME (the demo, the tests) is separate.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

__all__ = ["SingleInstance", "server_name"]

log = logging.getLogger(__name__)

ACTIVATE_MESSAGE = b"activate\n"
STEP_MS = 200
CONNECT_ATTEMPTS = 10  # so about 2 s in all: the primary may hold the lock but not listen yet


def server_name(config_dir: Path) -> str:
    """Return the local-socket name for this user and profile, short enough for a Unix socket path."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown-user"
    digest = hashlib.sha256(f"{user}\0{config_dir.resolve()}".encode()).hexdigest()[:16]
    return f"bridgewatch-{digest}"


class SingleInstance(QObject):
    """Claim the primary role, or hand over to the process that has it.

    Call `claim()` once after the QApplication exists. When it returns False, another
    instance runs and was asked to show its window: exit. `activated` fires in the
    primary each time another start requests the window.
    """

    activated = Signal()

    def __init__(self, data_dir: Path, config_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.name = server_name(config_dir)
        self._lock = QLockFile(str(data_dir / "bridgewatch.lock"))
        self._lock.setStaleLockTime(0)  # a lock is stale only when its process is gone
        self._server: QLocalServer | None = None

    def claim(self) -> bool:
        """Return True when this process is the primary instance and now listens for others."""
        for attempt in range(CONNECT_ATTEMPTS):
            # After the first try, tryLock waits a step: time for a starting primary to
            # listen, and the lock is taken over at once if its holder died.
            if self._lock.tryLock(0 if attempt == 0 else STEP_MS):
                self._listen()
                return True
            if self._send_activate():
                return False
        log.warning("Another Bridgewatch has the lock but did not respond on %s", self.name)
        return False

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    def _listen(self) -> None:
        # A socket file left by a crashed primary blocks listen() on Unix. Holding the
        # lock means no live primary uses it, so removing it is safe.
        QLocalServer.removeServer(self.name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("Cannot listen on %s (%s): a second start will open a second window", self.name,
                        server.errorString())
            return
        server.newConnection.connect(self._on_connection)
        self._server = server
        log.info("Single-instance server listening on %s", self.name)

    def _on_connection(self) -> None:
        while self._server is not None and self._server.hasPendingConnections():
            connection = self._server.nextPendingConnection()
            connection.readyRead.connect(lambda connection=connection: self._on_message(connection))
            connection.disconnected.connect(connection.deleteLater)

    def _on_message(self, connection: QLocalSocket) -> None:
        data = bytes(connection.readAll().data())
        if ACTIVATE_MESSAGE.strip() in data:
            log.info("Another start asked for the window; bringing it forward")
            self.activated.emit()
        connection.disconnectFromServer()

    def _send_activate(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(STEP_MS):
            socket.abort()
            return False
        socket.write(ACTIVATE_MESSAGE)
        socket.waitForBytesWritten(STEP_MS)
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(STEP_MS)
        return True
