"""Request-level data for canary analysis: an endpoint's traffic log in Log Analytics, one row per request.

When an online endpoint's diagnostic settings send the category `AmlOnlineEndpointTrafficLog` to a Log
Analytics workspace, every request lands there as a row (`TimeGenerated`, `EndpointName`, `DeploymentName`,
`ResponseCode`, `ModelStatusCode`, `TotalDurationMs`, ...). Read through azure-monitor-query's
`LogsQueryClient.query_workspace` (the client is a parameter), a 5-minute interval gives the canary judge
thousands of request durations instead of five per-minute percentiles.

The query (one per call, over the whole span asked for) is:

    AmlOnlineEndpointTrafficLog
    | where TimeGenerated >= datetime(<start>) and TimeGenerated < datetime(<end>)
    | where EndpointName == "<endpoint>"
    | where DeploymentName in ("<deployment>", ...)
    | project TimeGenerated, DeploymentName, ResponseCode, TotalDurationMs

Windows are half-open, [start, end), like the judge's intervals. Every request counts (4xx too) and gives
its duration, as the RequestLatency metric does; errors are the 5xx (`ResponseCode` >= 500, what the caller
saw). A partial result (Log Analytics could not return every row: over 500,000 records, a timeout) is never
used as if complete: it raises `TrafficLogError(partial=True)`, as does any failed query, so the caller
falls back or retries knowingly. Nothing here decides which source a canary is judged from.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from azure.monitor.query import LogsQueryClient

TABLE = "AmlOnlineEndpointTrafficLog"
COLUMNS = ("TimeGenerated", "DeploymentName", "ResponseCode", "TotalDurationMs")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # endpoint and deployment names: no quoting needed


class TrafficLogError(RuntimeError):
    """The traffic log could not be read completely. `partial`: Log Analytics returned only part of the rows."""

    def __init__(self, message: str, *, partial: bool = False) -> None:
        super().__init__(message)
        self.partial = partial


@dataclass(frozen=True, eq=False)
class RequestSamples:
    """One deployment's requests in one window: a duration per request, the count, and the 5xx among them."""

    durations_ms: np.ndarray | Sequence[float] = field(default_factory=tuple)
    requests: int = 0
    errors_5xx: int = 0


def _kusto_datetime(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got {at!r}")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _checked(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{what} {name!r} is not an Azure ML name (letters, digits, '-', '_'); not queried")
    return name


def traffic_query(endpoint: str, deployments: Sequence[str], start: datetime, end: datetime) -> str:
    """The KQL this adapter sends (names are checked, so nothing needs escaping)."""
    names = ", ".join(f'"{_checked(d, "deployment")}"' for d in deployments)
    return (
        f"{TABLE}\n"
        f"| where TimeGenerated >= datetime({_kusto_datetime(start)})"
        f" and TimeGenerated < datetime({_kusto_datetime(end)})\n"
        f'| where EndpointName == "{_checked(endpoint, "endpoint")}"\n'
        f"| where DeploymentName in ({names})\n"
        f"| project {', '.join(COLUMNS)}"
    )


def _as_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class TrafficLog:
    """An endpoint's requests from the Log Analytics workspace its diagnostic settings write to."""

    def __init__(self, client: LogsQueryClient, workspace_id: str) -> None:
        self._client = client
        self.workspace_id = workspace_id

    def requests(self, endpoint: str, deployments: Sequence[str], start: datetime, end: datetime
                 ) -> dict[str, RequestSamples]:
        """Each deployment's requests in [start, end); a deployment without rows gets empty samples."""
        return self.windows(endpoint, deployments, [start, end])[0]

    def windows(self, endpoint: str, deployments: Sequence[str], edges: Sequence[datetime]
                ) -> list[dict[str, RequestSamples]]:
        """Consecutive windows [edges[i], edges[i+1]) from one query over [edges[0], edges[-1])."""
        import numpy as np

        if len(edges) < 2 or any(b <= a for a, b in pairwise(edges)):
            raise ValueError(f"expected at least two increasing window edges, got {list(edges)}")
        by_deployment: dict[str, list[tuple[datetime, int, float]]] = {d: [] for d in deployments}
        for at, name, code, ms in self._rows(endpoint, deployments, edges[0], edges[-1]):
            if name in by_deployment:
                by_deployment[name].append((at, code, ms))
        out: list[dict[str, RequestSamples]] = [{} for _ in range(len(edges) - 1)]
        for deployment, rows in by_deployment.items():
            rows.sort(key=lambda r: r[0])
            times = [at for at, _, _ in rows]
            codes = np.fromiter((code for _, code, _ in rows), dtype=np.int64, count=len(rows))
            durations = np.fromiter((ms for _, _, ms in rows), dtype=float, count=len(rows))
            for i, (start, end) in enumerate(pairwise(edges)):
                lo, hi = bisect_left(times, start), bisect_left(times, end)
                out[i][deployment] = RequestSamples(durations[lo:hi], hi - lo, int((codes[lo:hi] >= 500).sum()))
        return out

    def _rows(self, endpoint: str, deployments: Sequence[str], start: datetime, end: datetime
              ) -> list[tuple[datetime, str, int, float]]:
        from azure.core.exceptions import AzureError, HttpResponseError
        from azure.monitor.query import LogsQueryStatus

        query = traffic_query(endpoint, deployments, start, end)
        where = f"Log Analytics workspace {self.workspace_id}, {TABLE} of {endpoint}"
        try:
            result = self._client.query_workspace(self.workspace_id, query, timespan=(start, end))
        except HttpResponseError as exc:
            detail = " ".join(str(getattr(exc.model, "message", None) or exc.message).split())  # one line
            code = getattr(exc.model, "code", None) or getattr(exc.error, "code", None) or ""
            raise TrafficLogError(f"{where}: query refused ({exc.status_code} {code}): {detail}") from exc
        except AzureError as exc:
            raise TrafficLogError(f"{where}: query failed: {exc}") from exc
        if result.status == LogsQueryStatus.PARTIAL:
            error = result.partial_error
            got = sum(len(t.rows) for t in result.partial_data)
            raise TrafficLogError(f"{where}: partial result ({got} rows returned, not used as if complete): "
                                  f"{getattr(error, 'code', '')}: {getattr(error, 'message', error)}", partial=True)
        if not result.tables:
            return []
        table = result.tables[0]
        index = {name: i for i, name in enumerate(table.columns)}
        missing = [c for c in COLUMNS if c not in index]
        if missing:
            raise TrafficLogError(f"{where}: the result lacks columns {missing}; got {table.columns}")
        rows = []
        for row in table.rows:
            values = list(row)
            duration = values[index["TotalDurationMs"]]
            rows.append((_as_time(values[index["TimeGenerated"]]), str(values[index["DeploymentName"]]),
                         int(values[index["ResponseCode"]] or 0),
                         float("nan") if duration is None else float(duration)))
        return rows
