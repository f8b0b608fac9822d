"""The rollback's safety rules (monitors.rollback): when traffic moves, where it goes, and when it must not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitors.rollback import DeploymentState, PreviousRollback, decide_rollback, split_without

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HEALTHY = {"blue": DeploymentState("blue", "Succeeded", 3, "ok"), "green": DeploymentState("green", "Succeeded", 1)}


def decide(**overrides):
    args = dict(mode="auto", traffic={"blue": 90, "green": 10}, canary="green", baselines=["blue"],
                deployments=HEALTHY, previous=None, now=NOW, cooldown=timedelta(minutes=30))
    return decide_rollback(**{**args, **overrides})


def test_a_failed_canary_gives_its_share_to_the_baseline() -> None:
    decision = decide()
    assert decision.action == "rollback" and decision.after == {"blue": 100, "green": 0}


def test_the_share_is_split_over_several_baselines_in_proportion_and_sums_to_100() -> None:
    after = split_without({"a": 50, "b": 25, "c": 25}, "c", ["a", "b"])
    assert after == {"a": 67, "b": 33, "c": 0}


def test_a_canary_without_traffic_needs_nothing() -> None:
    assert decide(traffic={"blue": 100, "green": 0}).action == "nothing"


def test_an_unhealthy_baseline_is_refused_with_the_reason() -> None:
    sick = {**HEALTHY, "blue": DeploymentState("blue", "Succeeded", 3, "alert")}
    decision = decide(deployments=sick)
    assert decision.action == "refuse" and "blue's SLO check is failing" in decision.reason
    assert decision.after == decision.before


def test_a_baseline_that_is_not_provisioned_is_refused() -> None:
    updating = {**HEALTHY, "blue": DeploymentState("blue", "Updating", 3, "ok")}
    assert decide(deployments=updating).action == "refuse"


def test_a_missing_baseline_is_refused() -> None:
    assert decide(baselines=["purple"]).action == "refuse"


def test_a_baseline_without_instances_needs_quota_to_scale_up() -> None:
    empty = {**HEALTHY, "blue": DeploymentState("blue", "Succeeded", 0, "ok")}
    assert decide(deployments=empty).action == "refuse"
    assert decide(deployments=empty, quota_covers_scale_up=True).action == "rollback"


def test_a_re_promoted_canary_is_never_rolled_back_again_automatically() -> None:
    earlier = PreviousRollback("green", NOW - timedelta(hours=2), "a1")
    assert decide(previous=earlier).action == "repromoted"


def test_a_released_sticky_record_allows_a_new_rollback_after_the_cooldown() -> None:
    earlier = PreviousRollback("green", NOW - timedelta(hours=2), "a1", released=True)
    assert decide(previous=earlier).action == "rollback"


def test_within_the_cooldown_nothing_moves() -> None:
    earlier = PreviousRollback("green", NOW - timedelta(minutes=5), "a1", released=True)
    assert decide(previous=earlier).action == "refuse"


def test_recommend_mode_says_what_it_would_do_and_moves_nothing() -> None:
    decision = decide(mode="recommend")
    assert decision.action == "recommend" and decision.after == {"blue": 100, "green": 0}


def test_off_mode_does_nothing() -> None:
    assert decide(mode="off").action == "nothing"


def test_a_manual_rollback_skips_mode_and_sticky_record_but_not_safety() -> None:
    earlier = PreviousRollback("green", NOW - timedelta(minutes=1), "a1")
    assert decide(mode="off", previous=earlier, automatic=False).action == "rollback"
    sick = {**HEALTHY, "blue": DeploymentState("blue", "Failed", 3, "ok")}
    assert decide(deployments=sick, automatic=False).action == "refuse"
