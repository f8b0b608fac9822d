"""The one settings model of the function app: read from the environment, validated once, with errors
that name the setting and say what is wrong.

`load_settings(env)` validates everything the app reads (core, Azure, alerts, checks) and raises one
`SettingsError` listing every problem by setting name, so `/api/health` and every trigger agree on what is
wrong. The feature areas keep their own small loaders (`shared.adapters.azure_clients.AzureSettings`,
`shared.alerts.settings`), but they raise this module's `SettingsError` and parse durations with this
module's `parse_duration`.

Storage is one model, `StorageConnection`, read the way the Functions host reads a connection: a connection
string, or identity-based `AzureWebJobsStorage__*` settings. The app (state, audit, alerts, queues) and the
devhost (triggers, timer leases) both build it with `storage_connection`, so they never disagree on what a
setting means; `shared.adapters.storage` turns it into clients.

Every setting is documented in `local.settings.sample.json` and in the README's settings table. This
module must stay cheap to import (no Azure SDK, no pydantic): `function_app` imports it at load time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from shared.adapters.azure_clients import AzureSettings
    from shared.alerts.settings import AlertSettings

#: Queue the Event Grid handlers write jobs to and the worker reads. Fixed (a trigger binding needs
#: its queue name when the app is indexed); the host moves failed jobs to `modelwatch-jobs-poison`.
JOBS_QUEUE = "modelwatch-jobs"

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published, well-known development key (not a secret; the same in every Azurite install).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

#: The host's own storage connection: triggers and timer leases in the host, state, audit, alerts and queues in
#: the app. A connection string, or identity-based `AzureWebJobsStorage__*` settings.
STORAGE_SETTING = "AzureWebJobsStorage"

_WORKSPACE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+$",
    re.IGNORECASE,
)
_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


class SettingsError(ValueError):
    """One or more settings are missing or invalid. `problems` maps setting name -> what is wrong.

    A plain message is accepted too (it is filed under "settings"); the message never repeats a value
    that could be a secret."""

    def __init__(self, problems: Mapping[str, str] | str) -> None:
        self.problems = dict(problems) if not isinstance(problems, str) else {"settings": problems}
        if isinstance(problems, str):
            super().__init__(problems)
        else:
            lines = "; ".join(f"{name}: {why}" for name, why in self.problems.items())
            super().__init__(f"invalid settings: {lines}")


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$")
_ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """`90`, `30s`, `5m`, `4h`, `1d`, or ISO 8601 like `PT4H` / `P1DT2H`. At most MAX_DURATION: a longer one
    would overflow a datetime when added to now (a silence's end, the next repeat) and crash later."""
    raw = text.strip()
    plain = _DURATION.match(raw.lower())
    iso = None if plain else _ISO_DURATION.match(raw.upper())
    if not plain and not (iso and raw.upper() not in ("P", "PT")):
        raise ValueError(f"expected a duration like 30s, 5m, 4h, 1d or PT4H, got {text!r}")
    try:
        if plain:
            parsed = timedelta(seconds=float(plain.group(1)) * _UNITS[plain.group(2)])
        else:
            days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())  # type: ignore[union-attr]
            parsed = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        parsed = MAX_DURATION + timedelta(days=1)
    if parsed > MAX_DURATION:
        raise ValueError(f"at most {MAX_DURATION.days}d, got {text!r}")
    return parsed


