"""Host configuration: host.json, local.settings.json, app settings, storage connections, keys.

Everything the host reads from files or the environment is parsed here, once, into frozen dataclasses,
with errors that name the file and the field. This module must never import the function app nor touch
storage: it only reads configuration.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.config import StorageConnection


DEFAULT_PORT = 7071
DEFAULT_ROUTE_PREFIX = "api"
STORAGE_SETTING = "AzureWebJobsStorage"
HOST_ID_SETTING = "AzureFunctionsWebHost__hostid"


class ConfigError(Exception):
    """A configuration problem the user must fix; the message says what and where."""


@dataclass(frozen=True)
class QueueOptions:
    """host.json `extensions.queues`, with the real host's defaults except the polling ceiling.

    The real host's maxPollingInterval default is one minute; locally that makes a developer wait, so
    the devhost defaults to 2 s (host.json still wins).
    """

    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    batch_size: int = 16
    max_polling_interval: float = 2.0
    message_encoding: str = "base64"


@dataclass(frozen=True)
class Keys:
    """Keys from DEVHOST_FUNCTION_KEYS / DEVHOST_MASTER_KEY. No keys at all = everything anonymous."""

    function_keys: tuple[str, ...] = ()
    master_key: str | None = None

    @property
    def enforced(self) -> bool:
        return bool(self.function_keys or self.master_key)


@dataclass(frozen=True)
class HostConfig:
    script_root: Path
    route_prefix: str = DEFAULT_ROUTE_PREFIX
    queues: QueueOptions = field(default_factory=QueueOptions)
    functions_allow_list: tuple[str, ...] | None = None
    host_id: str = "devhost"
    keys: Keys = field(default_factory=Keys)
    thread_count: int = 4
    shutdown_grace: float = 10.0


_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$")


def parse_timespan(value: Any, where: str) -> float:
    """A .NET TimeSpan ("[d.]hh:mm:ss[.fff]") or a number of milliseconds, in seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a TimeSpan like '00:00:30', got {value!r}")
    if isinstance(value, int | float):
        return float(value) / 1000.0
    match = _TIMESPAN.match(str(value).strip())
    if not match:
        raise ConfigError(f"{where}: expected a TimeSpan like '00:00:30', got {value!r}")
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float("0." + fraction) if fraction else 0.0)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def load_local_settings(path: Path, environ: MutableMapping[str, str]) -> dict[str, Any]:
    """Copy `Values` into the environment without overriding what is already set; return the file.

    Mirrors Core Tools: values must be strings; the environment wins so a CI variable beats the file.
    """
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    values = data.get("Values") or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: 'Values' must be an object of string settings")
    for name, value in values.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: Values.{name} must be a string, got {type(value).__name__}")
        environ.setdefault(name, value)
    return data


def local_http_port(settings_file: Mapping[str, Any] | None) -> int | None:
    host = (settings_file or {}).get("Host") or {}
    port = host.get("LocalHttpPort") if isinstance(host, dict) else None
    return int(port) if port is not None else None


def load_host_json(script_root: Path) -> dict[str, Any]:
    path = script_root / "host.json"
    if not path.is_file():
        raise ConfigError(f"host.json not found in the script root {script_root} (func start needs it too)")
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    if data.get("version") != "2.0":
        raise ConfigError(f"{path}: 'version' must be \"2.0\" for the Functions v4 runtime")
    return data


def _queue_options(host_json: Mapping[str, Any]) -> QueueOptions:
    queues = (host_json.get("extensions") or {}).get("queues") or {}
    where = "host.json extensions.queues"
    defaults = QueueOptions()
    encoding = str(queues.get("messageEncoding", defaults.message_encoding)).lower()
    if encoding not in ("base64", "none"):
        raise ConfigError(f"{where}.messageEncoding must be 'base64' or 'none', got {encoding!r}")
    options = QueueOptions(
        max_dequeue_count=int(queues.get("maxDequeueCount", defaults.max_dequeue_count)),
        visibility_timeout=parse_timespan(
            queues.get("visibilityTimeout", "00:00:00"), f"{where}.visibilityTimeout"
        ),
        batch_size=int(queues.get("batchSize", defaults.batch_size)),
        max_polling_interval=parse_timespan(
            queues.get("maxPollingInterval", "00:00:02"), f"{where}.maxPollingInterval"
        ),
        message_encoding=encoding,
    )
    if not 1 <= options.batch_size <= 32:
        raise ConfigError(f"{where}.batchSize must be between 1 and 32, got {options.batch_size}")
    if options.max_dequeue_count < 1:
        raise ConfigError(f"{where}.maxDequeueCount must be at least 1, got {options.max_dequeue_count}")
    return options


