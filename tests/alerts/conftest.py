"""Fixtures for alert tests: a fresh Azurite container per test, real HTTP receivers, a manual clock,
and a recording audit trail. Services are built through the production bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from shared.alerts.bootstrap import build_alert_service
from shared.alerts.model import AlertSignal
from shared.alerts.service import AlertService
from tests.alerts.receivers import Receiver, Reply

ENDPOINT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ml/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw-prod/onlineEndpoints/churn-prod"
)
START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class ManualClock:
    """An injected clock that only moves when the test says so."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class RecordingAudit:
    """An audit trail that keeps every record in memory, so tests can read the decisions."""

    records: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def append(self, kind: str, subject: str, decision: str, details: dict | None = None) -> object:
        self.records.append((kind, subject, decision, details or {}))
        return len(self.records)

    def decisions(self, kind: str | None = None, subject: str | None = None) -> list[str]:
        return [
            d
            for k, s, d, _ in self.records
            if (kind is None or k == kind) and (subject is None or s == subject)
        ]


def signal(**changes: Any) -> AlertSignal:
    values: dict[str, Any] = {
        "rule": "latency-p95",
        "severity": "Sev2",
        "targets": ENDPOINT_ID,
        "labels": {"endpoint": "churn-prod", "deployment": "green"},
        "description": "p95 latency 812 ms over 400 ms SLO",
        "evidence": {
            "p95_ms": 812,
            "thresholds": {"p95_ms": 400},
            "sampleSize": 1432,
            "conventions": {"percentile": "nearest-rank"},
        },
    }
    values.update(changes)
    return AlertSignal(**values)


@pytest.fixture
def container(storage_connection_string: str, unique_name: str) -> Iterator[ContainerClient]:
    client = ContainerClient.from_connection_string(storage_connection_string, unique_name)
    client.create_container()
    yield client
    client.delete_container()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def audit() -> RecordingAudit:
    return RecordingAudit()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(default: Reply | None = None) -> Receiver:
        receiver = Receiver(default).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def make_service(
    container: ContainerClient, clock: ManualClock, audit: RecordingAudit
) -> Callable[..., AlertService]:
    """Build the service as production does, from settings, on this test's container and clock."""

    def build(**settings: str) -> AlertService:
        env = {"MODELWATCH_ALERT_OUTBOX_BACKOFF": "30s", "MODELWATCH_ALERT_HTTP_TIMEOUT": "2s", **settings}
        return build_alert_service(env, container=container, audit=audit, clock=clock)

    return build
