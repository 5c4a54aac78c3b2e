"""Tokens in a real Secret Service (gnome-keyring) on a private D-Bus session, and the no-keychain path.

The fixture starts its own dbus-daemon and gnome-keyring-daemon in a temporary folder,
with no DISPLAY, so an unlock prompt fails at once instead of waiting for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import keyring.backends.fail
import keyring.core
import pytest

from app.core.config import BridgeConfig, Config, load_config, save_config
from app.core.paths import app_paths
from app.core.secretservice import (
    SecretServiceError,
    SecretServiceKeyring,
    aes128_cbc_decrypt,
    aes128_cbc_encrypt,
    hkdf_sha256,
)
from app.core.tokens import KeychainProblem, TokenStore, TokenUnavailable, set_system_backend

BRIDGE_ID = "0b5c3d1e-7a4f-4e36-9d1a-2c8e5f7a9b10"
KEYRING_PASSWORD = "test-keyring-password"  # unlocks the throwaway login keyring the daemon creates
START_TIMEOUT = 10.0  # seconds for the daemons to come up
SUBPROCESS_TIMEOUT = 30

_missing = [name for name in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(name) is None]
needs_secret_service = pytest.mark.skipif(
    bool(_missing),
    reason=f"{' and '.join(_missing)} not installed (Debian packages dbus and gnome-keyring; .ci/run installs them)",
)


def _wait_for_secrets(environment: dict[str, str]) -> None:
    """Wait until org.freedesktop.secrets responds on the private bus."""
    script = (
        "import secretstorage, sys\n"
        "connection = secretstorage.dbus_init()\n"
        "sys.exit(0 if secretstorage.check_service_availability(connection) else 1)\n"
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        completed = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, timeout=10)
        if completed.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the Secret Service did not start within {START_TIMEOUT:g} s: {completed.stderr[-500:]!r}")


@contextlib.contextmanager
def session_bus():
    """Start a private session bus with nothing registered on it; yield the environment that reaches it."""
    folder = Path(tempfile.mkdtemp(prefix="bw-dbus-"))
    environment = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    runtime = folder / "runtime"
    runtime.mkdir(mode=0o700)
    environment.update(HOME=str(folder), XDG_RUNTIME_DIR=str(runtime), XDG_DATA_HOME=str(folder / "data"))
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1", f"--address=unix:path={folder}/bus"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environment,
        text=True,
    )
    try:
        environment["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        yield environment
    finally:
        bus.terminate()
        bus.wait(timeout=10)
        bus.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def private_bus():
    with session_bus() as environment:
        yield environment


@pytest.fixture
def empty_bus():
    with session_bus() as environment:
        yield environment


@contextlib.contextmanager
def running_secret_service(environment: dict[str, str]):
    """Run gnome-keyring-daemon's Secret Service on the bus of `environment`, with an unlocked login keyring."""
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    daemon.stdin.write(KEYRING_PASSWORD.encode())
    daemon.stdin.close()
    try:
        _wait_for_secrets(environment)
        yield environment
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


@pytest.fixture(scope="module")
def secret_service(private_bus):
    with running_secret_service(private_bus) as environment:
        yield environment


@pytest.fixture
def lockable_secret_service(empty_bus):
    """A Secret Service of the test's own, since a locked keyring cannot be unlocked again without a prompt."""
    with running_secret_service(empty_bus) as environment:
        yield environment
    collect_leaked_connections()


def secretstorage_backend():
    """keyring's stock Secret Service backend (through SecretStorage), which earlier versions used."""
    import keyring.backends.SecretService

    return keyring.backends.SecretService.Keyring()


@pytest.fixture(params=["bridgewatch", "secretstorage"])
def secret_store(request, secret_service, monkeypatch):
    """Return a TokenStore talking to the private bus through Bridgewatch's client or through SecretStorage."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service["DBUS_SESSION_BUS_ADDRESS"])
    backend = SecretServiceKeyring() if request.param == "bridgewatch" else secretstorage_backend()
    store = TokenStore(backend)
    yield store
    try:
        store.delete(BRIDGE_ID)
    except TokenUnavailable:
        pass
    collect_leaked_connections()


def collect_leaked_connections() -> None:
    """Close the D-Bus sockets that keyring leaves open when a keychain stays locked.

    keyring 25.7's SecretService backend opens a connection in get_preferred_collection and
    does not close it when it raises KeyringLocked. The socket's ResourceWarning would
    otherwise fail a later, unrelated test.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@needs_secret_service
def test_store_read_delete(secret_store, token):
    secret_store.set(BRIDGE_ID, token)
    stored = secret_store.get(BRIDGE_ID)
    deleted = secret_store.delete(BRIDGE_ID)

    assert stored == token
    assert deleted is True
    assert secret_store.get(BRIDGE_ID) is None
    assert secret_store.delete(BRIDGE_ID) is False


