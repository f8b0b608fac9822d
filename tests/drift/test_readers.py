"""Readers turn CSV, Parquet, JSON Lines and data-collector blobs into chunks, and say where input is bad."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitors.drift import BadInputError, Batch, build_profile, compare, read_collected, read_path
from monitors.drift.readers import CollectorStats, read_csv, read_jsonl

WriteCsv = Callable[[str, list[str], list[list[object]]], Path]


def _columns(batches: list[Batch]) -> dict[str, list]:
    out: dict[str, list] = {}
    for batch in batches:
        for name, values in batch.columns.items():
            out.setdefault(name, []).extend(values.to_pylist())
    return out


def _record(rows: list[dict], **extra: object) -> str:
    record = {
        "specversion": "1.0",
        "id": "x",
        "type": "azureml.inference.model_inputs",
        "datacontenttype": "application/json",
        "time": "2024-03-05T18:16:25Z",
        "data": rows,
        "correlationid": "c",
        "xrequestid": "c",
        "modelversion": "default",
        "collectdatatype": "pandas.core.frame.DataFrame",
        "agent": "azureml-ai-monitoring/0.1.0b4",
    }
    record.update(extra)
    return json.dumps(record)


def test_csv_reads_numbers_text_and_nulls(write_csv: WriteCsv) -> None:
    path = write_csv("a.csv", ["n", "f", "s"], [[1, 1.5, "x"], [2, None, "NA"], [3, 2.5, "y"]])
    batches = list(read_path(path))
    assert _columns(batches) == {"n": [1.0, 2.0, 3.0], "f": [1.5, None, 2.5], "s": ["x", None, "y"]}
    assert batches[0].source == str(path) and batches[0].first_row == 1


def test_csv_value_of_the_wrong_type_is_reported_with_file_column_and_row(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("x,c\n" + "".join(f"{i},a\n" for i in range(20_000)) + "oops,b\n")
    with pytest.raises(BadInputError) as caught:
        list(read_csv(path, block_size=1 << 14))
    assert (caught.value.source, caught.value.column, caught.value.row) == (str(path), "x", 20_001)
    assert "'oops' is not a number" in str(caught.value)


def test_csv_ragged_row_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3\n4,5\n")
    with pytest.raises(BadInputError, match="line 3"):
        list(read_path(path))


def test_csv_column_empty_at_first_becomes_numbers_when_they_come(tmp_path: Path) -> None:
    path = tmp_path / "sparse.csv"
    path.write_text(
        "a,b\n" + "".join(f"{i},\n" for i in range(5_000)) + "".join(f"{i},{i / 2}\n" for i in range(50))
    )
    batches = list(read_csv(path, block_size=1 << 12))
    assert all(
        pa.types.is_floating(b.columns["b"].type) or pa.types.is_null(b.columns["b"].type) for b in batches
    )
    assert _columns(batches)["b"][-1] == 24.5


def test_parquet_streams_record_batches(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(
        pa.table({"x": np.arange(200_000, dtype=float), "c": ["a", "b"] * 100_000}),
        path,
        row_group_size=50_000,
    )
    batches = list(read_path(path))
    assert len(batches) > 1 and sum(b.num_rows for b in batches) == 200_000
    assert batches[1].first_row == batches[0].num_rows + 1


def test_corrupt_parquet_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(BadInputError, match=r"broken\.parquet.*Parquet"):
        list(read_path(path))


def test_jsonl_rows_with_missing_keys_read_as_nulls(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1, "b": "x"}\n{"a": 2.5}\n\n{"b": "y", "a": null}\n')
    assert _columns(list(read_path(path))) == {"a": [1.0, 2.5, None], "b": ["x", None, "y"]}


def test_jsonl_bad_line_and_mixed_types_are_located(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"line 2.*not valid JSON"):
        list(read_jsonl(b'{"a": 1}\n{"a": \n'))
    with pytest.raises(BadInputError) as caught:
        list(read_jsonl(b'{"a": 1}\n{"a": 2}\n{"a": "three"}\n'))
    assert (caught.value.line, caught.value.column) == (3, "a")


def test_collected_blobs_flatten_batched_records_into_rows() -> None:
    blob = "\n".join(
        [_record([{"AGE": 54, "LIMIT": 5.5}, {"AGE": 35, "LIMIT": 2.0}]), _record([{"AGE": 40}])]
    )
    stats = CollectorStats()
    batches = list(read_collected([blob.encode()], stats=stats))
    assert _columns(batches) == {"AGE": [54, 35, 40], "LIMIT": [5.5, 2.0, None]}
    assert (stats.blobs, stats.records, stats.rows) == (1, 2, 3)
    assert batches[0].row_lines == (1, 1, 2)


def test_collected_reader_takes_streams_named_blobs_and_paths(tmp_path: Path) -> None:
    path = tmp_path / "inst.jsonl"
    path.write_text(_record([{"a": 1.0}]) + "\n")
    sources = [
        io.BytesIO(_record([{"a": 2.0}]).encode()),
        ("hour=03/x.jsonl", _record([{"a": 3.0}]).encode()),
        path,
    ]
    assert _columns(list(read_collected(sources))) == {"a": [2.0, 3.0, 1.0]}


def test_collected_record_with_rows_in_another_blob_is_an_error_unless_skipped() -> None:
    blob = (_record([{"a": 1.0}]) + "\n" + _record("https://acct/blob", datainblob="true")).encode()
    with pytest.raises(BadInputError, match=r"blob #1, line 2.*another blob"):
        list(read_collected([blob]))
    stats = CollectorStats()
    assert _columns(list(read_collected([blob], external="skip", stats=stats))) == {"a": [1.0]}
    assert stats.skipped_external == 1


def test_collected_payload_logging_is_refused_as_not_tabular() -> None:
    blob = json.dumps({"specversion": "1.0", "type": "azureml.inference.request", "data": {"data": [[1, 2]]}})
    with pytest.raises(BadInputError, match="not a list of row objects"):
        list(read_collected([("request/x.jsonl", blob.encode())]))


def test_collected_type_conflict_names_blob_line_and_column() -> None:
    blob = "\n".join([_record([{"a": 1.0}]), _record([{"a": 2.0}]), _record([{"a": "oops"}])]).encode()
    with pytest.raises(BadInputError) as caught:
        list(read_collected([("b.jsonl", blob)]))
    assert (caught.value.source, caught.value.line, caught.value.column) == ("b.jsonl", 3, "a")


def test_directory_of_collected_blobs_is_recognised_and_read_in_order(tmp_path: Path) -> None:
    for hour, value in (("00", 1.0), ("01", 2.0)):
        folder = tmp_path / "modelDataCollector" / "ep" / "dep" / "model_inputs" / "2024" / "05" / "01" / hour
        folder.mkdir(parents=True)
        (folder / "i.jsonl").write_text(_record([{"a": value}]) + "\n")
    assert _columns(list(read_path(tmp_path))) == {"a": [1.0, 2.0]}


def test_missing_file_and_unknown_extension_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="file not found"):
        list(read_path(tmp_path / "nope.csv"))
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(BadInputError, match="--format"):
        list(read_path(tmp_path / "data.xlsx"))


def test_worker_flow_from_collected_blob_bytes_to_a_verdict(rng: np.random.Generator) -> None:
    reference = build_profile([{"AGE": rng.normal(40, 10, 5_000), "SEX": rng.choice(["F", "M"], 5_000)}])
    blobs = []
    for _ in range(3):
        rows = [
            {"AGE": float(a), "SEX": str(s)}
            for a, s in zip(rng.normal(55, 10, 400), rng.choice(["F", "M"], 400), strict=True)
        ]
        blobs.append("\n".join(_record(rows[i : i + 4]) for i in range(0, 400, 4)).encode())
    result = compare(reference, read_collected(blobs))
    assert result.features["AGE"].status == "drift" and result.features["SEX"].status == "ok"
    assert result.features["AGE"].n_cur == 1_200
