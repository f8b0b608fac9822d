"""HTML pages for a person: a probe's report and the endpoints view, from their plain-dict form.

Pure (no I/O, no Azure): it takes what `ProbeReport.to_dict()` / `ProbeService.endpoints_view()` return and
returns one self-contained page (inline CSS, no script, no external asset). Every value that came from
outside (endpoint, deployment and check names, summaries, Azure's error messages, sample rows) is escaped:
an error message quoting a request must never become markup in an on-call engineer's browser.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.ok{color:#116611}.alert,.error,.bad_shape{color:#b00020;font-weight:bold}
.timeout,.incomplete,.skipped,.insufficient_data,.no_reference,.pending{color:#8a5a00}
code{font-size:.9em}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _status(status: Any) -> str:
    text = _e(status)
    return f'<span class="{text}">{text}</span>'


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ms(value: Any) -> str:
    return "" if value is None else f"{float(value):.1f} ms"


def render_probe(report: dict[str, Any]) -> str:
    """The probe report: overall status, each check's answer, each deployment's live request."""
    traffic = ", ".join(f"{_e(k)} {_e(v)}%" for k, v in report.get("traffic", {}).items())
    checks = [[_e(c["check"]), _e(c.get("deployment") or "(workspace)"), _status(c["status"]), _e(c["summary"]),
               _e(", ".join(c.get("alerts_fired", [])))] for c in report.get("checks", [])]
    live = [[_e(s["deployment"]), _status(s["status"]), _ms(s.get("latency_ms")), _e(s.get("http_status")),
             _e(s["summary"]), _e(s.get("sample_source")),
             f"<code>{_e(json.dumps(s.get('sample'), default=str))}</code>" if s.get("sample") else ""]
            for s in report.get("live", [])]
    body = (
        f"<h1>Probe of {_e(report['endpoint'])}</h1>"
        f"<p>Status: {_status(report['status'])} &middot; at {_e(report['at'])} &middot; "
        f"time bound {_e(report['timeout_seconds'])} s &middot; probe <code>{_e(report['probe_id'])}</code>"
        + (f" &middot; by {_e(report['by'])}" if report.get("by") else "") + "</p>"
        f"<p>Traffic: {traffic or 'none'}</p>"
        "<h2>Checks</h2>"
        + _table(["check", "deployment", "status", "summary", "alerts fired"], checks)
        + "<h2>Live scoring</h2>"
        + _table(["deployment", "status", "latency", "HTTP", "summary", "sample from", "sample"], live)
    )
    return _page(f"Probe of {report['endpoint']}", body)


def _verdict_cell(verdict: dict[str, Any] | None) -> str:
    if not verdict:
        return '<span class="skipped">no verdict yet</span>'
    return f"{_status(verdict['status'])} {_e(verdict['summary'])}<br><small>{_e(verdict['at'])}</small>"


def render_endpoints(view: dict[str, Any]) -> str:
    """Each endpoint with its deployments, traffic and the latest verdict of every check."""
    parts = [f"<h1>Endpoints of {_e(view.get('workspace', ''))}</h1>"]
    for ep in view.get("endpoints", []):
        checks = sorted({c for d in ep["deployments"] for c in d["checks"]})
        rows = [[_e(d["name"]), _e(f"{d['traffic']}%"), _e(d.get("model")),
                 _e(f"{d.get('instance_count')} x {d.get('instance_type')}"), _e(d["provisioning_state"])]
                + [_verdict_cell(d["checks"].get(c)) for c in checks] for d in ep["deployments"]]
        parts.append(f"<h2>{_e(ep['name'])} <small>({_e(ep['provisioning_state'])})</small></h2>")
        parts.append(_table(["deployment", "traffic", "model", "instances", "state", *checks], rows))
        if ep.get("checks"):
            parts.append(_table(["endpoint check", "latest verdict"],
                                [[_e(c), _verdict_cell(v)] for c, v in sorted(ep["checks"].items())]))
    workspace = view.get("workspace_checks") or {}
    if workspace:
        parts.append("<h2>Workspace checks</h2>")
        parts.append(_table(["check", "latest verdict"], [[_e(c), _verdict_cell(v)] for c, v in workspace.items()]))
    return _page("Endpoints", "".join(parts))
