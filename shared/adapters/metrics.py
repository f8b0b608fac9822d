"""Azure Monitor metrics for online endpoints, through azure-monitor-querymetrics' MetricsClient.

Returns plain time series per deployment (the `deployment` dimension of the endpoint-scope metrics,
azure_shapes.md §5.1), which is what monitors/ consumes. The client is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.monitor.querymetrics import MetricsClient

ENDPOINT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
LATENCY_METRICS = ("RequestLatency_P50", "RequestLatency_P90", "RequestLatency_P95", "RequestLatency_P99")


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float | None


Series = dict[str, list[Point]]  # dimension value (e.g. deployment name) -> points, oldest first


def _dimensions(series: Any) -> dict[str, str]:
    """Dimension values by lower-cased name: Azure echoes dimension names in varying case."""
    return {str(k).lower(): str(v) for k, v in (series.metadata_values or {}).items()}


class MetricsAdapter:
    def __init__(self, client: MetricsClient) -> None:
        self._client = client

    def _query(self, resource_id: str, names: list[str], start: datetime, end: datetime, interval: timedelta,
               aggregation: str, dimension_filter: str | None) -> list[Any]:
        results = self._client.query_resources(
            resource_ids=[resource_id], metric_namespace=ENDPOINT_NAMESPACE, metric_names=names,
            timespan=(start, end), granularity=interval, aggregations=[aggregation], filter=dimension_filter,
        )
        return [metric for result in results for metric in result.metrics]

    def per_deployment(self, endpoint_id: str, metric: str, start: datetime, end: datetime,
                       interval: timedelta = timedelta(minutes=1), aggregation: str = "Average") -> Series:
        """One series per deployment of the endpoint for one metric (e.g. RequestLatency_P95)."""
        out: Series = {}
        for m in self._query(endpoint_id, [metric], start, end, interval, aggregation, "deployment eq '*'"):
            for ts in m.timeseries:
                name = _dimensions(ts).get("deployment", "(all)")
                out[name] = [Point(p.timestamp, getattr(p, aggregation.lower(), None)) for p in ts.data]
        return out

    def requests_by_status(self, endpoint_id: str, start: datetime, end: datetime,
                           interval: timedelta = timedelta(minutes=1)) -> dict[str, dict[str, list[Point]]]:
        """RequestsPerMinute per deployment and per status code class (2xx, 4xx, 5xx)."""
        out: dict[str, dict[str, list[Point]]] = {}
        metrics = self._query(endpoint_id, ["RequestsPerMinute"], start, end, interval, "Total",
                              "deployment eq '*' and statusCodeClass eq '*'")
        for m in metrics:
            for ts in m.timeseries:
                meta = _dimensions(ts)
                by_class = out.setdefault(meta.get("deployment", "(all)"), {})
                by_class[meta.get("statuscodeclass", "(all)")] = [Point(p.timestamp, p.total) for p in ts.data]
        return out
