"""Small documents the checks keep in the state container: latest verdicts and check state.

`verdicts/{endpoint}/{deployment or _endpoint}/{check}.json` holds the latest verdict of each check per
target (what `GET /api/endpoints` and the probe show); a verdict never overwrites a newer one, so a late
retry of an old job cannot hide today's answer. `state/...` holds what a check carries between runs
(reference profiles, the sweep's schedule, the cost cache). The container client is a parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitors.verdict import Verdict

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

VERDICTS = "verdicts/"
STATE = "state/"
MAX_RACE_RETRIES = 10


def _segment(value: str | None, empty: str) -> str:
    return (value or empty).replace("/", "_")


class BlobStateStore:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def get_bytes(self, name: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._container.download_blob(STATE + name).readall()
        except ResourceNotFoundError:
            return None

    def put_bytes(self, name: str, value: bytes, content_type: str = "application/octet-stream") -> None:
        from azure.storage.blob import ContentSettings

        self._container.upload_blob(STATE + name, value, overwrite=True,
                                    content_settings=ContentSettings(content_type=content_type))

    def get_json(self, name: str) -> dict[str, Any] | None:
        raw = self.get_bytes(name)
        return json.loads(raw) if raw is not None else None

    def put_json(self, name: str, value: dict[str, Any]) -> None:
        self.put_bytes(name, json.dumps(value, default=str).encode(), "application/json")

    def create_json(self, name: str, value: dict[str, Any]) -> bool:
        """Write only if nothing is there yet (If-None-Match): True for the one caller that created it."""
        from azure.core.exceptions import ResourceExistsError

        try:
            self._container.upload_blob(STATE + name, json.dumps(value, default=str), overwrite=False)
            return True
        except ResourceExistsError:
            return False

    def update_json(self, name: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None]
                    ) -> dict[str, Any] | None:
        """Read-change-write with an ETag condition, retried on a lost race; `change` returning None writes
        nothing. Returns what was written (or None)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

        blob = self._container.get_blob_client(STATE + name)
        for _ in range(MAX_RACE_RETRIES):
            try:
                download = blob.download_blob()
                current, etag = json.loads(download.readall()), download.properties.etag
            except ResourceNotFoundError:
                current, etag = None, None
            after = change(current)
            if after is None:
                return None
            body = json.dumps(after, default=str)
            try:
                if etag is None:
                    blob.upload_blob(body, overwrite=False)
                else:
                    blob.upload_blob(body, overwrite=True, etag=etag, match_condition=MatchConditions.IfNotModified)
                return after
            except (ResourceExistsError, ResourceModifiedError):
                continue
        raise RuntimeError(f"state {name}: gave up after {MAX_RACE_RETRIES} concurrent-update retries")

    def list_json(self, prefix: str) -> list[dict[str, Any]]:
        out = []
        for item in self._container.list_blobs(name_starts_with=STATE + prefix):
            if item.name.endswith(".json"):
                out.append(json.loads(self._container.download_blob(item.name).readall()))
        return out


class BlobVerdictStore:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def put(self, verdict: Verdict) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

        name = (f"{VERDICTS}{_segment(verdict.endpoint, '_workspace')}/"
                f"{_segment(verdict.deployment, '_endpoint')}/{verdict.check}.json")
        blob = self._container.get_blob_client(name)
        body = json.dumps(verdict.to_dict(), default=str)
        for _ in range(MAX_RACE_RETRIES):
            try:
                current = blob.download_blob()
            except ResourceNotFoundError:
                try:
                    blob.upload_blob(body, overwrite=False)
                    return
                except ResourceExistsError:
                    continue
            stored = json.loads(current.readall())
            if datetime.fromisoformat(stored["at"]) > verdict.at:
                return  # a newer verdict is already there
            try:
                blob.upload_blob(body, overwrite=True, etag=current.properties.etag,
                                 match_condition=MatchConditions.IfNotModified)
                return
            except ResourceModifiedError:
                continue

    def _read(self, prefix: str) -> list[Verdict]:
        out = []
        for item in self._container.list_blobs(name_starts_with=prefix):
            raw = json.loads(self._container.download_blob(item.name).readall())
            out.append(Verdict.from_dict(raw))
        return out

    def for_endpoint(self, endpoint: str) -> list[Verdict]:
        return self._read(f"{VERDICTS}{_segment(endpoint, '_workspace')}/")

    def for_workspace(self) -> list[Verdict]:
        return self._read(f"{VERDICTS}_workspace/")
