"""Tokens in a real Secret Service (gnome-keyring) on a private D-Bus session, and the no-keychain path.

The fixture starts its own dbus-daemon and gnome-keyring-daemon in a temporary folder,
with no DISPLAY, so an unlock prompt fails at once instead of waiting for a person.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import keyring.backends.fail
import pytest

from app.core.config import BridgeConfig, Config, load_config, save_config
from app.core.paths import app_paths
from app.core.tokens import KeychainProblem, TokenStore, TokenUnavailable

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


@pytest.fixture(scope="module")
def secret_service(private_bus):
    """Start gnome-keyring-daemon's Secret Service on the private bus with an unlocked login keyring."""
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=private_bus,
    )
    daemon.stdin.write(KEYRING_PASSWORD.encode())
    daemon.stdin.close()
    try:
        _wait_for_secrets(private_bus)
        yield private_bus
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


@pytest.fixture
def secret_store(secret_service, monkeypatch):
    """Return a TokenStore on keyring's Secret Service backend, talking to the private bus."""
    import keyring.backends.SecretService

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service["DBUS_SESSION_BUS_ADDRESS"])
    store = TokenStore(keyring.backends.SecretService.Keyring())
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
        [sys.executable, "-m", "app", "add", "Prod", "scim.example.com", "--probe", "monitoring"],
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
    assert "No usable OS keychain" in completed.stderr
    assert "Install and unlock GNOME Keyring or KWallet" in completed.stderr
    assert load_config(app_paths().config_file).bridges == []
    leaked = token in completed.stdout + completed.stderr
    assert not leaked, "the token appears in the output of add"


def test_cli_list_names_fix(token, bridgewatch_home, tmp_path):
    environment = cli_environment(os.environ, bridgewatch_home, tmp_path)
    environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    save_config(app_paths().config_file, Config(bridges=[BridgeConfig(name="Prod", url="https://scim.example.com")]))

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
def test_locked_keychain_reported(secret_store, token):
    # Last of the Secret Service tests: unlocking needs a prompt, so the keyring stays locked.
    import secretstorage

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


def test_fail_backend_availability():
    problem = TokenStore(keyring.backends.fail.Keyring()).availability_problem()

    assert problem is not None
    assert problem.problem is KeychainProblem.NO_BACKEND
    assert "Install and unlock GNOME Keyring or KWallet" in str(problem)


def test_memory_backend_available(memory_keyring):
    store = TokenStore(memory_keyring)

    assert store.availability_problem() is None
    assert store.backend_name == "a temporary in-memory keyring"
