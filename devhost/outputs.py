"""Output bindings: what a function `set()` (or returned), turned into queue messages and blobs.

Like the real host, outputs are written only after the function returns successfully, and a value the
binding cannot carry fails the invocation with a message naming the function and binding. Queue
messages are encoded as host.json `messageEncoding` says (base64 by default). This module never
invokes user code.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Mapping
from typing import Any

import azure.functions as func

from devhost.expressions import resolve_app_settings, resolve_binding_expression
from devhost.indexing import BindingSpec
from devhost.storage import StorageClients

log = logging.getLogger("devhost.outputs")


class OutputError(Exception):
    """A value set on an output binding that the binding cannot write."""


class Out(func.Out):
    """The `func.Out[T]` handed to a function for each output parameter."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


def _message_text(item: Any, where: str) -> str | bytes:
    if isinstance(item, str | bytes):
        return item
    if isinstance(item, bytearray):
        return bytes(item)
    if isinstance(item, func.QueueMessage):
        return item.get_body()
    if isinstance(item, dict):
        return json.dumps(item)
    raise OutputError(f"{where}: cannot send a {type(item).__name__} as a queue message (str, bytes or dict)")


def queue_messages(value: Any, where: str) -> list[str | bytes]:
    """One message per item: a str/bytes/dict is one message, a list or tuple is several."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_message_text(item, where) for item in value]
    return [_message_text(value, where)]


def encode_queue_message(body: str | bytes, encoding: str) -> str:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if encoding == "base64":
        return base64.b64encode(raw).decode("ascii")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OutputError(
            "binary queue message with messageEncoding 'none': use base64 or send text"
        ) from None


def blob_content(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if hasattr(value, "read"):
        data = value.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise OutputError(f"{where}: cannot write a {type(value).__name__} to a blob (str, bytes or a stream)")


def check_http_output(value: Any, where: str) -> None:
    if value is None or isinstance(value, str | func.HttpResponse):
        return
    raise OutputError(
        f"{where}: an HTTP function must return func.HttpResponse or str, got {type(value).__name__}"
    )


class OutputWriter:
    """Writes the queue and blob outputs of one successful invocation."""

    def __init__(self, storage: StorageClients, environ: Mapping[str, str], queue_encoding: str) -> None:
        self._storage = storage
        self._environ = environ
        self._encoding = queue_encoding

    async def write(
        self,
        function: str,
        values: Mapping[str, Any],
        bindings: tuple[BindingSpec, ...],
        metadata: Mapping[str, Any],
    ) -> None:
        for binding in bindings:
            where = f"function {function!r} output {binding.name!r}"
            value = values.get(binding.name)
            if binding.type == "http":
                check_http_output(value, where)
            elif value is None:
                continue
            elif binding.type == "queue":
                await self._write_queue(binding, value, metadata, where)
            elif binding.type == "blob":
                await self._write_blob(binding, value, metadata, where)

    def _resolve(self, template: str, metadata: Mapping[str, Any], where: str) -> str:
        return resolve_binding_expression(
            resolve_app_settings(template, self._environ, where), metadata, where
        )

    async def _write_queue(
        self, binding: BindingSpec, value: Any, metadata: Mapping[str, Any], where: str
    ) -> None:
        name = self._resolve(str(binding.attrs.get("queueName", "")), metadata, where).lower()
        bodies = [encode_queue_message(m, self._encoding) for m in queue_messages(value, where)]
        client = self._storage.queue(name, binding.attrs.get("connection"))

        def send() -> None:
            from azure.core.exceptions import ResourceNotFoundError

            for body in bodies:
                try:
                    client.send_message(body)
                except ResourceNotFoundError:
                    client.create_queue()
                    client.send_message(body)

        await asyncio.to_thread(send)
        log.debug("%s: %d message(s) to queue %s", where, len(bodies), name)

    async def _write_blob(
        self, binding: BindingSpec, value: Any, metadata: Mapping[str, Any], where: str
    ) -> None:
        path = self._resolve(str(binding.attrs.get("path", "")), metadata, where)
        container, _, blob = path.partition("/")
        if not container or not blob:
            raise OutputError(f"{where}: blob path {path!r} must be 'container/blob'")
        content = blob_content(value, where)
        service = self._storage.blob_service(binding.attrs.get("connection"))

        def upload() -> None:
            from azure.core.exceptions import ResourceNotFoundError

            client = service.get_blob_client(container, blob)
            try:
                client.upload_blob(content, overwrite=True)
            except ResourceNotFoundError:
                try:
                    service.create_container(container)
                except Exception as exc:  # another writer may have created it meanwhile
                    if getattr(exc, "error_code", None) != "ContainerAlreadyExists":
                        raise
                client.upload_blob(content, overwrite=True)

        await asyncio.to_thread(upload)
        log.debug("%s: wrote blob %s (%d bytes)", where, path, len(content))
