"""The quota judge: per VM family, is there room for a rollback or a blue/green swap?

Azure ML quota is vCPUs per VM family and region (plus a regional total), per subscription. A managed
online deployment does not hold only its instances: Azure ML "reserves 20% of your compute resources for
performing upgrades", so a deployment of n instances of a c-core SKU needs quota for `ceil(1.2 * n) * c`
vCPUs (Azure ML "Manage quotas": 10 x Standard_DS3_v2, 4 cores -> 48 vCPUs). A swap or a rollback that
brings up a copy of a deployment needs that much free quota again, on top of what runs now.

So, per family the deployments use:

* `running`  = sum over the family's deployments of instances x cores (what the usage API counts for them);
* `reserved` = sum of `ceil(1.2 * n) * c` (what Azure ML actually holds for them, the 20% reserve included);
* `other`    = what the usage API reports beyond `running` (training clusters, compute instances; never < 0);
* `committed` = `other + reserved`, and `headroom = limit - committed`;
* `needed`   = `ceil(1.2 * n) * c` of the family's largest deployment (most vCPUs): the room a blue/green
  copy of it, or a rollback that scales the stable deployment back up to it, needs;
* short when `headroom < needed`, against the family's limit and, if given, the regional total limit too
  (a new deployment must fit both; the regional total counts every family).

Plain data in, a `QuotaJudgement` with every number out. No Azure SDK, no I/O, no clock: `at` is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

#: Azure ML's upgrade reserve: quota for ceil(RESERVE_FACTOR x instances) x cores per deployment.
RESERVE_FACTOR = 1.2

CONVENTIONS = {
    "reserve": "ceil(1.2 x instances) x cores per deployment (Azure ML's 20% upgrade reserve)",
    "running": "instances x cores of the family's deployments, as the usage API counts them",
    "other": "max(usage current - running, 0): compute the family serves besides these deployments",
    "committed": "other + reserved",
    "needed": "ceil(1.2 x instances) x cores of the family's largest deployment (a blue/green copy or a rollback)",
    "short": "limit - committed < needed, for the family's limit or the regional total limit",
}


def reserved_vcpus(instances: int, cores: int) -> int:
    """vCPUs Azure ML holds for a deployment of `instances` x `cores`: the 20% upgrade reserve included."""
    return math.ceil(RESERVE_FACTOR * instances - 1e-9) * cores if instances > 0 else 0


@dataclass(frozen=True)
class DeploymentLoad:
    """One deployment as quota sees it: where it runs and how many instances of which size."""

    endpoint: str
    deployment: str
    instance_type: str
    instances: int
    family: str
    cores: int

    @property
    def running(self) -> int:
        return self.instances * self.cores

    @property
    def reserved(self) -> int:
        return reserved_vcpus(self.instances, self.cores)


@dataclass(frozen=True)
class Usage:
    """One line of the usage API: current vCPUs and the limit (a family's, or the regional total)."""

    name: str
    current: float
    limit: float


@dataclass(frozen=True)
class FamilyHeadroom:
    """Every number behind one family's answer."""

    family: str
    limit: float
    current: float
    running: int
    reserved: int
    other: float
    committed: float
    headroom: float
    needed: int
    largest: dict[str, Any]
    short: bool
    limited_by: str  # "family" | "total": which limit leaves the least room
    deployments: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        big = self.largest
        verdict = "short" if self.short else "enough"
        return (f"{self.family}: {self.headroom:g} vCPUs free after the 20% reserve "
                f"({self.limited_by} limit), a copy of {big['endpoint']}/{big['deployment']} "
                f"({big['instances']} x {big['instance_type']}) needs {self.needed}: {verdict}")


@dataclass(frozen=True)
class QuotaJudgement:
    status: str  # ok | alert | insufficient_data
    summary: str
    at: datetime
    families: dict[str, FamilyHeadroom]
    unknown_sizes: list[str]
    total: Usage | None

    def evidence(self) -> dict[str, Any]:
        return {
            "families": {name: asdict(f) for name, f in self.families.items()},
            "total": asdict(self.total) if self.total else None,
            "unknown_instance_types": self.unknown_sizes,
            "conventions": CONVENTIONS,
            "reserve_factor": RESERVE_FACTOR,
            "at": self.at.isoformat(),
        }


def judge_quota(deployments: Iterable[DeploymentLoad], usages: Mapping[str, Usage], at: datetime,
                total: Usage | None = None, unknown_sizes: Iterable[str] = ()) -> QuotaJudgement:
    """Judge every family the deployments use. `usages` maps family -> its usage line; a family without
    one is judged against a limit of 0 (Azure lists every family it has a quota for)."""
    by_family: dict[str, list[DeploymentLoad]] = {}
    for d in deployments:
        if d.instances > 0:
            by_family.setdefault(d.family, []).append(d)
    all_running = sum(d.running for ds in by_family.values() for d in ds)
    all_reserved = sum(d.reserved for ds in by_family.values() for d in ds)
    families = {family: _family(family, loads, usages.get(family), total, all_running, all_reserved)
                for family, loads in sorted(by_family.items())}
    unknown = sorted(set(unknown_sizes))
    if not families:
        return QuotaJudgement("insufficient_data", "no deployment with instances: nothing needs quota",
                              at, {}, unknown, total)
    short = [f for f in families.values() if f.short]
    status = "alert" if short else "ok"
    summary = "; ".join(f.summary() for f in (short or families.values()))
    return QuotaJudgement(status, summary, at, families, unknown, total)


def _family(family: str, loads: list[DeploymentLoad], usage: Usage | None, total: Usage | None,
            all_running: int, all_reserved: int) -> FamilyHeadroom:
    running = sum(d.running for d in loads)
    reserved = sum(d.reserved for d in loads)
    current = usage.current if usage else float(running)
    limit = usage.limit if usage else 0.0
    other = max(current - running, 0.0)
    committed = other + reserved
    headroom, limited_by = limit - committed, "family"
    if total is not None:
        total_committed = max(total.current - all_running, 0.0) + all_reserved
        if total.limit - total_committed < headroom:
            headroom, limited_by = total.limit - total_committed, "total"
    largest = max(loads, key=lambda d: (d.reserved, d.endpoint, d.deployment))
    needed = largest.reserved
    return FamilyHeadroom(
        family=family, limit=limit, current=current, running=running, reserved=reserved, other=other,
        committed=committed, headroom=headroom, needed=needed,
        largest={"endpoint": largest.endpoint, "deployment": largest.deployment,
                 "instance_type": largest.instance_type, "instances": largest.instances, "cores": largest.cores},
        short=headroom < needed, limited_by=limited_by,
        deployments=[{**asdict(d), "running": d.running, "reserved": d.reserved} for d in loads],
    )
