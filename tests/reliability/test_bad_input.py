"""Trust under bad input: mutated Event Grid deliveries (both schemas, in batches), malformed bodies, concurrent
duplicates and abuse of the alert API, sent over HTTP to the real app on the devhost and Azurite.

Goals, each its own test: no 5xx answer to bad input, no valid event lost (every valid event of a mixed batch is
`accepted` in the audit trail), no duplicate (accepted once, its job run once). Bounded: a few hundred inputs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.process import DevHost
from tests.reliability.fuzz import MUTATIONS, Probe, Tally, malformed_bodies

BATCHES = 40
DUPLICATED_EVENTS = 3
COPIES = 20


@pytest.fixture(scope="module")
def probe(reliability_app: DevHost) -> Iterator[Probe]:
    yield Probe(reliability_app.base_url, seed=10)


@pytest.fixture(scope="module")
def batches(probe: Probe) -> Tally:
    probe.mixed_batches(BATCHES)
    return probe.verify(wait=30)


@pytest.fixture(scope="module")
def everything(probe: Probe, batches: Tally) -> Tally:
    probe.malformed()
    probe.concurrent_duplicates(DUPLICATED_EVENTS, COPIES)
    probe.alert_api_abuse()
    probe.catastrophic_regex()
    return probe.verify(wait=45)


def test_every_mutation_is_sent_in_both_schemas_inside_mixed_batches(batches: Tally) -> None:
    for schema in ("eventgrid", "cloudevents"):
        tried = {name.split(": ", 1)[1] for name in batches.inputs if name.startswith(f"mutation ({schema})")}
        assert tried == set(MUTATIONS), schema


def test_mutated_elements_in_a_batch_never_get_a_5xx(batches: Tally) -> None:
    assert batches.server_errors == []


def test_mutated_elements_never_refuse_their_batch(batches: Tally) -> None:
    assert [n for n in batches.notes if n.startswith(("batch", "redelivered"))] == []  # each was a 202


def test_every_valid_event_in_a_mixed_batch_is_accepted(batches: Tally) -> None:
    assert batches.valid and batches.lost == []


def test_a_redelivered_batch_accepts_nothing_twice(batches: Tally) -> None:
    assert batches.inputs["redelivered batch"] > 0
    assert batches.duplicates == []


def test_malformed_bodies_are_400_never_5xx(everything: Tally) -> None:
    assert {name for name in everything.inputs if name.startswith("body: ")} == {
        f"body: {name}" for name in malformed_bodies()}
    assert [n for n in everything.notes if n.startswith("body ")] == []


def test_concurrent_duplicates_are_accepted_and_run_exactly_once(everything: Tally) -> None:
    assert len(everything.exactly_once) == DUPLICATED_EVENTS + 1
    assert [n for n in everything.notes if n.startswith("concurrent")] == []
    assert everything.lost == [] and everything.duplicates == []


def test_alert_api_abuse_is_answered_with_4xx(everything: Tally) -> None:
    assert [n for n in everything.notes if n.startswith(("api ", "catastrophic"))] == []


def test_nothing_at_all_got_a_5xx_from_bad_input(everything: Tally) -> None:
    assert everything.server_errors == []
    assert everything.inputs_tried > 250
