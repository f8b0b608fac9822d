"""HTTP route templates (`items/{id:int}`, `files/{*rest}`, `{name?}`) matched like the host does.

Literal segments are case-insensitive; parameters take one segment (or, for `{*rest}`, the rest of the
path); constraints are checked after the match. More specific templates win (literals before
constrained parameters before plain ones before catch-alls). Unknown constraints are refused at start.
This module only matches paths: it knows nothing about functions or requests.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

_PARAM = re.compile(r"\{([^{}]+)\}")


class RouteError(Exception):
    """A route template the devhost cannot serve."""


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def _int_arg(arg: str, constraint: str) -> int:
    try:
        return int(arg)
    except ValueError:
        raise RouteError(f"constraint {constraint!r} needs an integer argument") from None


def _constraint(spec: str) -> Callable[[str], bool]:
    name, _, arg = spec.partition("(")
    arg = arg[:-1] if arg.endswith(")") else arg
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: re.fullmatch(r"-?\d+", v) is not None,
        "long": lambda v: re.fullmatch(r"-?\d+", v) is not None,
        "bool": lambda v: v.lower() in ("true", "false"),
        "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
        "guid": _is_guid,
        "double": _is_number,
        "float": _is_number,
        "decimal": _is_number,
    }
    if name in simple and not arg:
        return simple[name]
    if name == "regex":
        pattern = re.compile(arg, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    if name in ("minlength", "maxlength", "length", "min", "max"):
        n = _int_arg(arg, spec)
        return {
            "minlength": lambda v: len(v) >= n,
            "maxlength": lambda v: len(v) <= n,
            "length": lambda v: len(v) == n,
            "min": lambda v: re.fullmatch(r"-?\d+", v) is not None and int(v) >= n,
            "max": lambda v: re.fullmatch(r"-?\d+", v) is not None and int(v) <= n,
        }[name]
    if name == "range":
        low, _, high = arg.partition(",")
        lo, hi = _int_arg(low, spec), _int_arg(high, spec)
        return lambda v: re.fullmatch(r"-?\d+", v) is not None and lo <= int(v) <= hi
    raise RouteError(f"route constraint {spec!r} is not supported by the devhost")


@dataclass(frozen=True)
class _Param:
    group: str
    name: str
    checks: tuple[Callable[[str], bool], ...]


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    regex: re.Pattern[str]
    params: tuple[_Param, ...]
    precedence: tuple[int, ...]

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.match(path)
        if not found:
            return None
        values: dict[str, str] = {}
        for param in self.params:
            value = found.group(param.group)
            if value is None:
                continue
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


def _segment(segment: str, params: list[_Param], last: bool) -> tuple[str, int]:
    """Regex for one path segment and its precedence rank (0 literal ... 3 catch-all)."""
    whole = _PARAM.fullmatch(segment)
    if whole and whole.group(1).startswith("*"):
        if not last:
            raise RouteError("a catch-all parameter {*name} must be the last segment")
        name = whole.group(1)[1:].split(":")[0]
        params.append(_Param(f"p{len(params)}", name, ()))
        return f"(?:/(?P<{params[-1].group}>.*))?", 3
    pieces, rank, cursor = [], 0, 0
    for found in _PARAM.finditer(segment):
        pieces.append(re.escape(segment[cursor : found.start()]))
        name, *constraints = found.group(1).split(":")
        optional = name.endswith("?")
        name = name.rstrip("?")
        group = f"p{len(params)}"
        params.append(_Param(group, name, tuple(_constraint(c) for c in constraints)))
        pieces.append(f"(?P<{group}>[^/]+)" + ("?" if optional else ""))
        rank = max(rank, 1 if constraints else 2)
        cursor = found.end()
    pieces.append(re.escape(segment[cursor:]))
    body = "".join(pieces)
    if whole and whole.group(1).split(":")[0].endswith("?"):
        return f"(?:/{body})?", rank
    return "/" + body, rank


def compile_route(prefix: str, route: str) -> RouteTemplate:
    template = "/".join(p for p in (prefix.strip("/"), route.strip("/")) if p)
    segments = [s for s in template.split("/") if s != ""]
    params: list[_Param] = []
    parts, ranks = [], []
    for i, segment in enumerate(segments):
        regex, rank = _segment(segment, params, last=i == len(segments) - 1)
        parts.append(regex)
        ranks.append(rank)
    regex = re.compile("^" + "".join(parts) + "/?$", re.IGNORECASE)
    return RouteTemplate("/" + template, regex, tuple(params), tuple(ranks))
