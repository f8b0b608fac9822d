"""Traces and metrics through the Azure Monitor OpenTelemetry distro, on only when
APPLICATIONINSIGHTS_CONNECTION_STRING is set.

Configured on the first invocation (`invocation()` calls `configure_once(os.environ)`), never at import: the
distro and OpenTelemetry cost far more than the cold-start budget (`import function_app` <= 150 ms), so this
module imports neither until a connection string asks for them. Off, `span()` and `count()` cost a flag check.

What an operator sees, one trace per Event Grid event:
    on_ml_event / on_resource_event (invocation) -> intake -> [queue: the job carries `traceparent`]
    -> job_worker (invocation) -> job <kind> -> check <name> (one per verdict) -> alert fired / resolved
Spans carry `modelwatch.*` attributes (job kind and id, event id, endpoint, deployment, check, verdict status,
decision) and `modelwatch.azure_calls`: the Azure SDK requests (ARM, Monitor, Log Analytics, Cost Management,
storage) made while the span was current. Jobs a job enqueues inherit its trace (`with_trace_context`).
Metrics: see METRICS. Logs are not exported here: the Functions host already ships the worker's logs to
Application Insights, so exporting them again would double every line.

Tests inject their own span processors and metric readers (in-memory) through `configure_once`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

log = logging.getLogger("modelwatch.telemetry")

CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
ATTRIBUTE_PREFIX = "modelwatch."

#: name -> (instrument, unit, description). Counters are monotonic; the gauge is the last value seen.
METRICS: dict[str, tuple[str, str, str]] = {
    "modelwatch.checks.run": ("counter", "{check}", "check runs recorded, by job kind and check"),
    "modelwatch.verdicts": ("counter", "{verdict}", "verdicts recorded, by check and status"),
    "modelwatch.alerts.fired": ("counter", "{alert}", "alerts opened, by rule and severity"),
    "modelwatch.alerts.resolved": ("counter", "{alert}", "alerts resolved, by rule"),
    "modelwatch.rollbacks": ("counter", "{decision}", "rollback decisions, by action (rollback, refuse, ...)"),
    "modelwatch.outbox.backlog": ("gauge", "{notification}", "notifications waiting in the outbox after a drain"),
    "modelwatch.outbox.dead_letters": ("counter", "{notification}", "notifications dead-lettered, by sink"),
}


class _State:
    """Whether configure_once ran, and what it made (plain class: dataclasses cost import time here)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configured = False
        self.tracer: Any = None
        self.instruments: dict[str, Any] = {}


_state = _State()


class _CallCounter:
    """Azure SDK requests made while a span is current; each request counts for every enclosing span."""

    __slots__ = ("calls", "parent")

    def __init__(self, parent: _CallCounter | None) -> None:
        self.parent = parent
        self.calls = 0

    def add(self) -> None:
        counter: _CallCounter | None = self
        while counter is not None:
            counter.calls += 1
            counter = counter.parent


_calls: ContextVar[_CallCounter | None] = ContextVar("modelwatch_azure_calls", default=None)


def enabled() -> bool:
    return _state.tracer is not None


def configure_once(env: Mapping[str, str], *, span_processors: Sequence[Any] = (),
                   metric_readers: Sequence[Any] = ()) -> bool:
    """Configure the Azure Monitor distro the first time it is called, if `env` has a connection string.

    Later calls do nothing (a process has one tracer provider). Returns whether telemetry is on. A failure to
    configure is logged and leaves telemetry off: monitoring must never stop the monitor."""
    if _state.configured:
        return enabled()
    with _state.lock:  # concurrent first invocations wait here, then all see the same outcome
        if _state.configured:
            return enabled()
        connection = env.get(CONNECTION_SETTING, "").strip()
        try:
            if connection:
                _configure(connection, span_processors, metric_readers)
        except Exception:
            log.exception("telemetry: could not configure Azure Monitor; continuing without traces and metrics")
            _state.tracer, _state.instruments = None, {}
        finally:
            _state.configured = True
        return enabled()


def _configure(connection: str, span_processors: Sequence[Any], metric_readers: Sequence[Any]) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry import metrics, trace

    configure_azure_monitor(connection_string=connection, disable_logging=True,
                            span_processors=[_azure_call_counter(), *span_processors],
                            metric_readers=list(metric_readers))
    meter = metrics.get_meter("modelwatch")
    instruments: dict[str, Any] = {}
    for name, (kind, unit, description) in METRICS.items():
        make = meter.create_counter if kind == "counter" else meter.create_gauge
        instruments[name] = make(name, unit=unit, description=description)
    _state.instruments = instruments
    _state.tracer = trace.get_tracer("modelwatch")


def _azure_call_counter() -> Any:
    """A span processor counting the HTTP requests of Azure SDK clients (the client spans azure-core opens per
    request) into the modelwatch spans they happen under."""
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.trace import SpanKind

    class AzureCallCounter(SpanProcessor):  # type: ignore[misc]
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            scope = getattr(span, "instrumentation_scope", None)
            if span.kind is SpanKind.CLIENT and scope is not None and scope.name.startswith("azure.core"):
                counter = _calls.get()
                if counter is not None:
                    counter.add()

    return AzureCallCounter()


