"""The on-call HTTP API for analyses and rollbacks: the real blueprint functions with real azure.functions
requests, the app's settings in the environment, on the emulator and Azurite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.entrypoints import rollouts
from tests.checks.conftest import World
from tests.probe.conftest import call
from tests.rollback.conftest import shift_traffic
from tests.rollback.test_canary_flow import regress_green, run_for, sweep, traffic


@pytest.fixture
def app(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from shared.bootstrap import services

    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    services.cache_clear()
    yield world
    services.cache_clear()


def test_analyses_are_listed_with_their_canary_and_status(app: World) -> None:
    sweep(app, "before")
    shift_traffic(app, {"blue": 90, "green": 10})
    status, _, body = call(rollouts.analyses_list, "GET", "x", route={"endpoint": "credit-ep"})
    assert status == 200
    [analysis] = body["analyses"]
    assert (analysis["canary"], analysis["status"]) == ("green", "running")


def test_analyses_of_an_unknown_endpoint_are_404(app: World) -> None:
    status, _, body = call(rollouts.analyses_list, "GET", "endpoints/nope/analyses", route={"endpoint": "nope"})
    assert status == 404 and "nope" in body["error"]["message"]


def test_a_judged_analysis_has_an_html_report(app: World) -> None:
    sweep(app, "before")
    shift_traffic(app, {"blue": 90, "green": 10})
    run_for(app, 5)
    [analysis] = app.services.state.list_json("analyses/credit-ep/")
    status, mimetype, page = call(rollouts.analyses_get, "GET", "x", params={"format": "html"},
                                  route={"endpoint": "credit-ep", "id": analysis["id"]})
    assert status == 200 and mimetype == "text/html" and "green" in page


def test_retry_after_a_rollback_releases_the_sticky_record_and_analyses_the_canary_anew(app: World) -> None:
    sweep(app, "before")
    shift_traffic(app, {"blue": 90, "green": 10})
    regress_green(app)
    run_for(app, 15)
    [failed] = app.services.state.list_json("analyses/credit-ep/")
    shift_traffic(app, {"blue": 90, "green": 10})  # re-applied: sticks, no new analysis
    status, _, body = call(rollouts.analyses_retry, "POST", "x", body={"by": "alice"},
                           route={"endpoint": "credit-ep", "id": failed["id"]})
    assert status == 200 and body["sticky_released"] and body["started"]
    assert len(app.services.state.list_json("analyses/credit-ep/")) == 2


def test_retry_needs_to_know_who_decided(app: World) -> None:
    status, _, body = call(rollouts.analyses_retry, "POST", "x", body={}, route={"endpoint": "credit-ep", "id": "a"})
    assert status == 400 and body["error"]["field"] == "by"


def test_a_manual_rollback_moves_the_smallest_share_to_the_others(app: World) -> None:
    app.services.checks.azure.ml.set_traffic("credit-ep", {"blue": 90, "green": 10})
    status, _, body = call(rollouts.endpoint_rollback, "POST", "x", body={"reason": "bad scores", "by": "alice"},
                           route={"endpoint": "credit-ep"})
    assert status == 200 and body["action"] == "rollback", body
    assert traffic(app) == {"blue": 100}
    [record] = [r for r in app.audit() if r["kind"] == "rollback" and r["decision"] == "rolled_back"]
    assert record["details"]["by"] == "alice" and record["details"]["reason"] == "bad scores"


def test_a_manual_rollback_to_an_unhealthy_target_is_refused_with_409(app: World) -> None:
    from datetime import timedelta

    from monitors.verdict import Verdict

    app.services.checks.azure.ml.set_traffic("credit-ep", {"blue": 90, "green": 10})
    now = app.services.clock.now()
    app.services.verdicts.put(Verdict("slo", "alert", "slow", now - timedelta(minutes=1), "credit-ep", "blue"))
    status, _, body = call(rollouts.endpoint_rollback, "POST", "x",
                           body={"reason": "r", "by": "alice", "deployment": "green", "to": "blue"},
                           route={"endpoint": "credit-ep"})
    assert status == 409 and "blue's SLO check is failing" in body["reason"]
    assert traffic(app) == {"blue": 90, "green": 10}


@pytest.mark.parametrize(("body", "field"), [({"by": "a"}, "reason"), ({"reason": "r"}, "by"),
                                             ({"reason": "r", "by": "a", "deployment": "purple"}, "deployment"),
                                             ({"reason": "r", "by": "a", "to": 7}, "to")])
def test_a_manual_rollback_with_a_bad_body_is_400_naming_the_field(app: World, body: dict, field: str) -> None:
    app.services.checks.azure.ml.set_traffic("credit-ep", {"blue": 90, "green": 10})
    status, _, answer = call(rollouts.endpoint_rollback, "POST", "x", body=body, route={"endpoint": "credit-ep"})
    assert status == 400 and answer["error"]["field"] == field


def test_deeply_nested_json_is_400_not_500(app: World) -> None:
    status, _, _ = call(rollouts.endpoint_rollback, "POST", "x", body=b"[" * 1000, route={"endpoint": "credit-ep"})
    assert status == 400
