"""ARM: data assets (`.../workspaces/{ws}/data/{name}/versions/{version}`).

azure-ai-ml registers `<endpoint>-<deployment>-model_inputs|model_outputs` data assets when it writes a
deployment with a data collector, as Azure ML does; the emulator stores and returns them as written.
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


@route("GET", DATA + r"/(?P<name>[^/]+)/versions", "data/versions")
async def list_data_versions(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    versions = emu.data_assets.get(g["name"], {})
    return json_response(
        {"value": [_version(emu, g["name"], v, s) for v, s in versions.items()], "nextLink": None}
    )
