"""Idempotency records: do a thing once per key, even with duplicate and concurrent deliveries.

A record is a blob `idempotency/{key}.json` created with If-None-Match (`overwrite=False`), so exactly
one caller wins the claim. A claim that is never completed (its holder crashed) can be taken over
after `claim_timeout` with an ETag condition, so a crash never loses the work and two callers never
both take over.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

PREFIX = "idempotency/"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._:/-]{1,400}$")

ClaimStatus = Literal["new", "duplicate", "busy"]


@dataclass(frozen=True)
class Claim:
    """`new`: you hold the claim, do the work, then `complete`. `duplicate`: done before. `busy`: someone
    else holds a fresh claim right now. `token` names a `new` claim, so that giving it back can never delete
    the claim or the completion of whoever took it over meanwhile."""

    status: ClaimStatus
    key: str
    previous: dict[str, Any] | None = None
    token: str | None = None


def blob_name(key: str) -> str:
    """A plain key names its blob; any other (path tricks, huge, any Unicode) is hashed.

    `surrogatepass` encodes every str, a lone surrogate from a JSON `"\\ud800"` included, and keeps keys that
    differ only there apart (a replacing error handler would make `\\ud800` and `\\udc00` the same key)."""
    if _SAFE_KEY.match(key) and ".." not in key:
        return f"{PREFIX}{key}.json"
    return f"{PREFIX}hashed/{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}.json"


class IdempotencyStore:
    def __init__(self, container: ContainerClient, claim_timeout: timedelta = timedelta(seconds=60),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._container = container
        self._timeout = claim_timeout
        self._clock = clock

    def claim(self, key: str) -> Claim:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

        blob = self._container.get_blob_client(blob_name(key))
        token = uuid.uuid4().hex
        body = json.dumps({"state": "claimed", "key": key, "claimed_at": self._clock().isoformat(), "token": token})
        try:
            blob.upload_blob(body, overwrite=False)
            return Claim("new", key, token=token)
        except ResourceExistsError:
            pass
        try:
            download = blob.download_blob()
        except ResourceNotFoundError:
            return Claim("busy", key)  # vanished between our two calls: let the caller retry
        record = json.loads(download.readall())
        if record.get("state") == "done":
            return Claim("duplicate", key, record)
        claimed_at = datetime.fromisoformat(record["claimed_at"])
        if self._clock() - claimed_at < self._timeout:
            return Claim("busy", key, record)
        try:  # stale claim: its holder died; take it over, but only if nobody else did meanwhile
            blob.upload_blob(body, overwrite=True, etag=download.properties.etag,
                             match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            return Claim("busy", key, record)
        return Claim("new", key, record, token=token)

    def complete(self, key: str, outcome: dict[str, Any] | None = None) -> None:
        blob = self._container.get_blob_client(blob_name(key))
        body = {"state": "done", "key": key, "done_at": self._clock().isoformat(), "outcome": outcome or {}}
        blob.upload_blob(json.dumps(body, default=str), overwrite=True)

    def release(self, key: str, token: str | None = None) -> None:
        """Give a claim back after a failure, so a retry can take it at once instead of after the timeout.

        A slow holder may have been taken over as stale: its late release must not delete the new holder's
        claim (pass the claim's `token`) nor, ever, a completed record (that would let the work run again)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        blob = self._container.get_blob_client(blob_name(key))
        try:
            download = blob.download_blob()
            record = json.loads(download.readall())
            if record.get("state") == "done" or (token is not None and record.get("token") != token):
                return
            blob.delete_blob(etag=download.properties.etag, match_condition=MatchConditions.IfNotModified)
        except (ResourceNotFoundError, ResourceModifiedError):
            pass  # gone already, or changed since we read it: no longer ours to give back
