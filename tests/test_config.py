"""Tests for the TOML config file: round trip, atomic write and validation messages."""

from __future__ import annotations

import os
import stat
import uuid

import pytest

from app.core.config import BridgeConfig, Config, ConfigError, load_config, save_config
from app.core.model import ProbeKind
from app.core.paths import app_paths
from app.core.tokens import TokenStore


@pytest.fixture
def config_path(bridgewatch_home):
    return app_paths().config_file


def bridge_table(**fields) -> str:
    values = {
        "id": str(uuid.uuid4()),
        "name": "Prod",
        "url": "https://scim.example.com",
        "probe": "monitoring",
        "interval": 60.0,
    }
    values.update(fields)
    lines = ["[[bridges]]"]
    for key, value in values.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def test_config_path_in_home(config_path, bridgewatch_home):
    assert config_path == bridgewatch_home / "config.toml"


def test_missing_file_is_empty(config_path):
    config = load_config(config_path)

    assert config.bridges == []
    assert config.extra == {}


def test_round_trip_keeps_fields(config_path):
    first = BridgeConfig(name="Prod", url="https://scim.example.com", probe=ProbeKind.HEALTH, interval=30.0)
    second = BridgeConfig(name="Lab", url="http://127.0.0.1:3002", probe=ProbeKind.PING, interval=300.0)
    third = BridgeConfig(
        name="Office", url="http://scim.office.example", probe=ProbeKind.MONITORING, allow_http=True
    )
    save_config(config_path, Config(bridges=[first, second, third]))

    loaded = load_config(config_path)

    assert loaded.bridges == [first, second, third]


def test_round_trip_keeps_unknown_keys(config_path):
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com", extra={"colour": "blue", "tags": ["eu"]})
    config = Config(bridges=[bridge], extra={"future_setting": 3, "ui": {"theme": "dark"}})
    save_config(config_path, config)

    loaded = load_config(config_path)

    assert loaded.extra == {"future_setting": 3, "ui": {"theme": "dark"}}
    assert loaded.bridges[0].extra == {"colour": "blue", "tags": ["eu"]}


def test_load_normalizes_url(config_path):
    config_path.parent.mkdir(parents=True)
    config_path.write_text(bridge_table(url="scim.example.com/app/status"), encoding="utf-8")

    loaded = load_config(config_path)

    assert loaded.bridges[0].url == "https://scim.example.com"


def test_atomic_write_leaves_no_temp(config_path):
    save_config(config_path, Config(bridges=[BridgeConfig(name="Prod", url="https://scim.example.com")]))
    save_config(config_path, Config(bridges=[BridgeConfig(name="Lab", url="https://lab.example.com")]))

    assert sorted(os.listdir(config_path.parent)) == ["config.toml"]


def test_failed_write_keeps_old_file(config_path, monkeypatch):
    save_config(config_path, Config(bridges=[BridgeConfig(name="Prod", url="https://scim.example.com")]))
    before = config_path.read_bytes()

    def failing_replace(source, destination):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch, pytest.raises(OSError):
        patch.setattr(os, "replace", failing_replace)
        save_config(config_path, Config(bridges=[BridgeConfig(name="Lab", url="https://lab.example.com")]))

    assert config_path.read_bytes() == before
    assert sorted(os.listdir(config_path.parent)) == ["config.toml"]


def test_config_file_private(config_path):
    save_config(config_path, Config())

    mode = stat.S_IMODE(config_path.stat().st_mode)

    assert mode == 0o600


def test_corrupt_toml_names_path_and_line(config_path):
    config_path.parent.mkdir(parents=True)
    content = b'# Bridgewatch\n[[bridges]]\nname = "Prod"\nurl = https://scim.example.com\n'
    config_path.write_bytes(content)

    with pytest.raises(ConfigError) as caught:
        load_config(config_path)

    message = str(caught.value)
    assert str(config_path) in message
    assert "line 4" in message
    assert config_path.read_bytes() == content


@pytest.mark.parametrize(
    ("fields", "expected_fragment"),
    [
        pytest.param({"interval": 0}, "interval is 0 s", id="interval-zero"),
        pytest.param({"interval": 100000}, "100000", id="interval-too-long"),
        pytest.param({"interval": "60"}, "'60'", id="interval-string"),
        pytest.param({"probe": "foo"}, "'foo'", id="probe-unknown"),
        pytest.param({"url": "ftp://scim.example.com"}, "ftp://scim.example.com", id="url-scheme"),
        pytest.param({"url": "http://scim.example.com"}, "http://scim.example.com", id="url-plain-http"),
        pytest.param({"url": ""}, "empty", id="url-empty"),
        pytest.param({"id": "not-a-uuid"}, "'not-a-uuid'", id="id-not-uuid"),
        pytest.param({"name": ""}, "name", id="name-empty"),
        pytest.param({"allow_http": "yes"}, "'yes'", id="allow-http-string"),
    ],
)
def test_invalid_value_named(config_path, fields, expected_fragment):
    config_path.parent.mkdir(parents=True)
    content = bridge_table(**fields).encode()
    config_path.write_bytes(content)

    with pytest.raises(ConfigError) as caught:
        load_config(config_path)

    message = str(caught.value)
    assert expected_fragment in message
    assert str(config_path) in message
    assert config_path.read_bytes() == content


def test_interval_message_names_field(config_path):
    config_path.parent.mkdir(parents=True)
    config_path.write_text(bridge_table(interval=0), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(config_path)

    assert "[[bridges]] entry 1: interval is 0 s" in str(caught.value)


def test_missing_id_suggests_one(config_path):
    config_path.parent.mkdir(parents=True)
    config_path.write_text('[[bridges]]\nname = "eu"\nurl = "https://scim.example.invalid"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(config_path)

    assert "[[bridges]] entry 1 has no id" in str(caught.value)
    assert 'id = "' in str(caught.value)


def test_unknown_key_warns(config_path):
    config_path.parent.mkdir(parents=True)
    config_path.write_text(bridge_table() + 'intervall = 30\n', encoding="utf-8")

    config = load_config(config_path)

    assert len(config.warnings) == 1
    assert "'intervall'" in config.warnings[0]
    assert config.bridges[0].extra == {"intervall": 30}


def test_duplicate_names_rejected(config_path):
    config_path.parent.mkdir(parents=True)
    content = bridge_table(name="Prod") + bridge_table(name="prod", url="https://other.example.com")
    config_path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(config_path)

    assert "'prod'" in str(caught.value)


def test_duplicate_ids_rejected(config_path):
    config_path.parent.mkdir(parents=True)
    shared_id = str(uuid.uuid4())
    content = bridge_table(id=shared_id, name="Prod") + bridge_table(id=shared_id, name="Lab")
    config_path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(config_path)

    assert shared_id in str(caught.value)


def test_bridges_not_array_rejected(config_path):
    config_path.parent.mkdir(parents=True)
    config_path.write_text('bridges = "none"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(config_path)

    assert "bridges" in str(caught.value)


def test_written_file_has_no_token(config_path, memory_keyring, token):
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com", probe=ProbeKind.HEALTH)
    TokenStore(memory_keyring).set(bridge.id, token)

    save_config(config_path, Config(bridges=[bridge]))

    leaked = token.encode() in config_path.read_bytes()
    assert not leaked, "the token appears in the config file"
    assert bridge.id.encode() in config_path.read_bytes()
