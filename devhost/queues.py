"""Queue-triggered functions: poll Azurite, invoke, delete, retry, poison, like the real host.

A batch (host.json batchSize) is received invisible for 10 minutes (kept invisible while the function
runs) and processed in parallel. Success deletes the message; failure makes it visible again after
visibilityTimeout; once a message has failed maxDequeueCount times it is copied, unchanged, to
`<queue>-poison` and deleted. Bodies are decoded per host.json messageEncoding (base64 by default).
Unlike the real host, a body that is not valid base64 is passed through as raw text with a warning
instead of failing. Polling backs off to maxPollingInterval when idle. A message is never deleted
unless its function succeeded or it went to the poison queue.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from azure.functions import meta
from azure.functions.queue import QueueMessageInConverter

from devhost.expressions import resolve_app_settings
from devhost.indexing import FunctionSpec
from devhost.invoker import Invoker
from devhost.jsonsafe import loads
from devhost.settings import QueueOptions
from devhost.storage import StorageClients

log = logging.getLogger("devhost.queues")
INVISIBLE_SECONDS = 600
MIN_POLL = 0.05


def decode_body(raw: str, encoding: str, where: str) -> str | bytes:
    if encoding != "base64":
        return raw
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        log.warning(
            "%s: message is not valid base64; passing it as raw text (the real host would fail it)", where
        )
        return raw
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def trigger_input(body: str | bytes, fields: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The func.QueueMessage (built by the library's converter) and the binding-expression data."""
    datums = {
        "Id": meta.Datum(fields["Id"], "string"),
        "DequeueCount": meta.Datum(int(fields["DequeueCount"]), "int"),
        "PopReceipt": meta.Datum(fields.get("PopReceipt") or "", "string"),
    }
    for name in ("InsertionTime", "ExpirationTime", "NextVisibleTime"):
        if fields.get(name):
            datums[name] = meta.Datum(fields[name], "string")
    kind = "string" if isinstance(body, str) else "bytes"
    message = QueueMessageInConverter.decode(meta.Datum(body, kind), trigger_metadata=datums)
    metadata: dict[str, Any] = {}
    text = body if isinstance(body, str) else body.decode("utf-8", "replace")
    try:
        parsed = loads(text)
    except ValueError:  # not JSON or too deep (TooDeep): no binding data from the body
        parsed = None
    if isinstance(parsed, dict):
        metadata.update(parsed)
    metadata.update({k: v for k, v in fields.items() if v is not None})
    metadata["QueueTrigger"] = text
    return message, metadata


def manual_fields() -> dict[str, Any]:
    """Trigger data for a message given through the admin API rather than read from a queue."""
    now = dt.datetime.now(dt.UTC)
    return {
        "Id": str(uuid.uuid4()),
        "DequeueCount": 1,
        "PopReceipt": "",
        "InsertionTime": _iso(now),
        "ExpirationTime": _iso(now + dt.timedelta(days=7)),
        "NextVisibleTime": _iso(now),
    }


class QueueTrigger:
    def __init__(
        self,
        spec: FunctionSpec,
        environ: Mapping[str, str],
        options: QueueOptions,
        storage: StorageClients,
        invoker: Invoker,
        stopping: asyncio.Event,
    ) -> None:
        where = f"function {spec.name!r} queueName"
        self.spec = spec
        self.queue_name = resolve_app_settings(
            str(spec.trigger.attrs.get("queueName", "")), environ, where
        ).lower()
        connection = spec.trigger.attrs.get("connection")
        self.options = options
        self.client = storage.queue(self.queue_name, connection)
        self.poison = storage.queue(f"{self.queue_name}-poison", connection)
        self._invoker = invoker
        self._stopping = stopping

    def ensure_queue(self) -> None:
        """Create the queue if missing (sync: called from a thread at start)."""
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            self.client.create_queue()

    async def run(self) -> None:
        delay = MIN_POLL
        while not self._stopping.is_set():
            try:
                received = await self.poll_once()
            except Exception as exc:
                log.error("queue %s: polling failed: %s", self.queue_name, exc)
                received = 0
            delay = MIN_POLL if received else min(delay * 2, max(self.options.max_polling_interval, MIN_POLL))
            if received:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    async def poll_once(self) -> int:
        batch = self.options.batch_size

        def receive() -> list[Any]:
            pages = self.client.receive_messages(
                messages_per_page=batch, max_messages=batch, visibility_timeout=INVISIBLE_SECONDS
            )
            return list(pages)

        messages = await asyncio.to_thread(receive)
        outcomes = await asyncio.gather(*(self.process(m) for m in messages), return_exceptions=True)
        for message, outcome in zip(messages, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("queue %s message %s: could not complete: %s", self.queue_name, message.id, outcome)
        return len(messages)

    async def process(self, message: Any) -> None:
        where = f"queue {self.queue_name} message {message.id}"
        if message.dequeue_count > self.options.max_dequeue_count:  # failed before a crash, never finished
            await self._to_poison(message)
            return
        fields = {
            "Id": message.id,
            "DequeueCount": message.dequeue_count,
            "PopReceipt": message.pop_receipt,
            "InsertionTime": _iso(message.inserted_on),
            "ExpirationTime": _iso(message.expires_on),
            "NextVisibleTime": _iso(message.next_visible_on),
        }
        body = decode_body(message.content or "", self.options.message_encoding, where)
        trigger, metadata = trigger_input(body, fields)
        holder = _Invisible(self.client, message)
        keeper = asyncio.create_task(holder.keep())
        try:
            result = await self._invoker.invoke(
                self.spec, trigger, metadata, message_id=message.id, dequeue_count=message.dequeue_count
            )
        finally:
            keeper.cancel()
        await self._complete(holder.message, result.succeeded)

    async def _complete(self, message: Any, succeeded: bool) -> None:
        if succeeded:
            await asyncio.to_thread(self.client.delete_message, message.id, message.pop_receipt)
        elif message.dequeue_count >= self.options.max_dequeue_count:
            await self._to_poison(message)
        else:
            timeout = round(self.options.visibility_timeout)
            await asyncio.to_thread(
                self.client.update_message, message.id, message.pop_receipt, visibility_timeout=timeout
            )

    async def _to_poison(self, message: Any) -> None:
        log.warning(
            "Message %s has reached MaxDequeueCount of %d. Moving message to queue '%s-poison'.",
            message.id,
            self.options.max_dequeue_count,
            self.queue_name,
        )

        def move() -> None:
            from azure.core.exceptions import ResourceNotFoundError

            try:
                self.poison.send_message(message.content)
            except ResourceNotFoundError:
                self.poison.create_queue()
                self.poison.send_message(message.content)
            self.client.delete_message(message.id, message.pop_receipt)

        await asyncio.to_thread(move)


class _Invisible:
    """Keeps a message invisible while its function runs longer than the receive timeout allows."""

    def __init__(self, client: Any, message: Any) -> None:
        self.client = client
        self.message = message

    def _extend(self) -> None:
        # The new pop receipt is stored in the thread itself, so a cancelled await cannot lose it.
        updated = self.client.update_message(
            self.message.id, self.message.pop_receipt, visibility_timeout=INVISIBLE_SECONDS
        )
        self.message.pop_receipt = updated.pop_receipt
        self.message.next_visible_on = updated.next_visible_on

    async def keep(self) -> None:
        while True:
            await asyncio.sleep(INVISIBLE_SECONDS / 2)
            try:
                await asyncio.to_thread(self._extend)
            except Exception as exc:
                log.warning("message %s: could not extend its invisibility: %s", self.message.id, exc)
