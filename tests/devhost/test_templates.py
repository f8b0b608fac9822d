"""Route templates, binding expressions and schedules, resolved as the Functions host resolves them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from devhost.expressions import BindingExpressionError, resolve_app_settings, resolve_binding_expression
from devhost.routes import RouteError, compile_route
from devhost.schedules import parse_schedule
from devhost.settings import ConfigError, default_host_id, parse_timespan

UTC = dt.UTC


def test_optional_route_parameter_may_be_absent() -> None:
    route = compile_route("api", "hello/{name?}")
    assert route.match("/api/hello") == {}
    assert route.match("/api/hello/ada") == {"name": "ada"}


def test_route_literals_are_case_insensitive() -> None:
    assert compile_route("api", "Items/{id}").match("/API/items/3") == {"id": "3"}


def test_route_constraints_reject_values_out_of_range() -> None:
    route = compile_route("api", "page/{n:range(1,10)}/{id:guid}")
    guid = "0b6e3d57-7c38-4a8f-8f7e-2f44c3f6f5e1"
    assert route.match(f"/api/page/3/{guid}") == {"n": "3", "id": guid}
    assert route.match(f"/api/page/11/{guid}") is None
    assert route.match("/api/page/3/not-a-guid") is None


def test_catch_all_must_be_last() -> None:
    with pytest.raises(RouteError, match="must be the last segment"):
        compile_route("api", "{*rest}/tail")


def test_empty_route_prefix_serves_at_the_root() -> None:
    assert compile_route("", "health").match("/health") == {}


def test_binding_expression_takes_trigger_data_case_insensitively() -> None:
    path = resolve_binding_expression(
        "c/{Subject}/{data.Model}.json", {"subject": "s1", "data": {"model": "m"}}, "t"
    )
    assert path == "c/s1/m.json"


def test_binding_expression_datetime_and_rand_guid() -> None:
    now = dt.datetime(2024, 2, 16, 17, 59, 55, tzinfo=UTC)
    path = resolve_binding_expression("c/{DateTime}-{rand-guid}.txt", {}, "t", now=now)
    assert re.fullmatch(r"c/2024-02-16T17-59-55Z-[0-9a-f-]{36}\.txt", path)


def test_unknown_binding_expression_names_what_is_available() -> None:
    with pytest.raises(BindingExpressionError, match=r"no value for \{name\}.*available: id"):
        resolve_binding_expression("c/{name}", {"id": "1"}, "function 'f' output 'b'")


def test_app_setting_expression_is_replaced() -> None:
    assert resolve_app_settings("%PREFIX%-in", {"PREFIX": "jobs"}, "t") == "jobs-in"


def test_ncrontab_has_seconds_first() -> None:
    schedule = parse_schedule("30 */5 * * * *", "t")
    assert schedule.next_after(dt.datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)) == dt.datetime(
        2024, 1, 1, 0, 0, 30, tzinfo=UTC
    )


def test_five_field_cron_runs_at_second_zero() -> None:
    schedule = parse_schedule("*/10 * * * *", "t")
    assert schedule.next_after(dt.datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)).minute == 10


def test_timespan_schedule_is_an_interval() -> None:
    schedule = parse_schedule("00:00:30", "t")
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert schedule.next_after(start) == start + dt.timedelta(seconds=30)


def test_monitor_defaults_on_only_for_schedules_of_a_minute_or_more() -> None:
    assert parse_schedule("0 */5 * * * *", "t").default_use_monitor() is True
    assert parse_schedule("*/10 * * * * *", "t").default_use_monitor() is False


def test_timespan_parsing_accepts_days_and_fractions() -> None:
    assert parse_timespan("1.00:00:01.5", "t") == 86401.5
    with pytest.raises(ConfigError, match="expected a TimeSpan"):
        parse_timespan("30s", "host.json extensions.queues.visibilityTimeout")


def test_default_host_id_is_a_valid_lowercase_name(tmp_path: Path) -> None:
    folder = tmp_path / "My_Function.App-With-A-Very-Long-Name-Indeed-2024"
    folder.mkdir()
    host_id = default_host_id(folder)
    assert re.fullmatch(r"[a-z0-9-]{1,32}", host_id) and host_id.startswith("my-function-app")
