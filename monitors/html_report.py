"""The page plumbing every HTML report shares: one look and one escaping rule for every report an on-call
engineer opens.

The canary, drift and SLO reports are each one self-contained page, stored in Blob Storage and opened from
an alert as is. They take from here the base CSS (each appends its own: badges, status colours, sortable
tables), `escape` (every name and value from outside goes through it, so a deployment or column called
`<script>` is text, never markup), `fmt` for a value in a table cell, the page skeleton, and the way a
matplotlib figure becomes SVG inside an <img> data URI (an image cannot run script; no external resource).

Pure and light: only the standard library at import time; matplotlib is imported in `figure_svg`, when a
plot is drawn, and used through the SVG canvas (no pyplot state).
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

BASE_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
img{max-width:100%}
code{background:#f6f6f6;padding:0 3px}
"""


def escape(value: Any) -> str:
    """`value` as text safe in an element or a quoted attribute."""
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """A cell value for a person: – for none or NaN, yes / no, ∞, floats to 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return "∞" if math.isinf(value) else f"{value:.4g}"
    return str(value)


def page(title: str, body: str, *, css: str = "") -> str:
    """The whole page: `title` (escaped) as title and heading, the base CSS then `css`, then `body` as is."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{BASE_CSS}{css}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def figure_svg(figure: Any) -> bytes:
    """A matplotlib Figure as SVG bytes, laid out tight, with no date in it (the same figure, the same bytes)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    canvas = FigureCanvasSVG(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    canvas.print_svg(buffer, metadata={"Date": None})
    return buffer.getvalue()


def svg_img(svg: bytes, alt: str) -> str:
    """An <img> carrying `svg` in a data URI, with `alt` (escaped) for its text."""
    data = base64.b64encode(svg).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'
