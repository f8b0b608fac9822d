"""The audit trail is append-only, safe for concurrent writers, and readable by time window."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import ContainerClient

from shared.adapters.audit import AuditLog, parse_since


def test_appended_records_are_read_back_in_order(container: ContainerClient) -> None:
    log = AuditLog(container)
    first = log.append("event", "s1", "accepted", {"n": 1})
    second = log.append("event", "s2", "rejected", {"n": 2})
    records, truncated = log.read(datetime.now(UTC) - timedelta(minutes=1), 10)
    assert [r.id for r in records] == [first.id, second.id]
    assert records[1].details == {"n": 2} and not truncated


def test_concurrent_appends_lose_nothing(container: ContainerClient) -> None:
    log = AuditLog(container)
    with ThreadPoolExecutor(8) as pool:
        written = list(pool.map(lambda i: log.append("job", f"s{i}", "done").id, range(40)))
    records, _ = log.read(datetime.now(UTC) - timedelta(minutes=1), 1000)
    assert sorted(r.id for r in records) == sorted(written)


def test_since_excludes_older_records_across_hour_blobs(container: ContainerClient) -> None:
    t0 = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    AuditLog(container, clock=lambda: t0).append("event", "old", "accepted")
    AuditLog(container, clock=lambda: t0 + timedelta(hours=2)).append("event", "new", "accepted")
    records, _ = AuditLog(container).read(t0 + timedelta(hours=1), 10)
    assert [r.subject for r in records] == ["new"]


def test_limit_truncates_and_says_so(container: ContainerClient) -> None:
    log = AuditLog(container)
    for i in range(5):
        log.append("event", f"s{i}", "accepted")
    records, truncated = log.read(datetime.now(UTC) - timedelta(minutes=1), 3)
    assert len(records) == 3 and truncated


def test_filter_by_kind_and_subject(container: ContainerClient) -> None:
    log = AuditLog(container)
    log.append("event", "/ws/onlineEndpoints/ep1", "accepted")
    log.append("job", "/ws/onlineEndpoints/ep1", "done")
    log.append("job", "/ws/onlineEndpoints/ep2", "done")
    records, _ = log.read(datetime.now(UTC) - timedelta(minutes=1), 10, kind="job", subject="ep1")
    assert [(r.kind, r.subject) for r in records] == [("job", "/ws/onlineEndpoints/ep1")]


def test_parse_since_accepts_ages_and_iso_times() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("2026-01-01T00:00:00Z", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_since("2026-01-01T00:00:00", now).tzinfo is not None
    assert parse_since(None, now) == now - timedelta(hours=24)


def test_parse_since_rejects_garbage_with_a_message() -> None:
    with pytest.raises(ValueError, match=r"since='yesterday'"):
        parse_since("yesterday", datetime.now(UTC))


def test_since_with_a_utc_offset_reads_the_hour_blobs_of_that_instant(container: ContainerClient) -> None:
    at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    AuditLog(container, clock=lambda: at).append("event", "kept", "accepted")
    since = parse_since("2026-03-01T14:00:00+02:00", datetime(2026, 3, 1, 13, tzinfo=UTC))  # 12:00 UTC
    records, _ = AuditLog(container).read(since, 10)
    assert [r.subject for r in records] == ["kept"]


@pytest.mark.parametrize("raw", ["99999999d", "²h"])
def test_parse_since_rejects_out_of_range_ages_with_a_message(raw: str) -> None:
    with pytest.raises(ValueError, match=r"since="):
        parse_since(raw, datetime(2026, 1, 2, tzinfo=UTC))


def test_paging_with_the_cursor_returns_every_record_once_even_with_equal_times(container: ContainerClient) -> None:
    from shared.adapters.audit import AuditCursor

    t0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    log = AuditLog(container, clock=lambda: t0)  # every record at the same instant
    written = {log.append("event", f"s{i}", "accepted").id for i in range(7)}
    seen: list[str] = []
    after = None
    for _ in range(10):
        page, more = log.read(t0, 3, after=after)
        seen += [r.id for r in page]
        if not more:
            break
        after = AuditCursor.decode(AuditCursor.of(page[-1]).encode())
    assert sorted(seen) == sorted(written) and len(seen) == len(written)


def test_a_cursor_that_was_not_issued_is_refused() -> None:
    from shared.adapters.audit import AuditCursor

    with pytest.raises(ValueError, match="not a cursor"):
        AuditCursor.decode("yesterday")


def test_a_full_hour_blob_rolls_over_to_segments_and_reads_back_whole(container: ContainerClient) -> None:
    t0 = datetime(2026, 5, 2, 8, 15, tzinfo=UTC)
    log = AuditLog(container, clock=lambda: t0, segment_blocks=3)
    written = [log.append("job", f"s{i}", "done").id for i in range(8)]
    names = sorted(b.name for b in container.list_blobs(name_starts_with="audit/"))
    assert names == ["audit/2026/05/02/08.jsonl", "audit/2026/05/02/08.s001.jsonl", "audit/2026/05/02/08.s002.jsonl"]
    records, truncated = AuditLog(container).read(t0 - timedelta(minutes=1), 100)
    assert sorted(r.id for r in records) == sorted(written) and not truncated


def test_a_second_writer_finds_the_next_segment_when_one_is_full(container: ContainerClient) -> None:
    t0 = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)
    AuditLog(container, clock=lambda: t0, segment_blocks=2).append("job", "a", "done")
    AuditLog(container, clock=lambda: t0, segment_blocks=2).append("job", "b", "done")  # fills segment 0
    late = AuditLog(container, clock=lambda: t0, segment_blocks=2)  # a fresh process knows nothing
    late.append("job", "c", "done")
    late.append("job", "d", "done")
    records, _ = AuditLog(container).read(t0, 10)
    assert sorted(r.subject for r in records) == ["a", "b", "c", "d"]


def test_a_record_with_lone_surrogates_is_appended_and_read_back(container: ContainerClient) -> None:
    log = AuditLog(container)
    log.append("event", "models/x\udfff:1", "rejected", {"event_id": "\ud800-1"})
    [record] = log.read(datetime.now(UTC) - timedelta(minutes=5), 10)[0]
    assert (record.subject, record.details["event_id"]) == ("models/x\udfff:1", "\ud800-1")
