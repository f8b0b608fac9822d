"""ARM: data assets (`.../workspaces/{ws}/data/{name}/versions/{version}`) and jobs (`.../jobs/{name}`).

azure-ai-ml registers `<endpoint>-<deployment>-model_inputs|model_outputs` data assets when it writes a
deployment with a data collector, as Azure ML does; the emulator stores and returns them as written.
Model versions that declare `training_data` in the scenario come with their data asset (uri_file on the
workspace blob store) and, when they name a training job, that job (a completed command job whose input
`training_data` is the asset), so a monitor can find a model's training data the way it would in Azure.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.arm import check_workspace
from emulator.arm_shapes import system_data
from emulator.core import Emulator
from emulator.routing import WS, ArmError, json_response, read_json, route
from emulator.world import ML

DATA = WS + r"/data"


def _version(emu: Emulator, name: str, version: str, stored: dict[str, Any]) -> dict[str, Any]:
    props = dict(stored.get("properties") or {})
    for key in ("tags", "properties"):
        if not isinstance(props.get(key), dict):
            props[key] = {}
    props.setdefault("isArchived", False)
    props.setdefault("isAnonymous", False)
    at = stored["_created"]
    return {
        "id": f"{emu.world.workspace_id}/data/{name}/versions/{version}",
        "name": version,
        "type": f"{ML}/workspaces/data/versions",
        "properties": props,
        "systemData": system_data(at, at, "scenario"),
    }


@route("PUT", DATA + r"/(?P<name>[^/]+)/versions/(?P<version>[^/]+)", "data/version")
async def put_data_version(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    body = await read_json(request)
    versions = emu.data_assets.setdefault(g["name"], {})
    created = g["version"] not in versions
    versions[g["version"]] = {**body, "_created": emu.clock.now()}
    return json_response(
        _version(emu, g["name"], g["version"], versions[g["version"]]), 201 if created else 200
    )


@route("GET", DATA + r"/(?P<name>[^/]+)/versions/(?P<version>[^/]+)", "data/version")
async def get_data_version(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    stored = emu.data_assets.get(g["name"], {}).get(g["version"])
    if stored is None:
        raise ArmError(
            404,
            "UserError",
            f"Could not find asset with ID: data/{g['name']}/versions/{g['version']}",
            headers={"x-ms-failure-cause": "ResourceNotFound"},
        )
    return json_response(_version(emu, g["name"], g["version"], stored))


def _latest(versions: dict[str, dict[str, Any]]) -> str:
    """Azure ML's latest version: the most recently created (numbers break ties by value)."""
    return max(versions, key=lambda v: (versions[v]["_created"], int(v) if v.isdigit() else -1, v))


@route("GET", DATA + r"/(?P<name>[^/]+)", "data")
async def get_data_container(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    """The container of a data asset's versions (what azure-ai-ml reads to resolve `@latest`)."""
    check_workspace(emu, g)
    versions = emu.data_assets.get(g["name"])
    if not versions:
        raise ArmError(
            404,
            "UserError",
            f"Could not find asset with ID: data/{g['name']}",
            headers={"x-ms-failure-cause": "ResourceNotFound"},
        )
    latest = _latest(versions)
    created = min(v["_created"] for v in versions.values())
    numbers = [int(v) for v in versions if v.isdigit()]
    return json_response(
        {
            "id": f"{emu.world.workspace_id}/data/{g['name']}",
            "name": g["name"],
            "type": f"{ML}/workspaces/data",
            "properties": {
                "dataType": (versions[latest].get("properties") or {}).get("dataType", "uri_folder"),
                "latestVersion": latest,
                "nextVersion": str(max(numbers) + 1) if numbers else None,
                "isArchived": False,
                "description": None,
                "tags": {},
                "properties": {},
            },
            "systemData": system_data(created, versions[latest]["_created"], "scenario"),
        }
    )


@route("GET", DATA + r"/(?P<name>[^/]+)/versions", "data/versions")
async def list_data_versions(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    versions = emu.data_assets.get(g["name"], {})
    return json_response(
        {"value": [_version(emu, g["name"], v, s) for v, s in versions.items()], "nextLink": None}
    )


JOBS = WS + r"/jobs"


def _job(emu: Emulator, name: str, stored: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in stored.items() if not k.startswith("_")}
    at = stored["_created"]
    return {
        "id": f"{emu.world.workspace_id}/jobs/{name}",
        "name": name,
        "type": f"{ML}/workspaces/jobs",
        "properties": props,
        "systemData": system_data(at, at, "scenario"),
    }


@route("GET", JOBS + r"/(?P<name>[^/]+)", "job")
async def get_job(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    stored = emu.world.jobs.get(g["name"])
    if stored is None:
        raise ArmError(
            404,
            "UserError",
            f"Could not find job with name {g['name']}",
            headers={"x-ms-failure-cause": "ResourceNotFound"},
        )
    return json_response(_job(emu, g["name"], stored))
