"""Bridge management for the front ends: add, edit and remove bridges, import and export the list.

Every operation re-reads the config file first, so a change made meanwhile (for example by
`bridgewatch add`) is kept. Tokens go to the keychain before the config file is written.
When the keychain write fails, nothing changes. When the config write fails afterwards,
the keychain entry is put back as it was.
"""

from __future__ import annotations

import enum
import logging
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path


from app.core.config import (
    BridgeConfig,
    Config,
    ConfigError,
    atomic_write,
    bridge_settings_from_toml,
    load_config,
    save_config,
    validate_interval,
    validate_name,
)
from app.core.diagnosis import token_problem
from app.core.model import ProbeKind
from app.core.tokens import TokenStore, TokenUnavailable, register_secret
from app.core.urls import BridgeUrlError, normalize_bridge_url

__all__ = [
    "BridgeForm",
    "BridgeInputError",
    "BridgeManager",
    "ImportReport",
    "RemoveOutcome",
    "TokenChange",
    "TokenState",
    "export_text",
    "parse_import",
]

log = logging.getLogger(__name__)

# Keys that must never travel in an exported file or be taken from an imported one.
_SECRET_KEY_WORDS = ("token", "secret", "password", "credential")
_EXPORT_HEADER = (
    "# Bridgewatch bridge list, exported {when}.\n"
    "# It contains no tokens: after importing it, add each bridge's token in Edit bridge.\n"
)


