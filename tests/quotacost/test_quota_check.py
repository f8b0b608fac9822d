"""The quota check through the real worker, on the emulator's usages and VM sizes.

The test scenario runs blue (2 x Standard_DS3_v2, 4 cores: 8 vCPUs, 12 with the 20% reserve) in
standardDSv2Family and green (1 x Standard_F4s_v2: 4 vCPUs, 8 reserved) in standardFSv2Family. A swap of
blue needs ceil(1.2 x 2) x 4 = 12 free vCPUs in its family after what is already reserved."""

from __future__ import annotations

from tests.checks.conftest import World
from tests.quotacost.helpers import check, firing, resolved, verdict

TIGHT = {"standardDSv2Family": 20, "standardFSv2Family": 24}  # DSv2: 20 - 12 reserved = 8 < 12


def test_the_alert_fires_when_a_family_cannot_fit_a_copy_of_its_largest_deployment(world: World) -> None:
    world.emulator.load(quota=TIGHT)
    assert world.run(check(world, "quota", "1")) == "done"
    alerts = firing(world, "quota-headroom")
    assert [(a.labels, a.severity.value, a.targets) for a in alerts] == [
        ({"vm_family": "standardDSv2Family"}, "Sev2", (world.workspace_id,))]
    numbers = alerts[0].evidence
    assert (numbers["limit"], numbers["running"], numbers["reserved"], numbers["headroom"], numbers["needed"]) == (
        20, 8, 12, 8, 12)
    assert numbers["largest"]["deployment"] == "blue"


def test_the_alert_resolves_once_the_quota_is_raised(world: World) -> None:
    world.emulator.load(quota=TIGHT)
    world.run(check(world, "quota", "1"))
    world.emulator.control("POST", "quota", {"family": "standardDSv2Family", "limit": 64})
    world.advance(minutes=11)  # past the 10 minutes an alert keeps firing after its check passes
    world.run(check(world, "quota", "2"))
    assert firing(world, "quota-headroom") == []
    assert [a.labels for a in resolved(world, "quota-headroom")] == [{"vm_family": "standardDSv2Family"}]


def test_enough_headroom_in_every_family_raises_nothing(world: World) -> None:
    world.run(check(world, "quota", "1"))  # DSv2 64 - 12 = 52 >= 12; FSv2 24 - 8 = 16 >= 8
    assert firing(world, "quota-headroom") == []
    assert verdict(world, "quota").status == "ok"


def test_the_verdict_carries_every_number_of_every_family_used(world: World) -> None:
    world.emulator.load(quota=TIGHT)
    world.run(check(world, "quota", "1"))
    v = verdict(world, "quota")
    assert v.status == "alert"
    families = v.evidence["families"]
    assert set(families) == {"standardDSv2Family", "standardFSv2Family"}
    fsv2 = families["standardFSv2Family"]
    assert (fsv2["limit"], fsv2["current"], fsv2["reserved"], fsv2["headroom"], fsv2["needed"], fsv2["short"]) == (
        24, 4, 8, 16, 8, False)
    assert v.evidence["total"] == {"name": "Total Cluster Dedicated Regional vCPUs", "current": 12, "limit": 100}
    assert "20% upgrade reserve" in v.evidence["conventions"]["reserve"]


def test_the_regional_total_limit_can_be_what_is_short(world: World) -> None:
    world.emulator.load(total_vcpu_limit=28)  # 28 - (12 + 8) = 8 left in the region, blue's copy needs 12
    world.run(check(world, "quota", "1"))
    family = verdict(world, "quota").evidence["families"]["standardDSv2Family"]
    assert (family["limited_by"], family["headroom"], family["short"]) == ("total", 8, True)
    assert [a.labels["vm_family"] for a in firing(world, "quota-headroom")] == ["standardDSv2Family"]
