"""The rollback controller: moves a failed canary's traffic back to its baseline, once, safely, on the record.

Steps, each in the audit trail (kind `rollback`, subject the endpoint):
1. hold the endpoint's lease (one rollback at a time across instances and duplicate deliveries; a second
   caller gets `busy` and changes nothing);
2. re-read the endpoint (traffic, deployments) and the baselines' latest SLO verdicts: decide on what is
   true now, not on what the analysis saw;
3. decide with `monitors.rollback.decide_rollback` (mode, sticky record, cool-down, target safety);
4. `rollback`: GET-modify-PUT the traffic (mirror traffic and every other setting untouched), wait for the
   operation, read the split back and verify it; write the sticky record; fire the Sev1 `rollback-canary`
   alert (which inhibits the canary's latency alerts). Other outcomes alert too: `rollback-refused` (Sev1:
   a person must act), `canary-repromoted` (Sev1), `rollback-recommended` (Sev2).

The sticky record (`rollbacks/{endpoint}.json`) is what stops a loop: a pipeline that re-applies the failed
split is met with a `canary-repromoted` alert, not a second rollback, until a person retries the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitors.rollback import DeploymentState, PreviousRollback, RollbackDecision, decide_rollback, parse_mode
from shared import telemetry

if TYPE_CHECKING:
    from shared.adapters.leases import BlobLeases
    from shared.services.checks.base import CheckContext

ROLLED_BACK_RULE = "rollback-canary"
REFUSED_RULE = "rollback-refused"
REPROMOTED_RULE = "canary-repromoted"
RECOMMENDED_RULE = "rollback-recommended"
MODE_TAG = "modelwatch.rollback"


def sticky_name(endpoint: str) -> str:
    return f"rollbacks/{endpoint}.json"


def previous_rollback(ctx: CheckContext, endpoint: str) -> PreviousRollback | None:
    raw = ctx.state.get_json(sticky_name(endpoint))
    if not raw:
        return None
    return PreviousRollback(canary=raw["canary"], at=datetime.fromisoformat(raw["at"]),
                            analysis_id=raw.get("analysis_id"), released=bool(raw.get("released")))


@dataclass
class RollbackController:
    ctx: CheckContext
    leases: BlobLeases

    def _audit(self, endpoint: str, decision: str, details: dict[str, Any]) -> None:
        subject = f"{self.ctx.azure.workspace_id}/onlineEndpoints/{endpoint}"
        self.ctx.audit.append("rollback", subject, decision, details)

    def handle(self, *, endpoint: str, canary: str, baselines: list[str], now: datetime, reason: str,
               analysis_id: str | None = None, by: str = "modelwatch", automatic: bool = True,
               evidence: dict[str, Any] | None = None, report_html: str | None = None) -> dict[str, Any]:
        base = {"canary": canary, "baselines": baselines, "analysis_id": analysis_id, "by": by, "reason": reason}
        with self.leases.hold(f"endpoints/{endpoint}") as lease:
            if lease is None:
                self._audit(endpoint, "busy", {**base, "note": "another rollback of this endpoint is in progress"})
                return {"action": "busy"}
            self._audit(endpoint, "lease_acquired", base)
            previous = previous_rollback(self.ctx, endpoint)
            if automatic and previous is not None and analysis_id and previous.analysis_id == analysis_id:
                self._audit(endpoint, "already_done", {**base, "at": previous.at.isoformat()})
                return {"action": "already_done"}
            decision = self._decide(endpoint, canary, baselines, previous, now, automatic)
            self._audit(endpoint, "decided", {**base, "decision": decision.to_dict()})
            telemetry.count("modelwatch.rollbacks", action=decision.action, automatic=automatic)
            if decision.action == "rollback":
                self._execute(endpoint, canary, decision, base, now)
            self._alert(endpoint, canary, decision, reason, evidence or {}, report_html, by)
            return {"action": decision.action, "reason": decision.reason, "before": decision.before,
                    "after": decision.after, "checks": [c.__dict__ for c in decision.checks]}

    def _decide(self, endpoint: str, canary: str, baselines: list[str], previous: PreviousRollback | None,
                now: datetime, automatic: bool) -> RollbackDecision:
        ml = self.ctx.azure.ml
        endpoint_now = ml.endpoint_traffic(endpoint)
        latest_slo = {v.deployment: v.status for v in self.ctx.verdicts.for_endpoint(endpoint) if v.check == "slo"}
        deployments = {d.name: DeploymentState(d.name, d.provisioning_state, d.instance_count, latest_slo.get(d.name))
                       for d in ml.deployments(endpoint)}
        checks = self.ctx.settings.checks
        mode = parse_mode(endpoint_now.tags.get(MODE_TAG), parse_mode(checks.rollback_mode, "auto"))
        return decide_rollback(mode=mode, traffic=endpoint_now.traffic, canary=canary, baselines=baselines,
                               deployments=deployments, previous=previous, now=now,
                               cooldown=checks.rollback_cooldown, automatic=automatic)

    def _execute(self, endpoint: str, canary: str, decision: RollbackDecision, base: dict[str, Any],
                 now: datetime) -> None:
        ml = self.ctx.azure.ml
        self._audit(endpoint, "traffic_change_requested", {**base, "before": decision.before, "after": decision.after})
        result = ml.set_traffic(endpoint, decision.after)
        live = {k: v for k, v in result.traffic.items() if v}
        wanted = {k: v for k, v in decision.after.items() if v}
        if live != wanted:
            self._audit(endpoint, "verify_failed", {**base, "wanted": wanted, "live": result.traffic})
            raise RuntimeError(f"rollback of {endpoint}: traffic reads {result.traffic}, expected {wanted}")
        self._audit(endpoint, "verified", {**base, "traffic": result.traffic, "mirror": result.mirror_traffic})
        # The split the monitor last saw is now the one it set: a pipeline re-applying the failed split right
        # away is then seen as traffic moving back to the canary (re-promotion), not as "nothing moved".
        from shared.services.canary import snapshot_name

        self.ctx.state.put_json(snapshot_name(endpoint), {"traffic": result.traffic, "mirror": result.mirror_traffic,
                                                          "at": now.isoformat(), "cause": "rollback"})
        self.ctx.state.put_json(sticky_name(endpoint), {
            "canary": canary, "at": now.isoformat(), "analysis_id": base.get("analysis_id"), "released": False,
            "before": decision.before, "after": decision.after, "by": base.get("by"), "reason": base.get("reason")})
        self._audit(endpoint, "rolled_back", {**base, "before": decision.before, "after": decision.after})

    def _alert(self, endpoint: str, canary: str, decision: RollbackDecision, reason: str,
               evidence: dict[str, Any], report_html: str | None, by: str) -> None:
        from shared.alerts.model import AlertSignal

        rule, severity, text = {
            "rollback": (ROLLED_BACK_RULE, "Sev1", f"{canary} on {endpoint} was rolled back: {reason}. "
                                                   f"Traffic {decision.before} -> {decision.after}"),
            "refuse": (REFUSED_RULE, "Sev1", f"{canary} on {endpoint} failed ({reason}) but was NOT rolled back: "
                                             f"{decision.reason}"),
            "repromoted": (REPROMOTED_RULE, "Sev1", decision.reason),
            "recommend": (RECOMMENDED_RULE, "Sev2", f"{canary} on {endpoint} failed ({reason}); "
                                                    f"{decision.reason} (mode recommend)"),
        }.get(decision.action, (None, None, None))
        if rule is None:
            return
        target = f"{self.ctx.azure.endpoint_resource_id(endpoint)}/deployments/{canary}"
        signal = AlertSignal(rule=rule, severity=severity, targets=(target,),
                             labels={"endpoint": endpoint, "deployment": canary}, description=text[:4096],
                             evidence={**evidence, "decision": decision.to_dict(), "by": by},
                             report_html=report_html)
        self.ctx.alerts.fire(signal)


def release(ctx: CheckContext, endpoint: str, by: str) -> dict[str, Any] | None:
    """A person retries: the sticky record stops sticking (the cool-down still applies to automatic rollbacks)."""
    def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None:
            return None
        return {**current, "released": True, "released_by": by}

    return ctx.state.update_json(sticky_name(endpoint), change)
