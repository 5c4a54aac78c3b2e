"""The TOML config file: the watched bridges and their settings (never their tokens)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


from app.core.model import ProbeKind
from app.core.urls import BridgeUrlError, normalize_bridge_url

__all__ = [
    "BridgeConfig",
    "Config",
    "ConfigError",
    "load_config",
    "save_config",
    "atomic_write",
    "validate_name",
    "validate_interval",
    "validate_probe",
    "DEFAULT_INTERVAL",
    "MIN_INTERVAL",
    "MAX_INTERVAL",
]

DEFAULT_INTERVAL = 60.0  # seconds between polls
MIN_INTERVAL = 5.0
MAX_INTERVAL = 86400.0
MAX_NAME_LENGTH = 64

_HEADER = "# Bridgewatch configuration. Tokens are kept in the OS keychain, never in this file.\n"


class ConfigError(Exception):
    """The config file or a value in it is invalid. The message names the file, the value and the fix."""


def new_bridge_id() -> str:
    """Return a new random bridge id (a UUID 4)."""
    import uuid  # imported on first use: a start with an empty config needs no id

    return str(uuid.uuid4())


@dataclass
class BridgeConfig:
    """One watched bridge. `id` is a random UUID used for the keychain entry and in logs."""

    name: str
    url: str
    probe: ProbeKind = ProbeKind.MONITORING
    interval: float = DEFAULT_INTERVAL
    allow_http: bool = False
    id: str = field(default_factory=lambda: new_bridge_id())
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept on save

    def to_toml(self) -> dict:
        data = dict(self.extra)
        data.update(id=self.id, name=self.name, url=self.url, probe=self.probe.value, interval=self.interval)
        if self.allow_http:
            data["allow_http"] = True
        return data


@dataclass
class Config:
    """The whole config file: the bridges, the `[defaults]` table and keys this version does not know."""

    bridges: list[BridgeConfig] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    default_interval: float = DEFAULT_INTERVAL  # `[defaults] interval`: the interval a new bridge starts with
    defaults_extra: dict = field(default_factory=dict)  # keys of `[defaults]` this version does not know
    warnings: list[str] = field(default_factory=list, compare=False)  # readable but suspicious entries

    def find(self, key: str) -> BridgeConfig | None:
        """Return the bridge whose name (case-insensitive) or id is `key`."""
        for bridge in self.bridges:
            if bridge.id == key or bridge.name.lower() == key.lower():
                return bridge
        return None


def validate_name(name: object, where: str = "name") -> str:
    if name is None or (isinstance(name, str) and not name.strip()):
        raise ConfigError(f"{where} is empty: give the bridge a short name such as prod.")
    if not isinstance(name, str):
        raise ConfigError(f"{where} must be text in quotes, got {name!r}.")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(f"{where} {name[:20]!r}... is longer than {MAX_NAME_LENGTH} characters: choose a shorter name.")
    if any(ch in name for ch in "\n\r\t"):
        raise ConfigError(f"{where} {name!r} contains a line break or tab: choose a name on one line.")
    return name


def validate_interval(value: object, where: str = "interval") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number of seconds, got {value!r}.")
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise ConfigError(
            f"{where} is {value:g} s: choose a value from {MIN_INTERVAL:g} to {MAX_INTERVAL:g} seconds."
        )
    return float(value)


def validate_probe(value: object, where: str = "probe") -> ProbeKind:
    try:
        return ProbeKind(value)
    except ValueError:
        choices = ", ".join(kind.value for kind in ProbeKind)
        raise ConfigError(f"{where} is {value!r}: choose one of {choices}.") from None


def _bridge_from_toml(data: object, where: str) -> BridgeConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table, got {data!r}.")
    known = {"id", "name", "url", "probe", "interval", "allow_http"}
    bridge_id = data.get("id")
    if bridge_id is None:
        raise ConfigError(
            f"{where} has no id: add the line id = \"{new_bridge_id()}\" (a new random id), "
            "or remove the entry and use bridgewatch add."
        )
    try:
        import uuid

        uuid.UUID(str(bridge_id))
    except ValueError:
        raise ConfigError(
            f"{where}: id {bridge_id!r} is not a UUID: use id = \"{new_bridge_id()}\" (a new random id). "
            "A bridge's token is stored in the keychain under its id, so keep the old id where it worked."
        ) from None
    return BridgeConfig(
        id=str(bridge_id),
        **bridge_settings_from_toml(data, where),
        extra={key: value for key, value in data.items() if key not in known},
    )


def bridge_settings_from_toml(data: dict, where: str, default_interval: float = DEFAULT_INTERVAL) -> dict:
    """Validate a bridge table's settings; return name, url, probe, interval and allow_http.

    Raises ConfigError naming `where`, the field and the fix.
    """
    allow_http = data.get("allow_http", False)
    if not isinstance(allow_http, bool):
        raise ConfigError(f"{where}: allow_http must be true or false, got {allow_http!r}.")
    url = data.get("url")
    if not isinstance(url, str):
        raise ConfigError(f"{where}: url must be text in quotes, got {url!r}.")
    try:
        url = normalize_bridge_url(url, allow_http=allow_http).url
    except BridgeUrlError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return {
        "name": validate_name(data.get("name"), f"{where}: the name"),
        "url": url,
        "probe": validate_probe(data.get("probe", ProbeKind.MONITORING.value), f"{where}: probe"),
        "interval": validate_interval(data.get("interval", default_interval), f"{where}: interval"),
        "allow_http": allow_http,
    }


def load_config(path: Path) -> Config:
    """Read the config file; a missing file is an empty config.

    Raises ConfigError naming the file and line. The file is never modified here.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc}.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"The config file {path} is not valid TOML: {exc}. It was left unchanged: fix that line "
            "or move the file away to start over."
        ) from None

    raw_bridges = data.pop("bridges", [])
    if not isinstance(raw_bridges, list):
        raise ConfigError(f"The config file {path}: bridges must be an array of tables ([[bridges]]).")
    try:
        bridges = [
            _bridge_from_toml(entry, f"[[bridges]] entry {index + 1}") for index, entry in enumerate(raw_bridges)
        ]
    except ConfigError as exc:
        raise ConfigError(f"The config file {path} has an invalid entry: {exc} It was left unchanged.") from None

    default_interval, defaults_extra = _defaults_from_toml(data.pop("defaults", {}), path)

    seen: dict[str, str] = {}
    for bridge in bridges:
        for key in (bridge.id, bridge.name.lower()):
            if key in seen:
                raise ConfigError(
                    f"The config file {path} lists two bridges with the same name or id {key!r}: "
                    "rename or remove one. It was left unchanged."
                )
            seen[key] = bridge.id
    warnings = []
    for index, bridge in enumerate(bridges):
        for key in bridge.extra:
            warnings.append(
                f"The config file {path}: [[bridges]] entry {index + 1} ({bridge.name}) has the unknown key "
                f"{key!r}, which is kept but has no effect. Check its spelling."
            )
    return Config(
        bridges=bridges,
        extra=data,
        default_interval=default_interval,
        defaults_extra=defaults_extra,
        warnings=warnings,
    )


def _defaults_from_toml(data: object, path: Path) -> tuple[float, dict]:
    if not isinstance(data, dict):
        raise ConfigError(f"The config file {path}: defaults must be a table ([defaults]). It was left unchanged.")
    rest = dict(data)
    interval = rest.pop("interval", DEFAULT_INTERVAL)
    try:
        interval = validate_interval(interval, "defaults.interval")
    except ConfigError as exc:
        raise ConfigError(f"The config file {path} has an invalid entry: {exc} It was left unchanged.") from None
    return interval, rest


def save_config(path: Path, config: Config) -> None:
    """Write the config file atomically, keeping keys this version does not know."""
    data = dict(config.extra)
    if config.default_interval != DEFAULT_INTERVAL or config.defaults_extra:
        data["defaults"] = {**config.defaults_extra, "interval": config.default_interval}
    data["bridges"] = [bridge.to_toml() for bridge in config.bridges]
    import tomli_w  # only writing needs it, so starting with an empty config does not load it

    atomic_write(path, (_HEADER + tomli_w.dumps(data)).encode("utf-8"))


def atomic_write(path: Path, content: bytes) -> None:
    """Replace `path` with `content` through a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):
        directory = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
