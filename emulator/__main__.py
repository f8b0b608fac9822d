"""CLI: python -m emulator --port 8089 [--host 127.0.0.1] --scenario scenarios/demo.yaml
[--storage-connection-string CS] [--time-scale N] [--public-url URL]."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from emulator.scenario import ScenarioError, load_scenario


def _blob_endpoint(connection_string: str | None) -> str | None:
    for part in (connection_string or "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "blobendpoint":
            return value.strip()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Local Azure ML / Monitor / Cost / Event Grid emulator"
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("MODELWATCH_EMULATOR_PORT", "8089")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--scenario", required=True, help="scenario YAML file (see emulator/SCENARIOS.md)")
    parser.add_argument(
        "--storage-connection-string",
        default=os.environ.get("MODELWATCH_EMULATOR_STORAGE") or os.environ.get("AzureWebJobsStorage"),  # noqa: SIM112
        help="Azurite connection string for model data collection (default: "
        "$MODELWATCH_EMULATOR_STORAGE, then $AzureWebJobsStorage; none = collection kept "
        "in memory only)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="divide Azure's real waits by N: Event Grid retry back-off (10 s, 30 s, 1 min, ...) and "
        "long-running operation provisioning (the live clock's pace is the scenario's clock.speed)",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        help="base URL clients reach the emulator at (scoring URIs); default http://HOST:PORT",
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2

    import uvicorn

    from emulator.app import Settings, create_app
    from shared.config import expand_connection_string

    conn = expand_connection_string(args.storage_connection_string) if args.storage_connection_string else None
    settings = Settings(
        storage_connection_string=conn,
        time_scale=args.time_scale,
        public_url=args.public_url or f"http://{args.host}:{args.port}",
        blob_endpoint=_blob_endpoint(conn),
    )
    app = create_app(scenario, settings)
    # Azure's front ends keep idle connections for minutes; uvicorn's 5 s default closes them under SDK
    # clients that reuse pooled connections, which then fail with "Remote end closed connection".
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower(), access_log=False,
                timeout_keep_alive=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
