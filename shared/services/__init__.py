"""Services: where a trigger's input becomes work and a job becomes a decision.

`intake` turns Event Grid events into jobs, `sweep` turns timer ticks into jobs, `worker` runs each job once
and hands it to its check in `checks/`. A check composes adapters (fetch plain data) with a pure judge from
`monitors/` and records the verdict, the alert and the audit entry. Services depend on small interfaces
(ports), never on an SDK directly; `shared.bootstrap` wires the real ones.
"""
