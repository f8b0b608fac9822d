"""An endpoint's tags set its canary analyses, their schedule and the judge's levels: read when an analysis
starts, kept in its document, used at every interval; a tag that does not parse is named and the default is
used."""

from __future__ import annotations

import copy

from shared.services.canary import judge_levels
from tests.checks.conftest import World
from tests.rollback.conftest import shift_traffic
from tests.rollback.test_canary_flow import analyses, sweep


def tag_endpoint(world: World, tags: dict[str, str]) -> None:
    endpoints = copy.deepcopy(world.emulator.scenario["endpoints"])
    endpoints[0]["tags"] = {**endpoints[0].get("tags", {}), **tags}
    world.emulator.load(endpoints=endpoints, timeline=[])


def test_without_tags_the_judges_defaults_apply() -> None:
    assert judge_levels({}) == ({}, [])


def test_a_level_and_none_for_the_second_half_are_read() -> None:
    tags = {"modelwatch.canary.alpha": "0.005", "modelwatch.canary.confirm_alpha": "None"}
    assert judge_levels(tags) == ({"alpha": 0.005, "confirm_alpha": None}, [])


def test_a_level_that_is_not_a_probability_or_above_alpha_is_named_and_ignored() -> None:
    levels, notes = judge_levels({"modelwatch.canary.alpha": "0.7", "modelwatch.canary.confirm_alpha": "0.05"})
    assert levels == {} and len(notes) == 2
    assert "modelwatch.canary.alpha='0.7' ignored" in notes[0] and "alpha must be in (0, 0.5)" in notes[0]
    assert "confirm_alpha must be in (0, alpha]" in notes[1]


def test_an_endpoints_levels_are_kept_with_its_analysis_and_judge_every_interval(world: World) -> None:
    tag_endpoint(world, {"modelwatch.canary.alpha": "0.005", "modelwatch.canary.confirm_alpha": "0.0005",
                         "modelwatch.canary.lifetime": "10m"})
    sweep(world, "before")
    shift_traffic(world, {"blue": 90, "green": 10})
    for tag in ("first", "second"):
        world.advance(minutes=5)
        sweep(world, tag)
    [analysis] = analyses(world)
    assert analysis["levels"] == {"alpha": 0.005, "confirm_alpha": 0.0005} and analysis["tag_notes"] == []
    config = analysis["verdict"]["config"]
    assert (config["alpha"], config["confirm_alpha"], config["lifetime_intervals"]) == (0.005, 0.0005, 2)
    levels = [i["metrics"][0]["thresholds"]["alpha"] for i in analysis["verdict"]["intervals"]]
    assert levels == [0.005, 0.0005] and analysis["verdict"]["finished"]


def test_schedule_tags_set_the_analysis_and_a_bad_one_is_named(world: World) -> None:
    tag_endpoint(world, {"modelwatch.canary.interval": "10m", "modelwatch.canary.lifetime": "soon"})
    sweep(world, "before")
    shift_traffic(world, {"blue": 90, "green": 10})
    [analysis] = analyses(world)
    assert (analysis["interval_seconds"], analysis["lifetime_seconds"]) == (600, 1800)  # lifetime: the default
    [note] = analysis["tag_notes"]
    assert note.startswith("tag modelwatch.canary.lifetime='soon' ignored (")
