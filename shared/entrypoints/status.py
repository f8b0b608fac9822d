"""`python -m shared.entrypoints.status`: what modelwatch sees of Azure, read through its adapters.

Prints each online endpoint's traffic split and deployments, the per-deployment latency series, quota
usage and daily costs. The same code path the checks use, so it answers "can the monitor see my
workspace?" in Azure (DefaultAzureCredential) and locally (MODELWATCH_AZURE_EMULATOR_URL set).

    python -m shared.entrypoints.status [--endpoint NAME] [--hours 2] [--days 7] [--end ISO8601] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any


def collect(endpoint: str | None, end: datetime, hours: float, days: int) -> dict[str, Any]:
    from shared.adapters.azure_clients import AzureSettings, cost_client, ml_client
    from shared.adapters.azure_ml import AzureMLAdapter
    from shared.adapters.costs import CostsAdapter
    from shared.bootstrap import LazyAzure

    settings = AzureSettings.from_env()
    ml = AzureMLAdapter(ml_client(settings))
    metrics = LazyAzure(settings).metrics  # on the workspace's region unless MODELWATCH_LOCATION says otherwise
    costs = CostsAdapter(cost_client(settings), f"/subscriptions/{settings.subscription_id}"
                                                f"/resourceGroups/{settings.resource_group}")
    endpoints = [e for e in ml.endpoints() if endpoint in (None, e.endpoint)]
    if endpoint and not endpoints:
        raise LookupError(f"online endpoint {endpoint!r} not found in workspace {settings.workspace_id}")
    start = end - timedelta(hours=hours)
    interval = timedelta(minutes=max(1, int(hours * 60 / 12)))
    out: dict[str, Any] = {"workspace": settings.workspace_id, "window": [start.isoformat(), end.isoformat()],
                           "endpoints": []}
    for ep in endpoints:
        resource = f"{settings.workspace_id}/onlineEndpoints/{ep.endpoint}"
        latency = metrics.per_deployment(resource, "RequestLatency_P95", start, end, interval)
        out["endpoints"].append({
            **asdict(ep),
            "deployments": [asdict(d) for d in ml.deployments(ep.endpoint)],
            "latency_p95_ms": {name: [(p.at.isoformat(), p.value) for p in points] for name, points in latency.items()},
        })
    out["quota"] = [asdict(u) for u in ml.quota_usage() if u.current or u.limit]
    report = costs.endpoint_costs(end - timedelta(days=days), end)
    out["daily_costs"] = {"complete": report.complete,
                          "rows": [{**asdict(r), "day": r.day.isoformat()} for r in report.rows]}
    return out


def render(status: dict[str, Any]) -> str:
    lines = [f"workspace {status['workspace']}", f"window    {status['window'][0]} .. {status['window'][1]}", ""]
    for ep in status["endpoints"]:
        split = ", ".join(f"{k} {v}%" for k, v in ep["traffic"].items()) or "(no live traffic)"
        mirror = ", ".join(f"{k} {v}%" for k, v in ep["mirror_traffic"].items())
        lines.append(f"endpoint {ep['endpoint']} [{ep['provisioning_state']}]  traffic: {split}"
                     + (f"  mirror: {mirror}" if mirror else ""))
        for d in ep["deployments"]:
            lines.append(f"  deployment {d['name']:<12} {d['instance_count']} x {d['instance_type']}  "
                         f"[{d['provisioning_state']}]  model {d['model']}")
        lines.append("  latency P95 (ms) per deployment:")
        for name, points in ep["latency_p95_ms"].items():
            values = " ".join("-" if v is None else f"{v:.0f}" for _, v in points)
            lines.append(f"    {name:<12} {values}")
        lines.append("")
    lines.append("quota (current / limit):")
    for u in status["quota"]:
        lines.append(f"  {u['scope']:<12} {u['name']:<40} {u['current']:>6.0f} / {u['limit']:<6.0f} {u['unit']}")
    lines.append("")
    lines.append("daily cost per endpoint:" + ("" if status["daily_costs"]["complete"] else " (more pages exist)"))
    for r in status["daily_costs"]["rows"]:
        lines.append(f"  {r['day']}  {r['endpoint'] or '(untagged)':<16} {r['cost']:>10.2f} {r['currency']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.entrypoints.status", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="only this online endpoint")
    parser.add_argument("--hours", type=float, default=2.0, help="latency window (default 2 h)")
    parser.add_argument("--days", type=int, default=7, help="cost window (default 7 days)")
    parser.add_argument("--end", help="end of the windows, ISO 8601 (default now)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    end = datetime.fromisoformat(args.end.replace("Z", "+00:00")) if args.end else datetime.now(UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    try:
        status = collect(args.endpoint, end, args.hours, args.days)
    except Exception as exc:  # a CLI: say what went wrong in one line, never a traceback with secrets
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 2
    print(json.dumps(status, indent=2, default=str) if args.json else render(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
