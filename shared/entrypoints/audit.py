"""`GET /api/audit?since=...&limit=...&kind=...&subject=...[&cursor=...]`: read the audit trail, oldest first.

A truncated page carries `next_cursor`; pass it back as `cursor` (with the same filters) for the next page.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import azure.functions as func

from shared import telemetry
from shared.adapters.audit import AuditCursor, parse_since
from shared.entrypoints.http import error, json_response
from shared.entrypoints.wiring import services

bp = func.Blueprint()

DEFAULT_LIMIT = 100


@bp.function_name("audit")
@bp.route(route="audit", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@telemetry.traced("http")
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
    after = None
    if req.params.get("cursor"):
        try:
            after = AuditCursor.decode(req.params["cursor"])
        except ValueError as exc:
            return error(400, str(exc), parameter="cursor")
    records, truncated = svc.audit.read(since, int(raw_limit), kind=req.params.get("kind") or None,
                                        subject=req.params.get("subject") or None, after=after)
    body = {"since": since.isoformat(), "count": len(records), "truncated": truncated,
            "records": [asdict(r) for r in records]}
    if truncated and records:
        body["next_cursor"] = AuditCursor.of(records[-1]).encode()
    return json_response(body)
