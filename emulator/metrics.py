"""Azure Monitor metrics for online endpoints and deployments, computed from the simulated requests.

Every scored request (simulated or real) lands in a per-minute bucket (latencies, status codes). A
query turns buckets into the Azure Monitor REST shape: per-minute values (PT1M grain, as Azure
pre-aggregates) split or filtered by dimension, then rolled up per interval with the requested
aggregations. Names, units, dimensions and supported aggregations follow the supported-metrics reference
for Microsoft.MachineLearningServices/workspaces/onlineEndpoints[/deployments] (generated 2026-07): every
endpoint metric serves `Average` only; the deployment metrics Minimum/Maximum/Average (latency and
RequestsPerMinute: Average only). `GET .../metricDefinitions` lists them as `supportedAggregationTypes`.

What Azure does with an aggregation a metric does not serve, the emulator does too: the answer is still 200,
and that metric comes back with `errorCode: InvalidSamplingType`, an `errorMessage` ("Sampling type is not
found...") and no time series, beside the other metrics of the query (the Azure Monitor REST example
`GetMetricError.json`, api-version 2024-02-01). azure-monitor-querymetrics drops `errorCode`, so a client
that does not read it sees an empty metric: the adapter (shared/adapters/metrics.py) reads it.

`RequestsPerMinute` is a sample per minute per combination of its dimensions (deployment, statusCode,
statusCodeClass, modelStatusCode): the number of those requests in that minute. A query that does not split
by a dimension merges the samples of its values as Azure merges pre-aggregated samples: Average is the mean
of the samples in the window, Minimum / Maximum / Count over the samples, Total their sum. So `Average` at
PT1M is the minute's count only for a series split by every dimension whose values differ in that minute
(one sample); collapsed, it is the mean per combination, which is why the adapter splits by all of them.

Never does I/O; the HTTP routes live in metrics_api.py.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emulator.clock import iso
from emulator.world import World

ENDPOINT_NS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
DEPLOYMENT_NS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
AGGREGATIONS = ("average", "minimum", "maximum", "total", "count")


class MetricsQueryError(ValueError):
    """A bad metrics query; `code` is the Azure Monitor error code."""

    def __init__(self, message: str, code: str = "BadRequest", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


@dataclass
class Bucket:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


class MetricStore:
    """Per-minute request facts per (endpoint, deployment)."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, str, datetime], Bucket] = {}

    def record(self, endpoint: str, deployment: str, at: datetime, latency_ms: float, status: int) -> None:
        minute = at.replace(second=0, microsecond=0)
        bucket = self.buckets.setdefault((endpoint, deployment, minute), Bucket())
        bucket.latencies.append(latency_ms)
        bucket.statuses[status] += 1

    def get(self, endpoint: str, deployment: str, minute: datetime) -> Bucket | None:
        return self.buckets.get((endpoint, deployment, minute))


# ---- metric definitions ------------------------------------------------------------------------
Fact = tuple[dict[str, str], Any]


AVERAGE_ONLY = ("Average",)
MIN_MAX_AVG = ("Minimum", "Maximum", "Average")


@dataclass(frozen=True)
class MetricDef:
    """One metric: `aggregations` are Azure's supported aggregation types, the first the primary one.

    `samples`: each fact is one Azure sample (merged across collapsed dimensions and minutes as samples);
    else the facts of a minute are reduced to one value by `reduce` (latency distributions)."""

    name: str
    unit: str
    description: str
    dimensions: tuple[str, ...]
    reduce: Callable[[list[Any]], float | None]
    aggregations: tuple[str, ...] = AVERAGE_ONLY
    samples: bool = False
    category: str = "Traffic"

    def supports(self, aggregation: str) -> bool:
        return aggregation.lower() in {a.lower() for a in self.aggregations}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _flat(payloads: list[Any]) -> list[float]:
    return [x for p in payloads for x in p]


def _pct(q: float) -> Callable[[list[Any]], float | None]:
    return lambda payloads: percentile(_flat(payloads), q)


def _mean_latency(payloads: list[Any]) -> float | None:
    values = _flat(payloads)
    return sum(values) / len(values) if values else None


def _sum(payloads: list[Any]) -> float | None:
    return float(sum(payloads)) if payloads else None


def _mean(payloads: list[Any]) -> float | None:
    return sum(payloads) / len(payloads) if payloads else None


def _latency_defs(dims: tuple[str, ...]) -> list[MetricDef]:
    defs = [
        MetricDef(
            f"RequestLatency_P{p}",
            "MilliSeconds",
            f"The P{p} request latency aggregated by all "
            "request latency values collected over a 60 second period.",
            dims,
            _pct(p / 100),
        )
        for p in (50, 90, 95, 99)
    ]
    return defs


