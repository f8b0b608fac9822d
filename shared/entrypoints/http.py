"""Small helpers for JSON HTTP responses with clear error bodies, and for reading JSON request bodies safely."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

# As deep as a request body may nest (arrays and objects). Newtonsoft.Json, which the Functions host uses, stops
# at 64 by default too; nothing the app accepts comes near it, and Python's own parser gives up near 1,000
# with a RecursionError that would otherwise surface as a 500.
MAX_JSON_DEPTH = 64


class BadJson(ValueError):
    """A request body the app will not read as JSON; the message says why, for a 400."""


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, default=str, indent=None), status_code=status,
                             mimetype="application/json")


def error(status: int, message: str, **extra: Any) -> func.HttpResponse:
    return json_response({"error": {"status": status, "message": message, **extra}}, status)


def json_depth(value: Any, limit: int) -> int:
    """How deep `value` nests (a scalar is 0, `[]` is 1), counted without recursion; stops once past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def parse_json(body: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A request body as JSON, or BadJson naming the problem: not JSON, or nested deeper than `max_depth`.

    Never lets a RecursionError out: a body of a thousand `[` is bad input (400), not a failure (500).
    """
    too_deep = f"nested deeper than {max_depth} levels of arrays and objects (at most {max_depth} are accepted)"
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadJson(too_deep) from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise BadJson(f"not valid JSON ({exc})") from None
    if json_depth(value, max_depth) > max_depth:
        raise BadJson(too_deep)
    return value
