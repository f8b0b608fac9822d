"""Small helpers for JSON HTTP responses with clear error bodies."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, default=str, indent=None), status_code=status,
                             mimetype="application/json")


def error(status: int, message: str, **extra: Any) -> func.HttpResponse:
    return json_response({"error": {"status": status, "message": message, **extra}}, status)
