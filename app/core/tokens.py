"""Token storage in the OS keychain through keyring, which is imported on first use, not at start-up."""

from __future__ import annotations

import enum
import logging
import os
import sys
import threading

from typing import TYPE_CHECKING

from app.core.redact import RedactingFilter, register_secret

if TYPE_CHECKING:
    import keyring.backend

    from app.core.memory_keyring import MemoryKeyring

__all__ = [
    "SERVICE",
    "KeychainProblem",
    "TokenStore",
    "TokenUnavailable",
    "keychain_display_name",
    "MemoryKeyring",
    "RedactingFilter",
    "register_secret",
    "set_system_backend",
    "system_backend",
]

log = logging.getLogger(__name__)

SERVICE = "bridgewatch"

_NO_BACKEND_FIX = (
    "No usable OS keychain was found. Install and unlock GNOME Keyring or KWallet "
    "(a Secret Service provider) on Linux, then try again. Bridgewatch never stores tokens in a file."
)
_NO_SESSION_BUS_FIX = (
    "No usable OS keychain was found: there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), "
    "as in an SSH login or a system service, so the Secret Service cannot be reached. Run Bridgewatch in your "
    "desktop session, or start a session bus with `dbus-run-session` and unlock GNOME Keyring in it. "
    "Bridgewatch never stores tokens in a file."
)


def _no_backend_fix() -> str:
    """Return the no-keychain message, naming a missing session bus on Linux."""
    if sys.platform not in ("darwin", "win32") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return _NO_SESSION_BUS_FIX
    return _NO_BACKEND_FIX


def _open_failed(exc: Exception) -> str:
    # keyring raises InitError when a Secret Service exists but cannot open a keyring, for
    # example when gnome-keyring is started without a login keyring and cannot prompt.
    return (
        f"The keychain could not be opened ({type(exc).__name__}). Install and unlock GNOME Keyring or "
        "KWallet (a Secret Service provider) on Linux, then try again. Bridgewatch never stores tokens in a file."
    )


# Known-insecure backends: a plain file with the secret merely encoded.
_REJECTED_BACKEND_MODULES = ("keyrings.alt",)


class KeychainProblem(str, enum.Enum):
    """Reason the keychain could not be used, so front ends can word the fix."""

    NO_BACKEND = "no_backend"  # no keychain at all, for example no Secret Service on the session bus
    REJECTED_BACKEND = "rejected_backend"  # a plain-file backend such as keyrings.alt
    LOCKED = "locked"  # the keychain stayed locked, or its unlock prompt was dismissed
    DENIED = "denied"  # the keychain refused access to this entry
    FAILED = "failed"  # any other keychain error


class TokenUnavailable(Exception):
    """A token could not be read or written. The message states the cause and never contains the token."""

    def __init__(self, message: str, problem: KeychainProblem = KeychainProblem.FAILED) -> None:
        super().__init__(message)
        self.problem = problem


def _explained(exc: Exception, action: str, next_step: str) -> TokenUnavailable | None:
    """Return a TokenUnavailable that quotes an error of app.core.secretservice, or None for any other error.

    Only that client's messages are quoted, because it writes them itself and puts no secret in them.
    """
    if not getattr(exc, "explains_itself", False):
        return None
    message = " ".join(part for part in (action, str(exc), next_step) if part)
    return TokenUnavailable(message, KeychainProblem.FAILED)


_system_backend: keyring.backend.KeyringBackend | None = None
_system_lock = threading.Lock()


def system_backend() -> keyring.backend.KeyringBackend:
    """Return the keychain that a TokenStore without a backend uses, chosen once per process.

    A backend named in PYTHON_KEYRING_BACKEND or keyringrc.cfg wins, as with keyring itself.
    Otherwise, on Linux and other freedesktop systems, Bridgewatch's own Secret Service client
    (app.core.secretservice) is used when a Secret Service runs on the session bus, and there is
    no keychain when none does. On macOS and Windows, keyring chooses the native keychain.
    """
    global _system_backend
    with _system_lock:
        if _system_backend is None:
            _system_backend = _choose_backend()
        return _system_backend


