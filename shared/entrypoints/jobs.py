"""The queue-triggered worker and the scheduled sweep timer that feed checks with jobs.

Each invocation is a span (shared.telemetry); the worker's joins the trace of the event that caused its job."""

from __future__ import annotations

import logging

import azure.functions as func

from shared import telemetry
from shared.config import JOBS_QUEUE
from shared.entrypoints.wiring import services
from shared.services.sweep import SWEEP_SCHEDULE

bp = func.Blueprint()
log = logging.getLogger("modelwatch.jobs")


@bp.function_name("job_worker")
@bp.queue_trigger(arg_name="msg", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def job_worker(msg: func.QueueMessage) -> None:
    body = msg.get_body().decode("utf-8", errors="replace")
    with telemetry.invocation("job_worker", "queue", message=body, message_id=msg.id,
                              dequeue_count=msg.dequeue_count) as current:
        decision = services().worker.handle(body, msg.id or "", msg.dequeue_count or 1)
        current.set(decision=decision)
    log.info("job_worker message %s -> %s", msg.id, decision)


@bp.function_name("scheduled_sweep")
@bp.timer_trigger(arg_name="timer", schedule=SWEEP_SCHEDULE, run_on_startup=False, use_monitor=True)
@telemetry.traced("timer")
def scheduled_sweep(timer: func.TimerRequest) -> None:
    svc = services()
    decision = svc.sweep.run(svc.clock.now(), bool(timer.past_due))
    log.info("scheduled_sweep past_due=%s -> %s", timer.past_due, decision)
