"""A check double that raises with markup in its message (the HTML page must escape it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

MESSAGE = "<script>alert('probe')</script> broke"


def run(ctx: Any, job: Any, now: datetime) -> list[Any]:
    raise RuntimeError(MESSAGE)
