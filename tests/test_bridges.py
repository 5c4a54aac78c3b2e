"""Tests for BridgeManager: keychain-first saving, removal, import and export, and the [defaults] table."""

from __future__ import annotations

import tomllib
from datetime import datetime, timezone

import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

from app.core.bridges import (
    BridgeForm,
    BridgeInputError,
    BridgeManager,
    TokenChange,
    TokenState,
    export_text,
    parse_import,
)
from app.core.config import DEFAULT_INTERVAL, BridgeConfig, Config, ConfigError, load_config, save_config
from app.core.model import ProbeKind
from app.core.paths import app_paths
from app.core.tokens import SERVICE, KeychainProblem, MemoryKeyring, TokenStore, TokenUnavailable

OTHER_TOKEN = "test-token-replacement-51b0"


class FailingWriteKeyring(MemoryKeyring):
    """A keychain that reads and deletes but refuses every write, as a denied access does."""

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError("write refused")


class LockedKeyring(keyring.backend.KeyringBackend):
    """A keychain that stays locked: every operation raises KeyringLocked."""

    viable = False
    priority = 0

    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service, username, password):
        raise keyring.errors.KeyringLocked("locked")

    def delete_password(self, service, username):
        raise keyring.errors.KeyringLocked("locked")


@pytest.fixture
def config_path(bridgewatch_home):
    return app_paths().config_file


@pytest.fixture
def manager(config_path, memory_keyring):
    return BridgeManager(config_path, TokenStore(memory_keyring))


def form(**fields) -> BridgeForm:
    values = {"name": "Prod", "url": "scim.example.com", "probe": ProbeKind.MONITORING, "interval": 60.0}
    values.update(fields)
    return BridgeForm(**values)


