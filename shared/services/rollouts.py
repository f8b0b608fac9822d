"""What on-call engineers ask of canary analyses and rollbacks over HTTP: list, read, retry, roll back by hand.

Plain data in, plain data out; the HTTP layer (shared.entrypoints.rollouts) only parses and responds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.services.checks.base import CheckContext


class NotFound(LookupError):
    pass


class Invalid(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Rollouts:
    ctx: CheckContext

    def _endpoint(self, endpoint: str) -> Any:
        from shared.adapters.azure_ml import ResourceMissing

        try:
            return self.ctx.azure.ml.endpoint_traffic(endpoint)
        except ResourceMissing as exc:
            raise NotFound(f"online endpoint {endpoint!r} does not exist") from exc

    def analyses(self, endpoint: str) -> list[dict[str, Any]]:
        from shared.services.rollback import sticky_name

        self._endpoint(endpoint)
        found = self.ctx.state.list_json(f"analyses/{endpoint}/")
        found.sort(key=lambda a: a.get("started_at", ""), reverse=True)
        sticky = self.ctx.state.get_json(sticky_name(endpoint))
        return [{**a, "sticky_rollback": sticky if sticky and sticky.get("analysis_id") == a["id"] else None}
                for a in found]

    def analysis(self, endpoint: str, analysis_id: str) -> dict[str, Any]:
        from shared.services.canary import analysis_name

        doc = self.ctx.state.get_json(analysis_name(endpoint, analysis_id))
        if doc is None:
            raise NotFound(f"endpoint {endpoint!r} has no analysis {analysis_id!r}")
        return doc

    def report(self, endpoint: str, analysis_id: str) -> str:
        self.analysis(endpoint, analysis_id)
        page = self.ctx.state.get_bytes(f"analyses/{endpoint}/{analysis_id}.html")
        if page is None:
            raise NotFound(f"analysis {analysis_id!r} has no judged interval yet, so no report")
        return page.decode()

    def retry(self, endpoint: str, analysis_id: str, by: str, now: datetime) -> dict[str, Any]:
        """A person decided: release the sticky rollback record and, if the canary has traffic, analyse it anew."""
        from shared.services.canary import start_analysis
        from shared.services.rollback import release

        old = self.analysis(endpoint, analysis_id)
        released = release(self.ctx, endpoint, by)
        current = self._endpoint(endpoint)
        canary = old["canary"]
        started = None
        if current.traffic.get(canary, 0) > 0:
            baselines = sorted((k for k, v in current.traffic.items() if v > 0 and k != canary),
                               key=lambda k: -current.traffic[k])
            new_id = f"{canary}-{now:%Y%m%dT%H%M}-retry-{uuid.uuid4().hex[:6]}"
            if start_analysis(self.ctx, self.ctx.azure.workspace_id, current, canary, baselines, now, new_id,
                              f"retry of {analysis_id} by {by}"):
                started = new_id
        self.ctx.audit.append("canary", f"{self.ctx.azure.workspace_id}/onlineEndpoints/{endpoint}", "retried",
                              {"analysis_id": analysis_id, "by": by, "sticky_released": released is not None,
                               "started": started})
        return {"retried": analysis_id, "sticky_released": released is not None, "started": started,
                "note": None if started else f"{canary} has no traffic now; an analysis starts when it gets some"}

    def rollback(self, endpoint: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Manual rollback: move `deployment`'s traffic (default: the smallest live share) to `to`."""
        from shared.services.rollback import RollbackController

        for name in ("reason", "by"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise Invalid(f"'{name}' is required: a non-empty string", name)
        current = self._endpoint(endpoint)
        live = {k: v for k, v in current.traffic.items() if v > 0}
        canary = body.get("deployment") or (min(live, key=lambda k: live[k]) if len(live) > 1 else None)
        if not canary or canary not in live:
            raise Invalid(f"'deployment' must name a deployment with live traffic: {sorted(live) or 'none'}",
                          "deployment")
        targets = body.get("to")
        targets = [targets] if isinstance(targets, str) else targets
        if targets is None:
            targets = sorted((k for k in live if k != canary), key=lambda k: -live[k])
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
            raise Invalid("'to' must be a deployment name or a list of names", "to")
        if canary in targets:
            raise Invalid(f"'to' cannot include the deployment being rolled back ({canary})", "to")
        return RollbackController(self.ctx, self.ctx.leases).handle(
            endpoint=endpoint, canary=canary, baselines=targets, now=now, reason=body["reason"].strip(),
            by=body["by"].strip(), automatic=False, analysis_id=f"manual-{uuid.uuid4().hex[:8]}")