ENDPOINT_METRICS = {
    m.name.lower(): m
    for m in [
        MetricDef(
            "RequestLatency",
            "MilliSeconds",
            "The complete interval of time taken for a request to be responded.",
            ("deployment",),
            _mean_latency,
        ),
        *_latency_defs(("deployment",)),
        MetricDef(
            "RequestsPerMinute",
            "Count",
            "The number of requests sent to online endpoint within a minute.",
            ("deployment", "statusCode", "statusCodeClass", "modelStatusCode"),
            _sum,
            samples=True,
        ),
    ]
}
DEPLOYMENT_METRICS = {
    m.name.lower(): m
    for m in [
        MetricDef(
            "CpuUtilizationPercentage",
            "Percent",
            "Percentage of CPU used by an instance.",
            ("instanceId",),
            _mean,
            MIN_MAX_AVG,
            category="Resource",
        ),
        MetricDef(
            "CpuMemoryUtilizationPercentage",
            "Percent",
            "Percentage of memory used by an instance.",
            ("instanceId",),
            _mean,
            MIN_MAX_AVG,
            category="Resource",
        ),
        MetricDef(
            "DeploymentCapacity",
            "Count",
            "The number of instances in the deployment.",
            ("instanceId", "State"),
            _sum,
            MIN_MAX_AVG,
            category="Resource",
        ),
        *_latency_defs(()),
        MetricDef(
            "RequestsPerMinute",
            "Count",
            "The number of requests sent to the deployment within a minute.",
            ("envoy_response_code",),
            _sum,
            samples=True,
        ),
    ]
}


# ---- filters -----------------------------------------------------------------------------------
_ATOM = re.compile(r"^\s*\(?\s*([A-Za-z_][\w ]*?)\s+eq\s+'([^']*)'\s*\)?\s*$", re.IGNORECASE)


def parse_filter(text: str | None) -> dict[str, set[str] | None]:
    """`deployment eq 'blue' and statusCodeClass eq '*'` -> {'deployment': {'blue'}, 'statuscodeclass': None}.

    None means "split by every value" ('*'). `or` may join values of one dimension.
    """
    result: dict[str, set[str] | None] = {}
    if not text or not text.strip():
        return result
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        for atom in re.split(r"\s+or\s+", clause.strip().strip("()"), flags=re.IGNORECASE):
            match = _ATOM.match(atom)
            if not match:
                raise MetricsQueryError(
                    f"cannot parse filter clause {atom.strip()!r}: expected "
                    f"\"<dimension> eq '<value>'\" joined by 'and' / 'or'"
                )
            name, value = match.group(1).strip().lower(), match.group(2)
            if value == "*":
                result[name] = None
            elif result.get(name, set()) is not None:
                result.setdefault(name, set()).add(value.lower())  # type: ignore[union-attr]
    return result


# ---- query -------------------------------------------------------------------------------------
@dataclass
class Target:
    """The resource a query is about: an endpoint or one of its deployments."""

    resource_id: str
    endpoint: str
    deployment: str | None

    @property
    def namespace(self) -> str:
        return DEPLOYMENT_NS if self.deployment else ENDPOINT_NS


def resolve_target(world: World, resource_id: str) -> Target:
    pattern = (
        rf"^/?subscriptions/{re.escape(world.subscription_id)}/resourcegroups/"
        rf"{re.escape(world.resource_group)}/providers/microsoft.machinelearningservices/workspaces/"
        rf"{re.escape(world.workspace)}/onlineendpoints/([^/]+)(?:/deployments/([^/]+))?/?$"
    )
    match = re.match(pattern, resource_id, flags=re.IGNORECASE)
    if not match:
        raise MetricsQueryError(f"The resource {resource_id} was not found.", "ResourceNotFound", 404)
    ep = next((e for e in world.endpoints if e.lower() == match.group(1).lower()), None)
    dep = match.group(2)
    if ep is None or (dep and dep.lower() not in world.deployment_names_ever(ep)):
        raise MetricsQueryError(f"The resource {resource_id} was not found.", "ResourceNotFound", 404)
    canonical = world.deployment_id(ep, dep.lower()) if dep else world.endpoint_id(ep)
    return Target(canonical, ep, dep.lower() if dep else None)


@dataclass
class Query:
    names: list[str]
    start: datetime
    end: datetime
    interval: timedelta | None  # None = FULL
    aggregations: list[str]
    filter: dict[str, set[str] | None]
    top: int = 10
    namespace: str | None = None