def set_system_backend(backend: keyring.backend.KeyringBackend | None) -> keyring.backend.KeyringBackend | None:
    """Make `backend` the system keychain (None: choose again on next use); return the one it replaces."""
    global _system_backend
    with _system_lock:
        previous, _system_backend = _system_backend, backend
    return previous


def _choose_backend() -> keyring.backend.KeyringBackend:
    import keyring.backends.fail
    import keyring.core

    configured = keyring.core.load_env() or keyring.core.load_config()
    if configured is not None:
        return configured
    if sys.platform not in ("darwin", "win32"):
        from app.core.secretservice import SecretServiceKeyring
        from app.core.sessionbus import service_available

        # keyring's own detection would import SecretStorage and every other backend to find
        # the same Secret Service, so without one there is no keychain, unless configured above.
        return SecretServiceKeyring() if service_available() else keyring.backends.fail.Keyring()
    return keyring.core.get_keyring()


def _secret_service_only() -> bool:
    """Tell whether system_backend() would choose between the Secret Service and no keychain.

    That holds on Linux and other freedesktop systems unless PYTHON_KEYRING_BACKEND or a
    keyringrc.cfg names a backend. The file's place is keyring's config root on these
    systems: $XDG_CONFIG_HOME/python_keyring, or ~/.config/python_keyring.
    """
    if sys.platform in ("darwin", "win32") or os.environ.get("PYTHON_KEYRING_BACKEND"):
        return False
    root = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return not os.path.exists(os.path.join(root, "python_keyring", "keyringrc.cfg"))


def keychain_display_name(backend: keyring.backend.KeyringBackend) -> str:
    """Return the name people know the backend's keychain by, such as "GNOME Keyring or KWallet"."""
    module = type(backend).__module__
    if module in ("keyring.backends.SecretService", "app.core.secretservice"):
        return "the Secret Service keychain (GNOME Keyring or KWallet)"
    if module == "keyring.backends.kwallet":
        return "KWallet"
    if module == "keyring.backends.macOS" or module.startswith("keyring.backends.macOS."):
        return "the macOS Keychain"
    if module == "keyring.backends.Windows":
        return "Windows Credential Manager"
    from app.core.memory_keyring import MemoryKeyring

    if isinstance(backend, MemoryKeyring):
        return "a temporary in-memory keyring"
    return getattr(backend, "name", type(backend).__name__)


