"""Simulated inference traffic: input rows, routing, the per-deployment model, latency and errors.

One scored request (from the scoring route or generated for a simulated minute) is routed by the
endpoint's traffic split (weighted, seeded) or by the `azureml-model-deployment` header, answered by
the deployment's model (linear or logistic weights over named features; a deployment with a `skew` first
rescales one feature, as a preprocessing bug in its scoring script would), given a latency and a
status from the deployment's behaviour, and then recorded: in the metric store, in the data collector, and
(when the endpoint's diagnostic settings send it) in the traffic log, one row per request as Log Analytics'
`AmlOnlineEndpointTrafficLog` holds it. Everything random comes from generators seeded by (scenario seed,
what, when), so the same scenario and the same calls give the same numbers.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emulator.collector import Collector
from emulator.metrics import MetricStore
from emulator.scenario import Feature, Predictor, Skew
from emulator.world import DeploymentState, EndpointState, World, stable_uuid

Z99 = 2.3263478740408408  # standard normal quantile at 0.99


class ScoringError(Exception):
    """A request the endpoint refuses, with the HTTP status Azure ML would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Scored:
    endpoint: str
    deployment: str
    at: datetime
    latency_ms: float
    status: int
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]] = field(default_factory=list)
    request_id: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TrafficRecord:
    """One row of `AmlOnlineEndpointTrafficLog` (the columns the emulator serves)."""

    at: datetime  # TimeGenerated
    endpoint: str  # EndpointName
    deployment: str  # DeploymentName
    response_code: int  # ResponseCode: what the caller got
    model_status_code: int  # ModelStatusCode: what the scoring script answered (the same here)
    total_duration_ms: int  # TotalDurationMs (an int in the real table)


class RequestLog:
    """The traffic log: one row per answered request, per endpoint, bounded to the most recent `max_rows`.

    When rows have been dropped, `horizon(endpoint)` is the newest dropped row's time: a query reaching back
    before it gets a partial result, as Log Analytics answers when it cannot return everything."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._rows: dict[str, deque[TrafficRecord]] = {}
        self._horizon: dict[str, datetime] = {}

    def record(self, row: TrafficRecord) -> None:
        rows = self._rows.setdefault(row.endpoint, deque(maxlen=self.max_rows))
        if len(rows) == self.max_rows:
            dropped = rows[0].at
            self._horizon[row.endpoint] = max(dropped, self._horizon.get(row.endpoint, dropped))
        rows.append(row)

    def rows(self, endpoint: str) -> list[TrafficRecord]:
        return list(self._rows.get(endpoint, ()))

    def horizon(self, endpoint: str) -> datetime | None:
        return self._horizon.get(endpoint)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())


def route(ep: EndpointState, rng: random.Random, header: str | None) -> str:
    """Pick the deployment for a request: the header wins; otherwise the live traffic split."""
    if header:
        name = header.strip().lower()
        if name not in ep.deployments:
            raise ScoringError(404, f"Deployment '{header}' not found in endpoint '{ep.name}'.")
        return name
    live = [(name, pct) for name, pct in sorted(ep.traffic.items()) if pct > 0 and name in ep.deployments]
    if not live:
        raise ScoringError(
            404,
            "No valid deployments to route to. Please check that the endpoint has at least "
            "one deployment with positive weight values or use a deployment specific "
            "header to route.",
        )
    draw = rng.random() * sum(p for _, p in live)
    for name, pct in live:
        draw -= pct
        if draw < 0:
            return name
    return live[-1][0]


def mirror_target(ep: EndpointState, rng: random.Random) -> str | None:
    for name, pct in sorted(ep.mirror_traffic.items()):
        if name in ep.deployments and rng.random() * 100 < pct:
            return name
    return None


def sample_value(feature: Feature, rng: random.Random) -> Any:
    if feature.dist == "categorical":
        values = feature.values or {}
        return rng.choices(list(values), weights=list(values.values()))[0]
    if feature.dist == "normal":
        value = rng.gauss(feature.mean, feature.std)
    elif feature.dist == "lognormal":
        value = math.exp(rng.gauss(feature.mean, feature.std))
    else:
        value = rng.uniform(feature.low, feature.high)
    return round(value, feature.decimals) if feature.decimals is not None else value


def sample_rows(features: list[Feature], rng: random.Random, n: int) -> list[dict[str, Any]]:
    return [{f.name: sample_value(f, rng) for f in features} for _ in range(n)]


def predict(predictor: Predictor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deployment's model. Missing numeric features raise (a 400, as a real scoring script would)."""
    out = []
    for row in rows:
        z = predictor.intercept
        for name, weight in predictor.weights.items():
            if name not in row or not isinstance(row[name], int | float):
                raise ScoringError(400, f"input row is missing numeric feature {name!r}")
            z += weight * float(row[name])
        for name, table in predictor.categorical_weights.items():
            z += table.get(str(row.get(name)), 0.0)
        if predictor.kind == "linear":
            out.append({predictor.output: round(z, 6)})
            continue
        p = 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))
        result: dict[str, Any] = {predictor.output: round(p, 6)}
        if predictor.threshold is not None:
            result["label"] = int(p >= predictor.threshold)
        out.append(result)
    return out


