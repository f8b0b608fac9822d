"""Alerts an on-call engineer can trust: one alert per condition, Alertmanager-style lifecycle (repeat
interval, keep-firing, ack, silences, inhibition), Azure Monitor common alert schema, and delivery to every
sink through an outbox with retries and dead letters.

Entry point for checks: `shared.alerts.bootstrap.build_alert_service(env).fire(AlertSignal(...))` and
`.clear(rule, targets, labels)`. Modules: model (data), lifecycle (pure decisions), schema (payload),
service (orchestration), repository (Blob adapter), outbox (delivery), sinks/ (formats), api (HTTP logic).

This __init__ must stay import-free: the blueprint imports the package at function-app load time.
"""
