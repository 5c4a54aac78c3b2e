"""The benchmark's keyring backend, which the app loads through PYTHON_KEYRING_BACKEND (harness.child_env sets it).

Loading it by name, as a user's keyring setting is loaded, leaves the app's own choice of
when to import keyring unchanged.
"""

from __future__ import annotations

import keyring.backend
import keyring.errors

TOKEN = "benchmark-token-not-a-secret"  # the same as harness.TOKEN; the simulators accept nothing else


class BenchmarkKeyring(keyring.backend.KeyringBackend):
    """Return the benchmark token for every bridge."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return TOKEN

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the benchmark keyring is read-only")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("the benchmark keyring is read-only")
