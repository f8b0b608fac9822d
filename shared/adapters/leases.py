"""Blob leases as cross-instance locks for work that must happen once at a time (a rollback of an endpoint).

`hold(name)` yields a held lease or None when another instance holds it: callers skip or answer "busy", they
never wait. The lease lasts 60 s (Azure's longest finite lease) and the work under it is bounded well within
that (a traffic change is waited for by the adapter with its own timeout). The container client is a parameter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

PREFIX = "leases/"
LEASE_SECONDS = 60


class BlobLeases:
    def __init__(self, container: ContainerClient, seconds: int = LEASE_SECONDS) -> None:
        self._container = container
        self._seconds = seconds

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[Any | None]:
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        blob = self._container.get_blob_client(PREFIX + name)
        with contextlib.suppress(ResourceExistsError):
            blob.upload_blob(b"", overwrite=False)
        try:
            lease = blob.acquire_lease(lease_duration=self._seconds)
        except HttpResponseError as exc:
            if exc.status_code == 409:  # LeaseAlreadyPresent: someone else is doing it
                yield None
                return
            raise
        try:
            yield lease
        finally:
            with contextlib.suppress(HttpResponseError):
                lease.release()
