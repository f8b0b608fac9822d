"""SIGTERM stops the devhost cleanly: the running invocation finishes and its lease is released."""

from __future__ import annotations

import uuid
from pathlib import Path

import requests

from devhost.process import start_devhost
from tests.devhost.helpers import SAMPLE_APP, Sample, eventually
from tools.azurite import free_port


def test_sigterm_lets_the_running_timer_finish_and_releases_its_lease(sample: Sample, tmp_path: Path) -> None:
    host_id = f"dh-stop-{uuid.uuid4().hex[:8]}"
    env = {
        "AzureWebJobsStorage": sample.connection_string,
        "AzureFunctionsWebHost__hostid": host_id,
        "SAMPLE_CONTAINER": sample.container,
        "SAMPLE_PREFIX": f"{sample.prefix}c",
        "DEVHOST_INSTANCE": "c",
        "DEVHOST_SHUTDOWN_GRACE_SECONDS": "10",
    }
    lock = sample.blobs.get_blob_client("azure-webjobs-hosts", f"locks/{host_id}/locked_timer")
    host = start_devhost(SAMPLE_APP, port=free_port(), env=env, log_path=tmp_path / "c.log")
    try:
        assert requests.post(host.url("/admin/functions/locked_timer"), json={}, timeout=5).status_code == 202
        eventually(
            lambda: lock.exists() and lock.get_blob_properties().lease.state == "leased", what="the lease"
        )
    finally:
        exit_code = host.stop()
    assert exit_code == 0
    assert [r["outcome"] for r in host.invocations("locked_timer")] == ["succeeded"]
    assert lock.get_blob_properties().lease.state == "available"  # released, not left to expire
