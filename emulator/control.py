"""The emulator's own control API under /_emulator/ (JSON): scenario, clock, traffic, faults, state.

Never part of any Azure surface: tests and demos use it to move simulated time, generate traffic,
inject faults, subscribe webhooks and inspect what the emulator saw (calls per route, traffic split
history with who changed it, Event Grid deliveries). See emulator/README.md for the reference.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator.clock import iso
from emulator.core import Emulator
from emulator.faults import FaultSpec
from emulator.scenario import (
    Latency,
    ScenarioError,
    Skew,
    Subscription,
    load_scenario,
    load_scenario_text,
    parse_scenario,
)
from emulator.simulation import ScoringError, sample_rows


def _emu(request: Request) -> Emulator:
    return request.app.state.emulator


M = TypeVar("M", bound=BaseModel)


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


async def _parse(request: Request, model: type[M]) -> M | JSONResponse:
    """The request body as `model`, or the 400 answer that says what is wrong with it."""
    try:
        return model.model_validate(await _body(request))
    except ValidationError as exc:
        return _bad(_validation(exc))
    except ValueError as exc:
        return _bad(str(exc))


def _validation(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: float = Field(0, ge=0)
    hours: float = Field(0, ge=0)


class Traffic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: int = Field(ge=1, le=100000)
    endpoint: str | None = None
    deployment: str | None = Field(None, description="route by azureml-model-deployment instead of the split")
    rows: list[dict[str, Any]] | None = Field(None, description="explicit input rows (else sampled)")


class BehaviourChange(BaseModel):
    """Body of POST /_emulator/deployments/{ep}/{dep}/behaviour: each field given changes; `skew` given as
    null clears a preprocessing bug (an absent `skew` leaves it as it is)."""

    model_config = ConfigDict(extra="forbid")
    latency_ms: Latency | None = None
    error_rate: float | None = Field(None, ge=0, le=1)
    client_error_rate: float | None = Field(None, ge=0, le=1)
    skew: Skew | None = Field(None, description="a preprocessing bug: {feature, scale, shift}")


class QuotaChange(BaseModel):
    """Body of POST /_emulator/quota: a VM family's vCPU limit changes (a quota increase was granted)."""

    model_config = ConfigDict(extra="forbid")
    family: str = Field(min_length=1)
    limit: int = Field(ge=0, le=100000)


async def quota_set(request: Request) -> Response:
    emu = _emu(request)
    spec = await _parse(request, QuotaChange)
    if isinstance(spec, JSONResponse):
        return spec
    emu.scenario.quota[spec.family] = spec.limit
    return JSONResponse({"quota": dict(emu.scenario.quota)})


async def health(request: Request) -> Response:
    emu = _emu(request)
    return JSONResponse({"status": "ok", "scenario": emu.scenario.name, "now": iso(emu.clock.now())})


async def time_get(request: Request) -> Response:
    emu = _emu(request)
    return JSONResponse(
        {
            "now": iso(emu.clock.now()),
            "start": iso(emu.clock.start),
            "live": emu.clock.live,
            "time_scale": emu.clock.time_scale,
            "generated_until": iso(emu.generated_until),
            "pending_timeline": len(emu.timeline),
        }
    )


async def time_advance(request: Request) -> Response:
    spec = await _parse(request, Advance)
    if isinstance(spec, JSONResponse):
        return spec
    delta = timedelta(minutes=spec.minutes, hours=spec.hours)
    if delta > timedelta(days=62):
        return _bad("advance at most 62 days per call")
    return JSONResponse(await _emu(request).advance(delta))