@dataclass(frozen=True)
class CheckSettings:
    """When each periodic check runs and the defaults a check falls back on when an endpoint says nothing.

    Cadences follow the data: SLO burn rates need minutes, drift needs a window of traffic, quota moves
    slowly, and Azure refreshes cost data only a few times a day (so polling it more often only spends the
    Cost Management rate limit)."""

    slo_every: timedelta = timedelta(minutes=5)
    drift_every: timedelta = timedelta(hours=1)
    drift_windows: tuple[timedelta, ...] = (timedelta(hours=1), timedelta(hours=24))
    quota_every: timedelta = timedelta(hours=1)
    cost_every: timedelta = timedelta(hours=6)
    slo_latency_p95_ms: float = 500.0
    slo_error_rate: float = 0.01
    slo_min_requests: int = 30
    cost_budget: str | None = None
    cost_anomaly_floor: float = 5.0
    probe_timeout: timedelta = timedelta(seconds=20)
    canary_interval: timedelta = timedelta(minutes=5)
    canary_lifetime: timedelta = timedelta(minutes=30)
    #: Log Analytics workspace (its "Workspace ID" GUID) the endpoints' diagnostic settings send
    #: AmlOnlineEndpointTrafficLog to; unset: canaries are judged from the per-minute metrics
    log_analytics_workspace_id: str | None = None
    rollback_mode: str = "auto"
    rollback_cooldown: timedelta = timedelta(minutes=30)
    gate_metric: str = "auc"
    gate_direction: str = "higher"
    gate_margin: float = 0.01
    gate_margin_kind: str = "absolute"  # "relative" when MODELWATCH_GATE_MARGIN is a percentage (2%)
    #: golden-set replay: a served score within this (absolute) of the recorded one matches
    replay_tolerance: float = 1e-6
    #: golden-set replay: fail (training-serving skew) when more than this fraction of the rows differ
    replay_max_mismatch: float = 0.01

    def cadences(self) -> dict[str, timedelta]:
        return {"slo": self.slo_every, "drift": self.drift_every, "quota": self.quota_every,
                "cost": self.cost_every}


@dataclass(frozen=True)
class StorageConnection:
    """How to reach a storage account, read as the Functions host reads the connection named `setting`.

    Either a connection string (the value of `setting` itself; `UseDevelopmentStorage=true` is Azurite), or
    identity-based: `{setting}__blobServiceUri` and `{setting}__queueServiceUri`, or `{setting}__accountName`
    for https://{name}.blob.core.windows.net and .queue.core.windows.net, reached with DefaultAzureCredential:
    the managed identity in Azure (`{setting}__credential` = managedidentity), user-assigned when
    `{setting}__clientId` (or `AZURE_CLIENT_ID`) names its client id; a developer's own sign-in locally."""

    setting: str = STORAGE_SETTING
    connection_string: str | None = field(default=None, repr=False)
    blob_service_uri: str | None = None
    queue_service_uri: str | None = None
    client_id: str | None = None

    @property
    def identity_based(self) -> bool:
        return self.connection_string is None

    def service_uri(self, service: str) -> str:
        """The blob or queue service URI of an identity-based connection; SettingsError naming the setting if
        this connection has none (a connection may serve only blobs or only queues)."""
        uri = self.blob_service_uri if service == "blob" else self.queue_service_uri
        if uri is None:
            raise SettingsError({f"{self.setting}__{service}ServiceUri": _missing_uri(self.setting, service)})
        return uri


@dataclass(frozen=True)
class Settings:
    """Every validated setting of the app. `azure` is None when no workspace is configured for Azure calls
    (intake and alerts still work; checks that need Azure say so)."""

    storage: StorageConnection = field(repr=False)
    allowed_workspaces: tuple[str, ...]
    state_container: str = "modelwatch"
    claim_timeout_seconds: int = 60
    audit_max_limit: int = 1000
    checks: CheckSettings = field(default_factory=CheckSettings)
    azure: AzureSettings | None = field(default=None, repr=False)
    alerts: AlertSettings | None = field(default=None, repr=False)
    clock: str = "system"

    def workspace_allowed(self, workspace_id: str) -> bool:
        return workspace_id.rstrip("/").lower() in {w.lower() for w in self.allowed_workspaces}

    @property
    def storage_connection_string(self) -> str | None:
        """The storage connection string; None when storage is identity-based."""
        return self.storage.connection_string


