"""The Log Analytics query API, for the one query modelwatch sends: an endpoint's traffic log over a window.

`POST /v1/workspaces/{workspaceId}/query` is what azure-monitor-query's `LogsQueryClient.query_workspace`
sends (host `api.loganalytics.io`, which the app's emulator transport redirects here): body
`{"query": "<KQL>", "timespan": "<start>/<end>" | "PT<n>S" | "<start>/PT<n>S" | null, "workspaces": null}`,
answer `{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [[...]]}]}`, plus
`"error": {"code": "PartialError", ...}` when not every row could be returned (the SDK then gives a
`LogsQueryPartialResult`).

The emulator is not Kusto. It answers exactly one shape of query over `AmlOnlineEndpointTrafficLog`, the
table the endpoints' diagnostic settings fill (one row per request, kept by `simulation.RequestLog`; an
endpoint whose scenario says `traffic_log: false` has no rows):

    AmlOnlineEndpointTrafficLog
    | where TimeGenerated >= datetime(<ISO 8601>) and TimeGenerated < datetime(<ISO 8601>)
    | where EndpointName == "<endpoint>"
    | where DeploymentName in ("<deployment>", ...)
    | project <columns>

with `<columns>` any of TimeGenerated, EndpointName, DeploymentName, ResponseCode, ModelStatusCode,
TotalDurationMs. Anything else is a 400 in Log Analytics' error shape whose innermost message names this
shape, so a test or a developer sees at once that the emulator, not the query, is the limit. Another
workspace id is a 404, as Log Analytics answers for a workspace it does not know.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import isodate
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.routing import read_json, route
from emulator.world import stable_uuid

if TYPE_CHECKING:
    from emulator.core import Emulator
    from emulator.simulation import TrafficRecord

TABLE = "AmlOnlineEndpointTrafficLog"
#: column -> (Log Analytics type, value of a row)
COLUMNS: dict[str, tuple[str, Any]] = {
    "TimeGenerated": ("datetime", lambda r: _kusto_time(r.at)),
    "EndpointName": ("string", lambda r: r.endpoint),
    "DeploymentName": ("string", lambda r: r.deployment),
    "ResponseCode": ("int", lambda r: r.response_code),
    "ModelStatusCode": ("int", lambda r: r.model_status_code),
    "TotalDurationMs": ("int", lambda r: r.total_duration_ms),
}
MAX_ROWS = 500_000  # Log Analytics' limit on the records one query returns
SUPPORTED = (
    f"{TABLE} | where TimeGenerated >= datetime(<ISO 8601>) and TimeGenerated < datetime(<ISO 8601>) "
    '| where EndpointName == "<endpoint>" | where DeploymentName in ("<deployment>", ...) '
    f"| project <any of {', '.join(COLUMNS)}>"
)

_STRING = r"""(?:"[^"\\]*"|'[^'\\]*')"""
_START = r"""datetime\(\s*["']?(?P<start>[^()"']+?)["']?\s*\)"""
_END = _START.replace("<start>", "<end>")
_QUERY = re.compile(
    rf"""^\s*{TABLE}\s*
    \|\s*where\s+TimeGenerated\s*>=\s*{_START}\s+and\s+TimeGenerated\s*<\s*{_END}\s*
    \|\s*where\s+EndpointName\s*==\s*(?P<endpoint>{_STRING})\s*
    \|\s*where\s+DeploymentName\s+in\s*\(\s*(?P<deployments>{_STRING}(?:\s*,\s*{_STRING})*)\s*\)\s*
    \|\s*project\s+(?P<columns>\w+(?:\s*,\s*\w+)*)\s*;?\s*$""",
    re.VERBOSE,
)


class LogsQueryError(Exception):
    """A query the emulator refuses, answered in Log Analytics' error shape."""

    def __init__(self, status: int, code: str, message: str, inner_code: str, inner_message: str) -> None:
        super().__init__(inner_message)
        self.status, self.code, self.message = status, code, message
        self.inner_code, self.inner_message = inner_code, inner_message


def _error_body(code: str, message: str, inner: dict[str, Any] | None, correlation: str) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "code": code, "correlationId": correlation}
    if inner:
        body["innererror"] = inner
    return body


def _unsupported(what: str) -> LogsQueryError:
    return LogsQueryError(400, "BadArgumentError", "The request had some invalid properties", "SemanticError",
                          f"{what}. The emulator's Log Analytics answers one query shape: {SUPPORTED}")