async def traffic(request: Request) -> Response:
    emu = _emu(request)
    spec = await _parse(request, Traffic)
    if isinstance(spec, JSONResponse):
        return spec
    names = list(emu.world.endpoints)
    name = spec.endpoint or (names[0] if len(names) == 1 else None)
    if name not in emu.world.endpoints:
        return _bad(f"endpoint {spec.endpoint!r} unknown or ambiguous; endpoints: {names}", 404)
    ep = emu.world.endpoints[name]
    counts: dict[str, int] = {}
    for _ in range(spec.requests):
        rows = spec.rows or sample_rows(ep.features, emu.live_rng, ep.rows_per_request)
        try:
            result = emu.sim.score(ep, rows, emu.clock.now(), emu.live_rng, header=spec.deployment)
        except ScoringError as exc:
            return _bad(str(exc), exc.status)
        key = f"{result.deployment}:{result.status}"
        counts[key] = counts.get(key, 0) + 1
    records = await emu.collector.flush()
    return JSONResponse({"endpoint": name, "at": iso(emu.clock.now()), "served": counts, "records": records})


async def set_behaviour(request: Request) -> Response:
    emu = _emu(request)
    ep = emu.world.endpoints.get(request.path_params["endpoint"])
    dep = ep.deployments.get(request.path_params["deployment"].lower()) if ep else None
    if dep is None:
        return _bad("unknown endpoint or deployment", 404)
    spec = await _parse(request, BehaviourChange)
    if isinstance(spec, JSONResponse):
        return spec
    numeric = sorted(f.name for f in ep.features if f.dist != "categorical")
    if spec.skew and ep.features and spec.skew.feature not in numeric:
        return _bad(f"skew.feature: {spec.skew.feature!r} is not a numeric feature of endpoint {ep.name!r} ({numeric})")
    if spec.latency_ms:
        dep.behaviour.latency = spec.latency_ms
    if spec.error_rate is not None:
        dep.behaviour.error_rate = spec.error_rate
    if spec.client_error_rate is not None:
        dep.behaviour.client_error_rate = spec.client_error_rate
    if "skew" in spec.model_fields_set:
        dep.behaviour.skew = spec.skew
    return JSONResponse(
        {
            "endpoint": ep.name,
            "deployment": dep.name,
            "latency_ms": dep.behaviour.latency.model_dump(),
            "error_rate": dep.behaviour.error_rate,
            "client_error_rate": dep.behaviour.client_error_rate,
            "skew": dep.behaviour.skew.model_dump() if dep.behaviour.skew else None,
        }
    )


def state_snapshot(emu: Emulator) -> dict[str, Any]:
    world = emu.world
    endpoints = {}
    for ep in world.endpoints.values():
        endpoints[ep.name] = {
            "provisioning_state": ep.provisioning_state,
            "traffic": ep.traffic,
            "mirror_traffic": ep.mirror_traffic,
            "requests_per_minute": ep.requests_per_minute,
            "traffic_history": [asdict(c) for c in ep.traffic_history],
            "deployments": {
                d.name: {
                    "provisioning_state": d.provisioning_state,
                    "instance_type": d.instance_type,
                    "instance_count": d.capacity,
                    "latency_ms": d.behaviour.latency.model_dump(),
                    "error_rate": d.behaviour.error_rate,
                    "skew": d.behaviour.skew.model_dump() if d.behaviour.skew else None,
                }
                for d in ep.deployments.values()
            },
            "features": [f.model_dump() for f in ep.features],
        }
    return {
        "scenario": emu.scenario.name,
        "now": iso(emu.clock.now()),
        "start": iso(emu.clock.start),
        "generated_until": iso(emu.generated_until),
        "workspace_id": world.workspace_id,
        "storage_container": world.container,
        "collector": {
            "enabled": emu.collector.enabled,
            "records_written": emu.collector.records_written,
            "blobs": sorted(emu.collector.blobs_written),
        },
        "endpoints": endpoints,
        "models": {n: sorted(c.versions) for n, c in world.models.items()},
        "calls": dict(emu.calls.counts),
        "recent_calls": list(emu.calls.recent)[-50:],
        "timeline_applied": emu.applied_steps,
        "timeline_pending": len(emu.timeline),
        "subscriptions": _subscriptions(emu),
        "deliveries": [asdict(d) for d in emu.bus.log],
        "events_published": len(emu.bus.published),
        "faults": [r.as_dict() for r in emu.faults.rules],
        "operations": {
            k: {"status": v.status, "resource": v.resource_id, "action": v.action}
            for k, v in emu.operations.items()
        },
    }