class BridgeInputError(ValueError):
    """A value in the bridge form is invalid. `field` names the form field: name, url, interval or token."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class TokenChange(enum.Enum):
    """The change that saving an edited bridge makes to its keychain entry."""

    KEEP = "keep"
    REPLACE = "replace"
    REMOVE = "remove"


class TokenState(enum.Enum):
    """Whether the keychain contains a token for a bridge."""

    STORED = "stored"
    MISSING = "missing"
    UNAVAILABLE = "unavailable"  # the keychain could not be read: no backend, locked or denied


@dataclass(frozen=True)
class BridgeForm:
    """The values of the Add or Edit bridge form, as typed."""

    name: str
    url: str
    probe: ProbeKind = ProbeKind.MONITORING
    interval: float = 60.0
    allow_http: bool = False


@dataclass(frozen=True)
class ValidatedForm:
    name: str
    url: str
    notes: tuple[str, ...]
    probe: ProbeKind
    interval: float
    allow_http: bool


@dataclass(frozen=True)
class RemoveOutcome:
    bridge: BridgeConfig
    token_deleted: bool  # False when there was no keychain entry
    keychain_error: str = ""  # set when the entry could not be deleted and the removal went ahead anyway


@dataclass
class ImportReport:
    """Outcome of an import: the bridges added, the ones skipped and why, and which need a token."""

    added: list[BridgeConfig] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    ignored_secrets: list[str] = field(default_factory=list)  # names of bridges whose entry carried a token

    @property
    def need_token(self) -> list[BridgeConfig]:
        return [bridge for bridge in self.added if bridge.probe.needs_token]

    def summary(self) -> str:
        """Return the report in sentences, for a message box or the terminal."""
        lines = []
        if self.added:
            lines.append(f"Imported {len(self.added)}: " + ", ".join(b.name for b in self.added) + ".")
        else:
            lines.append("Imported no bridge.")
        for name, reason in self.skipped:
            lines.append(f"Skipped {name}: {reason}")
        if self.need_token:
            names = ", ".join(b.name for b in self.need_token)
            lines.append(f"Still need a token: {names}. Add each one with Edit bridge.")
        if self.ignored_secrets:
            names = ", ".join(self.ignored_secrets)
            lines.append(
                f"The file contained a token for {names}; it was not imported, because tokens are kept "
                "only in the keychain. Delete that file if it is not needed."
            )
        return "\n".join(lines)


def validate_token(text: str) -> str:
    """Return the pasted token without surrounding whitespace; raise BridgeInputError when unusable."""
    token = text.strip()
    problem = token_problem(token)
    if problem:
        raise BridgeInputError("token", problem)
    register_secret(token)
    return token


class BridgeManager:
    """Change the bridges in one config file and their tokens in one keychain."""

    def __init__(self, config_path: Path, tokens: TokenStore) -> None:
        self.config_path = config_path
        self.tokens = tokens

    def load(self) -> Config:
        return load_config(self.config_path)

    def validate(self, form: BridgeForm, editing_id: str | None = None, config: Config | None = None) -> ValidatedForm:
        """Check the form against the current config; raise BridgeInputError naming the field."""
        config = config if config is not None else self.load()
        try:
            name = validate_name(form.name, "The name")
        except ConfigError as exc:
            raise BridgeInputError("name", str(exc)) from None
        other = config.find(name)
        if other is not None and other.id != editing_id:
            raise BridgeInputError("name", f"A bridge named {other.name!r} already exists: choose another name.")
        try:
            normalized = normalize_bridge_url(form.url, allow_http=form.allow_http)
        except BridgeUrlError as exc:
            raise BridgeInputError("url", str(exc)) from None
        try:
            interval = validate_interval(form.interval, "The check interval")
        except ConfigError as exc:
            raise BridgeInputError("interval", str(exc)) from None
        return ValidatedForm(name, normalized.url, normalized.notes, form.probe, interval, form.allow_http)

    def token_state(self, bridge_id: str) -> tuple[TokenState, str]:
        """Return whether a token is stored, and the keychain's message when it cannot be read."""
        try:
            stored = self.tokens.get(bridge_id)
        except TokenUnavailable as exc:
            return TokenState.UNAVAILABLE, str(exc)
        return (TokenState.STORED, "") if stored else (TokenState.MISSING, "")

    def add(self, form: BridgeForm, token: str | None) -> BridgeConfig:
        """Add a bridge: its token to the keychain first, then the config file.

        Raises BridgeInputError, TokenUnavailable (nothing changed) or ConfigError.
        """
        config = self.load()
        valid = self.validate(form, config=config)
        bridge = BridgeConfig(
            name=valid.name,
            url=valid.url,
            probe=valid.probe,
            interval=valid.interval,
            allow_http=valid.allow_http,
        )
        stored = False
        if bridge.probe.needs_token:
            if not token or not token.strip():
                raise BridgeInputError(
                    "token", f"The /{bridge.probe.value} probe needs a token: paste it, or choose no token."
                )
            self.tokens.set(bridge.id, validate_token(token))
            stored = True
        config.bridges.append(bridge)
        try:
            save_config(self.config_path, config)
        except OSError as exc:
            if stored:
                self._restore_token(bridge.id, None)
            raise ConfigError(f"Could not write the config file {self.config_path}: {exc}. Nothing was added.") from None
        log.info("Added bridge %s (%s)", bridge.id, bridge.name)
        return bridge

    def update(
        self, bridge_id: str, form: BridgeForm, token_change: TokenChange = TokenChange.KEEP, token: str | None = None
    ) -> BridgeConfig:
        """Save an edited bridge: the keychain change first, then the config file.

        Raises BridgeInputError, TokenUnavailable (nothing changed) or ConfigError.
        """
        config = self.load()
        old = self._find(config, bridge_id)
        valid = self.validate(form, editing_id=bridge_id, config=config)
        new = replace(
            old,
            name=valid.name,
            url=valid.url,
            probe=valid.probe,
            interval=valid.interval,
            allow_http=valid.allow_http,
        )
        if new.probe.needs_token:
            if token_change is TokenChange.REMOVE:
                raise BridgeInputError(
                    "token",
                    f"The /{new.probe.value} probe needs a token: choose no token before removing it, "
                    "or replace the token instead.",
                )
            if token_change is TokenChange.KEEP and self.token_state(bridge_id)[0] is TokenState.MISSING:
                raise BridgeInputError(
                    "token", f"No token is stored for {new.name}: paste the token, or choose no token."
                )

        previous: str | None = None
        if token_change is TokenChange.REPLACE:
            new_token = validate_token(token or "")
            previous = self._read_for_restore(bridge_id)
            self.tokens.set(bridge_id, new_token)
        elif token_change is TokenChange.REMOVE:
            previous = self._read_for_restore(bridge_id)
            self.tokens.delete(bridge_id)

        config.bridges[config.bridges.index(old)] = new
        try:
            save_config(self.config_path, config)
        except OSError as exc:
            if token_change is not TokenChange.KEEP:
                self._restore_token(bridge_id, previous)
            raise ConfigError(
                f"Could not write the config file {self.config_path}: {exc}. The bridge was left as it was."
            ) from None
        log.info("Edited bridge %s (%s), token %s", new.id, new.name, token_change.value)
        return new

    def remove(self, bridge_id: str, *, force: bool = False) -> RemoveOutcome:
        """Delete the bridge's keychain entry, then its config entry.

        When the keychain entry cannot be deleted, raises TokenUnavailable and removes
        nothing, unless `force` is set or the bridge is probed without a token.
        """
        config = self.load()
        bridge = self._find(config, bridge_id)
        keychain_error = ""
        previous: str | None = None
        try:
            previous = self.tokens.get(bridge_id)
            deleted = self.tokens.delete(bridge_id) if previous is not None else False
        except TokenUnavailable as exc:
            if bridge.probe.needs_token and not force:
                raise
            deleted = False
            keychain_error = str(exc) if bridge.probe.needs_token else ""
        config.bridges.remove(bridge)
        try:
            save_config(self.config_path, config)
        except OSError as exc:
            if deleted:
                self._restore_token(bridge_id, previous)
            raise ConfigError(
                f"Could not write the config file {self.config_path}: {exc}. The bridge was not removed."
            ) from None
        log.info("Removed bridge %s (%s)", bridge.id, bridge.name)
        return RemoveOutcome(bridge=bridge, token_deleted=deleted, keychain_error=keychain_error)

    def export_to(self, path: Path, now: datetime | None = None) -> int:
        """Write the bridge list to `path` without tokens; return how many bridges it lists."""
        config = self.load()
        atomic_write(path, export_text(config.bridges, now).encode("utf-8"))
        log.info("Exported %d bridges to %s", len(config.bridges), path)
        return len(config.bridges)

    def import_from(self, path: Path) -> ImportReport:
        """Add the bridges listed in `path`, skipping names that exist; tokens are never imported.

        Raises ConfigError, naming the file, when it cannot be read or has an invalid entry:
        then nothing is imported.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read {path}: {exc}.") from None
        entries, ignored_secrets = parse_import(text, str(path))
        config = self.load()
        report = ImportReport(ignored_secrets=ignored_secrets)
        for bridge in entries:
            existing = config.find(bridge.name)
            if existing is not None:
                report.skipped.append((bridge.name, "a bridge with that name exists."))
                continue
            config.bridges.append(bridge)
            report.added.append(bridge)
        if report.added:
            try:
                save_config(self.config_path, config)
            except OSError as exc:
                raise ConfigError(
                    f"Could not write the config file {self.config_path}: {exc}. Nothing was imported."
                ) from None
        log.info("Imported %d bridges from %s, skipped %d", len(report.added), path, len(report.skipped))
        return report

    def _find(self, config: Config, bridge_id: str) -> BridgeConfig:
        for bridge in config.bridges:
            if bridge.id == bridge_id:
                return bridge
        raise ConfigError(
            f"The bridge {bridge_id} is no longer in {self.config_path}: it was removed meanwhile."
        )

    def _read_for_restore(self, bridge_id: str) -> str | None:
        """Return the current token so that a failed config write can put it back."""
        return self.tokens.get(bridge_id)

    def _restore_token(self, bridge_id: str, previous: str | None) -> None:
        try:
            if previous is None:
                self.tokens.delete(bridge_id)
            else:
                self.tokens.set(bridge_id, previous)
        except TokenUnavailable as exc:
            log.error("Could not restore the keychain entry of bridge %s: %s", bridge_id, exc)


def export_text(bridges: list[BridgeConfig], now: datetime | None = None) -> str:
    """Return the TOML export of `bridges`: names, URLs, probes and intervals, never ids or tokens."""
    when = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    entries = []
    for bridge in bridges:
        entry = {"name": bridge.name, "url": bridge.url, "probe": bridge.probe.value, "interval": bridge.interval}
        if bridge.allow_http:
            entry["allow_http"] = True
        entries.append(entry)
    import tomli_w

    return _EXPORT_HEADER.format(when=when) + tomli_w.dumps({"bridges": entries})


def parse_import(text: str, source: str) -> tuple[list[BridgeConfig], list[str]]:
    """Parse an exported list (or a config file) into new bridges with fresh ids.

    Returns the bridges and the names of entries that carried a secret, which is dropped.
    Entries repeating a name are kept once. Raises ConfigError naming `source` and the entry.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}. Nothing was imported.") from None
    raw = data.get("bridges", [])
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise ConfigError(f"{source}: bridges must be an array of tables ([[bridges]]). Nothing was imported.")

    bridges: list[BridgeConfig] = []
    ignored: list[str] = []
    names: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"[[bridges]] entry {index + 1}"
        try:
            bridge = _bridge_from_entry(entry, where)
        except (ConfigError, BridgeUrlError) as exc:
            raise ConfigError(f"{source} has an invalid entry: {exc} Nothing was imported.") from None
        if any(word in key.lower() for key in entry for word in _SECRET_KEY_WORDS):
            ignored.append(bridge.name)
        if bridge.name.lower() in names:
            continue
        names.add(bridge.name.lower())
        bridges.append(bridge)
    return bridges, ignored


def _bridge_from_entry(entry: dict, where: str) -> BridgeConfig:
    return BridgeConfig(**bridge_settings_from_toml(entry, where))