class MetricsEngine:
    def __init__(self, world: World, store: MetricStore) -> None:
        self.world = world
        self.store = store

    def run(self, target: Target, query: Query) -> dict[str, Any]:
        if query.namespace and query.namespace.lower() != target.namespace.lower():
            raise MetricsQueryError(
                f"Metric namespace {query.namespace!r} does not match the resource type "
                f"{target.namespace!r} of {target.resource_id}"
            )
        defs = DEPLOYMENT_METRICS if target.deployment else ENDPOINT_METRICS
        metrics = []
        for name in query.names:
            definition = defs.get(name.lower())
            if definition is None:
                valid = ", ".join(d.name for d in defs.values())
                raise MetricsQueryError(
                    f"Failed to find metric configuration for provider: "
                    f"Microsoft.MachineLearningServices, resource Type: {target.namespace}, "
                    f"metric: {name}, Valid metrics: {valid}"
                )
            metrics.append(self._metric(target, definition, query))
        return {
            "timespan": f"{iso(query.start)}/{iso(query.end)}",
            "interval": _iso_interval(query.interval, query.start, query.end),
            "value": metrics,
            "namespace": target.namespace,
            "resourceregion": self.world.location,
        }

    def _metric(self, target: Target, definition: MetricDef, query: Query) -> dict[str, Any]:
        known = {d.lower(): d for d in definition.dimensions}
        unknown = sorted(set(query.filter) - set(known))
        if unknown:
            raise MetricsQueryError(
                f"Dimension(s) {unknown} are not valid for metric {definition.name}; "
                f"valid dimensions: {list(definition.dimensions)}"
            )
        entry = {
            "id": f"{target.resource_id}/providers/Microsoft.Insights/metrics/{definition.name}",
            "type": "Microsoft.Insights/metrics",
            "name": {"value": definition.name, "localizedValue": definition.name},
            "displayDescription": definition.description,
            "unit": definition.unit,
        }
        refused = [a for a in query.aggregations if not definition.supports(a)]
        if refused:  # Azure answers 200 and marks only this metric (REST example GetMetricError.json)
            return {**entry, "timeseries": [], "errorCode": "InvalidSamplingType",
                    "errorMessage": invalid_sampling_message(target, definition, refused[0])}
        return {**entry, "timeseries": self._series(target, definition, query), "errorCode": "Success"}

    def _series(self, target: Target, definition: MetricDef, query: Query) -> list[dict[str, Any]]:
        split_dims = sorted(query.filter)
        groups: dict[tuple[str, ...], dict[datetime, list[Any]]] = {}
        minute = query.start.replace(second=0, microsecond=0)
        while minute < query.end:
            for dims, payload in self._facts(target, definition.name, minute):
                lowered = {k.lower(): str(v) for k, v in dims.items()}
                if not _matches(lowered, query.filter):
                    continue
                key = tuple(lowered.get(d, "") for d in split_dims)
                groups.setdefault(key, {}).setdefault(minute, []).append(payload)
            minute += timedelta(minutes=1)
        if not split_dims and not groups:
            groups[()] = {}
        out = []
        for key, by_minute in groups.items():
            values = {m: _samples(definition, p) for m, p in by_minute.items()}
            out.append(
                {
                    "metadatavalues": [
                        {"name": {"value": d, "localizedValue": d}, "value": v}
                        for d, v in zip(split_dims, key, strict=True)
                    ],
                    "data": self._roll_up(values, query),
                }
            )
        return _top(out, query)

    def _roll_up(self, values: dict[datetime, list[float]], query: Query) -> list[dict[str, Any]]:
        """One point per window; every aggregation over the samples inside it (none: a timeStamp only)."""
        points = []
        for start, end in _windows(query.start, query.end, query.interval):
            inside = [v for m, samples in values.items() if start <= m < end for v in samples]
            point: dict[str, Any] = {"timeStamp": iso(start)}
            if inside:
                stats = {
                    "average": sum(inside) / len(inside),
                    "minimum": min(inside),
                    "maximum": max(inside),
                    "total": sum(inside),
                    "count": float(len(inside)),
                }
                point.update({a: stats[a] for a in query.aggregations})
            points.append(point)
        return points

    # ---- facts: what each metric sees in one minute ---------------------------------------------
    def _facts(self, target: Target, name: str, minute: datetime) -> Iterable[Fact]:
        if target.deployment is None:
            return self._endpoint_facts(target.endpoint, name.lower(), minute)
        return self._deployment_facts(target.endpoint, target.deployment, name.lower(), minute)

    def _endpoint_facts(self, endpoint: str, name: str, minute: datetime) -> Iterable[Fact]:
        for dep in self.world.deployment_names_ever(endpoint):
            bucket = self.store.get(endpoint, dep, minute)
            if bucket is None:
                continue
            if name == "requestsperminute":
                for status, count in bucket.statuses.items():
                    yield (
                        {
                            "deployment": dep,
                            "statusCode": str(status),
                            "statusCodeClass": f"{status // 100}xx",
                            "modelStatusCode": str(status),
                        },
                        count,
                    )
            else:
                yield {"deployment": dep}, bucket.latencies

    def _deployment_facts(self, endpoint: str, dep: str, name: str, minute: datetime) -> Iterable[Fact]:
        bucket = self.store.get(endpoint, dep, minute)
        if name.startswith("requestlatency"):
            if bucket:
                yield {}, bucket.latencies
            return
        if name == "requestsperminute":
            for status, count in bucket.statuses.items() if bucket else []:
                yield {"envoy_response_code": str(status)}, count
            return
        if minute >= self.world.clock.now().replace(second=0, microsecond=0):
            return
        capacity, _ = self.world.capacity_at(endpoint, dep, minute)
        requests = sum(bucket.statuses.values()) if bucket else 0
        for i in range(capacity):
            instance = f"{dep}-{i}"
            if name == "deploymentcapacity":
                yield {"instanceId": instance, "State": "Ready"}, 1
            else:
                yield (
                    {"instanceId": instance},
                    self._utilisation(
                        endpoint, dep, i, minute, requests / capacity, name == "cpuutilizationpercentage"
                    ),
                )

    def _utilisation(self, endpoint: str, dep: str, i: int, minute: datetime, rpm: float, cpu: bool) -> float:
        rng = self.world.rng("util", endpoint, dep, i, minute.isoformat(), cpu)
        base = 6.0 + 0.45 * rpm if cpu else 28.0 + 0.05 * rpm
        return round(min(100.0, max(0.0, base + rng.uniform(-2.0, 2.0))), 2)


