"""Token storage in the OS keychain through keyring, and redaction of tokens from logs."""

from __future__ import annotations

import logging
import threading

import keyring
import keyring.backend
import keyring.errors

__all__ = [
    "SERVICE",
    "TokenStore",
    "TokenUnavailable",
    "MemoryKeyring",
    "RedactingFilter",
    "register_secret",
]

log = logging.getLogger(__name__)

SERVICE = "bridgewatch"

_NO_BACKEND_FIX = (
    "No usable OS keychain was found. Install and unlock GNOME Keyring or KWallet "
    "(a Secret Service provider) on Linux, then try again. Bridgewatch never stores tokens in a file."
)

# Known-insecure backends: a plain file with the secret merely encoded.
_REJECTED_BACKEND_MODULES = ("keyrings.alt",)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


class TokenUnavailable(Exception):
    """A token could not be read or written. The message states the cause and never contains the token."""


def register_secret(secret: str) -> None:
    """Remember `secret` so that RedactingFilter masks it in every log record."""
    if secret and len(secret) >= 4:
        with _secrets_lock:
            _secrets.add(secret)


class RedactingFilter(logging.Filter):
    """Replace every registered token in a log record's message with `***`."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _secrets_lock:
            secrets = tuple(_secrets)
        if not secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class TokenStore:
    """Read and write bridge tokens: keychain service `bridgewatch`, user name = bridge id."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend or keyring.get_keyring()

    @property
    def backend_name(self) -> str:
        backend = self.backend
        return getattr(backend, "name", type(backend).__name__)

    def _checked_backend(self) -> keyring.backend.KeyringBackend:
        backend = self.backend
        module = type(backend).__module__
        if module.startswith(_REJECTED_BACKEND_MODULES):
            raise TokenUnavailable(
                f"The keyring backend {module}.{type(backend).__name__} stores secrets in a plain file, "
                "so Bridgewatch will not use it. Remove keyrings.alt or choose a real keychain."
            )
        return backend

    def get(self, bridge_id: str) -> str | None:
        """Return the stored token, None when there is none; raise TokenUnavailable when locked or missing a backend."""
        try:
            token = self._checked_backend().get_password(SERVICE, bridge_id)
        except keyring.errors.NoKeyringError:
            raise TokenUnavailable(_NO_BACKEND_FIX) from None
        except keyring.errors.KeyringLocked:
            raise TokenUnavailable("Token unavailable: the keychain is locked. Unlock it and check again.") from None
        except keyring.errors.KeyringError as exc:
            raise TokenUnavailable(f"Token unavailable: the keychain denied access ({type(exc).__name__}). Allow Bridgewatch in the keychain and check again.") from None
        if token:
            register_secret(token)
        return token or None

    def set(self, bridge_id: str, token: str) -> None:
        register_secret(token)
        try:
            self._checked_backend().set_password(SERVICE, bridge_id, token)
        except keyring.errors.NoKeyringError:
            raise TokenUnavailable(_NO_BACKEND_FIX) from None
        except keyring.errors.KeyringError as exc:
            raise TokenUnavailable(
                f"Could not store the token in the keychain ({type(exc).__name__}); nothing was changed."
            ) from None

    def delete(self, bridge_id: str) -> bool:
        """Delete the token; return False when there was none."""
        try:
            self._checked_backend().delete_password(SERVICE, bridge_id)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.NoKeyringError:
            raise TokenUnavailable(_NO_BACKEND_FIX) from None
        except keyring.errors.KeyringError as exc:
            raise TokenUnavailable(f"Could not delete the token from the keychain ({type(exc).__name__}).") from None
        return True


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
