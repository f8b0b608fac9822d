"""JSON from requests and queue messages, read without letting deep nesting crash the host.

Python's parser raises RecursionError (not ValueError) near a thousand levels of `[`, which would escape the
handlers as a 500 with the connection dropped. The host reads at most MAX_DEPTH levels, as the real Functions
host does (Newtonsoft.Json's default MaxDepth is 64); deeper is `TooDeep`, a ValueError naming the limit. This
module only parses: it never decides what a bad body means for a trigger.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class TooDeep(ValueError):
    """The JSON nests deeper than the host reads."""


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep `value` nests (a scalar is 0, `[]` is 1), counted without recursion; stops once past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def loads(text: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, except that nesting deeper than `max_depth` raises TooDeep (bad JSON still ValueError)."""
    too_deep = f"nested deeper than {max_depth} levels of arrays and objects (the host reads at most {max_depth})"
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(too_deep) from None
    if depth(value, max_depth) > max_depth:
        raise TooDeep(too_deep)
    return value