class Span:
    """What `span()` yields: set attributes as they become known. A no-op when telemetry is off."""

    def __init__(self, inner: Any = None) -> None:
        self._inner = inner

    def set(self, **attributes: Any) -> None:
        if self._inner is not None:
            for key, value in _attributes(attributes).items():
                self._inner.set_attribute(key, value)

    @property
    def trace_id(self) -> str | None:
        if self._inner is None:
            return None
        return f"{self._inner.get_span_context().trace_id:032x}"


NO_SPAN = Span()


@contextmanager
def span(name: str, *, parent: str | None = None, kind: str = "internal", **attributes: Any) -> Iterator[Span]:
    """A span named `name`, current while the block runs; `attributes` become `modelwatch.<key>` (None dropped).

    `parent` is a W3C traceparent carried from elsewhere (a job's): the span continues that trace, nested under
    the current span when that one already belongs to it. `kind` is OpenTelemetry's (internal, server, consumer,
    ...): Application Insights lists server and consumer spans as requests. An exception is recorded and
    re-raised."""
    if _state.tracer is None:
        yield NO_SPAN
        return
    from opentelemetry.trace import SpanKind

    counter = _CallCounter(_calls.get())
    token = _calls.set(counter)
    try:
        with _state.tracer.start_as_current_span(name, context=_parent_context(parent), kind=SpanKind[kind.upper()],
                                                 attributes=_attributes(attributes)) as inner:
            try:
                yield Span(inner)
            finally:
                inner.set_attribute(f"{ATTRIBUTE_PREFIX}azure_calls", counter.calls)
    finally:
        _calls.reset(token)


def _parent_context(traceparent: str | None) -> Any:
    """The context to start a span in: None (the current one) unless a traceparent of another trace is given."""
    if not traceparent:
        return None
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    remote = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
    remote_trace = trace.get_current_span(remote).get_span_context()
    if not remote_trace.is_valid:
        return None
    current = trace.get_current_span().get_span_context()
    if current.is_valid and current.trace_id == remote_trace.trace_id:
        return None
    return remote


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to carry in a job; None when telemetry is off."""
    if _state.tracer is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def traceparent_in(message: str) -> str | None:
    """The `traceparent` of a job message, without judging the message (the worker does): None if absent."""
    if _state.tracer is None:
        return None
    try:
        value = json.loads(message).get("traceparent")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def with_trace_context(send: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a queue's send so that a job message sent under a span carries that span's traceparent: the jobs a
    job enqueues (the sweep's checks, a deployment's SLO checks) stay in the trace that caused them."""

    def send_traced(message: str, *args: Any, **kwargs: Any) -> Any:
        traceparent = current_traceparent()
        if traceparent:
            try:
                job = json.loads(message)
            except ValueError:
                job = None
            if isinstance(job, dict) and not job.get("traceparent"):
                message = json.dumps({**job, "traceparent": traceparent}, sort_keys=True)
        return send(message, *args, **kwargs)

    return send_traced


def count(name: str, value: int = 1, **attributes: Any) -> None:
    """Add to the counter `name` (one of METRICS); attributes as for spans. A no-op when telemetry is off."""
    instrument = _state.instruments.get(name)
    if instrument is not None:
        instrument.add(value, _attributes(attributes))


def gauge(name: str, value: float, **attributes: Any) -> None:
    """Record the current value of the gauge `name` (one of METRICS). A no-op when telemetry is off."""
    instrument = _state.instruments.get(name)
    if instrument is not None:
        instrument.set(value, _attributes(attributes))


@contextmanager
def invocation(function: str, trigger: str, *, parent: str | None = None, message: str | None = None,
               **attributes: Any) -> Iterator[Span]:
    """The span of one trigger invocation; configures telemetry on the first one (from the app settings).

    A queue-triggered invocation passes its `message`: a job's traceparent puts the invocation in the trace of
    the event that caused the job."""
    configure_once(os.environ)
    if parent is None and message is not None:
        parent = traceparent_in(message)
    kind = "server" if trigger == "http" else "consumer" if trigger in ("eventgrid", "queue") else "internal"
    with span(function, parent=parent, kind=kind, function=function, trigger=trigger, **attributes) as current:
        yield current


F = TypeVar("F", bound=Callable[..., Any])


def traced(trigger: str) -> Callable[[F], F]:
    """Decorator for a function's entry point (put it right above `def`, under the Functions decorators): one
    invocation span per call, named after the function; an HTTP request's method and path and the response's
    status code are attributes. `functools.wraps` keeps the signature the Functions worker binds by."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            request = next((a for a in (*args, *kwargs.values()) if hasattr(a, "method") and hasattr(a, "url")),
                           None)
            http = {"http.request.method": request.method, "url.path": _path(request.url)} if request else {}
            with invocation(function.__name__, trigger, **http) as current:
                result = function(*args, **kwargs)
                if hasattr(result, "status_code"):
                    current.set(**{"http.response.status_code": int(result.status_code)})
                return result

        return run  # type: ignore[return-value]

    return decorate


def _path(url: str) -> str:
    """The path of a URL, never its query (which may carry a function key as `code=`)."""
    from urllib.parse import urlsplit

    return urlsplit(url).path


def _attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """`modelwatch.`-prefixed attributes; None dropped, anything else that OpenTelemetry cannot carry as text."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        name = key if "." in key else f"{ATTRIBUTE_PREFIX}{key}"
        if isinstance(value, bool | int | float | str):
            out[name] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            out[name] = list(value)
        else:
            out[name] = str(value)
    return out
