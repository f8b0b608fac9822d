"""modelwatch: the one FunctionApp. It registers the blueprints and does nothing else."""

import azure.functions as func

from shared.entrypoints import alerts, audit, events, health, jobs

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (health.bp, events.bp, jobs.bp, audit.bp, alerts.bp):
    app.register_functions(blueprint)
