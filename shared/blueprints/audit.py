"""`GET /api/audit?since=...&limit=...&kind=...&subject=...`: read the audit trail, oldest first."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import azure.functions as func

from shared.audit import parse_since
from shared.blueprints.http import error, json_response
from shared.blueprints.wiring import services

bp = func.Blueprint()

DEFAULT_LIMIT = 100


@bp.function_name("audit")
@bp.route(route="audit", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def audit(req: func.HttpRequest) -> func.HttpResponse:
    svc = services()
    try:
        since = parse_since(req.params.get("since"), datetime.now(UTC))
    except ValueError as exc:
        return error(400, str(exc), parameter="since")
    raw_limit = req.params.get("limit", str(DEFAULT_LIMIT))
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= svc.settings.audit_max_limit:
        return error(400, f"limit={raw_limit!r} must be a whole number from 1 to {svc.settings.audit_max_limit}",
                     parameter="limit")
    records, truncated = svc.audit.read(since, int(raw_limit), kind=req.params.get("kind") or None,
                                        subject=req.params.get("subject") or None)
    body = {"since": since.isoformat(), "count": len(records), "truncated": truncated,
            "records": [asdict(r) for r in records]}
    if truncated and records:
        body["next_since"] = records[-1].at
    return json_response(body)
