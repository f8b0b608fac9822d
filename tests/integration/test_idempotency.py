"""Once per key, with real Azurite conditional writes, under concurrency and after a crash."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from azure.storage.blob import ContainerClient

from shared.adapters.idempotency import IdempotencyStore


def test_first_claim_is_new_and_a_completed_key_is_a_duplicate(container: ContainerClient) -> None:
    store = IdempotencyStore(container)
    assert store.claim("events/a").status == "new"
    store.complete("events/a", {"job_id": "j"})
    again = store.claim("events/a")
    assert again.status == "duplicate"
    assert again.previous is not None and again.previous["outcome"] == {"job_id": "j"}


def test_concurrent_claims_have_exactly_one_winner(container: ContainerClient) -> None:
    store = IdempotencyStore(container)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: store.claim("events/race").status, range(8)))
    assert statuses.count("new") == 1
    assert statuses.count("busy") == 7


def test_a_stale_claim_is_taken_over_once(container: ContainerClient) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    crashed = IdempotencyStore(container, timedelta(seconds=60), clock=lambda: now)
    assert crashed.claim("events/crash").status == "new"  # holder dies without completing
    later = IdempotencyStore(container, timedelta(seconds=60), clock=lambda: now + timedelta(seconds=61))
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: later.claim("events/crash").status, range(4)))
    assert statuses.count("new") == 1


def test_a_fresh_claim_is_busy_not_taken_over(container: ContainerClient) -> None:
    store = IdempotencyStore(container, timedelta(seconds=60))
    store.claim("events/fresh")
    assert store.claim("events/fresh").status == "busy"


def test_released_claim_can_be_claimed_again_at_once(container: ContainerClient) -> None:
    store = IdempotencyStore(container)
    store.claim("events/r")
    store.release("events/r")
    assert store.claim("events/r").status == "new"


def test_unsafe_keys_are_hashed_not_trusted_as_paths(container: ContainerClient) -> None:
    store = IdempotencyStore(container)
    assert store.claim("events/../../etc?x=1").status == "new"
    names = [b.name for b in container.list_blobs()]
    assert len(names) == 1 and names[0].startswith("idempotency/hashed/")


def test_a_late_release_never_deletes_the_record_of_whoever_took_over(container: ContainerClient) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    slow = IdempotencyStore(container, timedelta(seconds=60), clock=lambda: now)
    later = IdempotencyStore(container, timedelta(seconds=60), clock=lambda: now + timedelta(seconds=61))
    assert slow.claim("jobs/slow").status == "new"  # its holder is slow, not dead
    assert later.claim("jobs/slow").status == "new"  # taken over as stale
    later.complete("jobs/slow", {"ran": True})
    slow.release("jobs/slow")  # the slow holder fails afterwards and gives its claim back
    assert later.claim("jobs/slow").status == "duplicate"


def test_a_late_release_leaves_the_fresh_claim_of_whoever_took_over(container: ContainerClient) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    slow = IdempotencyStore(container, timedelta(seconds=60), clock=lambda: now)
    later = IdempotencyStore(container, timedelta(seconds=60), clock=lambda: now + timedelta(seconds=61))
    first = slow.claim("jobs/held")
    assert later.claim("jobs/held").status == "new"
    slow.release("jobs/held", first.token)
    assert later.claim("jobs/held").status == "busy"


def test_a_key_with_a_lone_surrogate_is_claimed_completed_and_then_a_duplicate(container: ContainerClient) -> None:
    store = IdempotencyStore(container)
    key = "events/\ud800-lone"
    assert store.claim(key).status == "new"
    store.complete(key, {"job_id": "evt-\ud800-lone"})
    assert store.claim(key).status == "duplicate"


def test_keys_differing_only_in_a_lone_surrogate_are_different_keys(container: ContainerClient) -> None:
    store = IdempotencyStore(container)
    assert store.claim("events/\ud800").status == "new"
    assert store.claim("events/\udc00").status == "new"
    assert store.claim("events/?").status == "new"
