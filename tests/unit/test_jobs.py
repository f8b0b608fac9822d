"""A queue message that is not a job is refused with a message that says why."""

import pytest

from shared.jobs import Job, MalformedJob


def test_non_json_message_names_the_position() -> None:
    with pytest.raises(MalformedJob, match=r"not JSON.*line 1 column 2"):
        Job.from_json("{{oops")


def test_missing_fields_are_listed() -> None:
    with pytest.raises(MalformedJob, match="workspace_id, source_event_id, source_event_type"):
        Job.from_json('{"id": "j1", "kind": "model_registered"}')


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(MalformedJob, match=r"'retrain'.*model_registered"):
        Job.from_json('{"id": "j", "kind": "retrain", "workspace_id": "w", "source_event_id": "e",'
                      ' "source_event_type": "t"}')


def test_array_is_not_a_job() -> None:
    with pytest.raises(MalformedJob, match="must be a JSON object, got list"):
        Job.from_json("[]")
