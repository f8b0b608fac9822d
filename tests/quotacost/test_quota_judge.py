"""monitors.quota: the 20% upgrade reserve and the room a blue/green copy of the largest deployment needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitors.quota import DeploymentLoad, Usage, judge_quota, reserved_vcpus

AT = datetime(2024, 5, 1, 10, tzinfo=UTC)
DSV2 = "standardDSv2Family"


def ds3(deployment: str, instances: int, endpoint: str = "credit-ep") -> DeploymentLoad:
    return DeploymentLoad(endpoint, deployment, "Standard_DS3_v2", instances, DSV2, 4)


@pytest.mark.parametrize(("instances", "cores", "reserved"), [(10, 4, 48), (3, 4, 16), (1, 4, 8), (5, 2, 12),
                                                                (0, 4, 0)])
def test_a_deployment_reserves_ceil_of_1_2_times_its_instances_times_cores(instances: int, cores: int,
                                                                          reserved: int) -> None:
    assert reserved_vcpus(instances, cores) == reserved  # 10 x DS3_v2 -> 48, Azure ML's own example


def test_a_family_is_short_when_its_headroom_cannot_fit_a_copy_of_its_largest_deployment() -> None:
    judged = judge_quota([ds3("blue", 3), ds3("green", 1)], {DSV2: Usage(DSV2, 16, 36)}, AT)
    family = judged.families[DSV2]
    assert (family.reserved, family.committed, family.headroom, family.needed) == (24, 24, 12, 16)
    assert family.short and judged.status == "alert"
    assert family.largest["deployment"] == "blue"


def test_a_family_with_room_for_the_copy_is_ok() -> None:
    judged = judge_quota([ds3("blue", 3), ds3("green", 1)], {DSV2: Usage(DSV2, 16, 40)}, AT)
    assert not judged.families[DSV2].short and judged.status == "ok"


def test_usage_beyond_the_deployments_counts_as_other_compute() -> None:
    judged = judge_quota([ds3("blue", 2)], {DSV2: Usage(DSV2, 8 + 10, 40)}, AT)  # a training cluster uses 10
    family = judged.families[DSV2]
    assert (family.other, family.committed, family.headroom) == (10, 22, 18)


def test_the_regional_total_limits_when_it_leaves_less_room_than_the_family() -> None:
    judged = judge_quota([ds3("blue", 2)], {DSV2: Usage(DSV2, 8, 100)}, AT,
                         total=Usage("Total Cluster Dedicated Regional vCPUs", 8, 20))
    family = judged.families[DSV2]
    assert (family.limited_by, family.headroom, family.short) == ("total", 8, True)


def test_families_are_judged_apart() -> None:
    f4 = DeploymentLoad("credit-ep", "green", "Standard_F4s_v2", 1, "standardFSv2Family", 4)
    judged = judge_quota([ds3("blue", 2), f4], {DSV2: Usage(DSV2, 8, 64),
                                                "standardFSv2Family": Usage("standardFSv2Family", 4, 10)}, AT)
    assert {name: f.short for name, f in judged.families.items()} == {DSV2: False, "standardFSv2Family": True}
    assert judged.families["standardFSv2Family"].headroom == 2  # 10 - 8 reserved, a copy of green needs 8


def test_deployments_without_instances_need_no_quota() -> None:
    judged = judge_quota([ds3("blue", 0)], {DSV2: Usage(DSV2, 0, 64)}, AT)
    assert judged.status == "insufficient_data" and judged.families == {}


def test_the_evidence_names_the_conventions_and_unknown_sizes() -> None:
    judged = judge_quota([ds3("blue", 1)], {DSV2: Usage(DSV2, 4, 64)}, AT, unknown_sizes=["x/y: Standard_Z9"])
    evidence = judged.evidence()
    assert evidence["unknown_instance_types"] == ["x/y: Standard_Z9"]
    assert evidence["reserve_factor"] == 1.2 and "needed" in evidence["conventions"]
    assert evidence["families"][DSV2]["deployments"][0]["reserved"] == 8