def expand_connection_string(value: str) -> str:
    """`UseDevelopmentStorage=true` means Azurite on its default ports, as the Functions host reads it
    (`;DevelopmentStorageProxyUri=http://host` moves it to another host)."""
    compact = value.strip().replace(" ", "")
    if not compact.lower().startswith("usedevelopmentstorage=true"):
        return value
    parts = dict(p.split("=", 1) for p in compact.split(";") if "=" in p)
    proxy = next((v for k, v in parts.items() if k.lower() == "developmentstorageproxyuri"), "http://127.0.0.1")
    host = proxy.rstrip("/").split("://", 1)[-1].split(":", 1)[0]
    base = f"http://{host}"
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={base}:10000/{AZURITE_ACCOUNT};QueueEndpoint={base}:10001/{AZURITE_ACCOUNT};"
        f"TableEndpoint={base}:10002/{AZURITE_ACCOUNT};"
    )


_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
_SERVICES = ("blob", "queue")


def _missing_uri(setting: str, service: str) -> str:
    return (f"is required for an identity-based connection: the {service} service URI, like "
            f"https://{{account}}.{service}.core.windows.net (or set {setting}__accountName)")


def _service_uri(name: str, service: str, raw: str, problems: dict[str, str]) -> str | None:
    """An https URL with a host: bearer tokens only travel over https (azure-core refuses http). The problem
    says what is wrong without repeating the URL: /api/health is anonymous and never names the account."""
    try:
        parts = urlsplit(raw)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:
        scheme, host = "", None
    if scheme != "https" or not host:
        found = f"a {scheme}:// URL" if scheme and host else "no URL with a host"
        problems[name] = (f"expected an https:// service URL like https://{{account}}.{service}.core.windows.net, "
                          f"got {found}")
        return None
    return raw.rstrip("/")


def _connection_prefix(env: Mapping[str, str], setting: str) -> str:
    """The host looks a connection up under its name, then under `AzureWebJobs<name>`."""
    for prefix in (setting, f"AzureWebJobs{setting}"):
        if env.get(prefix, "").strip() or any(key.startswith(f"{prefix}__") for key in env):
            return prefix
    return setting


def storage_connection(env: Mapping[str, str], setting: str = STORAGE_SETTING,
                       services: tuple[str, ...] = _SERVICES) -> StorageConnection:
    """Read the storage connection named `setting` as the Functions host does, validating what is needed for
    `services` ("blob", "queue"). Raises SettingsError naming every wrong setting; never echoes a connection
    string (it holds a key)."""
    problems: dict[str, str] = {}
    connection = _storage_connection(env, setting, services, problems)
    if problems:
        raise SettingsError(problems)
    assert connection is not None
    return connection


def _storage_connection(env: Mapping[str, str], setting: str, services: tuple[str, ...],
                        problems: dict[str, str]) -> StorageConnection | None:
    prefix = _connection_prefix(env, setting)
    value = env.get(prefix, "")
    child = _children(env, prefix)
    if value.strip() or not child:
        if (why := _connection_string_problem(value, prefix)) is not None:
            problems[prefix] = why
            return None
        return StorageConnection(setting=prefix, connection_string=expand_connection_string(value))
    uris: dict[str, str | None] = {}
    account = child.get("accountname")
    if account is not None and not _ACCOUNT_NAME.match(account):
        problems[f"{prefix}__accountName"] = ("a storage account name is 3-24 lowercase letters and digits; this "
                                              f"one ({len(account)} characters) is not")
        account = None
    for service in _SERVICES:
        name = f"{prefix}__{service}ServiceUri"
        raw = child.get(f"{service}serviceuri")
        if raw is not None:
            uris[service] = _service_uri(name, service, raw, problems)
        elif account is not None:
            uris[service] = f"https://{account}.{service}.core.windows.net"
        else:
            uris[service] = None
            if service in services and f"{prefix}__accountName" not in problems:
                problems[name] = _missing_uri(prefix, service)
    kind = child.get("credential")
    if kind is not None and kind.lower() != "managedidentity":
        problems[f"{prefix}__credential"] = (f"the only credential the Functions host knows here is "
                                             f"'managedidentity', got {kind!r}")
    return StorageConnection(setting=prefix, blob_service_uri=uris["blob"], queue_service_uri=uris["queue"],
                             client_id=_client_id(child, env))


