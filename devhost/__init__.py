"""devhost: a local Azure Functions host for Python v2-model function apps.

Core Tools (`func start`) cannot be installed here, so this package serves the same local URL surface
(`/api/<route>`, `/runtime/webhooks/eventgrid`, `/admin/...`), fires timers on their NCRONTAB schedules
and polls Azurite queues, invoking the user's functions with the real `azure.functions` types built by
the library's own converters. It is a development and test tool: it is never deployed, and nothing in
the function app may import it.

Run it with `python -m devhost [--script-root DIR] [--port 7071]`; start it from tests or scripts with
`devhost.process.start_devhost(...)`.
"""

__version__ = "0.1.0"