def _samples(definition: MetricDef, payloads: list[Any]) -> list[float]:
    """The Azure samples of one series in one minute: each fact itself for a sample metric, else the one
    value the minute's facts reduce to (none when it has no value)."""
    if definition.samples:
        return [float(p) for p in payloads]
    value = definition.reduce(payloads)
    return [] if value is None else [value]


def invalid_sampling_message(target: Target, definition: MetricDef, aggregation: str) -> str:
    """Azure's wording for an aggregation the metric does not serve ("SamplingType" is Azure's word for it)."""
    return (
        f"Sampling type is not found. Metric:MachineLearningServices,{target.namespace},{definition.name}, "
        f"SamplingType:Nullable{aggregation.capitalize()}."
    )


def metric_definitions(target: Target) -> list[dict[str, Any]]:
    """GET .../providers/Microsoft.Insights/metricDefinitions: every metric of the resource with its supported
    aggregations, primary aggregation, dimensions and time grains (PT1M pre-aggregated, 93 days kept)."""
    defs = DEPLOYMENT_METRICS if target.deployment else ENDPOINT_METRICS
    grains = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D")
    return [
        {
            "id": f"{target.resource_id}/providers/microsoft.insights/metricdefinitions/{d.name}",
            "resourceId": target.resource_id,
            "namespace": target.namespace,
            "name": {"value": d.name, "localizedValue": d.name},
            "displayDescription": d.description,
            "category": d.category,
            "isDimensionRequired": False,
            "unit": d.unit,
            "primaryAggregationType": d.aggregations[0],
            "supportedAggregationTypes": list(d.aggregations),
            "metricAvailabilities": [{"timeGrain": g, "retention": "P93D"} for g in grains],
            "dimensions": [{"value": dim, "localizedValue": dim} for dim in d.dimensions],
        }
        for d in defs.values()
    ]


def _matches(dims: dict[str, str], flt: dict[str, set[str] | None]) -> bool:
    for name, allowed in flt.items():
        if name not in dims:
            return False
        if allowed is not None and dims[name].lower() not in allowed:
            return False
    return True


def _windows(
    start: datetime, end: datetime, interval: timedelta | None
) -> Iterable[tuple[datetime, datetime]]:
    if interval is None:
        yield start, end
        return
    cursor = start
    while cursor < end:
        yield cursor, min(cursor + interval, end)
        cursor += interval


def _iso_interval(interval: timedelta | None, start: datetime, end: datetime) -> str:
    seconds = int((interval or (end - start)).total_seconds())
    if seconds % 86400 == 0:
        return f"P{seconds // 86400}D"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (
        "PT"
        + (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{secs}S" if secs else "")
    )


def _top(series: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    if len(series) <= query.top:
        return series
    agg = query.aggregations[0]

    def weight(s: dict[str, Any]) -> float:
        return sum(p.get(agg, 0.0) for p in s["data"])

    return sorted(series, key=weight, reverse=True)[: query.top]
