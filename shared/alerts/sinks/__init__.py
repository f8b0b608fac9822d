"""Notification sinks: each formats the common-schema document for one destination and sends it.

A sink never retries and never decides when to send: it says whether a failure is worth retrying
(Alertmanager's `Notify(ctx, alerts) -> (retry, err)`), and the outbox decides when. Sinks are imported
lazily by the bootstrap, so this package's __init__ stays free of third-party imports.
"""
