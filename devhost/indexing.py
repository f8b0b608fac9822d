"""Find and describe the app's functions exactly as the Python worker indexes them.

Imports the script module (`function_app`, or PYTHON_SCRIPT_FILE_NAME) from the script root, takes the
single module-level `func.FunctionRegister`, calls `get_functions()` once (it is not idempotent) and
turns each function into a `FunctionSpec`. Bindings the devhost cannot serve are refused here, at
start, naming the function and the binding, rather than failing on the first event. This module runs
no function and touches no storage.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions import meta

from devhost.settings import is_disabled

HTTP = "httpTrigger"
EVENT_GRID = "eventGridTrigger"
TIMER = "timerTrigger"
QUEUE = "queueTrigger"
SUPPORTED_TRIGGERS = (HTTP, EVENT_GRID, TIMER, QUEUE)
SUPPORTED_OUTPUTS = ("http", "queue", "blob")
RETURN = "$return"


class IndexingError(Exception):
    """The function app cannot be hosted as written; the message says which function and why."""


@dataclass(frozen=True)
class BindingSpec:
    name: str
    type: str
    direction: str  # "in" | "out" | "inout"
    attrs: Mapping[str, Any]

    @classmethod
    def from_binding(cls, binding: Any) -> BindingSpec:
        raw = binding.get_dict_repr()
        attrs = {k: (v.value if isinstance(v, Enum) else v) for k, v in raw.items()}
        if raw.get("methods") is not None:
            attrs["methods"] = [m.value if isinstance(m, Enum) else m for m in raw["methods"]]
        direction = {0: "in", 1: "out", 2: "inout"}[int(raw["direction"].value)]
        return cls(name=binding.name, type=binding.type, direction=direction, attrs=attrs)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    trigger: BindingSpec
    outputs: tuple[BindingSpec, ...]
    user_function: Callable[..., Any]
    parameters: tuple[str, ...]
    retry: Mapping[str, Any] | None = None
    disabled: bool = False
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def trigger_type(self) -> str:
        return self.trigger.type

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    @property
    def wants_context(self) -> bool:
        return "context" in self.parameters and self.trigger.name != "context"

    @property
    def http_output(self) -> BindingSpec | None:
        return next((b for b in self.outputs if b.type == "http"), None)


def module_name(environ: Mapping[str, str]) -> str:
    script = environ.get("PYTHON_SCRIPT_FILE_NAME", "function_app.py")
    return script[:-3] if script.endswith(".py") else script


def load_function_register(script_root: Path, name: str) -> func.FunctionRegister:
    """Import the script module and return its single module-level FunctionRegister (worker rule)."""
    root = str(script_root.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    if not (script_root / f"{name}.py").is_file():
        raise IndexingError(f"script file {name}.py not found in {script_root} (PYTHON_SCRIPT_FILE_NAME?)")
    module = importlib.import_module(name)
    found = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not found:
        raise IndexingError(
            f"Could not find top level function app instances in {name}.py: "
            "define one module-level `app = func.FunctionApp()`"
        )
    if len(found) > 1:
        raise IndexingError(
            f"More than one FunctionApp/AsgiFunctionApp/WsgiFunctionApp instances are defined in {name}.py "
            f"({len(found)}); the worker accepts exactly one"
        )
    return found[0]


def _check_bindings(name: str, trigger: BindingSpec, others: list[BindingSpec]) -> None:
    if trigger.type not in SUPPORTED_TRIGGERS:
        raise IndexingError(
            f"function {name!r}: trigger type {trigger.type!r} is not supported by the devhost "
            f"(supported: {', '.join(SUPPORTED_TRIGGERS)})"
        )
    for b in others:
        if b.direction != "out" or b.type not in SUPPORTED_OUTPUTS:
            raise IndexingError(
                f"function {name!r}: {b.direction} binding {b.name!r} of type {b.type!r} is not supported "
                f"by the devhost (supported outputs: {', '.join(SUPPORTED_OUTPUTS)})"
            )
        if b.type == "http" and trigger.type != HTTP:
            raise IndexingError(f"function {name!r}: an http output needs an http trigger")


def _annotation_error(name: str, binding: BindingSpec, annotation: Any) -> str | None:
    if annotation is inspect.Parameter.empty:
        return None
    if binding.direction == "out":
        if typing.get_origin(annotation) is not func.Out and annotation is not func.Out:
            return (
                f'binding {binding.name} is declared to have the "out" direction, but its annotation '
                "in Python is not a subclass of azure.functions.Out"
            )
        return None
    converter = meta._ConverterMeta.get(binding.type)
    if (
        converter is not None
        and isinstance(annotation, type)
        and not converter.check_input_type_annotation(annotation)
    ):
        return (
            f'type of {binding.name} binding in function.json "{binding.type}" does not match its Python '
            f'annotation "{getattr(annotation, "__name__", annotation)}"'
        )
    return None


def _check_parameters(name: str, fn: Callable[..., Any], bindings: list[BindingSpec]) -> dict[str, Any]:
    signature = inspect.signature(fn)
    params = signature.parameters
    declared = {b.name for b in bindings if b.name != RETURN}
    missing = sorted(declared - set(params))
    extra = sorted(set(params) - declared - {"context"})
    if missing:
        raise IndexingError(f"function {name!r}: bindings {missing} have no matching Python parameter")
    if extra:
        raise IndexingError(f"function {name!r}: Python parameters {extra} are not declared as bindings")
    for b in bindings:
        if b.name in params:
            problem = _annotation_error(name, b, params[b.name].annotation)
            if problem:
                raise IndexingError(f"cannot load the {name} function: {problem}")
    return {p: params[p].annotation for p in params}


def describe(function: Any, environ: Mapping[str, str]) -> FunctionSpec:
    name = function.get_function_name()
    trigger = BindingSpec.from_binding(function.get_trigger())
    bindings = [BindingSpec.from_binding(b) for b in function.get_bindings()]
    others = [b for b in bindings if b.name != trigger.name]
    _check_bindings(name, trigger, others)
    user_function = function.get_user_function()
    annotations = _check_parameters(name, user_function, bindings)
    return FunctionSpec(
        name=name,
        trigger=trigger,
        outputs=tuple(others),
        user_function=user_function,
        parameters=tuple(annotations),
        retry=function.get_settings_dict("retry_policy"),
        disabled=is_disabled(name, environ),
        annotations=annotations,
    )


def index_functions(
    script_root: Path, environ: Mapping[str, str], allow_list: tuple[str, ...] | None = None
) -> list[FunctionSpec]:
    register = load_function_register(script_root, module_name(environ))
    try:
        functions = register.get_functions()  # once: a second call raises on "duplicate" names
    except ValueError as exc:
        raise IndexingError(f"the function app does not index: {exc}") from None
    specs = [describe(f, environ) for f in functions]
    if allow_list is not None:
        unknown = sorted(set(allow_list) - {s.name for s in specs})
        if unknown:
            raise IndexingError(f"host.json 'functions' names unknown functions: {unknown}")
        specs = [s for s in specs if s.name in allow_list]
    return specs