@needs_secret_service
def test_secret_service_named(secret_store):
    assert secret_store.availability_problem() is None
    assert secret_store.backend_name == "the Secret Service keychain (GNOME Keyring or KWallet)"


def run_add(environment: dict[str, str], token: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", "add", "Prod", "scim.prod.invalid", "--probe", "monitoring"],
        input=token + "\n",
        capture_output=True,
        text=True,
        env=environment,
        timeout=SUBPROCESS_TIMEOUT,
    )


def cli_environment(base: dict[str, str], home: Path, tmp_path: Path) -> dict[str, str]:
    environment = dict(base)
    environment.pop("PYTHON_KEYRING_BACKEND", None)
    environment["BRIDGEWATCH_HOME"] = str(home)
    environment["XDG_CONFIG_HOME"] = str(tmp_path / "no-keyring-config")  # no keyringrc.cfg choosing a backend
    return environment


def test_cli_without_session_bus(token, bridgewatch_home, tmp_path):
    environment = cli_environment(os.environ, bridgewatch_home, tmp_path)
    environment.pop("DBUS_SESSION_BUS_ADDRESS", None)

    completed = run_add(environment, token)

    assert completed.returncode == 1
    assert "No usable OS keychain was found: there is no D-Bus session bus" in completed.stderr
    assert "dbus-run-session" in completed.stderr
    assert load_config(app_paths().config_file).bridges == []
    leaked = token in completed.stdout + completed.stderr
    assert not leaked, "the token appears in the output of add"