def unwritable_config(tmp_path):
    """Return a config path whose folder is a file, so writing the config fails even as root."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    return blocker / "config.toml"


# -- add -------------------------------------------------------------------------------------------


def test_add_stores_token_then_config(manager, memory_keyring, config_path, token):
    bridge = manager.add(form(), token)

    assert memory_keyring.get_password(SERVICE, bridge.id) == token
    assert [b.id for b in load_config(config_path).bridges] == [bridge.id]
    assert bridge.url == "https://scim.example.com"
    leaked = token in config_path.read_text(encoding="utf-8")
    assert not leaked, "the token appears in the config file"


def test_add_failed_keychain_writes_nothing(config_path, token):
    manager = BridgeManager(config_path, TokenStore(FailingWriteKeyring()))

    with pytest.raises(TokenUnavailable) as caught:
        manager.add(form(), token)

    assert "nothing was changed" in str(caught.value)
    assert not config_path.exists()


def test_add_without_keychain_writes_nothing(config_path, token):
    manager = BridgeManager(config_path, TokenStore(keyring.backends.fail.Keyring()))

    with pytest.raises(TokenUnavailable) as caught:
        manager.add(form(), token)

    assert caught.value.problem is KeychainProblem.NO_BACKEND
    assert not config_path.exists()


def test_add_ping_without_keychain(config_path):
    manager = BridgeManager(config_path, TokenStore(keyring.backends.fail.Keyring()))

    bridge = manager.add(form(probe=ProbeKind.PING), None)

    assert [b.id for b in load_config(config_path).bridges] == [bridge.id]


def test_add_config_failure_removes_token(tmp_path, memory_keyring, token):
    manager = BridgeManager(unwritable_config(tmp_path), TokenStore(memory_keyring))
    manager.load = Config  # reading succeeds with an empty config; only the write fails

    with pytest.raises(ConfigError) as caught:
        manager.add(form(), token)

    assert "Nothing was added" in str(caught.value)
    assert memory_keyring._store == {}


def test_add_requires_token(manager, config_path):
    with pytest.raises(BridgeInputError) as caught:
        manager.add(form(), "   ")

    assert caught.value.field == "token"
    assert not config_path.exists()


def test_add_duplicate_name(manager, token):
    manager.add(form(), token)

    with pytest.raises(BridgeInputError) as caught:
        manager.add(form(name="prod", url="other.example.com"), token)

    assert caught.value.field == "name"


@pytest.mark.parametrize(
    ("typed", "url", "note"),
    [
        ("scim.example.com", "https://scim.example.com", None),
        ("  scim.example.com  ", "https://scim.example.com", None),
        ("https://scim.example.com/app", "https://scim.example.com", "Removed /app"),
        ("https://scim.example.com/health/", "https://scim.example.com", "Removed /health"),
        ("http://127.0.0.1:3002/monitoring", "http://127.0.0.1:3002", "Removed /monitoring"),
    ],
)
def test_validate_normalizes_url(manager, typed, url, note):
    valid = manager.validate(form(url=typed))

    assert valid.url == url
    if note:
        assert any(note in text for text in valid.notes)
    else:
        assert valid.notes == ()


def test_validate_rejects_plain_http(manager):
    with pytest.raises(BridgeInputError) as caught:
        manager.validate(form(url="http://scim.example.com"))

    assert caught.value.field == "url"
    assert "clear text" in str(caught.value)


def test_validate_allows_ticked_http(manager):
    valid = manager.validate(form(url="http://scim.example.com", allow_http=True))

    assert valid.url == "http://scim.example.com"


def test_validate_interval_range(manager):
    with pytest.raises(BridgeInputError) as caught:
        manager.validate(form(interval=1.0))

    assert caught.value.field == "interval"


# -- update ----------------------------------------------------------------------------------------


def test_update_replaces_token(manager, memory_keyring, token):
    bridge = manager.add(form(), token)

    updated = manager.update(bridge.id, form(name="Production"), TokenChange.REPLACE, OTHER_TOKEN)

    assert updated.id == bridge.id
    assert updated.name == "Production"
    assert memory_keyring.get_password(SERVICE, bridge.id) == OTHER_TOKEN


def test_update_failed_keychain_keeps_old(config_path, token):
    backend = FailingWriteKeyring()
    backend._store[(SERVICE, "placeholder")] = "x"
    store = TokenStore(backend)
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com")
    save_config(config_path, Config(bridges=[bridge]))
    backend._store[(SERVICE, bridge.id)] = token
    manager = BridgeManager(config_path, store)

    with pytest.raises(TokenUnavailable):
        manager.update(bridge.id, form(url="new.example.com"), TokenChange.REPLACE, OTHER_TOKEN)

    assert load_config(config_path).bridges == [bridge]
    assert backend.get_password(SERVICE, bridge.id) == token


def test_update_config_failure_restores_token(tmp_path, memory_keyring, token):
    store = TokenStore(memory_keyring)
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com")
    memory_keyring.set_password(SERVICE, bridge.id, token)
    path = tmp_path / "config.toml"
    save_config(path, Config(bridges=[bridge]))
    manager = BridgeManager(path, store)
    manager.load = lambda: Config(bridges=[bridge])  # read the old config, then write where it fails
    manager.config_path = unwritable_config(tmp_path)

    with pytest.raises(ConfigError):
        manager.update(bridge.id, form(), TokenChange.REPLACE, OTHER_TOKEN)

    assert memory_keyring.get_password(SERVICE, bridge.id) == token


def test_update_keep_needs_stored_token(manager, memory_keyring, token):
    bridge = manager.add(form(), token)
    memory_keyring.delete_password(SERVICE, bridge.id)

    with pytest.raises(BridgeInputError) as caught:
        manager.update(bridge.id, form(), TokenChange.KEEP)

    assert caught.value.field == "token"


def test_update_remove_needs_ping(manager, memory_keyring, token):
    bridge = manager.add(form(), token)

    with pytest.raises(BridgeInputError):
        manager.update(bridge.id, form(), TokenChange.REMOVE)
    manager.update(bridge.id, form(probe=ProbeKind.PING), TokenChange.REMOVE)

    assert memory_keyring.get_password(SERVICE, bridge.id) is None
    assert load_config(manager.config_path).bridges[0].probe is ProbeKind.PING


def test_update_keeps_unknown_keys(manager, config_path, token):
    bridge = manager.add(form(), token)
    config = load_config(config_path)
    config.bridges[0].extra["team"] = "identity"
    save_config(config_path, config)

    manager.update(bridge.id, form(interval=120.0))

    saved = load_config(config_path).bridges[0]
    assert saved.extra == {"team": "identity"}
    assert saved.interval == 120.0


def test_token_state(manager, memory_keyring, token):
    bridge = manager.add(form(), token)

    stored = manager.token_state(bridge.id)
    memory_keyring.delete_password(SERVICE, bridge.id)
    missing = manager.token_state(bridge.id)
    locked = BridgeManager(manager.config_path, TokenStore(LockedKeyring())).token_state(bridge.id)

    assert stored == (TokenState.STORED, "")
    assert missing == (TokenState.MISSING, "")
    assert locked[0] is TokenState.UNAVAILABLE
    assert "keychain is locked" in locked[1]


# -- remove ----------------------------------------------------------------------------------------


def test_remove_deletes_both(manager, memory_keyring, config_path, token):
    bridge = manager.add(form(), token)

    outcome = manager.remove(bridge.id)

    assert outcome.token_deleted is True
    assert load_config(config_path).bridges == []
    assert memory_keyring.get_password(SERVICE, bridge.id) is None


def test_remove_locked_keeps_bridge(config_path):
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com")
    save_config(config_path, Config(bridges=[bridge]))
    manager = BridgeManager(config_path, TokenStore(LockedKeyring()))

    with pytest.raises(TokenUnavailable):
        manager.remove(bridge.id)

    assert load_config(config_path).bridges == [bridge]


def test_remove_forced_reports_keychain(config_path):
    bridge = BridgeConfig(name="Prod", url="https://scim.example.com")
    save_config(config_path, Config(bridges=[bridge]))
    manager = BridgeManager(config_path, TokenStore(LockedKeyring()))

    outcome = manager.remove(bridge.id, force=True)

    assert load_config(config_path).bridges == []
    assert "locked" in outcome.keychain_error


def test_remove_ping_without_keychain(config_path):
    bridge = BridgeConfig(name="Lab", url="http://127.0.0.1:3002", probe=ProbeKind.PING)
    save_config(config_path, Config(bridges=[bridge]))
    manager = BridgeManager(config_path, TokenStore(keyring.backends.fail.Keyring()))

    outcome = manager.remove(bridge.id)

    assert load_config(config_path).bridges == []
    assert outcome.keychain_error == ""


def test_remove_unknown_id(manager):
    with pytest.raises(ConfigError) as caught:
        manager.remove("6a0e0a0e-0000-4000-8000-000000000000")

    assert "removed meanwhile" in str(caught.value)


# -- import and export -----------------------------------------------------------------------------


def test_export_has_no_secrets(manager, tmp_path, token):
    first = manager.add(form(), token)
    manager.add(form(name="Lab", url="http://127.0.0.1:3002", probe=ProbeKind.PING, interval=300.0), None)
    exported = tmp_path / "bridges.toml"

    count = manager.export_to(exported, now=datetime(2026, 3, 3, 14, 0, tzinfo=timezone.utc))

    text = exported.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert count == 2
    assert "2026-03-03 14:00 UTC" in text
    assert [entry["name"] for entry in data["bridges"]] == ["Prod", "Lab"]
    assert set(data["bridges"][0]) == {"name", "url", "probe", "interval"}
    leaked = token in text
    assert not leaked, "the token appears in the exported file"
    assert first.id not in text


def test_import_round_trip(manager, tmp_path, token, bridgewatch_home, monkeypatch):
    manager.add(form(), token)
    manager.add(form(name="Office", url="http://scim.office.example", allow_http=True, probe=ProbeKind.HEALTH), OTHER_TOKEN)
    manager.add(form(name="Lab", url="http://127.0.0.1:3002", probe=ProbeKind.PING, interval=300.0), None)
    exported = tmp_path / "bridges.toml"
    manager.export_to(exported)
    original = manager.load().bridges
    fresh_store = MemoryKeyring()
    fresh = BridgeManager(tmp_path / "other-home" / "config.toml", TokenStore(fresh_store))

    report = fresh.import_from(exported)

    imported = fresh.load().bridges
    fields = [(b.name, b.url, b.probe, b.interval, b.allow_http) for b in imported]
    assert fields == [(b.name, b.url, b.probe, b.interval, b.allow_http) for b in original]
    assert {b.id for b in imported}.isdisjoint(b.id for b in original)
    assert [b.name for b in report.need_token] == ["Prod", "Office"]
    assert "Still need a token: Prod, Office" in report.summary()
    assert fresh_store._store == {}


def test_import_skips_existing_names(manager, tmp_path, token):
    manager.add(form(), token)
    exported = tmp_path / "bridges.toml"
    exported.write_text(
        '[[bridges]]\nname = "PROD"\nurl = "a.example.com"\n\n[[bridges]]\nname = "New"\nurl = "b.example.com"\n',
        encoding="utf-8",
    )

    report = manager.import_from(exported)

    assert [b.name for b in report.added] == ["New"]
    assert report.skipped == [("PROD", "a bridge with that name exists.")]
    assert [b.name for b in manager.load().bridges] == ["Prod", "New"]


def test_import_drops_tokens(manager, tmp_path, config_path, token):
    source = tmp_path / "bridges.toml"
    source.write_text(f'[[bridges]]\nname = "Prod"\nurl = "a.example.com"\ntoken = "{token}"\n', encoding="utf-8")

    report = manager.import_from(source)

    assert report.ignored_secrets == ["Prod"]
    assert "it was not imported" in report.summary()
    leaked = token in config_path.read_text(encoding="utf-8")
    assert not leaked, "an imported token reached the config file"


def test_import_invalid_imports_nothing(manager, tmp_path, config_path):
    source = tmp_path / "bridges.toml"
    source.write_text(
        '[[bridges]]\nname = "Good"\nurl = "a.example.com"\n\n[[bridges]]\nname = "Bad"\nurl = "http://b.example.com"\n',
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as caught:
        manager.import_from(source)

    assert "[[bridges]] entry 2" in str(caught.value)
    assert "Nothing was imported" in str(caught.value)
    assert not config_path.exists()


def test_import_not_toml(manager, tmp_path):
    source = tmp_path / "bridges.toml"
    source.write_text("[[bridges]\nname =", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        manager.import_from(source)

    assert "not valid TOML" in str(caught.value)


def test_parse_import_keeps_first_duplicate():
    text = export_text([BridgeConfig(name="A", url="https://a.example.com"), BridgeConfig(name="a", url="https://b.example.com")])

    bridges, ignored = parse_import(text, "test")

    assert [b.url for b in bridges] == ["https://a.example.com"]
    assert ignored == []


# -- the [defaults] table --------------------------------------------------------------------------


def test_defaults_round_trip(config_path):
    save_config(config_path, Config(default_interval=300.0, defaults_extra={"future": 1}))

    config = load_config(config_path)

    assert config.default_interval == 300.0
    assert config.defaults_extra == {"future": 1}
    assert "defaults" not in config.extra


def test_defaults_omitted_when_default(config_path):
    save_config(config_path, Config())

    assert "[defaults]" not in config_path.read_text(encoding="utf-8")
    assert load_config(config_path).default_interval == DEFAULT_INTERVAL


def test_defaults_invalid_interval(config_path):
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text("[defaults]\ninterval = 1\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(config_path)

    assert "defaults.interval" in str(caught.value)
