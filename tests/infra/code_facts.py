"""What the code says, read from the code itself: the settings it reads, the event types its routers act on,
the functions the app indexes, the adapters and their public methods, the SDK calls made outside adapters.

The templates are checked against these facts (tests/infra/checks.py), so a change on either side that is
not made on the other fails a test.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"

#: The host and platform settings the code may read besides MODELWATCH_*: checked the same way when they appear.
_OTHER_SETTINGS = re.compile(r"""["'](AzureWebJobsStorage(?:__\w+)?|APPLICATIONINSIGHTS_[A-Z_]+|AZURE_CLIENT_ID)["']""")

#: Types whose presence in an adapter's constructor marks it as reaching Azure (or the app's storage).
AZURE_CLIENT_TYPES = ("MLClient", "MetricsClient", "CostManagementClient", "LogsQueryClient", "ContainerClient",
                      "QueueClient", "BlobServiceClient", "EventGridPublisherClient")


def _sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in sorted(SHARED.rglob("*.py"))}


def settings_read() -> set[str]:
    """Every app setting name the code mentions: MODELWATCH_* (as tests/unit/test_settings_documented.py finds
    them) and the host settings above."""
    found: set[str] = set()
    for text in _sources().values():
        found.update(re.findall(r"MODELWATCH_[A-Z0-9_]*[A-Z0-9]", text))
        found.update(_OTHER_SETTINGS.findall(text))
    return found


# ---- event routing -----------------------------------------------------------------------------------------
def _is_event_type(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "type" and isinstance(node.value, ast.Name)


def _names(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for element in node.elts for n in _names(element)]
    return []


def _enqueues(statements: list[ast.stmt]) -> bool:
    """Whether these statements build a Routing("enqueue", ...): the event leads to a job."""
    for statement in statements:
        for node in ast.walk(statement):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Routing"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "enqueue"):
                return True
    return False


def _returns(statements: list[ast.stmt]) -> bool:
    return any(isinstance(node, ast.Return) for s in statements for node in ast.walk(s))


def accepted_event_types(events_py: Path = SHARED / "events.py") -> dict[str, set[str]]:
    """For each `route_*` function of shared/events.py, the event types it acts on: those of an
    `if event.type == X` (or `in (X, Y)`) branch that enqueues a job, and those an `if event.type not in (X, Y):
    return ...` guard lets through. A type the router only ignores is not acted on."""
    tree = ast.parse(events_py.read_text(encoding="utf-8"))
    constants = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                 for t in node.targets if isinstance(t, ast.Name)}
    out: dict[str, set[str]] = {}
    for fn in tree.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("route_")):
            continue
        accepted: set[str] = set()
        for node in ast.walk(fn):
            if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and _is_event_type(node.test.left)):
                continue
            op, names = node.test.ops[0], _names(node.test.comparators[0])
            leads_to_a_job = isinstance(op, (ast.Eq, ast.In)) and _enqueues(node.body)
            guard_lets_through = (isinstance(op, (ast.NotEq, ast.NotIn)) and _returns(node.body)
                                  and not _enqueues(node.body))
            if leads_to_a_job or guard_lets_through:
                accepted.update(names)
        out[fn.name] = {constants[n] for n in accepted}
    return out


def event_functions(entrypoints_py: Path = SHARED / "entrypoints" / "events.py") -> dict[str, str]:
    """Event Grid function name -> the router it hands its events to (`@bp.function_name("X")` + `route_*`)."""
    tree = ast.parse(entrypoints_py.read_text(encoding="utf-8"))
    out = {}
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        names = [d.args[0].value for d in fn.decorator_list if isinstance(d, ast.Call) and d.args
                 and isinstance(d.func, ast.Attribute) and d.func.attr == "function_name"
                 and isinstance(d.args[0], ast.Constant)]
        routers = [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id.startswith("route_")]
        if names and routers:
            out[str(names[0])] = routers[0]
    return out


# ---- the app's functions -------------------------------------------------------------------------------------
_INDEX = """
import json
import azure.functions as func
import function_app
apps = [v for v in vars(function_app).values() if isinstance(v, func.FunctionRegister)]
print(json.dumps({f.get_function_name(): f.get_trigger().get_binding_name() for app in apps
                  for f in app.get_functions()}))
"""


@cache
def indexed_functions() -> dict[str, str]:
    """Function name -> trigger type, as the Python worker indexes function_app (azure.functions' own
    FunctionApp.get_functions), in a fresh interpreter so nothing imported by the tests leaks in."""
    out = subprocess.run([sys.executable, "-c", _INDEX], cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# ---- adapters --------------------------------------------------------------------------------------------------
def azure_adapters() -> dict[str, type]:
    """Classes of shared/adapters whose constructor takes an Azure SDK client (or a function returning one)."""
    import shared.adapters as package

    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"shared.adapters.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            init = cls.__dict__.get("__init__")
            if cls.__module__ != module.__name__ or init is None:
                continue
            annotations = " ".join(str(p.annotation) for p in inspect.signature(init).parameters.values())
            if any(client in annotations for client in AZURE_CLIENT_TYPES):
                found[name] = cls
    return found


def public_methods(cls: type) -> list[str]:
    return sorted(name for name, value in vars(cls).items()
                  if not name.startswith("_") and (inspect.isfunction(value)
                                                   or isinstance(value, (staticmethod, classmethod))))


def sdk_calls_outside_adapters() -> dict[str, list[str]]:
    """`<group>.<method>` of an MLClient called outside shared/adapters (`ml_client.datastores.get(`), with
    where."""
    out: dict[str, list[str]] = {}
    for path, text in _sources().items():
        if "adapters" in path.relative_to(SHARED).parts:
            continue
        for match in re.finditer(r"ml_client\.(\w+)\.(\w+)\(", text):
            out.setdefault(f"{match.group(1)}.{match.group(2)}", []).append(str(path.relative_to(ROOT)))
    return out
