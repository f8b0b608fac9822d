"""The replay judge (monitors/replay.py), pure: golden rows and answers in, a verdict with every number out."""

from __future__ import annotations

import math

import pytest

from monitors.replay import (
    ERROR,
    FAIL,
    PASS,
    Answer,
    GoldenSetError,
    ReplaySpec,
    ReplaySpecError,
    answers_from_body,
    judge_replay,
    parse_golden,
    render_report,
    split_golden,
)

SPEC = ReplaySpec()


def golden(n: int, score: float = 0.25, label: int = 0) -> list:
    return split_golden([{"income": 1000.0 * i, "region": "north", "score": score, "label": label}
                         for i in range(n)], SPEC)


def served(n: int, score: float = 0.25, label: int = 0) -> list[Answer]:
    return [Answer(outputs={"score": score, "label": label}) for _ in range(n)]


def test_rows_answered_exactly_as_recorded_pass() -> None:
    verdict = judge_replay(golden(200), served(200), SPEC)
    assert (verdict.outcome, verdict.rows_compared, verdict.mismatches, verdict.mismatch_rate) == (PASS, 200, 0, 0.0)


def test_the_declared_outputs_are_split_from_the_inputs_that_are_sent() -> None:
    [row] = split_golden([{"income": 5.0, "region": "west", "score": 0.1, "label": 1}], SPEC)
    assert (row.inputs, row.outputs) == ({"income": 5.0, "region": "west"}, {"score": 0.1, "label": 1})


def test_a_score_within_the_tolerance_matches_including_the_tolerance_itself() -> None:
    answers = served(1, score=0.25 + 1e-6)
    assert judge_replay(golden(1), answers, SPEC).mismatches == 0


def test_a_score_beyond_the_tolerance_is_a_mismatch() -> None:
    verdict = judge_replay(golden(1), served(1, score=0.25 + 3e-6), SPEC)
    assert (verdict.mismatches, verdict.score_mismatches, verdict.label_mismatches) == (1, 1, 0)


def test_a_label_that_differs_is_a_mismatch_whatever_the_tolerance() -> None:
    verdict = judge_replay(golden(1), served(1, label=1), ReplaySpec(tolerance=10.0))
    assert (verdict.mismatches, verdict.label_mismatches, verdict.score_mismatches) == (1, 1, 0)


def test_labels_are_compared_by_value_so_one_and_one_point_zero_match() -> None:
    rows = split_golden([{"x": 1, "label": 1}], ReplaySpec(scores=()))
    verdict = judge_replay(rows, [Answer(outputs={"label": 1.0})], ReplaySpec(scores=()))
    assert verdict.mismatches == 0


def test_a_mismatch_rate_at_the_threshold_passes_and_above_it_fails() -> None:
    rows = golden(200)
    two_bad = served(198) + served(2, score=0.9)
    three_bad = served(197) + served(3, score=0.9)
    assert judge_replay(rows, two_bad, SPEC).outcome == PASS  # 1.0% is not above 1%
    assert judge_replay(rows, three_bad, SPEC).outcome == FAIL  # 1.5% is


def test_the_worst_rows_come_largest_score_difference_first_with_their_inputs() -> None:
    answers = served(10)
    answers[3] = Answer(outputs={"score": 0.5, "label": 0})
    answers[7] = Answer(outputs={"score": 0.95, "label": 0})
    verdict = judge_replay(golden(10), answers, SPEC)
    assert [r.index for r in verdict.worst_rows] == [7, 3]
    assert verdict.worst_rows[0].inputs == {"income": 7000.0, "region": "north"}
    assert verdict.worst_rows[0].score_diff == pytest.approx(0.7)
    assert verdict.max_score_diff == pytest.approx(0.7)


def test_an_answer_missing_a_recorded_output_is_a_mismatch_ranked_worst() -> None:
    answers = served(5)
    answers[1] = Answer(outputs={"score": 0.9, "label": 0})
    answers[4] = Answer(outputs={"label": 0})
    verdict = judge_replay(golden(5), answers, SPEC)
    assert [r.index for r in verdict.worst_rows] == [4, 1]
    assert verdict.worst_rows[0].missing == ("score",)


