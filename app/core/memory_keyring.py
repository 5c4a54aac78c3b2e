"""An in-memory keyring backend for the demo and the tests, never for real tokens."""

from __future__ import annotations

import keyring.backend
import keyring.errors

__all__ = ["MemoryKeyring"]


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in memory only: for the demo and the tests, never for real tokens."""

    # keyring chooses among every imported backend class that is viable: opting out keeps
    # this one out of that choice, so a real token can never land in memory by accident.
    viable = False
    priority = 0

    def __init__(self) -> None:
        super().__init__()
        self._store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("no such password")
