"""modelwatch: the one FunctionApp. It registers the blueprints and does nothing else."""

import azure.functions as func

from shared.entrypoints import alerts, audit, endpoints, events, health, jobs, rollouts

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (health.bp, events.bp, jobs.bp, audit.bp, alerts.bp, endpoints.bp, rollouts.bp):
    app.register_functions(blueprint)
