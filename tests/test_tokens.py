"""Tests for TokenStore, the keyring backend checks and log redaction."""

from __future__ import annotations

import io
import logging

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

from app.core.tokens import (
    SERVICE,
    MemoryKeyring,
    RedactingFilter,
    TokenStore,
    TokenUnavailable,
    register_secret,
)

BRIDGE_ID = "3f2b8f0e-6a0c-4c9e-9a51-5d0c2f1b7e11"


class PlainFileKeyring(keyring.backend.KeyringBackend):
    """Stand-in for a keyrings.alt backend, which keeps secrets in a plain file."""

    viable = False  # excludes this class from keyring's automatic backend choice
    priority = 0

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get_password(self, service, username):
        self.calls.append("get")
        return None

    def set_password(self, service, username, password):
        self.calls.append("set")

    def delete_password(self, service, username):
        self.calls.append("delete")


PlainFileKeyring.__module__ = "keyrings.alt.file"


class LockedKeyring(keyring.backend.KeyringBackend):
    """A keychain that stays locked: every operation raises KeyringLocked."""

    viable = False
    priority = 0

    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("the collection is locked")

    def set_password(self, service, username, password):
        raise keyring.errors.KeyringLocked("the collection is locked")

    def delete_password(self, service, username):
        raise keyring.errors.KeyringLocked("the collection is locked")


def test_set_get_delete(memory_keyring, token):
    store = TokenStore(memory_keyring)

    store.set(BRIDGE_ID, token)
    stored = store.get(BRIDGE_ID)
    deleted = store.delete(BRIDGE_ID)

    assert stored == token
    assert deleted is True
    assert store.get(BRIDGE_ID) is None


def test_store_uses_service_and_id(memory_keyring, token):
    TokenStore(memory_keyring).set(BRIDGE_ID, token)

    assert memory_keyring.get_password(SERVICE, BRIDGE_ID) == token
    assert SERVICE == "bridgewatch"


def test_default_store_uses_keyring(memory_keyring, token):
    TokenStore().set(BRIDGE_ID, token)

    assert memory_keyring.get_password(SERVICE, BRIDGE_ID) == token


def test_get_missing_returns_none(memory_keyring):
    assert TokenStore(memory_keyring).get(BRIDGE_ID) is None


def test_delete_missing_returns_false(memory_keyring):
    assert TokenStore(memory_keyring).delete(BRIDGE_ID) is False


def test_fail_backend_get_raises(monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bridgewatch-test-bus")
    store = TokenStore(keyring.backends.fail.Keyring())

    with pytest.raises(TokenUnavailable) as caught:
        store.get(BRIDGE_ID)

    message = str(caught.value)
    assert "GNOME Keyring" in message
    assert "KWallet" in message


def test_fail_backend_set_raises(token):
    store = TokenStore(keyring.backends.fail.Keyring())

    with pytest.raises(TokenUnavailable) as caught:
        store.set(BRIDGE_ID, token)

    assert "No usable OS keychain" in str(caught.value)


def test_fail_backend_delete_raises():
    store = TokenStore(keyring.backends.fail.Keyring())

    with pytest.raises(TokenUnavailable):
        store.delete(BRIDGE_ID)


def test_locked_keychain_message():
    store = TokenStore(LockedKeyring())

    with pytest.raises(TokenUnavailable) as caught:
        store.get(BRIDGE_ID)

    assert "locked" in str(caught.value)


@pytest.mark.parametrize("operation", ["get", "set", "delete"])
def test_plain_file_backend_rejected(operation, token):
    backend = PlainFileKeyring()
    store = TokenStore(backend)
    arguments = (BRIDGE_ID, token) if operation == "set" else (BRIDGE_ID,)

    with pytest.raises(TokenUnavailable) as caught:
        getattr(store, operation)(*arguments)

    assert "keyrings.alt" in str(caught.value)
    assert backend.calls == []


def test_token_absent_from_errors(token):
    store = TokenStore(keyring.backends.fail.Keyring())

    with pytest.raises(TokenUnavailable) as caught:
        store.set(BRIDGE_ID, token)

    leaked = token in str(caught.value)
    assert not leaked, "the token appears in the TokenUnavailable message"


def test_memory_keyring_not_viable():
    viable = list(keyring.backend.KeyringBackend.get_viable_backends())

    assert MemoryKeyring not in viable


def test_memory_keyring_never_chosen():
    backends = keyring.backend.get_all_keyring()

    assert not any(isinstance(backend, MemoryKeyring) for backend in backends)


@pytest.fixture
def redacted_log():
    """Return a logger whose handler applies RedactingFilter, and the stream it writes to."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    handler.close()


def test_filter_masks_argument(redacted_log, token):
    logger, stream = redacted_log
    register_secret(token)

    logger.info("Probing with token %s", token)

    output = stream.getvalue()
    leaked = token in output
    assert not leaked, "the registered token appears in the log output"
    assert "Probing with token ***" in output


def test_filter_masks_message_text(redacted_log, token):
    logger, stream = redacted_log
    register_secret(token)

    logger.warning(f"Authorization: Bearer {token}")

    output = stream.getvalue()
    leaked = token in output
    assert not leaked, "the registered token appears in the log output"
    assert "Bearer ***" in output


def test_filter_record_directly(token):
    register_secret(token)
    record = logging.LogRecord("test", logging.INFO, __file__, 1, "token=%s", (token,), None)

    keep_record = RedactingFilter().filter(record)

    assert keep_record is True
    assert record.getMessage() == "token=***"


def test_get_registers_secret(memory_keyring, redacted_log):
    logger, stream = redacted_log
    stored = "test-token-registered-on-read-91c2"
    memory_keyring.set_password(SERVICE, BRIDGE_ID, stored)

    TokenStore(memory_keyring).get(BRIDGE_ID)
    logger.info("read %s", stored)

    leaked = stored in stream.getvalue()
    assert not leaked, "a token read from the keychain appears in the log output"