def account_url_connection(env: Mapping[str, str], setting: str, url: str) -> StorageConnection:
    """A blob account named by URL alone (MODELWATCH_STORAGE_ACCOUNT_URL), reached with the app's identity: the
    user-assigned one the host's connection (`AzureWebJobsStorage__clientId`) or AZURE_CLIENT_ID names, if any."""
    problems: dict[str, str] = {}
    uri = _service_uri(setting, "blob", url, problems)
    if problems:
        raise SettingsError(problems)
    return StorageConnection(setting=setting, blob_service_uri=uri,
                             client_id=_client_id(_children(env, STORAGE_SETTING), env))


def _children(env: Mapping[str, str], prefix: str) -> dict[str, str]:
    """`{prefix}__name` settings by lowercased name (the host reads configuration keys case-insensitively)."""
    return {key[len(prefix) + 2:].lower(): value.strip() for key, value in env.items()
            if key.startswith(f"{prefix}__") and value.strip()}


def _client_id(child: Mapping[str, str], env: Mapping[str, str]) -> str | None:
    return child.get("clientid") or env.get("AZURE_CLIENT_ID", "").strip() or None


def _client_id_problem(connection: StorageConnection, env: Mapping[str, str]) -> tuple[str, str] | None:
    """A user-assigned identity is named by its client id, a GUID (not its name or resource id)."""
    if connection.client_id is None or _GUID.match(connection.client_id):
        return None
    name = f"{connection.setting}__clientId" if "clientid" in _children(env, connection.setting) else "AZURE_CLIENT_ID"
    return name, ("must be the client id (a GUID like 00000000-0000-0000-0000-000000000000) of the user-assigned "
                  "managed identity, not its name or resource id")


def _connection_string_problem(value: str, setting: str = STORAGE_SETTING) -> str | None:
    if not value.strip():
        return (f"is required: a storage connection string (UseDevelopmentStorage=true for Azurite), or "
                f"identity-based {setting}__blobServiceUri and {setting}__queueServiceUri (or {setting}__accountName)")
    expanded = expand_connection_string(value)
    parts = dict(p.split("=", 1) for p in expanded.split(";") if "=" in p)
    if "AccountName" not in parts and "BlobEndpoint" not in parts:
        return "is not a storage connection string: expected AccountName=... or BlobEndpoint=..."
    return None


def _int_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int,
                 problems: dict[str, str]) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems[name] = f"must be a whole number, got {raw!r}"
        return default
    if not low <= value <= high:
        problems[name] = f"must be between {low} and {high}, got {value}"
    return value


