"""Blob storage adapter for alerts: the system of record, over one ContainerClient passed in.

Layout (one container, prefixes):
    alerts/records/{alertId}.json           one alert episode (metadata: state, severity, rule, labels, ...)
    alerts/active/{alertId}                 marker of a firing alert (covers every open/acknowledged one;
                                            empty, or its labels when they are too big for metadata)
    alerts/notifications/{eventId}.json     the common-schema document of every notification (blob sink)
    reports/{alertId}.html                  the check's HTML report
    silences/{silenceId}.json
    outbox/pending/{deliveryId}.json        deliveries waiting (metadata: next attempt, alert, seq, sink)
    outbox/done/{deliveryId}.json           deliveries finished: delivered or dead-lettered
    deadletter/{deliveryId}.json            deliveries given up on, kept with their last error

Concurrency: creates are If-None-Match:* and updates If-Match:<etag>; a lost race raises `Conflict` and
the caller re-reads. A delivery in progress holds a 60 s lease on its pending blob. Listing uses blob
metadata so filters and the outbox scan do not download every blob.

This module must never decide anything about alerts (that is lifecycle.py) and never send anything.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote, unquote

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobLeaseClient, ContainerClient, ContentSettings

from shared.alerts.errors import Conflict
from shared.alerts.model import Alert, DeliveryRecord, OutboxItem, Silence

ALERTS = "alerts/records/"
ACTIVE = "alerts/active/"
NOTIFICATIONS = "alerts/notifications/"
REPORTS = "reports/"
SILENCES = "silences/"
PENDING = "outbox/pending/"
DONE = "outbox/done/"
DEADLETTER = "deadletter/"
LEASE_SECONDS = 60
JSON = ContentSettings(content_type="application/json")

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Versioned(Generic[T]):
    value: T
    etag: str


@dataclass(frozen=True)
class AlertIndexEntry:
    """What the listing shows without downloading the record."""

    id: str
    state: str
    severity: str
    rule: str
    pending: bool
    labels: dict[str, str]


@dataclass(frozen=True)
class ActiveEntry:
    """A marker of a firing alert, with its identity (rule and labels never change for an alert)."""

    id: str
    rule: str
    labels: dict[str, str]
    since: datetime


@dataclass(frozen=True)
class PendingEntry:
    delivery_id: str
    alert_id: str
    seq: int
    sink: str
    next_attempt_at: datetime


def _meta(value: str) -> str:
    """Blob metadata values must be plain ASCII header values."""
    return quote(value, safe="")


#: Encoded labels up to this size ride in the blob's metadata; Azure caps a blob's metadata at 8 KB in
#: all, so larger label sets (up to 200 labels of 256 characters are valid) stay in the body and the
#: listing downloads those few blobs instead of refusing to store the alert.
LABELS_IN_METADATA = 4096
LABELS_IN_BODY = "labelsInBody"


def _labels_metadata(labels: dict[str, str]) -> dict[str, str]:
    encoded = _meta(json.dumps(labels, separators=(",", ":")))
    return {"labels": encoded} if len(encoded) <= LABELS_IN_METADATA else {LABELS_IN_BODY: "1"}


def _alert_metadata(alert: Alert) -> dict[str, str]:
    return {
        "state": alert.state.value,
        "severity": alert.severity.value,
        "rule": _meta(alert.rule),
        "fingerprint": alert.fingerprint,
        "pending": "1" if alert.pending_events else "0",
        **_labels_metadata(alert.labels),
    }


def _metadata_labels(meta: dict[str, str]) -> dict[str, str]:
    return json.loads(unquote(meta.get("labels", "%7B%7D")))


class AlertRepository:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container
        self._ready = False

    # -- plumbing ------------------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._ready:
            return
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()
        self._ready = True

    def _list(self, prefix: str, metadata: bool = False) -> Iterator[Any]:
        self._ensure()
        return iter(
            self._container.list_blobs(name_starts_with=prefix, include=["metadata"] if metadata else None)
        )

    def _read(self, name: str) -> Versioned[bytes] | None:
        self._ensure()
        try:
            downloader = self._container.get_blob_client(name).download_blob()
            return Versioned(downloader.readall(), downloader.properties.etag)
        except ResourceNotFoundError:
            return None

    def _create(
        self,
        name: str,
        data: str | bytes,
        metadata: dict[str, str] | None = None,
        settings: ContentSettings = JSON,
    ) -> str:
        self._ensure()
        try:
            result = self._container.get_blob_client(name).upload_blob(
                data, overwrite=False, metadata=metadata, content_settings=settings
            )
        except ResourceExistsError as exc:
            raise Conflict(name) from exc
        return str(result["etag"])

    def _replace(self, name: str, data: str, etag: str, metadata: dict[str, str] | None = None) -> str:
        self._ensure()
        try:
            result = self._container.get_blob_client(name).upload_blob(
                data,
                overwrite=True,
                metadata=metadata,
                content_settings=JSON,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise Conflict(name) from exc
        return str(result["etag"])

    def _put(
        self,
        name: str,
        data: str | bytes,
        settings: ContentSettings = JSON,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self._ensure()
        self._container.get_blob_client(name).upload_blob(
            data, overwrite=True, content_settings=settings, metadata=metadata
        )

    # -- alerts --------------------------------------------------------------------------------------

    def get_alert(self, alert_id: str) -> Versioned[Alert] | None:
        raw = self._read(f"{ALERTS}{alert_id}.json")
        return Versioned(Alert.model_validate_json(raw.value), raw.etag) if raw else None

    def latest_episode(self, fingerprint: str) -> Versioned[Alert] | None:
        """The newest alert of a fingerprint (open, acknowledged, or the last resolved one)."""
        names = [b.name for b in self._list(f"{ALERTS}{fingerprint}-")]
        if not names:
            return None
        newest = max(names, key=lambda n: int(n.removesuffix(".json").rsplit("-", 1)[1]))
        return self.get_alert(newest.removeprefix(ALERTS).removesuffix(".json"))

    def create_alert(self, alert: Alert) -> Versioned[Alert]:
        return Versioned(
            alert, self._create(f"{ALERTS}{alert.id}.json", alert.to_json(), _alert_metadata(alert))
        )

    def replace_alert(self, alert: Alert, etag: str) -> Versioned[Alert]:
        name = f"{ALERTS}{alert.id}.json"
        return Versioned(alert, self._replace(name, alert.to_json(), etag, _alert_metadata(alert)))

    def alert_index(self) -> list[AlertIndexEntry]:
        entries = []
        for blob in self._list(ALERTS, metadata=True):
            meta = blob.metadata or {}
            alert_id = blob.name.removeprefix(ALERTS).removesuffix(".json")
            labels = _metadata_labels(meta)
            if meta.get(LABELS_IN_BODY) == "1":
                record = self.get_alert(alert_id)
                if record is None:  # deleted since the listing
                    continue
                labels = record.value.labels
            entries.append(
                AlertIndexEntry(
                    id=alert_id,
                    state=meta.get("state", ""),
                    severity=meta.get("severity", ""),
                    rule=unquote(meta.get("rule", "")),
                    pending=meta.get("pending") == "1",
                    labels=labels,
                )
            )
        return entries

    def mark_active(self, alert: Alert) -> None:
        """Written before an alert is created and removed after it is resolved and flushed, so the markers
        always cover every firing alert: the timer and inhibition scan these, not every alert ever."""
        meta = {"rule": _meta(alert.rule), **_labels_metadata(alert.labels)}
        body = json.dumps(alert.labels, separators=(",", ":")).encode() if LABELS_IN_BODY in meta else b""
        self._put(f"{ACTIVE}{alert.id}", body, metadata=meta)

    def unmark_active(self, alert_id: str) -> None:
        self._ensure()
        with contextlib.suppress(ResourceNotFoundError):
            self._container.get_blob_client(f"{ACTIVE}{alert_id}").delete_blob()

    def active_index(self) -> list[ActiveEntry]:
        entries = []
        for blob in self._list(ACTIVE, metadata=True):
            meta = blob.metadata or {}
            labels = _metadata_labels(meta)
            if meta.get(LABELS_IN_BODY) == "1":
                body = self._read(blob.name)
                if body is None:  # unmarked since the listing
                    continue
                labels = json.loads(body.value)
            entries.append(
                ActiveEntry(
                    id=blob.name.removeprefix(ACTIVE),
                    rule=unquote(meta.get("rule", "")),
                    labels=labels,
                    since=blob.last_modified,
                )
            )
        return entries

    def load_alerts(self, ids: Iterable[str]) -> list[Versioned[Alert]]:
        """The alerts that exist and parse. A record that does not parse is logged and left out, so one
        corrupt blob cannot stop the timer from serving every other alert."""
        found = []
        for alert_id in ids:
            try:
                alert = self.get_alert(alert_id)
            except ValueError as exc:  # pydantic's ValidationError and JSON errors are ValueErrors
                log.error("alert record %s does not parse and is skipped: %s", alert_id, str(exc).splitlines()[0])
                continue
            if alert is not None:
                found.append(alert)
        return found

    # -- reports and the notification log ------------------------------------------------------------

    def put_report(self, alert_id: str, html: str) -> None:
        self._put(
            f"{REPORTS}{alert_id}.html",
            html.encode(),
            ContentSettings(content_type="text/html; charset=utf-8"),
        )

    def get_report(self, alert_id: str) -> str | None:
        raw = self._read(f"{REPORTS}{alert_id}.html")
        return raw.value.decode() if raw else None

    def put_notification(self, event_id: str, document: dict[str, Any]) -> None:
        self._put(f"{NOTIFICATIONS}{event_id}.json", json.dumps(document))

    def get_notification(self, event_id: str) -> dict[str, Any] | None:
        raw = self._read(f"{NOTIFICATIONS}{event_id}.json")
        return json.loads(raw.value) if raw else None

    # -- silences ------------------------------------------------------------------------------------

    def create_silence(self, silence: Silence) -> None:
        self._create(f"{SILENCES}{silence.id}.json", silence.to_json(), {"ends": silence.ends_at.isoformat()})

    def get_silence(self, silence_id: str) -> Versioned[Silence] | None:
        raw = self._read(f"{SILENCES}{silence_id}.json")
        return Versioned(Silence.model_validate_json(raw.value), raw.etag) if raw else None

    def replace_silence(self, silence: Silence, etag: str) -> None:
        self._replace(
            f"{SILENCES}{silence.id}.json", silence.to_json(), etag, {"ends": silence.ends_at.isoformat()}
        )

    def list_silences(
        self, ending_after: datetime | None = None, unreadable: list[dict[str, str]] | None = None
    ) -> list[Silence]:
        """All silences, or only those that end after a moment (skips downloading long-expired ones). Those
        that no longer parse are left out and, when `unreadable` is given, added to it with the reason."""
        out = []
        for blob in self._list(SILENCES, metadata=True):
            ends = (blob.metadata or {}).get("ends")
            if ending_after is not None and ends and datetime.fromisoformat(ends) <= ending_after:
                continue
            silence_id = blob.name.removeprefix(SILENCES).removesuffix(".json")
            try:
                found = self.get_silence(silence_id)
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                # A silence that no longer parses (e.g. a pattern RE2 refuses, stored before matchers were
                # RE2) silences nothing: alerts go out rather than every alert failing on it.
                log.error("silence %s does not parse and is ignored: %s", silence_id, exc)
                if unreadable is not None:
                    unreadable.append({"id": silence_id, "error": str(exc)[:1000]})
                continue
            if found:
                out.append(found.value)
        return out

    # -- outbox --------------------------------------------------------------------------------------

    def enqueue(self, item: OutboxItem) -> bool:
        """Create the pending delivery unless it exists already (re-enqueueing is harmless)."""
        meta = {
            "next": item.next_attempt_at.isoformat(),
            "alert": item.notification.alert_id,
            "seq": str(item.seq),
            "sink": item.sink,
        }
        try:
            self._create(f"{PENDING}{item.delivery_id}.json", item.to_json(), meta)
        except Conflict:
            return False
        return True

    def pending_index(self) -> list[PendingEntry]:
        entries = []
        for blob in self._list(PENDING, metadata=True):
            meta = blob.metadata or {}
            try:
                entries.append(
                    PendingEntry(
                        delivery_id=blob.name.removeprefix(PENDING).removesuffix(".json"),
                        alert_id=meta.get("alert", ""),
                        seq=int(meta.get("seq", "0")),
                        sink=meta.get("sink", ""),
                        next_attempt_at=datetime.fromisoformat(meta["next"]),
                    )
                )
            except (KeyError, ValueError) as exc:  # a blob without our metadata: skip it, keep draining
                log.error("pending delivery %s has unreadable metadata and is skipped: %r", blob.name, exc)
        return entries

    def lease_pending(self, delivery_id: str) -> BlobLeaseClient | None:
        """Take the delivery for 60 s; None if another worker holds it or it is gone."""
        self._ensure()
        lease = BlobLeaseClient(self._container.get_blob_client(f"{PENDING}{delivery_id}.json"))
        try:
            lease.acquire(lease_duration=LEASE_SECONDS)
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            if exc.status_code == 409:
                return None
            raise
        return lease

    def read_pending(self, delivery_id: str) -> OutboxItem | None:
        raw = self._read(f"{PENDING}{delivery_id}.json")
        return OutboxItem.model_validate_json(raw.value) if raw else None

    def reschedule(self, item: OutboxItem, lease: BlobLeaseClient) -> None:
        meta = {
            "next": item.next_attempt_at.isoformat(),
            "alert": item.notification.alert_id,
            "seq": str(item.seq),
            "sink": item.sink,
        }
        self._container.get_blob_client(f"{PENDING}{item.delivery_id}.json").upload_blob(
            item.to_json(), overwrite=True, metadata=meta, content_settings=JSON, lease=lease
        )

    def remove_pending(self, delivery_id: str, lease: BlobLeaseClient | None) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._container.get_blob_client(f"{PENDING}{delivery_id}.json").delete_blob(lease=lease)

    def release(self, lease: BlobLeaseClient) -> None:
        with contextlib.suppress(HttpResponseError):  # expired, or the blob is gone: nothing held any more
            lease.release()

    def is_done(self, delivery_id: str) -> bool:
        self._ensure()
        return bool(self._container.get_blob_client(f"{DONE}{delivery_id}.json").exists())

    def finish(self, record: DeliveryRecord) -> None:
        """Write the delivery's final record first (so a crash after it never re-sends), and the dead
        letter when it was given up on."""
        if record.outcome == "dead-lettered":
            self._put(f"{DEADLETTER}{record.delivery_id}.json", record.to_json())
        self._put(f"{DONE}{record.delivery_id}.json", record.to_json())

    def get_done(self, delivery_id: str) -> DeliveryRecord | None:
        raw = self._read(f"{DONE}{delivery_id}.json")
        return DeliveryRecord.model_validate_json(raw.value) if raw else None

    def dead_letters(self) -> list[DeliveryRecord]:
        out = []
        for blob in self._list(DEADLETTER):
            raw = self._read(blob.name)
            if raw:
                out.append(DeliveryRecord.model_validate_json(raw.value))
        return out