def _subscriptions(emu: Emulator) -> list[dict[str, Any]]:
    return [
        {
            **s.spec.model_dump(by_alias=True),
            "provisioning_state": s.provisioning_state,
            "validation_error": s.validation_error,
        }
        for s in emu.bus.subscriptions.values()
    ]


async def state(request: Request) -> Response:
    return JSONResponse(state_snapshot(_emu(request)))


async def deliveries(request: Request) -> Response:
    emu = _emu(request)
    return JSONResponse({"deliveries": [asdict(d) for d in emu.bus.log], "published": emu.bus.published})


async def faults_post(request: Request) -> Response:
    spec = await _parse(request, FaultSpec)
    if isinstance(spec, JSONResponse):
        return spec
    return JSONResponse(_emu(request).faults.add(spec).as_dict(), status_code=201)


async def faults_get(request: Request) -> Response:
    return JSONResponse({"faults": [r.as_dict() for r in _emu(request).faults.rules]})


async def faults_delete(request: Request) -> Response:
    return JSONResponse({"removed": _emu(request).faults.clear()})


async def subscriptions_post(request: Request) -> Response:
    emu = _emu(request)
    spec = await _parse(request, Subscription)
    if isinstance(spec, JSONResponse):
        return spec
    sub = emu.bus.add(spec)
    if not await emu.bus.validate(sub):
        emu.bus.remove(spec.name)
        return _bad(f"subscription validation failed: {sub.validation_error}")
    return JSONResponse(
        {**spec.model_dump(by_alias=True), "provisioning_state": sub.provisioning_state}, status_code=201
    )


async def subscriptions_get(request: Request) -> Response:
    return JSONResponse({"subscriptions": _subscriptions(_emu(request))})


async def subscriptions_delete(request: Request) -> Response:
    removed = _emu(request).bus.remove(request.path_params["name"])
    return JSONResponse({"removed": removed}, status_code=200 if removed else 404)


async def collector_flush(request: Request) -> Response:
    return JSONResponse({"records": await _emu(request).collector.flush()})


async def scenario_load(request: Request) -> Response:
    try:
        body = await _body(request)
        if "path" in body:
            scenario = load_scenario(body["path"])
        elif "yaml" in body:
            scenario = load_scenario_text(str(body["yaml"]))
        elif "scenario" in body:
            scenario = parse_scenario(body["scenario"])
        else:
            return _bad("give one of 'path', 'yaml' or 'scenario'")
    except (ScenarioError, ValueError) as exc:
        return _bad(str(exc))
    emu = await request.app.state.replace(scenario)
    return JSONResponse({"loaded": scenario.name, "now": iso(emu.clock.now())})


ROUTES = [
    Route("/_emulator/health", health, methods=["GET"]),
    Route("/_emulator/time", time_get, methods=["GET"]),
    Route("/_emulator/time/advance", time_advance, methods=["POST"]),
    Route("/_emulator/traffic", traffic, methods=["POST"]),
    Route("/_emulator/deployments/{endpoint}/{deployment}/behaviour", set_behaviour, methods=["POST"]),
    Route("/_emulator/state", state, methods=["GET"]),
    Route("/_emulator/deliveries", deliveries, methods=["GET"]),
    Route("/_emulator/faults", faults_post, methods=["POST"]),
    Route("/_emulator/faults", faults_get, methods=["GET"]),
    Route("/_emulator/faults", faults_delete, methods=["DELETE"]),
    Route("/_emulator/subscriptions", subscriptions_post, methods=["POST"]),
    Route("/_emulator/subscriptions", subscriptions_get, methods=["GET"]),
    Route("/_emulator/subscriptions/{name}", subscriptions_delete, methods=["DELETE"]),
    Route("/_emulator/collector/flush", collector_flush, methods=["POST"]),
    Route("/_emulator/scenario", scenario_load, methods=["POST"]),
    Route("/_emulator/quota", quota_set, methods=["POST"]),
]