def _route_prefix(host_json: Mapping[str, Any]) -> str:
    http = (host_json.get("extensions") or {}).get("http") or {}
    return str(http.get("routePrefix", DEFAULT_ROUTE_PREFIX)).strip("/")


def default_host_id(script_root: Path) -> str:
    """Stable host id from the folder name: lowercase letters, digits and dashes, at most 32 chars."""
    name = re.sub(r"[^a-z0-9-]", "-", script_root.resolve().name.lower()).strip("-")
    return (name or "devhost")[:32].rstrip("-") or "devhost"


def _host_id(script_root: Path, environ: Mapping[str, str]) -> str:
    configured = environ.get(HOST_ID_SETTING, "").strip()
    if not configured:
        return default_host_id(script_root)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", configured):
        raise ConfigError(
            f"{HOST_ID_SETTING}={configured!r}: a host id is 1-32 lowercase letters, digits or dashes"
        )
    return configured


def _keys(environ: Mapping[str, str]) -> Keys:
    function_keys = tuple(k.strip() for k in environ.get("DEVHOST_FUNCTION_KEYS", "").split(",") if k.strip())
    master = environ.get("DEVHOST_MASTER_KEY", "").strip() or None
    return Keys(function_keys=function_keys, master_key=master)


def _thread_count(environ: Mapping[str, str]) -> int:
    raw = environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
    if not raw:
        return min(32, (os.cpu_count() or 1) + 4)  # the Python worker's default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"PYTHON_THREADPOOL_THREAD_COUNT must be a positive integer, got {raw!r}")
    return int(raw)


HOST_JSON_OVERRIDE_PREFIX = "AzureFunctionsJobHost__"


def apply_host_json_overrides(host_json: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """App settings named `AzureFunctionsJobHost__a__b` override host.json's `a.b`, as in the real host
    (keys match case-insensitively). Used to shorten queue timings in tests without editing host.json."""
    out: dict[str, Any] = json.loads(json.dumps(host_json))
    for name, value in environ.items():
        if not name.startswith(HOST_JSON_OVERRIDE_PREFIX):
            continue
        path = [part for part in name[len(HOST_JSON_OVERRIDE_PREFIX):].split("__") if part]
        node = out
        for key in path[:-1]:
            existing = next((k for k in node if k.lower() == key.lower()), key)
            child = node.get(existing)
            if not isinstance(child, dict):
                child = node[existing] = {}
            node = child
        if path:
            leaf = next((k for k in node if k.lower() == path[-1].lower()), path[-1])
            node[leaf] = value
    return out


def build_config(script_root: Path, host_json: Mapping[str, Any], environ: Mapping[str, str]) -> HostConfig:
    host_json = apply_host_json_overrides(host_json, environ)
    allow = host_json.get("functions")
    if allow is not None and not (isinstance(allow, list) and all(isinstance(n, str) for n in allow)):
        raise ConfigError("host.json 'functions' must be a list of function names")
    return HostConfig(
        script_root=script_root,
        route_prefix=_route_prefix(host_json),
        queues=_queue_options(host_json),
        functions_allow_list=tuple(allow) if allow is not None else None,
        host_id=_host_id(script_root, environ),
        keys=_keys(environ),
        thread_count=_thread_count(environ),
        shutdown_grace=float(environ.get("DEVHOST_SHUTDOWN_GRACE_SECONDS", "10")),
    )


def is_disabled(function_name: str, environ: Mapping[str, str]) -> bool:
    """`AzureWebJobs.<NAME>.Disabled` (or the Linux-safe `AzureWebJobs_<NAME>_Disabled`) set to true/1."""
    for name in (f"AzureWebJobs.{function_name}.Disabled", f"AzureWebJobs_{function_name}_Disabled"):
        if environ.get(name, "").strip().lower() in ("true", "1"):
            return True
    return False


def storage_connection(setting: str | None, environ: Mapping[str, str],
                       services: tuple[str, ...] = ("blob", "queue")) -> StorageConnection:
    """The storage connection behind a binding's `connection` app setting, read as the real host reads it.

    Empty means AzureWebJobsStorage. A connection string in the setting itself (or `AzureWebJobs<name>`;
    `UseDevelopmentStorage=true` is Azurite on its default ports), or identity-based: `<name>__blobServiceUri`
    and `<name>__queueServiceUri` (or `<name>__accountName`), `<name>__credential`, `<name>__clientId`. Read by
    the app's own model (shared.config.storage_connection), so the host and the app never disagree; `services`
    says which of blob and queue this use needs.
    """
    from shared.config import SettingsError
    from shared.config import storage_connection as read_connection

    name = setting or STORAGE_SETTING
    try:
        return read_connection(environ, name, services)
    except SettingsError as exc:
        problems = "; ".join(f"{key} {why}" for key, why in exc.problems.items())
        raise ConfigError(f"connection {name!r}: {problems} (local.settings.json Values?)") from None