def test_a_refused_row_counts_as_a_mismatch() -> None:
    answers = [*served(4), Answer(refused="HTTP 400: input row is missing numeric feature 'income'")]
    verdict = judge_replay(golden(5), answers, ReplaySpec(max_mismatch=0.5))
    assert (verdict.refused, verdict.mismatches, verdict.rows_compared) == (1, 1, 5)


def test_an_unanswered_row_is_counted_and_never_compared() -> None:
    answers = [*served(9), Answer(unanswered="HTTP 500: boom")]
    verdict = judge_replay(golden(10), answers, SPEC)
    assert (verdict.outcome, verdict.rows_compared, verdict.unanswered) == (PASS, 9, 1)
    assert verdict.unanswered_reasons == {"HTTP 500: boom": 1}


def test_too_few_answers_to_judge_is_an_error_not_a_pass() -> None:
    answers = served(4) + [Answer(unanswered="timeout")] * 6
    verdict = judge_replay(golden(10), answers, SPEC)
    assert verdict.outcome == ERROR and "only 4 of 10 rows were answered" in verdict.reason


def test_a_golden_set_without_rows_is_an_error() -> None:
    assert judge_replay([], [], SPEC).outcome == ERROR


def test_a_golden_set_recording_none_of_the_declared_outputs_is_an_error() -> None:
    rows = split_golden([{"x": 1.0, "prediction": 0.3}], SPEC)
    verdict = judge_replay(rows, [Answer(outputs={"prediction": 0.3})], SPEC)
    assert verdict.outcome == ERROR and "records none of the declared outputs" in verdict.reason


def test_every_number_and_the_rule_are_in_the_verdict() -> None:
    out = judge_replay(golden(3), served(3), SPEC).to_dict()
    for key in ("rows_in_golden_set", "rows_replayed", "rows_compared", "mismatches", "label_mismatches",
                "score_mismatches", "refused", "unanswered", "mismatch_rate", "max_score_diff", "tolerance",
                "max_mismatch", "rule", "worst_rows"):
        assert key in out
    assert "within an absolute 1e-06" in out["rule"]


def test_a_nan_score_on_one_side_is_a_mismatch() -> None:
    verdict = judge_replay(golden(1), served(1, score=math.nan), SPEC)
    assert verdict.mismatches == 1 and verdict.max_score_diff is None


@pytest.mark.parametrize("kwargs", [{"tolerance": -1.0}, {"max_mismatch": 1.5}, {"scores": (), "labels": ()}])
def test_an_unusable_declaration_is_refused(kwargs: dict) -> None:
    with pytest.raises(ReplaySpecError):
        ReplaySpec(**kwargs)


def test_csv_cells_are_read_back_as_the_numbers_they_were_written_from() -> None:
    rows = parse_golden(b"income,region,score,label\n34561.0,north,0.430263,0\n", "csv")
    assert rows == [{"income": 34561.0, "region": "north", "score": 0.430263, "label": 0}]


def test_json_lines_are_one_object_a_row() -> None:
    rows = parse_golden(b'{"income": 1.0, "score": 0.5}\n\n{"income": 2.0, "score": 0.25}\n', "jsonl")
    assert [r["income"] for r in rows] == [1.0, 2.0]


def test_a_json_line_that_is_not_an_object_names_its_line() -> None:
    with pytest.raises(GoldenSetError, match="line 2"):
        parse_golden(b'{"a": 1}\n[1, 2]\n', "jsonl", "golden.jsonl")


def test_an_answer_is_one_output_per_row_in_a_list_or_under_a_known_key() -> None:
    assert answers_from_body([{"score": 0.1}], 1, SPEC) == [{"score": 0.1}]
    assert answers_from_body({"predictions": [0.1, 0.2]}, 2, SPEC) == [{"score": 0.1}, {"score": 0.2}]
    assert "sent 2 row(s), got 1" in answers_from_body([{"score": 0.1}], 2, SPEC)


def test_the_report_shows_the_outcome_and_escapes_the_worst_rows() -> None:
    rows = split_golden([{"name": "<b>x</b>", "score": 0.1, "label": 0}], SPEC)
    page = render_report(judge_replay(rows, [Answer(outputs={"score": 0.9, "label": 1})], SPEC), title="t")
    assert "<b>FAIL</b>" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