class TokenStore:
    """Read and write bridge tokens: keychain service `bridgewatch`, user name = bridge id."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend or system_backend()

    @property
    def backend_name(self) -> str:
        return keychain_display_name(self.backend)

    def _checked_backend(self) -> keyring.backend.KeyringBackend:
        backend = self.backend
        module = type(backend).__module__
        if module.startswith(_REJECTED_BACKEND_MODULES):
            raise TokenUnavailable(
                f"The keyring backend {module}.{type(backend).__name__} stores secrets in a plain file, "
                "so Bridgewatch will not use it. Remove keyrings.alt or choose a real keychain.",
                KeychainProblem.REJECTED_BACKEND,
            )
        return backend

    def availability_problem(self) -> TokenUnavailable | None:
        """Return why no token can be stored at all, or None when a keychain backend exists.

        This looks only at the backend keyring chose, so it never opens an unlock prompt:
        a locked keychain shows up later, on the first read or write.
        """
        if self._backend is None and _system_backend is None and _secret_service_only():
            # This answer needs no keyring, whose import adds about 9 MiB (measured with VmRSS).
            from app.core.sessionbus import service_available

            if service_available():
                return None
            return TokenUnavailable(_no_backend_fix(), KeychainProblem.NO_BACKEND)
        try:
            backend = self._checked_backend()
        except TokenUnavailable as exc:
            return exc
        import keyring.backends.fail

        if isinstance(backend, keyring.backends.fail.Keyring):
            return TokenUnavailable(_no_backend_fix(), KeychainProblem.NO_BACKEND)
        return None

    def get(self, bridge_id: str) -> str | None:
        """Return the stored token, None when there is none; raise TokenUnavailable when locked or missing a backend."""
        import keyring.errors

        backend = self._checked_backend()
        try:
            token = backend.get_password(SERVICE, bridge_id)
        except keyring.errors.NoKeyringError:
            raise TokenUnavailable(_no_backend_fix(), KeychainProblem.NO_BACKEND) from None
        except keyring.errors.InitError as exc:
            raise TokenUnavailable(_open_failed(exc), KeychainProblem.NO_BACKEND) from None
        except keyring.errors.KeyringLocked:
            raise TokenUnavailable(
                "Token unavailable: the keychain is locked. Unlock it and check again.", KeychainProblem.LOCKED
            ) from None
        except keyring.errors.KeyringError as exc:
            explained = _explained(exc, "Token unavailable:", "Check that the keychain runs, then check again.")
            if explained is not None:
                raise explained from None
            raise TokenUnavailable(
                f"Token unavailable: the keychain denied access ({type(exc).__name__}). "
                "Allow Bridgewatch in the keychain and check again.",
                KeychainProblem.DENIED,
            ) from None
        except Exception as exc:  # a backend bug or D-Bus error must not stop the engine
            log.warning("Reading the token of bridge %s failed: %s", bridge_id, type(exc).__name__)
            raise TokenUnavailable(
                f"Token unavailable: the keychain failed ({type(exc).__name__}). Check that it runs, then check again.",
                KeychainProblem.FAILED,
            ) from None
        if token:
            register_secret(token)
        return token or None

    def set(self, bridge_id: str, token: str) -> None:
        """Store `token`; raise TokenUnavailable, with nothing changed, when the keychain cannot be written."""
        import keyring.errors

        register_secret(token)
        backend = self._checked_backend()
        try:
            backend.set_password(SERVICE, bridge_id, token)
        except keyring.errors.NoKeyringError:
            raise TokenUnavailable(_no_backend_fix(), KeychainProblem.NO_BACKEND) from None
        except keyring.errors.InitError as exc:
            raise TokenUnavailable(_open_failed(exc), KeychainProblem.NO_BACKEND) from None
        except keyring.errors.KeyringLocked:
            raise TokenUnavailable(
                "Could not store the token: the keychain is locked. Unlock it and try again; nothing was changed.",
                KeychainProblem.LOCKED,
            ) from None
        except keyring.errors.KeyringError as exc:
            explained = _explained(exc, "Could not store the token:", "Nothing was changed.")
            if explained is not None:
                raise explained from None
            raise TokenUnavailable(
                f"Could not store the token in the keychain ({type(exc).__name__}); nothing was changed.",
                KeychainProblem.DENIED,
            ) from None
        except Exception as exc:  # the message never includes str(exc), which might quote the secret
            log.warning("Storing the token of bridge %s failed: %s", bridge_id, type(exc).__name__)
            raise TokenUnavailable(
                f"Could not store the token: the keychain failed ({type(exc).__name__}); nothing was changed.",
                KeychainProblem.FAILED,
            ) from None

    def delete(self, bridge_id: str) -> bool:
        """Delete the token; return False when there was none."""
        import keyring.errors

        backend = self._checked_backend()
        try:
            backend.delete_password(SERVICE, bridge_id)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.NoKeyringError:
            raise TokenUnavailable(_no_backend_fix(), KeychainProblem.NO_BACKEND) from None
        except keyring.errors.InitError as exc:
            raise TokenUnavailable(_open_failed(exc), KeychainProblem.NO_BACKEND) from None
        except keyring.errors.KeyringLocked:
            raise TokenUnavailable(
                "Could not delete the token: the keychain is locked. Unlock it and try again.", KeychainProblem.LOCKED
            ) from None
        except keyring.errors.KeyringError as exc:
            explained = _explained(exc, "Could not delete the token:", "")
            if explained is not None:
                raise explained from None
            raise TokenUnavailable(
                f"Could not delete the token from the keychain ({type(exc).__name__}).", KeychainProblem.DENIED
            ) from None
        except Exception as exc:
            log.warning("Deleting the token of bridge %s failed: %s", bridge_id, type(exc).__name__)
            raise TokenUnavailable(
                f"Could not delete the token: the keychain failed ({type(exc).__name__}).", KeychainProblem.FAILED
            ) from None
        return True


def __getattr__(name: str) -> object:
    # MemoryKeyring lives in its own module, because defining it imports keyring.
    if name == "MemoryKeyring":
        from app.core.memory_keyring import MemoryKeyring

        return MemoryKeyring
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
