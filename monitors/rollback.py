"""Whether, and how, to move a failed canary's traffic back: the safety rules of a rollback, as plain data.

A rollback is only worth doing if it cannot make things worse, so every rule is checked before any traffic
moves, and a rollback that is not safe is refused with the reasons named (the caller alerts instead):

- the canary still has traffic (otherwise there is nothing to do);
- a person has not already been asked to decide: a canary rolled back before whose split was re-applied
  (a pipeline re-promoting it) is never rolled back again automatically (Argo Rollouts' sticky abort,
  Flagger's lastAppliedSpec lesson: an analysis -> rollback -> redeploy loop is worse than either);
- the endpoint is not in a cool-down after a previous rollback;
- the target baseline(s) exist, are provisioned (`Succeeded`), are themselves healthy (no firing SLO
  verdict), and have instances to take the load (or quota covers scaling them up).

The new split gives the canary's share to the baselines in proportion to what they already carry (all of it
to the single baseline in a blue/green pair); mirror traffic is never touched. Pure: no I/O, time passed in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Mode = Literal["auto", "recommend", "off"]
Action = Literal["rollback", "recommend", "refuse", "nothing", "repromoted"]
MODES: tuple[Mode, ...] = ("auto", "recommend", "off")


@dataclass(frozen=True)
class DeploymentState:
    name: str
    provisioning_state: str
    instance_count: int
    slo_status: str | None = None  # latest SLO verdict status (ok | alert | insufficient_data | None: never judged)


@dataclass(frozen=True)
class PreviousRollback:
    """The sticky record of an earlier rollback of this canary on this endpoint."""

    canary: str
    at: datetime
    analysis_id: str | None
    released: bool = False  # a person asked to retry (POST .../analyses/{id}/retry): the record no longer sticks


@dataclass(frozen=True)
class SafetyCheck:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class RollbackDecision:
    action: Action
    reason: str
    checks: tuple[SafetyCheck, ...] = ()
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_without(traffic: dict[str, int], canary: str, baselines: list[str]) -> dict[str, int]:
    """The split with the canary at 0 and its share given to the baselines, in proportion to their shares
    (largest remainder, so the result sums to exactly 100). With no baseline traffic, all goes to the first."""
    share = traffic.get(canary, 0)
    after = {name: value for name, value in traffic.items()}
    after[canary] = 0
    held = {b: traffic.get(b, 0) for b in baselines}
    total = sum(held.values())
    if not baselines:
        return after
    if total == 0:
        after[baselines[0]] = after.get(baselines[0], 0) + share
        return after
    exact = {b: share * held[b] / total for b in baselines}
    given = {b: int(exact[b]) for b in baselines}
    rest = share - sum(given.values())
    for b in sorted(baselines, key=lambda b: (exact[b] - given[b], held[b]), reverse=True)[:rest]:
        given[b] += 1
    for b in baselines:
        after[b] = after.get(b, 0) + given[b]
    return after


def decide_rollback(
    *,
    mode: Mode,
    traffic: dict[str, int],
    canary: str,
    baselines: list[str],
    deployments: dict[str, DeploymentState],
    previous: PreviousRollback | None,
    now: datetime,
    cooldown: timedelta,
    quota_covers_scale_up: bool | None = None,
    automatic: bool = True,
) -> RollbackDecision:
    """Decide what to do about a failed canary. `automatic=False` is a person's explicit request (manual
    rollback): it skips the mode, the sticky record and the cool-down, never the safety of the target."""
    before = dict(traffic)
    if traffic.get(canary, 0) <= 0:
        return RollbackDecision("nothing", f"{canary} has no live traffic; nothing to roll back", before=before,
                                after=before)
    if automatic and previous is not None and previous.canary == canary and not previous.released:
        return RollbackDecision(
            "repromoted",
            f"{canary} was rolled back at {previous.at.isoformat()} and its traffic is back: a pipeline or a person "
            "re-applied the split. Not rolling back again automatically; retry the analysis to release it.",
            before=before, after=before)
    if automatic and previous is not None and now - previous.at < cooldown:
        return RollbackDecision("refuse", f"cool-down: the last rollback was at {previous.at.isoformat()}, "
                                          f"less than {cooldown} ago", before=before, after=before)
    checks = _safety_checks(traffic, canary, baselines, deployments, quota_covers_scale_up)
    after = split_without(traffic, canary, [b for b in baselines if b in deployments])
    failed = [c for c in checks if not c.ok]
    if failed:
        return RollbackDecision("refuse", "not safe to roll back: " + "; ".join(c.detail for c in failed),
                                tuple(checks), before, before)
    if automatic and mode == "off":
        return RollbackDecision("nothing", "rollback mode is off for this endpoint", tuple(checks), before, before)
    if automatic and mode == "recommend":
        return RollbackDecision("recommend", f"recommend moving {canary}'s {traffic[canary]}% to "
                                             f"{', '.join(baselines)}", tuple(checks), before, after)
    return RollbackDecision("rollback", f"move {canary}'s {traffic[canary]}% to {', '.join(baselines)}",
                            tuple(checks), before, after)


def _safety_checks(traffic: dict[str, int], canary: str, baselines: list[str],
                   deployments: dict[str, DeploymentState], quota_covers_scale_up: bool | None) -> list[SafetyCheck]:
    named = "a baseline is named" if baselines else "no baseline deployment holds the rest of the traffic"
    checks = [SafetyCheck("baseline named", bool(baselines), named)]
    for name in baselines:
        state = deployments.get(name)
        if state is None:
            checks.append(SafetyCheck(f"{name} exists", False, f"baseline {name} does not exist"))
            continue
        checks.append(SafetyCheck(f"{name} provisioned", state.provisioning_state.lower() == "succeeded",
                                  f"baseline {name} is {state.provisioning_state}"))
        checks.append(SafetyCheck(f"{name} healthy", state.slo_status != "alert",
                                  f"baseline {name}'s SLO check is "
                                  f"{'failing' if state.slo_status == 'alert' else state.slo_status or 'not judged'}"))
        has_capacity = state.instance_count > 0 or quota_covers_scale_up is True
        checks.append(SafetyCheck(f"{name} capacity", has_capacity,
                                  f"baseline {name} has {state.instance_count} instance(s)"
                                  + ("" if has_capacity else " and quota does not cover scaling it up")))
    return checks


def parse_mode(value: str | None, default: Mode) -> Mode:
    text = (value or "").strip().lower()
    return text if text in MODES else default  # type: ignore[return-value]
