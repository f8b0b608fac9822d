"""Blob leases as cross-process locks: one timer run at a time per function, across every devhost.

A lock is a blob `locks/{hostId}/{name}` in the `azure-webjobs-hosts` container; holding its lease
(15 s, renewed every 5 s while held) is holding the lock. If another process holds it, `try_acquire`
returns None at once: callers skip, they never wait. Every lease this process holds is tracked so
shutdown can release them. The lock blob's metadata can carry a small marker (the last schedule
occurrence run) written under the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from devhost.storage import HOSTS_CONTAINER, StorageClients

log = logging.getLogger("devhost.leases")
LEASE_SECONDS = 15
RENEW_EVERY = 5.0


def _is_conflict(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 409 or getattr(exc, "error_code", None) in (
        "LeaseAlreadyPresent",
        "BlobAlreadyExists",
        "ContainerAlreadyExists",
    )


class HeldLease:
    """A lease this process holds; renewed in the background until released."""

    def __init__(self, blob: Any, lease: Any, owner: BlobLocks) -> None:
        self.blob = blob
        self.lease = lease
        self._owner = owner
        self._renewer = asyncio.create_task(self._renew(), name=f"renew {blob.blob_name}")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                await asyncio.to_thread(self.lease.renew)
            except Exception as exc:
                log.warning("lost the lease on %s: %s", self.blob.blob_name, exc)
                return

    async def metadata(self) -> dict[str, str]:
        props = await asyncio.to_thread(self.blob.get_blob_properties, lease=self.lease)
        return dict(props.metadata or {})

    async def set_metadata(self, values: dict[str, str]) -> None:
        await asyncio.to_thread(self.blob.set_blob_metadata, values, lease=self.lease)

    async def release(self) -> None:
        self._renewer.cancel()
        self._owner.held.discard(self)
        try:
            await asyncio.to_thread(self.lease.release)
        except Exception as exc:  # expired or storage gone: it frees itself within LEASE_SECONDS
            log.warning("could not release the lease on %s: %s", self.blob.blob_name, exc)


class BlobLocks:
    def __init__(self, storage: StorageClients, host_id: str) -> None:
        self._storage = storage
        self._host_id = host_id
        self.held: set[HeldLease] = set()

    def ensure_container(self) -> None:
        """Create the hosts container once at start (sync: called from a thread)."""
        try:
            self._storage.blob_service().create_container(HOSTS_CONTAINER)
        except Exception as exc:
            if not _is_conflict(exc):
                raise

    def _try_acquire_sync(self, name: str) -> tuple[Any, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        blob = self._storage.blob_service().get_blob_client(HOSTS_CONTAINER, f"locks/{self._host_id}/{name}")
        for _ in range(2):
            try:
                return blob, blob.acquire_lease(lease_duration=LEASE_SECONDS)
            except ResourceNotFoundError:  # first use of this lock: create the blob, then lease it
                try:
                    blob.upload_blob(b"", overwrite=False)
                except Exception as exc:
                    if not _is_conflict(exc):
                        raise
            except Exception as exc:
                if _is_conflict(exc):
                    return None
                raise
        return None

    async def try_acquire(self, name: str) -> HeldLease | None:
        """The lock for `name`, or None when another holder has it."""
        acquired = await asyncio.to_thread(self._try_acquire_sync, name)
        if acquired is None:
            return None
        held = HeldLease(acquired[0], acquired[1], self)
        self.held.add(held)
        return held

    async def release_all(self) -> None:
        for held in list(self.held):
            with contextlib.suppress(Exception):
                await held.release()
