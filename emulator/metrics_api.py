"""HTTP routes for Azure Monitor metrics.

- `POST /subscriptions/{sub}/metrics:getBatch` (data plane, regional endpoint; what
  azure-monitor-querymetrics `MetricsClient.query_resources` sends): query `starttime`, `endtime`,
  `interval`, `metricnamespace`, `metricnames`, `aggregation`, `top`, `orderby`, `filter`; body
  `{"resourceids": [...]}`; answer `{"values": [...]}`.
- `GET {resourceId}/providers/Microsoft.Insights/metrics` (ARM; azure-mgmt-monitor style): `timespan`,
  `interval`, `metricnames`, `aggregation`, `$filter`, `top`, `metricnamespace`.
- `GET {resourceId}/providers/Microsoft.Insights/metricDefinitions` (ARM): each metric's unit, dimensions,
  `primaryAggregationType` and `supportedAggregationTypes`.

An aggregation a metric does not serve is not a 400: as in Azure, that metric comes back with
`errorCode: InvalidSamplingType` and no time series (emulator/metrics.py). An aggregation name Azure does
not know at all (`median`) is a 400.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import isodate
from starlette.requests import Request
from starlette.responses import Response

from emulator.clock import parse_iso
from emulator.core import Emulator
from emulator.metrics import (
    AGGREGATIONS,
    MetricsQueryError,
    Query,
    metric_definitions,
    parse_filter,
    resolve_target,
)
from emulator.routing import SUB, ArmError, json_response, read_json, route


def _duration(text: str, what: str) -> timedelta:
    try:
        value = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError):
        raise ArmError(
            400, "BadRequest", f"{what} {text!r} is not an ISO 8601 duration (e.g. PT1M, PT5M, PT1H)"
        ) from None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ArmError(400, "BadRequest", f"{what} {text!r} must be a positive duration")
    return value


def _window(emu: Emulator, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    try:
        end_at = parse_iso(end) if end else emu.clock.now()
        start_at = parse_iso(start) if start else end_at - timedelta(hours=1)
    except ValueError as exc:
        raise ArmError(400, "BadRequest", f"Invalid time in timespan: {exc}") from None
    if start_at >= end_at:
        raise ArmError(400, "BadRequest", f"The start time {start} must be before the end time {end}")
    return start_at, end_at


def _query(emu: Emulator, request: Request, start: datetime, end: datetime) -> Query:
    params = {k.lower(): v for k, v in request.query_params.items()}
    names = [n.strip() for n in (params.get("metricnames") or "").split(",") if n.strip()]
    if not names:
        raise ArmError(400, "BadRequest", "metricnames is required (comma-separated metric names)")
    interval_text = params.get("interval") or "PT1M"
    interval = None if interval_text.upper() == "FULL" else _duration(interval_text, "interval")
    aggs = [a.strip().lower() for a in (params.get("aggregation") or "average").split(",") if a.strip()]
    bad = sorted(set(aggs) - set(AGGREGATIONS))
    if bad:
        raise ArmError(400, "BadRequest", f"Unknown aggregation(s) {bad}; use {list(AGGREGATIONS)}")
    try:
        flt = parse_filter(params.get("filter") or params.get("$filter"))
    except MetricsQueryError as exc:
        raise ArmError(exc.status, exc.code, str(exc)) from None
    top = int(params.get("top") or 10)
    return Query(names, start, end, interval, aggs, flt, top, params.get("metricnamespace"))


@route("POST", SUB + r"/metrics:getBatch", "metrics:getBatch")
async def get_batch(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    body = await read_json(request)
    ids = body.get("resourceids")
    if not isinstance(ids, list) or not ids:
        raise ArmError(400, "BadRequest", 'Body must be {"resourceids": [<resource id>, ...]}')
    params = {k.lower(): v for k, v in request.query_params.items()}
    start, end = _window(emu, params.get("starttime"), params.get("endtime"))
    query = _query(emu, request, start, end)
    if not query.namespace:
        raise ArmError(400, "BadRequest", "metricnamespace is required for metrics:getBatch")
    values = []
    try:
        for resource_id in ids:
            target = resolve_target(emu.world, str(resource_id))
            result = emu.engine.run(target, query)
            values.append(
                {
                    "timespan": result["timespan"],
                    "starttime": result["timespan"].split("/")[0],
                    "endtime": result["timespan"].split("/")[1],
                    "interval": result["interval"],
                    "namespace": result["namespace"],
                    "resourceregion": result["resourceregion"],
                    "resourceid": target.resource_id,
                    "value": result["value"],
                }
            )
    except MetricsQueryError as exc:
        raise ArmError(exc.status, exc.code, str(exc)) from None
    return json_response({"values": values})


@route("GET", r"(?P<resource>/subscriptions/.+?)/providers/Microsoft\.Insights/metrics", "insights/metrics")
async def arm_metrics(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    params = {k.lower(): v for k, v in request.query_params.items()}
    timespan = params.get("timespan")
    start = end = None
    if timespan:
        first, _, second = timespan.partition("/")
        if second:
            start, end = first, second
        else:
            end_at = emu.clock.now()
            start_at = end_at - _duration(first, "timespan")
            start, end = start_at.isoformat(), end_at.isoformat()
    start_at, end_at = _window(emu, start, end)
    query = _query(emu, request, start_at, end_at)
    try:
        target = resolve_target(emu.world, g["resource"])
        result = emu.engine.run(target, query)
    except MetricsQueryError as exc:
        raise ArmError(exc.status, exc.code, str(exc)) from None
    return json_response({"cost": 0, **result})


@route(
    "GET",
    r"(?P<resource>/subscriptions/.+?)/providers/Microsoft\.Insights/metricDefinitions",
    "insights/metricDefinitions",
)
async def arm_metric_definitions(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    params = {k.lower(): v for k, v in request.query_params.items()}
    try:
        target = resolve_target(emu.world, g["resource"])
    except MetricsQueryError as exc:
        raise ArmError(exc.status, exc.code, str(exc)) from None
    namespace = params.get("metricnamespace")
    if namespace and namespace.lower() != target.namespace.lower():
        raise ArmError(
            400, "BadRequest", f"Metric namespace {namespace!r} does not match the resource type {target.namespace!r}"
        )
    return json_response({"value": metric_definitions(target)})
