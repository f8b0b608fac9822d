"""Azure Monitor metrics for online endpoints, through azure-monitor-querymetrics' MetricsClient.

Returns plain time series per deployment (the `deployment` dimension of the endpoint-scope metrics), which
is what monitors/ consumes. The client is a parameter.

What Azure serves, and so what this adapter asks (supported-metrics reference for
`Microsoft.MachineLearningServices/workspaces/onlineEndpoints`, generated 2026-07): every metric read here is
pre-aggregated per minute (PT1M) and serves one aggregation, `Average`:

| metric | unit | dimensions |
|---|---|---|
| `RequestLatency`, `RequestLatency_P50` / `_P90` / `_P95` / `_P99` | Milliseconds | `deployment` |
| `RequestsPerMinute` | Count | `deployment`, `statusCode`, `statusCodeClass`, `modelStatusCode` |

Asked for another aggregation (`Total`, `Count`...), Azure does not fail the query: it answers 200 with that
metric marked `errorCode: InvalidSamplingType` and no time series. The SDK's result objects drop `errorCode`,
so such a query would look like "no traffic" and an SLO would sit in `insufficient_data` forever. Hence two
guards: a query for an aggregation the table above does not list is refused before it is sent
(`UnsupportedAggregation`), and every answer's per-metric `errorCode` is read from the raw response and any
error raised (`MetricsQueryError`).

Request counts from an `Average`-only count metric: `RequestsPerMinute` is one sample per minute per
combination of its dimension values, the number of those requests in that minute. Azure merges the samples a
query does not split apart, and `Average` of merged samples is their mean, not their sum (5 requests with
500 and 3 with 503 in one minute average to 4 in the `5xx` class). At a grain coarser than a minute it is
also a mean over the minutes that had requests, which no count can be recovered from. So request counts are
read at PT1M split by every dimension that varies independently (`deployment`, `statusCode`,
`modelStatusCode`; `statusCodeClass` follows `statusCode`): each series-minute is then a single sample and its
`Average` is exactly that minute's count. The adapter sums them into status classes and, for a coarser
`interval`, into buckets itself.

Azure Monitor returns at most `top` series per metric (10 unless asked) and never says it cut any: queries
here ask `top=SERIES_TOP`, and `requests_by_status` says whether the answer may have been cut (`complete`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.monitor.querymetrics import MetricsClient

ENDPOINT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
LATENCY_METRICS = ("RequestLatency_P50", "RequestLatency_P90", "RequestLatency_P95", "RequestLatency_P99")
#: the aggregations Azure serves for the endpoint-scope metrics this app reads (see the module docstring)
SUPPORTED_AGGREGATIONS: dict[str, tuple[str, ...]] = {
    name: ("Average",) for name in ("RequestLatency", *LATENCY_METRICS, "RequestsPerMinute")
}
MINUTE = timedelta(minutes=1)
#: series asked per metric: an endpoint has at most 20 deployments (Azure ML's limit), each with a few status
#: codes; Azure's default of 10 would silently drop series of a busy endpoint
SERIES_TOP = 1000
#: the dimensions a request count is split by, so that each series-minute is one sample (module docstring)
REQUEST_SPLIT = "deployment eq '*' and statusCode eq '*' and modelStatusCode eq '*'"


class UnsupportedAggregation(ValueError):
    """The caller asked a metric for an aggregation Azure does not serve for it."""


class MetricsQueryError(RuntimeError):
    """Azure answered the query but marked a metric as failed (`errorCode` other than `Success`)."""


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float | None


Series = dict[str, list[Point]]  # dimension value (e.g. deployment name) -> points, oldest first


class RequestCounts(dict[str, dict[str, list[Point]]]):
    """deployment -> status class (`2xx`, `4xx`, `5xx`...) -> request counts per interval, oldest first.

    `complete` is False when Azure returned `top` series for the metric: some may have been left out (a quiet
    deployment absent from the answer may then have served requests)."""

    complete: bool = True


def _dimensions(series: Any) -> dict[str, str]:
    """Dimension values by lower-cased name: Azure echoes dimension names in varying case."""
    return {str(k).lower(): str(v) for k, v in (series.metadata_values or {}).items()}


def _status_class(status_code: str) -> str:
    code = status_code.strip()
    return f"{code[0]}xx" if len(code) == 3 and code.isdigit() else code or "(none)"


class MetricsAdapter:
    def __init__(self, client: MetricsClient, *, top: int = SERIES_TOP) -> None:
        self._client = client
        self.top = top  #: series asked per metric (Azure Monitor's `top`)

    def _query(self, resource_id: str, names: Sequence[str], start: datetime, end: datetime, interval: timedelta,
               aggregation: str, dimension_filter: str | None) -> list[Any]:
        for name in names:
            served = SUPPORTED_AGGREGATIONS.get(name)
            if served is not None and aggregation.lower() not in {a.lower() for a in served}:
                raise UnsupportedAggregation(f"Azure Monitor serves {name} as {' / '.join(served)} only, "
                                             f"not {aggregation} (it would answer InvalidSamplingType, no data)")
        raw: list[Any] = []
        results = self._client.query_resources(
            resource_ids=[resource_id], metric_namespace=ENDPOINT_NAMESPACE, metric_names=list(names),
            timespan=(start, end), granularity=interval, aggregations=[aggregation], filter=dimension_filter,
            max_results=self.top, raw_response_hook=lambda response: raw.append(response.http_response),
        )
        _raise_metric_errors(raw[-1] if raw else None, resource_id)
        return [metric for result in results for metric in result.metrics]

    def per_deployment_metrics(self, endpoint_id: str, metrics: Sequence[str], start: datetime, end: datetime,
                               interval: timedelta = MINUTE, aggregation: str = "Average") -> dict[str, Series]:
        """Several metrics of the endpoint in one query (e.g. the four latency percentiles): metric name ->
        deployment -> points. A metric with no data at all maps to an empty Series."""
        out: dict[str, Series] = {name: {} for name in metrics}
        for m in self._query(endpoint_id, metrics, start, end, interval, aggregation, "deployment eq '*'"):
            series = out.setdefault(_canonical(m.name, metrics), {})
            for ts in m.timeseries:
                name = _dimensions(ts).get("deployment", "(all)")
                series[name] = [Point(p.timestamp, getattr(p, aggregation.lower(), None)) for p in ts.data]
        return out

    def per_deployment(self, endpoint_id: str, metric: str, start: datetime, end: datetime,
                       interval: timedelta = MINUTE, aggregation: str = "Average") -> Series:
        """One series per deployment of the endpoint for one metric (e.g. RequestLatency_P95)."""
        return self.per_deployment_metrics(endpoint_id, [metric], start, end, interval, aggregation)[metric]

    def requests_by_status(self, endpoint_id: str, start: datetime, end: datetime,
                           interval: timedelta = MINUTE) -> RequestCounts:
        """Requests per deployment and status class, counted per `interval` (a whole number of minutes).

        Read as `RequestsPerMinute` `Average` at PT1M split by every dimension, so each value is one minute's
        count (module docstring), then summed per status class and per `interval` bucket from `start`. A
        bucket with no sample has value None (Azure sends no value for a minute without requests)."""
        if interval < MINUTE or interval % MINUTE:
            raise ValueError(f"interval must be a whole number of minutes, got {interval}")
        out = RequestCounts()
        metrics = self._query(endpoint_id, ["RequestsPerMinute"], start, end, MINUTE, "Average", REQUEST_SPLIT)
        buckets = _bucket_starts(start, end, interval)
        sums: dict[tuple[str, str], dict[datetime, float]] = {}
        seen = 0
        for m in metrics:
            seen = max(seen, len(m.timeseries))
            for ts in m.timeseries:
                meta = _dimensions(ts)
                key = (meta.get("deployment", "(all)"), _status_class(meta.get("statuscode", "")))
                slot = sums.setdefault(key, {})
                for p in ts.data:
                    if p.average is not None:
                        at = _bucket_of(p.timestamp, start, interval)
                        slot[at] = slot.get(at, 0.0) + float(p.average)
        for (deployment, status_class), by_bucket in sums.items():
            out.setdefault(deployment, {})[status_class] = [Point(at, by_bucket.get(at)) for at in buckets]
        out.complete = seen < self.top
        return out


def _canonical(name: str, asked: Sequence[str]) -> str:
    """The caller's spelling of a metric name Azure may echo in another case."""
    return next((a for a in asked if a.lower() == str(name).lower()), str(name))


def _bucket_starts(start: datetime, end: datetime, interval: timedelta) -> list[datetime]:
    starts, at = [], start
    while at < end:
        starts.append(at)
        at += interval
    return starts


def _bucket_of(at: datetime, start: datetime, interval: timedelta) -> datetime:
    return start + interval * max(0, (at - start) // interval)


def _raise_metric_errors(response: Any, resource_id: str) -> None:
    """Raise for a metric Azure marked failed: the SDK's result objects drop `errorCode` / `errorMessage`."""
    if response is None:
        return
    try:
        body = json.loads(response.text())
    except (ValueError, TypeError):
        return
    for value in body.get("values") or []:
        for metric in value.get("value") or []:
            code = metric.get("errorCode")
            if code and code != "Success":
                name = (metric.get("name") or {}).get("value")
                where = value.get("resourceid") or resource_id
                raise MetricsQueryError(f"Azure Monitor could not serve {name} of {where}: {code}: "
                                        f"{metric.get('errorMessage') or 'no message'}")
