"""Tests for the `bridgewatch` command, in subprocesses and in-process."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys

import pytest

from app import __version__
from app.cli import main
from app.core.config import BridgeConfig, Config, load_config, save_config
from app.core.model import ProbeKind
from app.core.paths import app_paths
from app.core.tokens import SERVICE

TOKEN_VARIABLE = "BRIDGEWATCH_TEST_TOKEN"
SUBPROCESS_TIMEOUT = 20  # maximum seconds per subprocess, so a hung one fails instead of blocking the run

SNAPSHOT_FIELDS = {
    "id", "name", "url", "probe", "status", "summary", "checked_at", "latency_ms",
    "http_status", "version", "build", "error", "components",
}
COMPONENT_FIELDS = {"name", "status", "state", "reported_at", "expires_at"}


@pytest.fixture(autouse=True)
def restore_logging():
    """Undo the root-logger handlers that an in-process `main` call installs."""
    root = logging.getLogger()
    root_level = root.level
    library_levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_bridgewatch", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(root_level)
    for name, level in library_levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def cli_env(bridgewatch_home, token):
    """Return the environment for `python -m app` subprocesses.

    keyring's fail backend replaces the OS keychain, so a subprocess never touches a real
    keychain on a developer's machine and behaves like a desktop without one.
    """
    env = dict(os.environ)  # the autouse fixtures already set BRIDGEWATCH_HOME and NO_PROXY
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env[TOKEN_VARIABLE] = token
    return env


def run_cli(*args, env, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=SUBPROCESS_TIMEOUT,
    )


def check_url(url, *extra):
    return ("check", "--url", url, "--probe", "health", "--token-env", TOKEN_VARIABLE, "--json", *extra)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def test_version_flag(cli_env):
    completed = run_cli("--version", env=cli_env)

    assert completed.returncode == 0
    assert completed.stdout.strip() == f"bridgewatch {__version__}"


@pytest.mark.parametrize(
    ("scenario", "exit_code", "status"),
    [
        ("healthy", 0, "healthy"),
        ("starting", 0, "healthy"),
        ("stale", 1, "degraded"),
        ("empty", 1, "degraded"),
        ("unhealthy", 2, "unhealthy"),
        ("proxy-error", 2, "unreachable"),
        ("unauthorized", 2, "unauthorized"),
    ],
)
def test_check_exit_code(simulator, cli_env, token, scenario, exit_code, status):
    bridge = simulator(scenario, token=token)

    completed = run_cli(*check_url(bridge.url), env=cli_env)

    document = json.loads(completed.stdout)
    assert completed.returncode == exit_code
    assert document["status"] == status
    assert document["bridges"][0]["status"] == status


def test_check_refused_exit_code(cli_env):
    completed = run_cli(*check_url(f"http://127.0.0.1:{closed_port()}"), env=cli_env)

    document = json.loads(completed.stdout)
    assert completed.returncode == 2
    assert document["bridges"][0]["error"]["kind"] == "connection_refused"


def test_check_hang_exit_code(simulator, cli_env, token):
    bridge = simulator("hang", token=token)

    completed = run_cli(*check_url(bridge.url, "--timeout", "0.5"), env=cli_env)

    document = json.loads(completed.stdout)
    assert completed.returncode == 2
    assert document["bridges"][0]["error"]["kind"] == "timeout"


def test_check_ping_without_token(simulator, cli_env):
    bridge = simulator("healthy")

    completed = run_cli("check", "--url", bridge.url, "--json", env=cli_env)

    document = json.loads(completed.stdout)
    assert completed.returncode == 0
    assert document["bridges"][0]["probe"] == "ping"
    assert bridge.requests[0].authorization_sent is False


@pytest.mark.parametrize(
    ("args", "expected_stderr"),
    [
        pytest.param(("check", "--url", "http://127.0.0.1:9", "--probe", "health"), "needs a token", id="no-token"),
        pytest.param(("check", "--url", "http://127.0.0.1:9", "--probe", "foo"), "invalid choice", id="bad-probe"),
        pytest.param(("check", "--url", "http://127.0.0.1:9", "--timeout", "0"), "--timeout", id="zero-timeout"),
        pytest.param(("check", "--url", "http://bridge.invalid"), "plain http://", id="plain-http-remote"),
        pytest.param(("check", "--token-env", TOKEN_VARIABLE), "go with --url", id="token-env-without-url"),
        pytest.param(("check",), "No bridges configured", id="no-config"),
        pytest.param(("remove", "Nowhere"), "No bridge named 'Nowhere'", id="remove-unknown"),
        pytest.param(("frobnicate",), "invalid choice", id="unknown-command"),
        pytest.param(("add", "Prod", "http://127.0.0.1:9", "--interval", "0"), "--interval", id="add-zero-interval"),
        pytest.param(("add", "Prod", "http://bridge.invalid"), "plain http://", id="add-plain-http-remote"),
    ],
)
def test_usage_error_exit_code(cli_env, args, expected_stderr):
    completed = run_cli(*args, env=cli_env)

    assert completed.returncode == 3
    assert expected_stderr in completed.stderr
    assert "Traceback" not in completed.stderr


def test_check_empty_token_variable(cli_env, simulator):
    cli_env[TOKEN_VARIABLE] = ""
    bridge = simulator("healthy")

    completed = run_cli(*check_url(bridge.url), env=cli_env)

    assert completed.returncode == 3
    assert TOKEN_VARIABLE in completed.stderr
    assert bridge.requests == []


def test_check_unknown_exit_code(simulator, cli_env, token):
    # The subprocess has no usable keychain, so the configured bridge's token is unavailable.
    bridge_server = simulator("healthy", token=token)
    bridge = BridgeConfig(name="Prod", url=bridge_server.url, probe=ProbeKind.HEALTH)
    save_config(app_paths().config_file, Config(bridges=[bridge]))

    completed = run_cli("check", "--json", env=cli_env)

    document = json.loads(completed.stdout)
    assert completed.returncode == 3
    assert document["status"] == "unknown"
    assert document["bridges"][0]["error"]["kind"] == "token_unavailable"
    assert bridge_server.requests == []


@pytest.mark.parametrize("scenario", ["healthy", "unauthorized", "unhealthy"])
def test_token_absent_from_output(simulator, cli_env, token, bridgewatch_home, scenario):
    bridge = simulator(scenario, token=token)

    completed = run_cli("-v", *check_url(bridge.url), env=cli_env)

    log_file = bridgewatch_home / "bridgewatch.log"
    assert completed.returncode in (0, 2)
    assert log_file.is_file()
    assert bridge.requests[0].authorization_sent is True
    leaked_stdout = token in completed.stdout
    assert not leaked_stdout, "the token appears in stdout"
    leaked_stderr = token in completed.stderr
    assert not leaked_stderr, "the token appears in stderr"
    leaked_log = token in log_file.read_text(encoding="utf-8")
    assert not leaked_log, "the token appears in the log file"


def test_add_without_keychain_fails(cli_env, token):
    completed = run_cli(
        "add", "Prod", "http://127.0.0.1:9", "--probe", "health", stdin=token + "\n", env=cli_env
    )

    assert completed.returncode == 1
    assert "No usable OS keychain" in completed.stderr
    assert not app_paths().config_file.exists()
    leaked = token in completed.stdout + completed.stderr
    assert not leaked, "the token appears in the output of add"


def test_add_ping_needs_no_keychain(cli_env):
    completed = run_cli("add", "Lab", "http://127.0.0.1:9", "--probe", "ping", stdin="", env=cli_env)

    assert completed.returncode == 0
    assert [b.name for b in load_config(app_paths().config_file).bridges] == ["Lab"]


def write_two_bridges():
    prod = BridgeConfig(name="Prod", url="https://scim.example.com", probe=ProbeKind.HEALTH)
    lab = BridgeConfig(name="Lab", url="http://127.0.0.1:3002", probe=ProbeKind.PING, interval=300.0)
    save_config(app_paths().config_file, Config(bridges=[prod, lab]))
    return prod, lab


def test_list_table(cli_env):
    prod, lab = write_two_bridges()

    completed = run_cli("list", env=cli_env)

    lines = completed.stdout.splitlines()
    assert completed.returncode == 0
    assert lines[0].split() == ["NAME", "PROBE", "INTERVAL", "URL", "ID"]
    assert prod.id in lines[1]
    assert lab.id in lines[2]


def test_list_json(cli_env):
    prod, lab = write_two_bridges()

    completed = run_cli("list", "--json", env=cli_env)

    document = json.loads(completed.stdout)
    assert completed.returncode == 0
    assert document["config_file"] == str(app_paths().config_file)
    assert [row["name"] for row in document["bridges"]] == ["Prod", "Lab"]
    assert document["bridges"][1]["interval"] == 300.0


def test_list_empty(cli_env):
    completed = run_cli("list", env=cli_env)

    assert completed.returncode == 0
    assert "No bridges configured" in completed.stdout


def test_remove_ping_bridge(cli_env):
    prod, lab = write_two_bridges()

    completed = run_cli("remove", "lab", env=cli_env)

    remaining = load_config(app_paths().config_file).bridges
    assert completed.returncode == 0
    assert [b.id for b in remaining] == [prod.id]


def test_remove_keeps_bridge_without_keychain(cli_env):
    prod, lab = write_two_bridges()

    completed = run_cli("remove", "Prod", env=cli_env)

    remaining = load_config(app_paths().config_file).bridges
    assert completed.returncode == 1
    assert "was not removed" in completed.stderr
    assert [b.id for b in remaining] == [prod.id, lab.id]


def test_simulate_serves_ping(cli_env):
    with subprocess.Popen(
        [sys.executable, "-m", "app", "simulate", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=cli_env,
    ) as process:
        try:
            first_line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)", first_line)
            assert match is not None, f"no URL in the first line: {first_line!r}"
            with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as connection:
                connection.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                response = b""
                while chunk := connection.recv(4096):
                    response += chunk
        finally:
            process.terminate()
            process.wait(timeout=5)

    assert first_line.startswith("Simulated SCIM bridge on http://127.0.0.1:")
    assert response.startswith(b"HTTP/1.1 200")
    assert response.endswith(b"pong")


# In-process: the conftest MemoryKeyring is the keychain, so add succeeds.


def add_in_process(monkeypatch, token, *args):
    monkeypatch.setattr(sys, "stdin", io.StringIO(token + "\n"))
    return main(["add", *args])


def test_add_stores_token(simulator, monkeypatch, memory_keyring, token, capsys):
    bridge_server = simulator("healthy", token=token)

    exit_code = add_in_process(monkeypatch, token, "Prod", bridge_server.url, "--probe", "health")

    bridges = load_config(app_paths().config_file).bridges
    output = capsys.readouterr()
    assert exit_code == 0
    assert [b.name for b in bridges] == ["Prod"]
    assert bridges[0].url == bridge_server.url
    assert memory_keyring.get_password(SERVICE, bridges[0].id) == token
    assert output.out.startswith("Added Prod:")
    leaked = token in output.out + output.err
    assert not leaked, "the token appears in the output of add"


def test_add_duplicate_name_rejected(simulator, monkeypatch, token, capsys):
    bridge_server = simulator("healthy", token=token)
    add_in_process(monkeypatch, token, "Prod", bridge_server.url, "--probe", "health")

    exit_code = add_in_process(monkeypatch, token, "prod", bridge_server.url, "--probe", "health")

    assert exit_code == 3
    assert "already exists" in capsys.readouterr().err


def test_add_empty_token_rejected(simulator, monkeypatch, capsys):
    bridge_server = simulator("healthy")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))

    exit_code = main(["add", "Prod", bridge_server.url, "--probe", "health"])

    assert exit_code == 3
    assert "No token" in capsys.readouterr().err
    assert not app_paths().config_file.exists()


def test_check_json_fields(simulator, monkeypatch, token, capsys):
    bridge_server = simulator("stale", token=token)
    add_in_process(monkeypatch, token, "Prod", bridge_server.url, "--probe", "health")
    capsys.readouterr()

    exit_code = main(["check", "--json"])

    document = json.loads(capsys.readouterr().out)
    entry = document["bridges"][0]
    assert exit_code == 1
    assert set(entry) == SNAPSHOT_FIELDS
    assert entry["name"] == "Prod"
    assert entry["url"] == bridge_server.url
    assert entry["probe"] == "health"
    assert entry["status"] == "degraded"
    assert "ConfirmationWatcher" in entry["summary"]
    assert entry["checked_at"].endswith("Z")
    assert isinstance(entry["latency_ms"], float)
    assert entry["http_status"] == 200
    assert entry["version"] == "2.9.16"
    assert entry["build"] == "209163"
    assert entry["error"] is None
    assert len(entry["components"]) == 4
    for component in entry["components"]:
        assert set(component) == COMPONENT_FIELDS
    assert entry["components"][0]["status"] == "stale"
    assert entry["components"][0]["state"] == "healthy"
    assert entry["components"][0]["reported_at"].endswith("Z")


def test_check_json_error_fields(simulator, monkeypatch, token, capsys):
    bridge_server = simulator("unauthorized", token=token)
    add_in_process(monkeypatch, token, "Prod", bridge_server.url, "--probe", "health")
    capsys.readouterr()

    exit_code = main(["check", "--json", "prod"])

    entry = json.loads(capsys.readouterr().out)["bridges"][0]
    assert exit_code == 2
    assert set(entry["error"]) == {"kind", "message", "hint"}
    assert entry["error"]["kind"] == "unauthorized"
    assert entry["components"] == []


def test_check_table_output(simulator, monkeypatch, token, capsys):
    bridge_server = simulator("healthy", token=token)
    add_in_process(monkeypatch, token, "Prod", bridge_server.url, "--probe", "health")
    capsys.readouterr()

    exit_code = main(["-v", "check"])

    output = capsys.readouterr()
    assert exit_code == 0
    assert output.out.splitlines()[0].split() == ["NAME", "STATUS", "LATENCY", "VERSION", "SUMMARY"]
    assert "All 4 components healthy" in output.out
    leaked = token in output.out + output.err
    assert not leaked, "the token appears in the output of check"


def test_remove_deletes_keyring_entry(simulator, monkeypatch, memory_keyring, token, capsys):
    bridge_server = simulator("healthy", token=token)
    add_in_process(monkeypatch, token, "Prod", bridge_server.url, "--probe", "health")
    bridge_id = load_config(app_paths().config_file).bridges[0].id

    exit_code = main(["remove", "Prod"])

    assert exit_code == 0
    assert memory_keyring.get_password(SERVICE, bridge_id) is None
    assert load_config(app_paths().config_file).bridges == []


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is a POSIX feature")
def test_add_end_of_input_at_prompt(cli_env):
    import pty
    import select

    pid, terminal = pty.fork()
    if pid == 0:  # the child: the CLI on the pseudo-terminal, as a person at a terminal runs it
        os.execve(sys.executable, [sys.executable, "-m", "app", "add", "Lab", "scim.lab.invalid"], cli_env)
    output = b""
    sent = False
    while True:
        ready, _, _ = select.select([terminal], [], [], SUBPROCESS_TIMEOUT)
        if not ready:
            break
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if not sent and b"(input hidden): " in output:
            os.write(terminal, b"\x04")  # Ctrl+D
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    text = output.decode("utf-8", "replace")

    assert sent, text
    assert os.waitstatus_to_exitcode(status) == 3, text
    assert "No token was entered (end of input)" in text
    assert "Traceback" not in text
    assert load_config(app_paths().config_file).bridges == []