def _kusto_time(at: datetime) -> str:
    """Kusto's datetime text: UTC, 7 fractional digits, Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _instant(text: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _unsupported(f"{what} {text!r} is not an ISO 8601 datetime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _literal(text: str) -> str:
    return text.strip()[1:-1]


def parse_timespan(text: str | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The body's `timespan` as the SDK writes it: start/end, a duration ending now, start/duration, or none."""
    if not text:
        return None, None
    first, _, second = str(text).partition("/")
    try:
        if not second:
            return now - _duration(first), now
        start = _instant(first, "timespan start")
        if second.upper().startswith("P"):
            return start, start + _duration(second)
        return start, _instant(second, "timespan end")
    except LogsQueryError:
        raise
    except (isodate.ISO8601Error, ValueError):
        raise LogsQueryError(400, "BadArgumentError", "The request had some invalid properties", "InvalidTimespan",
                             f"timespan {text!r} is not start/end, an ISO 8601 duration or start/duration") from None


def _duration(text: str) -> timedelta:
    value = isodate.parse_duration(text)
    if not isinstance(value, timedelta):
        raise ValueError(text)
    return value


def run_query(emu: Emulator, query: str, timespan: str | None) -> dict[str, Any]:
    """Answer the supported query from the simulated traffic log (the response body, without HTTP)."""
    match = _QUERY.match(query or "")
    if match is None:
        raise _unsupported("This query is not the shape the emulator serves")
    columns = [c.strip() for c in match.group("columns").split(",")]
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise _unsupported(f"Failed to resolve scalar expression named '{unknown[0]}'")
    start, end = _instant(match.group("start"), "start"), _instant(match.group("end"), "end")
    span_start, span_end = parse_timespan(timespan, emu.clock.now())
    endpoint = _literal(match.group("endpoint"))
    deployments = {_literal(d) for d in re.findall(_STRING, match.group("deployments"))}
    log = emu.sim.traffic_log
    rows: list[TrafficRecord] = [
        r for r in log.rows(endpoint)
        if r.deployment in deployments and start <= r.at < end
        and (span_start is None or span_start <= r.at) and (span_end is None or r.at <= span_end)
    ]
    rows.sort(key=lambda r: r.at)
    problems: list[tuple[str, str]] = []
    horizon = log.horizon(endpoint)
    if horizon is not None and max(start, span_start or start) <= horizon:
        problems.append(("EmulatorRetention", f"the emulator keeps the last {log.max_rows} requests of an endpoint "
                                              f"(scenario traffic_log_rows); rows of {endpoint} up to "
                                              f"{_kusto_time(horizon)} were dropped"))
    if len(rows) > MAX_ROWS:
        rows = rows[:MAX_ROWS]
        problems.append(("E_QUERY_RESULT_SET_TOO_LARGE", f"Query result set has exceeded the internal record "
                                                         f"count limit {MAX_ROWS}"))
    getters = [COLUMNS[c][1] for c in columns]
    body: dict[str, Any] = {"tables": [{
        "name": "PrimaryResult",
        "columns": [{"name": c, "type": COLUMNS[c][0]} for c in columns],
        "rows": [[get(r) for get in getters] for r in rows],
    }]}
    if problems:
        code, message = problems[0]
        body["error"] = {"message": "There were some errors when processing your query.", "code": "PartialError",
                         "details": [{"code": c, "message": m} for c, m in problems],
                         "innererror": {"code": code, "message": message}}
    return body


@route("POST", r"/v1/workspaces/(?P<workspace>[^/]+)/query", "logs/query")
async def query_workspace(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    correlation = stable_uuid("logs", emu.scenario.seed, emu.world.next_id("logsquery"))
    expected = emu.scenario.azure.log_analytics_workspace_id
    if g["workspace"].lower() != expected.lower():
        inner = {"code": "WorkspaceNotFoundError", "message": f"The emulator serves Log Analytics workspace "
                                                              f"{expected} (scenario azure.log_analytics_workspace_id)"}
        body = _error_body("WorkspaceNotFoundError", f"The workspace {g['workspace']} could not be found", inner,
                           correlation)
        return JSONResponse({"error": body}, status_code=404)
    payload = await read_json(request)
    try:
        return JSONResponse(run_query(emu, str(payload.get("query") or ""), payload.get("timespan")))
    except LogsQueryError as exc:
        inner = {"code": exc.inner_code, "message": exc.inner_message}
        return JSONResponse({"error": _error_body(exc.code, exc.message, inner, correlation)},
                            status_code=exc.status)
