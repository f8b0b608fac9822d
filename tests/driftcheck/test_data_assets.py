"""The data-assets adapter through the real MLClient and blob client against the emulator and Azurite: every way
Azure ML names data resolves to the same blob, and downloading says exactly what it read."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from shared.adapters.data_assets import DataAssets, UnreadableData
from tests.fixtures.emulator import EmulatorHandle

TRAIN_1 = "training/credit/1/train.csv"  # credit:1's training file (credit-training:1)


@pytest.fixture
def assets(ml: Any, emulator: EmulatorHandle) -> DataAssets:
    service = BlobServiceClient.from_connection_string(emulator.connection_string)
    return DataAssets(ml, lambda store: service.get_container_client(ml.datastores.get(store).container_name),
                      sleep=lambda _: None)


@pytest.mark.parametrize("uri, asset", [
    ("azureml:credit-training:1", "credit-training:1"),
    ("azureml:credit-training@latest", "credit-training:2"),
    ("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-test/providers/"
     "Microsoft.MachineLearningServices/workspaces/mlw-test/data/credit-training/versions/1", "credit-training:1"),
])
def test_a_data_asset_named_any_way_resolves_to_its_file(assets: DataAssets, uri: str, asset: str) -> None:
    location = assets.resolve(uri)
    version = asset.rsplit(":", 1)[1]
    assert (location.datastore, location.kind, location.asset) == ("workspaceblobstore", "uri_file", asset)
    assert location.path == f"training/credit/{version}/train.csv"


@pytest.mark.parametrize("uri, path, kind", [
    ("azureml://datastores/workspaceblobstore/paths/training/credit/1/train.csv", TRAIN_1, "uri_file"),
    ("azureml://datastores/workspaceblobstore/paths/training/credit/1", "training/credit/1/", "uri_folder"),
    ("azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/training/",
     "training/", "uri_folder"),
])
def test_a_datastore_path_is_a_file_when_a_blob_has_that_name_else_a_folder(
    assets: DataAssets, uri: str, path: str, kind: str
) -> None:
    location = assets.resolve(uri)
    assert (location.path, location.kind, location.asset) == (path, kind, None)


def test_downloading_hashes_the_names_and_bytes_it_read(assets: DataAssets, tmp_path: Path) -> None:
    data = assets.download(assets.resolve("azureml://datastores/workspaceblobstore/paths/training/"), tmp_path)
    blobs = [f["blob"] for f in data.files]
    assert blobs == ["training/credit/1/train.csv", "training/credit/2/train.csv"]
    expected = hashlib.sha256()
    for name in blobs:
        expected.update(name.encode() + b"\0" + (tmp_path / Path(name).relative_to("training")).read_bytes())
    assert data.sha256 == expected.hexdigest()
    assert data.total_bytes == sum((tmp_path / Path(b).relative_to("training")).stat().st_size for b in blobs)


def test_a_training_jobs_inputs_name_their_data(assets: DataAssets) -> None:
    [item] = assets.job_inputs("credit-train-2")
    assert (item.name, item.kind, item.uri) == ("training_data", "uri_file", "azureml:credit-training:2")


@pytest.mark.parametrize("uri, why", [
    ("azureml:no-such-asset:1", "does not exist"),
    ("https://account.blob.core.windows.net/c/train.csv", "neither a data asset"),
    ("azureml://datastores/no-such-store/paths/x.csv", "does not exist"),
])
def test_what_cannot_be_read_is_named_with_the_reason(assets: DataAssets, uri: str, why: str) -> None:
    with pytest.raises(UnreadableData, match=why):
        assets.resolve(uri)


def test_a_folder_without_data_files_is_unreadable(assets: DataAssets, tmp_path: Path) -> None:
    with pytest.raises(UnreadableData, match=r"no \.csv"):
        assets.download(assets.resolve("azureml://datastores/workspaceblobstore/paths/nothing-here/"), tmp_path)
