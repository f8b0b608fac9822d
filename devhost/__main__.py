"""`python -m devhost`: run a v2-model Python function app locally, as `func start` would.

    python -m devhost [--script-root DIR] [--port 7071] [--host 127.0.0.1] [--settings local.settings.json]

Reads local.settings.json `Values` into the environment (the environment wins), host.json, indexes the
app like the worker, prints the function list and serves until SIGINT/SIGTERM. Exit code 1 means the
app or its configuration cannot be hosted (the message says why); 3 means the host failed to start.
It binds loopback only unless told otherwise, and never prints secrets (keys are only compared).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from devhost import logs

if TYPE_CHECKING:
    from devhost.server import Host

log = logging.getLogger("devhost")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--script-root", type=Path, default=Path("."), help="function app folder (default: .)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="HTTP port (default: Host.LocalHttpPort or 7071)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    parser.add_argument(
        "--settings", type=Path, default=None, help="settings file (default: local.settings.json)"
    )
    parser.add_argument("--log-level", default=os.environ.get("DEVHOST_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


def _load_settings(args: argparse.Namespace, script_root: Path) -> int | None:
    """Apply the settings file; return Host.LocalHttpPort if it sets one."""
    from devhost.settings import ConfigError, load_local_settings, local_http_port

    path = args.settings.resolve() if args.settings else script_root / "local.settings.json"
    if not path.is_file():
        if args.settings:
            raise ConfigError(f"settings file {path} not found")
        return None
    data = load_local_settings(path, os.environ)
    log.info("Loaded settings from %s", path)
    return local_http_port(data)


def build_host(args: argparse.Namespace) -> tuple[Host, int]:
    from devhost.indexing import index_functions
    from devhost.server import Host
    from devhost.settings import DEFAULT_PORT, build_config, load_host_json

    script_root = args.script_root.resolve()
    if not script_root.is_dir():
        from devhost.settings import ConfigError

        raise ConfigError(f"script root {script_root} is not a folder")
    settings_port = _load_settings(args, script_root)
    port = args.port or settings_port or DEFAULT_PORT
    config = build_config(script_root, load_host_json(script_root), os.environ)
    if os.environ.get("WEBSITE_TIME_ZONE"):
        log.warning("WEBSITE_TIME_ZONE is ignored: the devhost runs schedules in UTC")
    os.chdir(script_root)  # user code sees the app folder as its working directory, as under func
    functions = index_functions(script_root, os.environ, config.functions_allow_list)
    shown = "localhost" if args.host in ("127.0.0.1", "::1", "localhost") else args.host
    return Host(config, functions, os.environ, public_url=f"http://{shown}:{port}"), port


def serve(host: Host, bind: str, port: int) -> int:
    import uvicorn

    class _Server(uvicorn.Server):
        """uvicorn re-raises SIGINT/SIGTERM after a graceful shutdown; a clean stop should exit 0."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                getattr(self, "_captured_signals", []).clear()

    from devhost.server import function_lines

    log.info(
        "Functions:\n\n%s\n",
        "\n".join(f"        {line}" for line in function_lines(host)) or "        (none)",
    )
    config = uvicorn.Config(
        host.app(),
        host=bind,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(host.config.shutdown_grace),
        timeout_keep_alive=120,  # as Azure's front ends: clients reusing pooled connections must not race a close
    )
    server = _Server(config)
    server.run()
    if host.invoker.threads_busy():
        log.warning("exiting with function code still running in worker threads")
        logging.shutdown()
        os._exit(0 if server.started else 3)
    return 0 if server.started else 3


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logs.configure(args.log_level)
    from devhost.expressions import BindingExpressionError
    from devhost.indexing import IndexingError
    from devhost.routes import RouteError
    from devhost.settings import ConfigError

    try:
        host, port = build_host(args)
    except (ConfigError, IndexingError, RouteError, BindingExpressionError) as exc:
        log.error("%s", exc)
        return 1
    except Exception:
        log.error("the function app failed to load:\n%s", traceback.format_exc())
        return 1
    return serve(host, args.host, port)


if __name__ == "__main__":
    sys.exit(main())