def load_settings(env: Mapping[str, str]) -> Settings:
    """Validate every setting and report all problems at once, each naming its setting."""
    problems: dict[str, str] = {}

    storage = _storage_connection(env, STORAGE_SETTING, _SERVICES, problems)
    if storage is not None and (wrong := _client_id_problem(storage, env)) is not None:
        problems[wrong[0]] = wrong[1]

    raw_ws = env.get("MODELWATCH_ALLOWED_WORKSPACES", "")
    workspaces = tuple(w.strip().rstrip("/") for w in raw_ws.split(",") if w.strip())
    if not workspaces:
        problems["MODELWATCH_ALLOWED_WORKSPACES"] = (
            "is required: comma-separated Azure ML workspace resource ids "
            "(/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws})"
        )
    bad = [w for w in workspaces if not _WORKSPACE_ID.match(w)]
    if bad:
        problems["MODELWATCH_ALLOWED_WORKSPACES"] = (
            f"{bad[0]!r} is not a workspace resource id (expected "
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws})"
        )

    container = env.get("MODELWATCH_STATE_CONTAINER", "").strip() or "modelwatch"
    if not _CONTAINER_NAME.match(container):
        problems["MODELWATCH_STATE_CONTAINER"] = (
            f"{container!r} is not a valid blob container name (3-63 lowercase letters, digits, single dashes)"
        )

    claim = _int_setting(env, "MODELWATCH_CLAIM_TIMEOUT_SECONDS", 60, 5, 3600, problems)
    checks = _check_settings(env, problems)
    azure = _azure_settings(env, problems)
    alerts = _alert_settings(env, problems)
    clock = (env.get("MODELWATCH_CLOCK", "").strip().lower()
             or ("emulator" if env.get("MODELWATCH_AZURE_EMULATOR_URL", "").strip() else "system"))
    if clock not in ("system", "emulator"):
        problems["MODELWATCH_CLOCK"] = f"must be 'system' or 'emulator', got {clock!r}"
    elif clock == "emulator" and not env.get("MODELWATCH_AZURE_EMULATOR_URL", "").strip():
        problems["MODELWATCH_CLOCK"] = "'emulator' needs MODELWATCH_AZURE_EMULATOR_URL"

    if problems:
        raise SettingsError(problems)
    assert storage is not None
    return Settings(
        storage=storage,
        allowed_workspaces=workspaces,
        state_container=container,
        claim_timeout_seconds=claim,
        checks=checks,
        azure=azure,
        alerts=alerts,
        clock=clock,
    )


def _duration_setting(env: Mapping[str, str], name: str, default: timedelta, low: timedelta,
                      problems: dict[str, str]) -> timedelta:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse_duration(raw)
    except ValueError as exc:
        problems[name] = str(exc)
        return default
    if value < low:
        problems[name] = f"must be at least {low}, got {raw!r}"
    return value


def _float_setting(env: Mapping[str, str], name: str, default: float, low: float, high: float,
                   problems: dict[str, str]) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems[name] = f"must be a number, got {raw!r}"
        return default
    if not low <= value <= high:
        problems[name] = f"must be between {low:g} and {high:g}, got {raw}"
    return value


