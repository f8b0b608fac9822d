"""A model version's reference data in Azure ML: where it is, and its files, read from blob storage.

Azure ML names data in a few ways, and this adapter resolves each through the MLClient to one blob location
(datastore, container, file or folder):

* a data asset: `azureml:<name>:<version>`, `azureml:<name>@latest`, or its id
  (`/subscriptions/.../workspaces/<ws>/data/<name>/versions/<v>`, `azureml://.../data/<name>/versions/<v>`);
* a datastore path: `azureml://datastores/<store>/paths/<path>` or the workspace-qualified long form
  `azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/datastores/<store>/paths/<path>`;
* a training job's inputs (the model version's `job_name`): each input that names one of the above.

`download` copies the data files under a location (csv, parquet, jsonl) to a local folder, streaming each
blob, and hashes what it copied (names and bytes), so a reference profile can say exactly which data it
came from. The MLClient and a function giving the ContainerClient of a datastore are parameters; nothing
here decides anything. A name that cannot be resolved or read raises `UnreadableData` naming it and why; an
Azure error worth retrying (429, 5xx, no connection) propagates after the retries, so the job is retried.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from shared.adapters.retry import RETRYABLE_STATUS, call_with_retry

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.storage.blob import ContainerClient

DATA_EXTENSIONS = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")
MAX_BYTES = 4 << 30  # a reference larger than this is refused rather than filling the instance's disk

_ASSET_SHORT = re.compile(r"^azureml:(?P<name>[^:/@]+)(?::(?P<version>[^:/@]+)|@(?P<label>[^:/@]+))$")
_ASSET_ID = re.compile(r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$", re.IGNORECASE)
_DATASTORE_PATH = re.compile(
    r"^azureml://(?:subscriptions/[^/]+/resourcegroups/[^/]+/workspaces/[^/]+/)?datastores/(?P<store>[^/]+)"
    r"/paths/(?P<path>.*)$",
    re.IGNORECASE,
)


class UnreadableData(LookupError):
    """The named data cannot be resolved or read (missing asset, job or blob; unsupported kind of URI)."""


@dataclass(frozen=True)
class ModelSource:
    """What a model version says about where its data is."""

    name: str
    version: str
    tags: dict[str, str]
    job_name: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class DataLocation:
    """One resolved place of data: a blob (`kind` uri_file) or every blob under a folder prefix."""

    uri: str  # as it was named (tag value, job input)
    datastore: str
    path: str  # inside the datastore's container; a folder ends with "/"
    kind: str  # uri_file | uri_folder | mltable
    asset: str | None = None  # "name:version" when named through a data asset
    asset_id: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"uri": self.uri, "datastore": self.datastore, "path": self.path, "kind": self.kind,
                "data_asset": self.asset, "data_asset_id": self.asset_id}


@dataclass(frozen=True)
class JobInput:
    name: str
    kind: str | None
    uri: str


@dataclass
class DownloadedData:
    location: DataLocation
    container: str
    directory: Path
    files: list[dict[str, Any]] = field(default_factory=list)  # {"blob", "bytes"} in name order
    sha256: str = ""

    @property
    def total_bytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.files)


class DataAssets:
    def __init__(self, ml_client: MLClient, container_for: Callable[[str], ContainerClient], *,
                 retry_attempts: int = 3, max_bytes: int = MAX_BYTES,
                 sleep: Callable[[float], None] | None = None) -> None:
        self._ml = ml_client
        self._container_for = container_for
        self._attempts = retry_attempts
        self._max_bytes = max_bytes
        self._sleep = sleep

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        from azure.ai.ml.exceptions import MlException
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        kwargs: dict[str, Any] = {"attempts": self._attempts}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        try:
            return call_with_retry(fn, **kwargs)
        except ResourceNotFoundError as exc:
            raise UnreadableData(f"{what} does not exist") from exc
        except MlException as exc:  # azure-ai-ml's own wrapping (an unknown label, a missing asset's container)
            raise UnreadableData(f"{what}: {_first_line(exc)}") from exc
        except HttpResponseError as exc:
            if exc.status_code in RETRYABLE_STATUS:  # Azure is busy or down: the job is retried, not given up
                raise
            raise UnreadableData(f"{what}: Azure answered {exc.status_code} ({_first_line(exc)})") from exc

    # -- what Azure ML says ------------------------------------------------------------------------------
    def model_source(self, name: str, version: str) -> ModelSource:
        model = self._call(lambda: self._ml.models.get(name, version=version), f"model {name}:{version}")
        context = getattr(model, "creation_context", None)
        return ModelSource(name=model.name, version=str(model.version),
                           tags={str(k): str(v) for k, v in (model.tags or {}).items()},
                           job_name=getattr(model, "job_name", None) or None,
                           created_at=getattr(context, "created_at", None))

    def job_inputs(self, job_name: str) -> list[JobInput]:
        """The job's inputs that name data (a literal number or string input is not data)."""
        job = self._call(lambda: self._ml.jobs.get(job_name), f"job {job_name!r}")
        out = []
        for name, value in (getattr(job, "inputs", None) or {}).items():
            uri = getattr(value, "path", None)
            if isinstance(uri, str) and uri:
                out.append(JobInput(name, getattr(value, "type", None), uri))
        return out

    def resolve(self, uri: str) -> DataLocation:
        """The blob location a data asset or datastore path names."""
        text = uri.strip()
        short, by_id = _ASSET_SHORT.match(text), _ASSET_ID.search(text)
        if short or by_id:
            return self._asset(text, short, by_id)
        store = _DATASTORE_PATH.match(text)
        if store:
            return self._datastore_path(text, store.group("store"), store.group("path"), None)
        raise UnreadableData(
            f"{uri!r} is neither a data asset (azureml:<name>:<version>) nor a datastore path "
            "(azureml://datastores/<store>/paths/<path>)"
        )

    def _asset(self, uri: str, short: re.Match[str] | None, by_id: re.Match[str] | None) -> DataLocation:
        match = short or by_id
        assert match is not None
        name, version = match.group("name"), match.group("version")
        label = short.group("label") if short else None
        what = f"data asset {name}:{version or '@' + str(label)}"
        asset = self._call(lambda: self._ml.data.get(name, version=version, label=label), what)
        path = str(getattr(asset, "path", "") or "")
        store = _DATASTORE_PATH.match(path)
        if not store:
            raise UnreadableData(f"{what} points at {path!r}, which is not a datastore path this monitor reads "
                                 "(azureml://datastores/<store>/paths/<path>)")
        kind = str(getattr(asset, "type", "") or "uri_folder")
        return self._datastore_path(uri, store.group("store"), store.group("path"),
                                    f"{asset.name}:{asset.version}", kind, getattr(asset, "id", None))

    def _datastore_path(self, uri: str, store: str, path: str, asset: str | None, kind: str | None = None,
                        asset_id: str | None = None) -> DataLocation:
        path = path.lstrip("/")
        if kind is None:
            kind = "uri_folder" if not path or path.endswith("/") or not self._is_blob(store, path) else "uri_file"
        if kind != "uri_file" and path and not path.endswith("/"):
            path += "/"
        return DataLocation(uri, store, path, kind, asset, asset_id)

    def _is_blob(self, store: str, path: str) -> bool:
        return bool(self._container(store).get_blob_client(path).exists())

    def _container(self, store: str) -> ContainerClient:
        try:
            return self._container_for(store)
        except UnreadableData:
            raise
        except Exception as exc:  # the datastore lookup goes through the MLClient
            from azure.core.exceptions import ResourceNotFoundError

            if isinstance(exc, ResourceNotFoundError):
                raise UnreadableData(f"datastore {store!r} does not exist") from exc
            raise

    # -- the files -------------------------------------------------------------------------------------
    def download(self, location: DataLocation, directory: Path) -> DownloadedData:
        """Copy the data files at `location` into `directory` (streamed), hashing names and bytes in order."""
        from azure.core.exceptions import ResourceNotFoundError

        container = self._container(location.datastore)
        if location.kind == "uri_file":
            names = [location.path]
        else:
            names = sorted(b.name for b in container.list_blobs(name_starts_with=location.path)
                           if b.name.lower().endswith(DATA_EXTENSIONS))
            if not names:
                raise UnreadableData(f"no {', '.join(DATA_EXTENSIONS)} files under {location.uri} "
                                     f"(container {container.container_name}, prefix {location.path!r})")
        out = DownloadedData(location, container.container_name, directory)
        digest = hashlib.sha256()
        for name in names:
            relative = PurePosixPath(name).relative_to(location.path) if location.kind != "uri_file" else None
            target = directory / (str(relative) if relative else PurePosixPath(name).name)
            target.parent.mkdir(parents=True, exist_ok=True)
            digest.update(name.encode() + b"\0")
            size = 0
            try:
                stream = container.download_blob(name)
                with open(target, "wb") as handle:
                    for chunk in stream.chunks():
                        size += len(chunk)
                        if out.total_bytes + size > self._max_bytes:
                            raise UnreadableData(f"{location.uri} holds more than {self._max_bytes} bytes; "
                                                 "profile a sample of it instead")
                        digest.update(chunk)
                        handle.write(chunk)
            except ResourceNotFoundError as exc:
                raise UnreadableData(f"blob {name!r} of {location.uri} does not exist in container "
                                     f"{container.container_name}") from exc
            out.files.append({"blob": name, "bytes": size})
        out.sha256 = digest.hexdigest()
        return out


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(exc: Exception) -> str:
    """The first line that says something (azure-ai-ml's messages open with colour codes and blank lines)."""
    text = _ANSI.sub("", str(getattr(exc, "message", None) or exc))
    lines = [line.strip().removeprefix("(x) ") for line in text.splitlines() if line.strip()]
    telling = [line for line in lines if not line.endswith(":") and not re.match(r"^\d+\) ", line)]
    return (telling or lines or [type(exc).__name__])[0]
