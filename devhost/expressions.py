"""Binding expressions, resolved the way the Functions host resolves them.

`%Setting%` is replaced by an app setting (at start, in queue names, blob paths and schedules);
`{rand-guid}`, `{DateTime}`, `{sys.randguid}`, `{sys.utcnow}` are generated per invocation;
`{name}` / `{a.b}` come from the trigger metadata (route params, query, queue message properties,
event fields). Names are case-insensitive, like the host. This module never does I/O.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

_APP_SETTING = re.compile(r"%([^%]+)%")
_EXPRESSION = re.compile(r"\{([^{}]+)\}")


class BindingExpressionError(Exception):
    """A binding expression that cannot be resolved; the message names the binding."""


def resolve_app_settings(text: str, environ: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise BindingExpressionError(f"{where}: app setting %{name}% is not set")
        return environ[name]

    return _APP_SETTING.sub(replace, text)


def _lookup(metadata: Mapping[str, Any], dotted: str) -> Any:
    current: Any = metadata
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            raise KeyError(dotted)
        lowered = {str(k).lower(): v for k, v in current.items()}
        if part.lower() not in lowered:
            raise KeyError(dotted)
        current = lowered[part.lower()]
    return current


def _format(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def resolve_binding_expression(
    template: str, metadata: Mapping[str, Any], where: str, now: dt.datetime | None = None
) -> str:
    """Fill `{...}` placeholders of one path or name for one invocation."""
    stamp = now or dt.datetime.now(dt.UTC)

    def replace(match: re.Match[str]) -> str:
        key = match.group(1).strip()
        lowered = key.lower()
        if lowered in ("rand-guid", "sys.randguid"):
            return str(uuid.uuid4())
        if lowered == "datetime":
            return stamp.strftime("%Y-%m-%dT%H-%M-%SZ")
        if lowered == "sys.utcnow":
            return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            value = _lookup(metadata, key)
        except KeyError:
            available = ", ".join(sorted(str(k) for k in metadata)) or "none"
            raise BindingExpressionError(
                f"{where}: no value for {{{key}}} in the trigger data (available: {available})"
            ) from None
        if isinstance(value, Mapping | list):
            raise BindingExpressionError(f"{where}: {{{key}}} is an object, not a value")
        return _format(value)

    return _EXPRESSION.sub(replace, template)
