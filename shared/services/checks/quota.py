"""The quota check, one job per workspace: per VM family, does the quota leave room for a blue/green swap
or a rollback of the largest deployment?

Reads the deployments of every endpoint (instance type and count), the region's VM sizes (family and
cores) and the usage lines (per family and the regional total) through the Azure ML adapter, and asks
`monitors.quota` to judge them (the 20% upgrade reserve and the swap room are explained there). One verdict
for the workspace carries every family's numbers; one alert per family, rule `quota-headroom` (Sev2),
labels `{vm_family}`, targeted at the workspace: it fires while the headroom is short and resolves once it
is not (a quota increase, a deployment scaled down or deleted). A family no deployment uses any more is
cleared too, so its alert does not outlive the deployments.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from monitors.quota import DeploymentLoad, FamilyHeadroom, Usage, judge_quota
from monitors.verdict import Verdict
from shared.services.checks.base import AlertDecision, Finding

if TYPE_CHECKING:
    from shared.alerts.model import AlertSignal
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

RULE = "quota-headroom"
SEVERITY = "Sev2"


def run(ctx: CheckContext, job: Job, now: datetime) -> list[Finding]:
    azure = ctx.azure
    sizes = azure.ml.vm_sizes()
    usages = azure.ml.quota_usage()
    loads: list[DeploymentLoad] = []
    unknown: list[str] = []
    for endpoint in azure.ml.endpoints():
        for d in azure.ml.deployments(endpoint.endpoint):
            size = sizes.get(d.instance_type or "")
            if size is None:
                unknown.append(f"{endpoint.endpoint}/{d.name}: {d.instance_type}")
                continue
            loads.append(DeploymentLoad(endpoint.endpoint, d.name, d.instance_type or "", d.instance_count,
                                        size.family, size.vcpus))
    families = {u.name.lower(): Usage(u.name, u.current, u.limit) for u in usages if u.scope == "subscription"}
    by_family = {load.family: families[load.family.lower()] for load in loads if load.family.lower() in families}
    total = next((Usage(u.name, u.current, u.limit) for u in usages if u.scope == "total"), None)
    judgement = judge_quota(loads, by_family, now, total, unknown)

    decisions = [AlertDecision(_signal(azure.workspace_id, f), f.short) for f in judgement.families.values()]
    judged = {name.lower() for name in judgement.families}
    decisions += [AlertDecision(_cleared(azure.workspace_id, u.name), False)
                  for key, u in sorted(families.items()) if key not in judged]
    verdict = Verdict("quota", judgement.status, judgement.summary, now, evidence={
        **judgement.evidence(), "workspace": azure.workspace_id, "job_id": job.id})
    return [Finding(verdict, tuple(decisions))]


def _signal(workspace_id: str, family: FamilyHeadroom) -> AlertSignal:
    from shared.alerts.model import AlertSignal

    big = family.largest
    description = (f"VM family {family.family}: {family.headroom:g} vCPUs left of {family.limit:g} after the 20% "
                   f"upgrade reserve ({family.committed:g} committed); a blue/green copy or rollback of "
                   f"{big['endpoint']}/{big['deployment']} ({big['instances']} x {big['instance_type']}) needs "
                   f"{family.needed}. Ask for a quota increase or scale a deployment down before the next swap.")
    return AlertSignal(rule=RULE, severity=SEVERITY, signal_type="Metric", targets=(workspace_id,),
                       labels={"vm_family": family.family}, description=description[:4096],
                       evidence={"family": family.family, "limit": family.limit, "current": family.current,
                                 "running": family.running, "reserved": family.reserved, "other": family.other,
                                 "committed": family.committed, "headroom": family.headroom,
                                 "needed": family.needed, "limited_by": family.limited_by, "largest": big,
                                 "deployments": family.deployments})


def _cleared(workspace_id: str, family: str) -> AlertSignal:
    from shared.alerts.model import AlertSignal

    return AlertSignal(rule=RULE, severity=SEVERITY, targets=(workspace_id,), labels={"vm_family": family})
