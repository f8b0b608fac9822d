"""The scoring URI of every emulated endpoint: `POST /score/{endpoint}` (the endpoint's scoringUri).

Key auth as Azure ML (`Authorization: Bearer <primary or secondary key>`), routing by the
`azureml-model-deployment` header or the traffic split, the deployment's model (after its `skew`, a
simulated preprocessing bug, if it has one), its simulated latency
(really waited, capped at 2 s) and errors. Accepts `{"input_data": {"columns": [...], "data": [[...]]}}`,
`{"input_data": [{...}]}`, `{"data": [...]}` or a bare list of row objects; answers a JSON list with
one output object per row. Every request feeds the metrics and the data collector.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.core import Emulator
from emulator.simulation import ScoringError

MAX_REAL_DELAY_S = 2.0


def parse_rows(body: Any, feature_names: list[str]) -> list[dict[str, Any]]:
    payload = body
    if isinstance(body, dict):
        if "input_data" in body:
            payload = body["input_data"]
        elif "data" in body:
            payload = body["data"]
        else:
            raise ScoringError(400, "expected a JSON body with 'input_data' or 'data'")
    if isinstance(payload, dict):
        columns, data = payload.get("columns"), payload.get("data")
        if not isinstance(columns, list) or not isinstance(data, list):
            raise ScoringError(400, "input_data needs 'columns' (list of names) and 'data' (list of rows)")
        return [dict(zip(columns, row, strict=False)) for row in data]
    if isinstance(payload, list) and all(isinstance(r, dict) for r in payload):
        return [dict(r) for r in payload]
    if isinstance(payload, list) and all(isinstance(r, list) for r in payload):
        if not feature_names:
            raise ScoringError(400, "rows given as lists need 'columns' (this endpoint declares no features)")
        return [dict(zip(feature_names, row, strict=False)) for row in payload]
    raise ScoringError(400, "rows must be a list of objects, a list of lists, or {'columns', 'data'}")


def _authorised(request: Request, keys: tuple[str, str]) -> bool:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    return token in keys


async def score(request: Request) -> Response:
    emu: Emulator = request.app.state.emulator
    name = request.path_params["endpoint"]
    ep = next((e for k, e in emu.world.endpoints.items() if k.lower() == name.lower()), None)
    if ep is None:
        return JSONResponse({"message": f"Endpoint '{name}' not found."}, status_code=404)
    if not _authorised(request, ep.keys):
        return JSONResponse(
            {"message": "Authentication failed: pass a valid endpoint key as 'Authorization: Bearer <key>'."},
            status_code=401,
        )
    try:
        body = json.loads(await request.body() or b"null")
        rows = parse_rows(body, [f.name for f in ep.features])
        result = emu.sim.score(
            ep, rows, emu.clock.now(), emu.live_rng, header=request.headers.get("azureml-model-deployment")
        )
    except ValueError:
        return JSONResponse({"message": "request body is not valid JSON"}, status_code=400)
    except ScoringError as exc:
        return JSONResponse({"message": str(exc)}, status_code=exc.status)
    emu.sim.live_requests += 1
    await asyncio.sleep(min(result.latency_ms / 1000, MAX_REAL_DELAY_S))
    headers = {
        "azureml-model-deployment": result.deployment,
        "x-request-id": result.request_id,
        "x-ms-request-id": result.request_id,
    }
    if result.status != 200:
        return JSONResponse({"message": result.error}, status_code=result.status, headers=headers)
    return JSONResponse(result.outputs, headers=headers)
