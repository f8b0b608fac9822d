"""The collected-JSONL fast path keeps saying where each row came from: the line of its record, counted as an
editor counts lines (blank lines included), so a type change or a bad value is reported at the right line."""

from __future__ import annotations

from monitors.drift.readers import CollectorStats, read_collected


def record(*values: int) -> bytes:
    rows = ",".join(f'{{"a":{v},"b":"x{v}"}}' for v in values)
    return f'{{"specversion":"1.0","type":"azureml.inference.model_inputs","data":[{rows}]}}'.encode()


def test_each_row_carries_the_line_of_its_record_across_blank_and_indented_lines() -> None:
    body = record(1, 2) + b"\n\n\r\n   " + record(3) + b"\n" + record(4, 5, 6) + b"\n\n"
    [batch] = read_collected([("hour.jsonl", body)])
    assert batch.row_lines == (1, 1, 4, 5, 5, 5)
    assert batch.columns["a"].to_pylist() == [1, 2, 3, 4, 5, 6]


def test_records_and_rows_are_counted() -> None:
    stats = CollectorStats()
    list(read_collected([("a.jsonl", record(1, 2) + b"\n" + record(3) + b"\n"), ("b.jsonl", b"\n")], stats=stats))
    assert (stats.blobs, stats.records, stats.rows) == (2, 2, 3)
