"""Sample v2-model function app exercising every devhost feature (test fixture, never deployed).

Names of storage objects come from app settings (`%SAMPLE_CONTAINER%`, `%SAMPLE_PREFIX%`,
`%DEVHOST_INSTANCE%`) so each test run and each devhost process writes to its own places. Functions
record what they saw through output bindings, so tests observe behaviour through storage and HTTP only.
"""

import json
import logging
import os
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
record = logging.getLogger("sample")
CONN = "AzureWebJobsStorage"


# ---- HTTP ---------------------------------------------------------------------------------------
@app.route(route="hello/{name}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    greeting = req.params.get("greeting") or os.environ.get("SAMPLE_GREETING", "?")
    record.info("greeting %s", req.route_params["name"])
    return func.HttpResponse(f"{greeting} {req.route_params['name']}")


@app.route(route="items/{id:int}", methods=["GET", "DELETE"])
def items(req: func.HttpRequest) -> func.HttpResponse:
    body = {"id": req.route_params["id"], "method": req.method}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.route(route="items/special", methods=["GET"])
def special_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("special")


@app.route(route="files/{*path}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.route_params.get("path", ""), headers={"X-Method": req.method})


@app.route(route="plain", methods=["GET"])
async def plain(req: func.HttpRequest) -> str:
    return "plain text from an async function"


@app.route(route="outparam", methods=["POST"], binding_arg_name="res")
def outparam(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
    res.set(func.HttpResponse(req.get_body(), status_code=201))


@app.route(route="secret", auth_level=func.AuthLevel.FUNCTION)
def secret(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("function-level ok")


@app.route(route="adminonly", auth_level=func.AuthLevel.ADMIN)
def adminonly(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin-level ok")


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom from the sample app")


@app.route(route="disabled")
def disabled_http(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("should be disabled")


@app.route(route="enqueue/{name}", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="%SAMPLE_PREFIX%-out", connection=CONN)
@app.blob_output(arg_name="doc", path="%SAMPLE_CONTAINER%/http/{name}-{rand-guid}.txt", connection=CONN)
def enqueue(req: func.HttpRequest, out: func.Out[str], doc: func.Out[str]) -> func.HttpResponse:
    payload = req.get_json()
    out.set(payload["messages"])
    doc.set(payload["document"])
    if payload.get("fail"):
        raise ValueError("asked to fail after setting outputs")
    return func.HttpResponse("queued", status_code=201)


# ---- Event Grid ---------------------------------------------------------------------------------
@app.event_grid_trigger(arg_name="event")
@app.blob_output(arg_name="seen", path="%SAMPLE_CONTAINER%/eg/{id}.json", connection=CONN)
def on_event(event: func.EventGridEvent, seen: func.Out[str]) -> None:
    data = event.get_json()
    if isinstance(data, dict) and data.get("fail"):
        raise ValueError(f"event {event.id} asked to fail")
    kind = type(event).__name__
    event_type = getattr(event, "event_type", None) or getattr(event, "type", None)
    seen.set(json.dumps({"id": event.id, "class": kind, "type": event_type, "subject": event.subject}))


# ---- Timers -------------------------------------------------------------------------------------
YEARLY = "0 0 0 1 1 *"


@app.timer_trigger(arg_name="timer", schedule=YEARLY, use_monitor=False)
@app.blob_output(
    arg_name="ran", path="%SAMPLE_CONTAINER%/locked/%DEVHOST_INSTANCE%-{rand-guid}.txt", connection=CONN
)
def locked_timer(timer: func.TimerRequest, ran: func.Out[str]) -> None:
    time.sleep(2.0)  # long enough that a concurrent run in another devhost finds the lock held
    ran.set(os.environ.get("DEVHOST_INSTANCE", "?"))


@app.timer_trigger(arg_name="timer", schedule=YEARLY, run_on_startup=True, use_monitor=False)
@app.blob_output(arg_name="ran", path="%SAMPLE_CONTAINER%/startup/%DEVHOST_INSTANCE%.json", connection=CONN)
def startup_timer(timer: func.TimerRequest, ran: func.Out[str]) -> None:
    ran.set(json.dumps({"past_due": timer.past_due}))


@app.timer_trigger(arg_name="timer", schedule=YEARLY, use_monitor=True)
@app.blob_output(arg_name="ran", path="%SAMPLE_CONTAINER%/monitored/%DEVHOST_INSTANCE%.json", connection=CONN)
def monitored_timer(timer: func.TimerRequest, ran: func.Out[str]) -> None:
    ran.set(json.dumps({"past_due": timer.past_due, "status": timer.schedule_status}))


@app.timer_trigger(arg_name="timer", schedule=YEARLY, use_monitor=False)
@app.blob_output(
    arg_name="ran", path="%SAMPLE_CONTAINER%/manual/%DEVHOST_INSTANCE%-{rand-guid}.json", connection=CONN
)
def manual_timer(timer: func.TimerRequest, ran: func.Out[str]) -> None:
    ran.set(json.dumps({"past_due": timer.past_due}))


@app.timer_trigger(arg_name="timer", schedule="*/2 * * * * *")
def ticking_timer(timer: func.TimerRequest) -> None:
    record.info("tick")


@app.timer_trigger(arg_name="timer", schedule=YEARLY, use_monitor=False)
@app.retry(strategy="fixed_delay", max_retry_count="2", delay_interval="00:00:00")
def retrying_timer(timer: func.TimerRequest, context: func.Context) -> None:
    raise RuntimeError(f"attempt {context.retry_context.retry_count} fails")


# ---- Queues -------------------------------------------------------------------------------------
@app.queue_trigger(arg_name="msg", queue_name="%SAMPLE_PREFIX%-in", connection=CONN)
@app.blob_output(arg_name="seen", path="%SAMPLE_CONTAINER%/queue/{Id}.json", connection=CONN)
def queue_worker(msg: func.QueueMessage, seen: func.Out[str]) -> None:
    body = msg.get_body().decode("utf-8")
    try:
        fail_until = json.loads(body).get("fail_until", 0)
    except (ValueError, AttributeError):
        fail_until = 0
    if msg.dequeue_count < fail_until:
        raise RuntimeError(f"failing attempt {msg.dequeue_count} on purpose")
    seen.set(
        json.dumps(
            {
                "id": msg.id,
                "body": body,
                "dequeue_count": msg.dequeue_count,
                "insertion_time": msg.insertion_time.isoformat() if msg.insertion_time else None,
            }
        )
    )


@app.queue_trigger(arg_name="msg", queue_name="%SAMPLE_PREFIX%-fail", connection=CONN)
def queue_failer(msg: func.QueueMessage) -> None:
    raise RuntimeError(f"always fails (attempt {msg.dequeue_count})")