def test_cli_list_names_fix(token, bridgewatch_home, tmp_path):
    environment = cli_environment(os.environ, bridgewatch_home, tmp_path)
    environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    environment["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/bridgewatch-test-bus"
    save_config(app_paths().config_file, Config(bridges=[BridgeConfig(name="Prod", url="https://scim.prod.invalid")]))

    completed = subprocess.run(
        [sys.executable, "-m", "app", "list"], capture_output=True, text=True, env=environment, timeout=SUBPROCESS_TIMEOUT
    )

    assert completed.returncode == 0
    assert "Prod" in completed.stdout
    assert "cannot be checked" in completed.stderr
    assert "Install and unlock GNOME Keyring or KWallet" in completed.stderr


@needs_secret_service
def test_cli_keyring_cannot_open(empty_bus, token, bridgewatch_home, tmp_path):
    # The bus can start gnome-keyring on demand, but it has no login keyring and cannot prompt.
    completed = run_add(cli_environment(empty_bus, bridgewatch_home, tmp_path), token)

    assert completed.returncode == 1
    assert "The keychain could not be opened" in completed.stderr
    assert "Install and unlock GNOME Keyring or KWallet" in completed.stderr
    assert load_config(app_paths().config_file).bridges == []


@needs_secret_service
@pytest.mark.parametrize("client", ["bridgewatch", "secretstorage"])
def test_locked_keychain_reported(client, lockable_secret_service, monkeypatch, token):
    # Unlocking needs a prompt, which fails at once with no display, so the keyring stays locked.
    import secretstorage

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", lockable_secret_service["DBUS_SESSION_BUS_ADDRESS"])
    secret_store = TokenStore(SecretServiceKeyring() if client == "bridgewatch" else secretstorage_backend())
    secret_store.set(BRIDGE_ID, token)
    connection = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(connection)
    collection.lock()
    try:
        with pytest.raises(TokenUnavailable) as caught:
            secret_store.get(BRIDGE_ID)
    finally:
        connection.close()

    assert caught.value.problem is KeychainProblem.LOCKED
    assert "Token unavailable: the keychain is locked" in str(caught.value)
    leaked = token in str(caught.value)
    assert not leaked, "the token appears in the locked-keychain message"


def test_fail_backend_availability(monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bridgewatch-test-bus")
    problem = TokenStore(keyring.backends.fail.Keyring()).availability_problem()

    assert problem is not None
    assert problem.problem is KeychainProblem.NO_BACKEND
    assert "Install and unlock GNOME Keyring or KWallet" in str(problem)


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the session bus is a Linux matter")
def test_no_session_bus_named(monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)

    problem = TokenStore(keyring.backends.fail.Keyring()).availability_problem()

    assert problem.problem is KeychainProblem.NO_BACKEND
    assert "there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)" in str(problem)
    assert "dbus-run-session" in str(problem)


def test_memory_backend_available(memory_keyring):
    store = TokenStore(memory_keyring)

    assert store.availability_problem() is None
    assert store.backend_name == "a temporary in-memory keyring"


# --- Bridgewatch's own Secret Service client ----------------------------------------------


@needs_secret_service
def test_clients_read_each_others_tokens(secret_service, monkeypatch, token):
    # Earlier versions stored tokens through SecretStorage: each client reads what the other wrote.
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service["DBUS_SESSION_BUS_ADDRESS"])
    ours, theirs = SecretServiceKeyring(), secretstorage_backend()
    second_token = token[::-1] + "-é"
    try:
        ours.set_password("bridgewatch", "written-by-bridgewatch", token)
        theirs.set_password("bridgewatch", "written-by-secretstorage", second_token)

        assert theirs.get_password("bridgewatch", "written-by-bridgewatch") == token
        assert ours.get_password("bridgewatch", "written-by-secretstorage") == second_token

        ours.set_password("bridgewatch", "written-by-secretstorage", token)  # replaces, no duplicate
        assert theirs.get_password("bridgewatch", "written-by-secretstorage") == token
    finally:
        for name in ("written-by-bridgewatch", "written-by-secretstorage"):
            with contextlib.suppress(Exception):
                ours.delete_password("bridgewatch", name)
    assert theirs.get_password("bridgewatch", "written-by-secretstorage") is None


@needs_secret_service
@pytest.mark.skipif(shutil.which("dbus-monitor") is None, reason="dbus-monitor not installed (Debian package dbus-bin)")
def test_token_is_encrypted_on_the_bus(secret_service, monkeypatch, token):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service["DBUS_SESSION_BUS_ADDRESS"])
    monitor = subprocess.Popen(
        ["dbus-monitor", "--address", secret_service["DBUS_SESSION_BUS_ADDRESS"], "--binary"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)  # dbus-monitor has no ready signal; it must be listening before the store
        backend = SecretServiceKeyring()
        backend.set_password("bridgewatch", BRIDGE_ID, token)
        read_back = backend.get_password("bridgewatch", BRIDGE_ID)
        backend.delete_password("bridgewatch", BRIDGE_ID)
        time.sleep(0.3)
    finally:
        monitor.terminate()
        captured, _ = monitor.communicate(timeout=10)

    assert read_back == token
    assert b"dh-ietf1024-sha256-aes128-cbc-pkcs7" in captured, "the monitor saw no session being opened"
    assert b"GetSecret" in captured
    assert b"CreateItem" in captured
    in_clear = token.encode() in captured
    assert not in_clear, "the token crossed the session bus unencrypted"


@needs_secret_service
def test_system_backend_is_own_client(secret_service, monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service["DBUS_SESSION_BUS_ADDRESS"])
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", secret_service["HOME"])  # no keyringrc.cfg choosing a backend
    set_system_backend(None)

    chosen = TokenStore().backend

    assert isinstance(chosen, SecretServiceKeyring)
    assert TokenStore().backend_name == "the Secret Service keychain (GNOME Keyring or KWallet)"


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the Secret Service is the Linux keychain")
def test_system_backend_without_session_bus(monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bridgewatch-test-bus")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    set_system_backend(None)
    assert isinstance(TokenStore().backend, keyring.backends.fail.Keyring)

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent/bridgewatch-test-config")  # no keyringrc.cfg
    set_system_backend(None)
    assert isinstance(TokenStore().backend, keyring.backends.fail.Keyring)


def test_unreachable_bus_reported_as_no_keychain(monkeypatch, token):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bridgewatch-test-bus")

    with pytest.raises(TokenUnavailable) as caught:
        TokenStore(SecretServiceKeyring()).set(BRIDGE_ID, token)

    assert caught.value.problem is KeychainProblem.NO_BACKEND
    assert "The keychain could not be opened" in str(caught.value)


@needs_secret_service
def test_cli_add_stores_through_own_client(secret_service, bridgewatch_home, tmp_path, monkeypatch, token):
    completed = run_add(cli_environment(secret_service, bridgewatch_home, tmp_path), token)
    assert completed.returncode == 0, completed.stderr[-500:]
    (bridge,) = load_config(app_paths().config_file).bridges

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service["DBUS_SESSION_BUS_ADDRESS"])
    stored = secretstorage_backend().get_password("bridgewatch", bridge.id)
    SecretServiceKeyring().delete_password("bridgewatch", bridge.id)

    matches = stored == token
    assert matches, "the token read back through SecretStorage differs from the one given to add"


class PlainOnlySecretService:
    """A Secret Service on a real private bus that offers no encrypted session, and records what it was asked."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.algorithms: list[str] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        from dbus_fast.aio import MessageBus
        from dbus_fast.service import ServiceInterface, method

        recorded = self.algorithms

        class Service(ServiceInterface):
            def __init__(self) -> None:
                super().__init__("org.freedesktop.Secret.Service")

            @method()
            def OpenSession(self, algorithm: "s", argument: "v") -> "vo":  # noqa: F821, N802
                recorded.append(algorithm)
                raise DBusError("org.freedesktop.DBus.Error.NotSupported", "only plain sessions here")

        from dbus_fast import DBusError

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        bus = await MessageBus(bus_address=self.address).connect()
        bus.export("/org/freedesktop/secrets", Service())
        await bus.request_name("org.freedesktop.secrets")
        self._ready.set()
        await self._stop.wait()
        bus.disconnect()

    def __enter__(self) -> "PlainOnlySecretService":
        self._thread.start()
        assert self._ready.wait(10), "the test service did not start"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def test_no_plain_session_fallback(empty_bus, monkeypatch, token):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", empty_bus["DBUS_SESSION_BUS_ADDRESS"])
    with PlainOnlySecretService(empty_bus["DBUS_SESSION_BUS_ADDRESS"]) as service:
        with pytest.raises(TokenUnavailable) as caught:
            TokenStore(SecretServiceKeyring()).set(BRIDGE_ID, token)

    assert service.algorithms == ["dh-ietf1024-sha256-aes128-cbc-pkcs7"]
    assert str(caught.value).startswith("Could not store the token: The Secret Service does not offer encrypted sessions")
    assert "Nothing was changed." in str(caught.value)


# --- the cipher and key derivation, against published test vectors -------------------------


def test_aes128_cbc_known_answer():
    # NIST SP 800-38A, F.2.1 (CBC-AES128.Encrypt), first block; the second block is PKCS#7 padding.
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    iv = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    plaintext = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")

    ciphertext = aes128_cbc_encrypt(key, iv, plaintext)

    assert ciphertext[:16].hex() == "7649abac8119b246cee98e9b12e9197d"
    assert len(ciphertext) == 32
    assert aes128_cbc_decrypt(key, iv, ciphertext) == plaintext


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 100])
def test_aes128_cbc_matches_cryptography(length):
    cryptography = pytest.importorskip("cryptography.hazmat.primitives.ciphers")
    from cryptography.hazmat.primitives import padding

    key, iv, plaintext = os.urandom(16), os.urandom(16), os.urandom(length)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    cipher = cryptography.Cipher(cryptography.algorithms.AES(key), cryptography.modes.CBC(iv)).encryptor()

    assert aes128_cbc_encrypt(key, iv, plaintext) == cipher.update(padded) + cipher.finalize()


def test_aes128_cbc_wrong_key_fails_cleanly():
    key, iv = bytes(16), bytes(16)
    ciphertext = aes128_cbc_encrypt(key, iv, b"secret-value")

    # A wrong key almost always breaks the padding; when it happens not to, the output differs.
    try:
        result = aes128_cbc_decrypt(bytes([1]) * 16, iv, ciphertext)
    except SecretServiceError as exc:
        assert "secret-value" not in str(exc)
    else:
        assert result != b"secret-value"


def test_hkdf_rfc5869_vectors():
    ikm = bytes([0x0B] * 22)
    case_1 = hkdf_sha256(ikm, 42, salt=bytes(range(13)), info=bytes(range(0xF0, 0xFA)))
    case_3 = hkdf_sha256(ikm, 42)

    assert case_1.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    assert case_3.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


AVAILABILITY = (
    "import sys\n"
    "from app.core.tokens import TokenStore\n"
    "problem = TokenStore().availability_problem()\n"
    "print(problem.problem.value if problem else 'available', 'keyring' in sys.modules)\n"
)


def check_availability(environment: dict[str, str]) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", AVAILABILITY], capture_output=True, text=True, env=environment, timeout=SUBPROCESS_TIMEOUT
    )
    assert completed.returncode == 0, completed.stderr[-500:]
    return completed.stdout.strip()


def availability_environment(base: dict[str, str], config_home: Path) -> dict[str, str]:
    environment = dict(base)
    environment.pop("PYTHON_KEYRING_BACKEND", None)
    environment["XDG_CONFIG_HOME"] = str(config_home)
    return environment


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the Secret Service is the Linux keychain")
def test_availability_without_bus_skips_keyring(tmp_path):
    environment = availability_environment(os.environ, tmp_path)
    environment.pop("DBUS_SESSION_BUS_ADDRESS", None)

    assert check_availability(environment) == "no_backend False"


@needs_secret_service
def test_availability_with_service_skips_keyring(secret_service, tmp_path):
    assert check_availability(availability_environment(secret_service, tmp_path)) == "available False"


@needs_secret_service
def test_availability_honours_keyringrc(secret_service, tmp_path):
    config = tmp_path / "python_keyring" / "keyringrc.cfg"
    config.parent.mkdir()
    config.write_text("[backend]\ndefault-keyring = keyring.backends.fail.Keyring\n", encoding="utf-8")

    assert check_availability(availability_environment(secret_service, tmp_path)) == "no_backend True"