def preprocess(rows: list[dict[str, Any]], skew: Skew | None) -> list[dict[str, Any]]:
    """The rows as a skewed deployment's scoring script hands them to the model (copies; the rows the caller
    sent, which the data collector records, stay as they were). Non-numeric values are left alone."""
    if skew is None:
        return rows
    out = []
    for row in rows:
        value = row.get(skew.feature)
        if isinstance(value, int | float) and not isinstance(value, bool):
            row = {**row, skew.feature: float(value) * skew.scale + skew.shift}
        out.append(row)
    return out


def sample_latency(dep: DeploymentState, rng: random.Random) -> float:
    lat = dep.behaviour.latency
    sigma = math.log(lat.p99 / lat.p50) / Z99 if lat.p99 > lat.p50 else 0.0
    return round(math.exp(rng.gauss(math.log(lat.p50), sigma)), 3)


def sample_status(dep: DeploymentState, rng: random.Random) -> int:
    draw = rng.random()
    if draw < dep.behaviour.error_rate:
        return 500
    if draw < dep.behaviour.error_rate + dep.behaviour.client_error_rate:
        return 400
    return 200


class Simulator:
    def __init__(self, world: World, store: MetricStore, collector: Collector) -> None:
        self.world = world
        self.store = store
        self.collector = collector
        self.live_requests = 0
        self.traffic_log = RequestLog(world.scenario.traffic_log_rows)

    def score(
        self,
        ep: EndpointState,
        rows: list[dict[str, Any]],
        at: datetime,
        rng: random.Random,
        header: str | None = None,
    ) -> Scored:
        """Route, answer, record and collect one request."""
        name = route(ep, rng, header)
        result = self._answer(ep, ep.deployments[name], rows, at, rng)
        if header is None:
            shadow = mirror_target(ep, rng)
            if shadow and shadow != name:
                self._answer(ep, ep.deployments[shadow], rows, at, rng)
        return result

    def _answer(
        self,
        ep: EndpointState,
        dep: DeploymentState,
        rows: list[dict[str, Any]],
        at: datetime,
        rng: random.Random,
    ) -> Scored:
        request_id = str(stable_uuid("req", self.world.scenario.seed, rng.random()))
        scored = Scored(
            ep.name,
            dep.name,
            at,
            sample_latency(dep, rng),
            sample_status(dep, rng),
            rows,
            request_id=request_id,
        )
        if scored.status == 200:
            try:
                scored.outputs = predict(dep.behaviour.predictor, preprocess(rows, dep.behaviour.skew))
            except ScoringError as exc:
                scored.status, scored.error = exc.status, str(exc)
        elif scored.status == 500:
            scored.error = "An unexpected error occurred in scoring script. Check the logs for more info."
        else:
            scored.error = "Bad request: the scoring script rejected the input."
        self.store.record(ep.name, dep.name, at, scored.latency_ms, scored.status)
        if ep.traffic_log:
            self.traffic_log.record(
                TrafficRecord(at, ep.name, dep.name, scored.status, scored.status, round(scored.latency_ms))
            )
        if dep.behaviour.data_collection and dep.capacity > 0 and scored.status != 400:
            instance = f"{dep.name}-{rng.randrange(dep.capacity)}"
            self.collector.add(
                self.world.deployment_id(ep.name, dep.name),
                ep.name,
                dep.name,
                instance,
                at,
                rows,
                scored.outputs,
                request_id,
            )
        return scored

    def generate_minute(self, ep: EndpointState, minute: datetime) -> int:
        """Simulated steady traffic for one minute of one endpoint; returns the number of requests."""
        rng = self.world.rng("minute", ep.name, minute.isoformat())
        rate = ep.requests_per_minute
        count = max(0, round(rng.gauss(rate, math.sqrt(rate)))) if rate > 0 else 0
        offsets = sorted(rng.uniform(0, 60) for _ in range(count))
        served = 0
        for offset in offsets:
            rows = sample_rows(ep.features, rng, ep.rows_per_request)
            try:
                self.score(ep, rows, minute + timedelta(seconds=offset), rng)
                served += 1
            except ScoringError:
                continue
        return served
