"""`GET /api/endpoints`: each endpoint, its deployments and traffic, and the latest verdict of every check,
through the real blueprint function."""

from __future__ import annotations

from collections.abc import Callable

from shared.entrypoints import endpoints as bp_module
from shared.services.checks.fanout import check_job
from tests.checks.conftest import World
from tests.probe.conftest import call


def endpoints(**params: str) -> tuple[int, str, object]:
    return call(bp_module.endpoints_list, "GET", "endpoints", params=params)


def test_lists_credit_ep_with_blue_and_green_and_their_traffic(app: World) -> None:
    status, _, view = endpoints()
    assert status == 200
    (ep,) = view["endpoints"]
    assert ep["name"] == "credit-ep" and ep["traffic"] == {"blue": 90, "green": 10}
    deployments = {d["name"]: d for d in ep["deployments"]}
    assert {n: d["traffic"] for n, d in deployments.items()} == {"blue": 90, "green": 10}
    assert deployments["blue"]["instance_type"] == "Standard_DS3_v2" and deployments["blue"]["instance_count"] == 2
    assert deployments["green"]["model"].endswith("/models/credit/versions/2")


def test_every_check_is_listed_even_before_it_ran(app: World, register: Callable) -> None:
    register(slo="echo_check_double", drift="echo_check_double", quota="echo_check_double",
             cost="echo_check_double", canary="echo_check_double")
    _, _, view = endpoints()
    blue = view["endpoints"][0]["deployments"][0]
    assert blue["checks"] == {"slo": None, "drift": None}
    assert set(view["workspace_checks"]) == {"quota", "cost"}


def test_shows_the_latest_verdict_after_a_check_ran(app: World, register: Callable) -> None:
    register(echo_check_double="echo_check_double")
    now = app.services.clock.now()
    assert app.run(check_job(app.workspace_id, "echo_check_double", now, "test", now, "credit-ep", "blue")) == "done"
    _, _, view = endpoints()
    blue, green = view["endpoints"][0]["deployments"]
    assert blue["checks"]["echo_check_double"]["status"] == "ok"
    assert blue["checks"]["echo_check_double"]["summary"] == "echo double answered"
    assert green["checks"] == {"echo_check_double": None}


def test_html_format_is_a_page_that_escapes_names(app: World, register: Callable) -> None:
    register(**{"<b>bold</b>": "echo_check_double"})
    status, mimetype, page = endpoints(format="html")
    assert (status, mimetype) == (200, "text/html")
    assert "credit-ep" in page and "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold" not in page


def test_an_unknown_format_is_400(app: World) -> None:
    status, _, body = endpoints(format="xml")
    assert status == 400 and body["error"]["parameter"] == "format"
