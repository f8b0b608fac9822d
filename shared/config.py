"""Settings of the function app: read from the environment, validated once, with errors that name the
setting and say what is wrong.

Every setting is documented in `local.settings.sample.json` and in the README's settings table. This
module must stay cheap to import (no Azure SDK, no pydantic): `function_app` imports it at load time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Queue the Event Grid handlers write jobs to and the worker reads. Fixed (a trigger binding needs
#: its queue name when the app is indexed); the host moves failed jobs to `modelwatch-jobs-poison`.
JOBS_QUEUE = "modelwatch-jobs"

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published, well-known development key (not a secret; the same in every Azurite install).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_WORKSPACE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+$",
    re.IGNORECASE,
)
_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


class SettingsError(ValueError):
    """One or more settings are missing or invalid. `problems` maps setting name -> what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        lines = "; ".join(f"{name}: {why}" for name, why in problems.items())
        super().__init__(f"invalid settings: {lines}")


@dataclass(frozen=True)
class Settings:
    """The validated settings the core needs. Feature areas (alerts, Azure adapters) read their own."""

    storage_connection_string: str = field(repr=False)
    allowed_workspaces: tuple[str, ...]
    state_container: str = "modelwatch"
    claim_timeout_seconds: int = 60
    audit_max_limit: int = 1000

    def workspace_allowed(self, workspace_id: str) -> bool:
        return workspace_id.rstrip("/").lower() in {w.lower() for w in self.allowed_workspaces}


def expand_connection_string(value: str) -> str:
    """`UseDevelopmentStorage=true` means Azurite on its default ports, as the Functions host reads it."""
    if value.strip().lower().replace(" ", "") in {"usedevelopmentstorage=true", "usedevelopmentstorage=true;"}:
        base = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={base}:10000/{AZURITE_ACCOUNT};QueueEndpoint={base}:10001/{AZURITE_ACCOUNT};"
            f"TableEndpoint={base}:10002/{AZURITE_ACCOUNT};"
        )
    return value


def _connection_string_problem(value: str) -> str | None:
    if not value.strip():
        return "is required (a storage connection string, or UseDevelopmentStorage=true for Azurite)"
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

    storage = env.get("AzureWebJobsStorage", "")
    if (why := _connection_string_problem(storage)) is not None:
        problems["AzureWebJobsStorage"] = why

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

    if problems:
        raise SettingsError(problems)
    return Settings(
        storage_connection_string=expand_connection_string(storage),
        allowed_workspaces=workspaces,
        state_container=container,
        claim_timeout_seconds=claim,
    )