def _check_settings(env: Mapping[str, str], problems: dict[str, str]) -> CheckSettings:
    minute = timedelta(minutes=1)
    windows: list[timedelta] = []
    for part in (env.get("MODELWATCH_DRIFT_WINDOWS", "") or "1h,24h").split(","):
        if part.strip():
            try:
                windows.append(parse_duration(part))
            except ValueError as exc:
                problems["MODELWATCH_DRIFT_WINDOWS"] = f"comma-separated durations like 1h,24h: {exc}"
    if not windows or any(w < timedelta(minutes=5) or w > timedelta(days=31) for w in windows):
        problems.setdefault("MODELWATCH_DRIFT_WINDOWS", "each window must be from 5m to 31d")
    gate_margin, gate_margin_kind = _gate_margin_setting(env, problems)
    return CheckSettings(
        slo_every=_duration_setting(env, "MODELWATCH_SLO_EVERY", timedelta(minutes=5), minute, problems),
        drift_every=_duration_setting(env, "MODELWATCH_DRIFT_EVERY", timedelta(hours=1), minute, problems),
        drift_windows=tuple(windows) or (timedelta(hours=1),),
        quota_every=_duration_setting(env, "MODELWATCH_QUOTA_EVERY", timedelta(hours=1), minute, problems),
        cost_every=_duration_setting(env, "MODELWATCH_COST_EVERY", timedelta(hours=6), minute, problems),
        slo_latency_p95_ms=_float_setting(env, "MODELWATCH_SLO_LATENCY_P95_MS", 500.0, 1.0, 600_000.0, problems),
        slo_error_rate=_float_setting(env, "MODELWATCH_SLO_ERROR_RATE", 0.01, 1e-6, 0.5, problems),
        slo_min_requests=_int_setting(env, "MODELWATCH_SLO_MIN_REQUESTS", 30, 1, 10_000_000, problems),
        cost_budget=env.get("MODELWATCH_COST_BUDGET", "").strip() or None,
        cost_anomaly_floor=_float_setting(env, "MODELWATCH_COST_ANOMALY_FLOOR", 5.0, 0.0, 1e9, problems),
        probe_timeout=_duration_setting(env, "MODELWATCH_PROBE_TIMEOUT", timedelta(seconds=20),
                                        timedelta(seconds=1), problems),
        canary_interval=_duration_setting(env, "MODELWATCH_CANARY_INTERVAL", timedelta(minutes=5), minute,
                                          problems),
        canary_lifetime=_duration_setting(env, "MODELWATCH_CANARY_LIFETIME", timedelta(minutes=30), minute,
                                          problems),
        log_analytics_workspace_id=_guid_setting(env, "MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID", problems),
        rollback_mode=_choice_setting(env, "MODELWATCH_ROLLBACK_MODE", "auto", ("auto", "recommend", "off"),
                                      problems),
        rollback_cooldown=_duration_setting(env, "MODELWATCH_ROLLBACK_COOLDOWN", timedelta(minutes=30),
                                            timedelta(0), problems),
        gate_metric=env.get("MODELWATCH_GATE_METRIC", "").strip() or "auc",
        gate_direction=_choice_setting(env, "MODELWATCH_GATE_DIRECTION", "higher", ("higher", "lower"), problems),
        gate_margin=gate_margin,
        gate_margin_kind=gate_margin_kind,
        replay_tolerance=_float_setting(env, "MODELWATCH_REPLAY_TOLERANCE", 1e-6, 0.0, 1e9, problems),
        replay_max_mismatch=_float_setting(env, "MODELWATCH_REPLAY_MAX_MISMATCH", 0.01, 0.0, 1.0, problems),
    )


def _gate_margin_setting(env: Mapping[str, str], problems: dict[str, str]) -> tuple[float, str]:
    """(margin, kind): `0.01` is absolute (in the metric's units), `2%` relative (a fraction of the baseline)."""
    from monitors.gate import GateSpecError, parse_margin

    raw = env.get("MODELWATCH_GATE_MARGIN", "").strip()
    if not raw:
        return 0.01, "absolute"
    try:
        return parse_margin(raw)
    except GateSpecError as exc:
        problems["MODELWATCH_GATE_MARGIN"] = str(exc)
        return 0.01, "absolute"


_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _guid_setting(env: Mapping[str, str], name: str, problems: dict[str, str]) -> str | None:
    raw = env.get(name, "").strip()
    if raw and not _GUID.match(raw):
        problems[name] = ("must be a Log Analytics workspace id, a GUID like 00000000-0000-0000-0000-000000000000 "
                          f"('Workspace ID' on the workspace's overview), got {raw!r}")
        return None
    return raw or None


def _choice_setting(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...],
                    problems: dict[str, str]) -> str:
    raw = env.get(name, "").strip().lower()
    if raw and raw not in choices:
        problems[name] = f"must be one of {', '.join(choices)}, got {raw!r}"
    return raw if raw in choices else default


def _azure_settings(env: Mapping[str, str], problems: dict[str, str]) -> AzureSettings | None:
    from shared.adapters.azure_clients import AzureSettings

    names = ("MODELWATCH_SUBSCRIPTION_ID", "MODELWATCH_RESOURCE_GROUP", "MODELWATCH_WORKSPACE")
    if not any(env.get(n, "").strip() for n in names):
        return None
    try:
        return AzureSettings.from_env(dict(env))
    except SettingsError as exc:
        problems.update(exc.problems)
        return None


def _alert_settings(env: Mapping[str, str], problems: dict[str, str]) -> AlertSettings | None:
    from shared.alerts.settings import load_settings as load_alert_settings

    try:
        return load_alert_settings(env)
    except SettingsError as exc:
        problems.update(exc.problems)
        return None
