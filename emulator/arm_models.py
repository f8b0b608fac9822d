"""ARM: model containers and versions (the v2 assets azure-ai-ml `ml.models` reads and registers).

Registering a new version (PUT .../models/{name}/versions/{version}) raises the Azure ML system event
Microsoft.MachineLearningServices.ModelRegistered (topic = the workspace) on Event Grid, besides the
ARM ResourceWriteSuccess. A PUT to a registered version changes only its mutable fields (`MUTABLE`: tags,
description, stage, archiving), keeps its creation time and raises no second ModelRegistered. A registered
version can carry an emulator-only `predictor` under
`properties.properties["emulator.predictor"]` (JSON) so a deployment of it answers with those weights.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from emulator import arm_shapes as shapes
from emulator.arm import check_workspace
from emulator.core import Emulator
from emulator.routing import WS, ArmError, caller, json_response, read_json, route
from emulator.scenario import Predictor
from emulator.world import ModelContainerState, ModelVersionState

MODELS = WS + r"/models"


def get_container(emu: Emulator, g: dict[str, str]) -> ModelContainerState:
    check_workspace(emu, g)
    for name, container in emu.world.models.items():
        if name.lower() == g["name"].lower():
            return container
    raise ArmError(
        404,
        "UserError",
        f"Could not find asset with ID: azureml://locations/"
        f"{emu.world.location}/workspaces/{emu.world.workspace_guid}/models/"
        f"{g['name']}",
        headers={"x-ms-failure-cause": "ResourceNotFound"},
    )


def _archived(request: Request, archived: bool) -> bool:
    view = (request.query_params.get("listViewType") or "ActiveOnly").lower()
    return view == "all" or (view == "archivedonly") == archived


@route("GET", MODELS, "models")
async def list_models(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    items = [
        shapes.model_container(emu.world, c) for c in emu.world.models.values() if _archived(request, False)
    ]
    return json_response({"value": items, "nextLink": None})


@route("GET", MODELS + r"/(?P<name>[^/]+)", "model")
async def get_model(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    return json_response(shapes.model_container(emu.world, get_container(emu, g)))


@route("PUT", MODELS + r"/(?P<name>[^/]+)", "model")
async def put_model(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    body = await read_json(request)
    props = body.get("properties") or {}
    existing = emu.world.models.get(g["name"])
    if existing is None:
        existing = emu.world.models[g["name"]] = ModelContainerState(g["name"], "", {}, emu.clock.now())
    existing.description = props.get("description") or existing.description
    existing.tags = dict(props.get("tags") or existing.tags)
    return json_response(shapes.model_container(emu.world, existing))


@route("GET", MODELS + r"/(?P<name>[^/]+)/versions", "model/versions")
async def list_versions(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    container = get_container(emu, g)
    versions = [
        v for v in container.versions.values() if _archived(request, bool(v.properties.get("isArchived")))
    ]
    items = [shapes.model_version(emu.world, v) for v in versions]
    return json_response({"value": items, "nextLink": None})


@route("GET", MODELS + r"/(?P<name>[^/]+)/versions/(?P<version>[^/]+)", "model/version")
async def get_version(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    container = get_container(emu, g)
    version = container.versions.get(g["version"])
    if version is None:
        raise ArmError(
            404,
            "UserError",
            f"Could not find asset with ID: azureml://locations/{emu.world.location}/"
            f"workspaces/{emu.world.workspace_guid}/models/{container.name}/versions/"
            f"{g['version']}",
            headers={"x-ms-failure-cause": "ResourceNotFound"},
        )
    return json_response(shapes.model_version(emu.world, version))


@route("PUT", MODELS + r"/(?P<name>[^/]+)/versions/(?P<version>[^/]+)", "model/version")
async def put_version(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    body = await read_json(request)
    props = dict(body.get("properties") or {})
    if not props.get("modelUri"):
        raise ArmError(400, "UserError", "properties.modelUri is required to register a model version.")
    container = emu.world.models.get(g["name"])
    current = container.versions.get(g["version"]) if container is not None else None
    if current is not None:
        _update_version(current, props)
    else:
        props.setdefault("tags", {})
        props.setdefault("properties", {})
        emu.register_model_version(g["name"], g["version"], props, _predictor(props), emu.clock.now())
    emu.arm_event(
        emu.world.model_version_id(g["name"], g["version"]), "models/versions/write", "PUT", caller(request)
    )
    state = emu.world.models[g["name"]].versions[g["version"]]
    return json_response(shapes.model_version(emu.world, state), 200 if current is not None else 201)


#: what a PUT may change on a registered version (`az ml model update`: description, tags, stage; archiving)
MUTABLE = ("description", "tags", "stage", "isArchived")


def _update_version(state: ModelVersionState, props: dict[str, object]) -> None:
    """A PUT to a registered version, as Azure ML treats it: the mutable fields change; the artifact, properties,
    job and creation time stay (no new ModelRegistered event). Another path is refused, as Azure refuses it."""
    known = str(state.properties.get("modelUri") or "")
    if str(props["modelUri"]).rstrip("/") != known.rstrip("/"):
        raise ArmError(400, "UserError", "Asset paths cannot be updated.")
    for key in MUTABLE:
        if key in props:
            value = props[key]
            state.properties[key] = (dict(value) if isinstance(value, dict) else {}) if key == "tags" else value


def _predictor(props: dict[str, object]) -> Predictor:
    raw = (
        (props.get("properties") or {}).get("emulator.predictor")
        if isinstance(props.get("properties"), dict)
        else None
    )
    if not raw:
        return Predictor()
    try:
        return Predictor.model_validate(json.loads(str(raw)))
    except ValueError as exc:
        raise ArmError(
            400, "UserError", f"properties.properties['emulator.predictor'] is not a valid predictor: {exc}"
        ) from None
