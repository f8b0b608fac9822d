"""Fixtures for the probe and the endpoints view: the checks layer's `world` (real composition root on the
session emulator and Azurite), check doubles registered in CHECK_MODULES, and the blueprint functions called
with real azure.functions requests, the app's settings in the environment as the Functions host sets them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest

from shared.services import checks
from tests.checks.conftest import World, world  # noqa: F401
from tests.probe.doubles import slow_check_double

DOUBLES = "tests.probe.doubles."


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`register(name=module_basename, ...)`: the probe's checks become exactly these doubles."""

    def use(**modules: str) -> None:
        monkeypatch.setattr(checks, "CHECK_MODULES", {name: DOUBLES + module for name, module in modules.items()})

    slow_check_double.RELEASE.clear()
    yield use
    slow_check_double.RELEASE.set()  # let a timed-out double finish in the background


@pytest.fixture
def app(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:  # noqa: F811
    """The app's settings in the environment, and `services()` rebuilt from them (it is cached per process)."""
    from shared.bootstrap import services

    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    services.cache_clear()
    yield world
    services.cache_clear()


@pytest.fixture
def fault(world: World) -> Iterator[Callable[..., Any]]:  # noqa: F811
    """`fault(route=regex, kind="500", ...)` injects an emulator fault (emulator/faults.py). Faults live in the
    session emulator, beyond one scenario: every one is removed after the test."""
    yield lambda **spec: world.emulator.control("POST", "faults", spec, expect=201)
    world.emulator.control("DELETE", "faults")


def call(function: Any, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None,
         route: dict[str, str] | None = None) -> tuple[int, str, Any]:
    """(status, mimetype, parsed JSON or text) of a blueprint function given a real HttpRequest."""
    data = json.dumps(body).encode() if isinstance(body, dict | list) else (body or b"")
    request = func.HttpRequest(method, f"http://localhost:7071/api/{path}", headers={"x-functions-key": "k"},
                               params=params or {}, route_params=route or {}, body=data)
    response = function(request)
    raw = response.get_body().decode()
    return response.status_code, response.mimetype, json.loads(raw) if response.mimetype == "application/json" else raw


SAMPLE = {"income": 52000, "age": 41, "region": "north"}


def probe(endpoint: str = "credit-ep", body: Any = None, **params: str) -> tuple[int, str, Any]:
    """POST /api/endpoints/{endpoint}/probe through the real blueprint function."""
    from shared.entrypoints import endpoints as bp_module

    return call(bp_module.endpoints_probe, "POST", f"endpoints/{endpoint}/probe", body=body, params=params,
                route={"endpoint": endpoint})
