import json

import numpy as np
import pandas as pd
import pytest

from anomaly.data.labels import load_labels
from anomaly.errors import DataError
from anomaly.evaluation.metrics import alarm_intervals, event_scores, pr_auc


def _t(text):
    return pd.Timestamp(text, tz="UTC")


LABELS = {
    "s": [(_t("2026-01-01 10:00"), _t("2026-01-01 12:00")), (_t("2026-01-02 10:00"), _t("2026-01-02 12:00"))]
}


def test_perfect_detection():
    scores = event_scores({"s": [(_t("2026-01-01 11:00"), _t("2026-01-01 11:10")), LABELS["s"][1]]}, LABELS)
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)


def test_false_positive_and_missed_window():
    detected = {
        "s": [(_t("2026-01-01 11:00"), _t("2026-01-01 11:10")), (_t("2026-01-03"), _t("2026-01-03 01:00"))]
    }
    scores = event_scores(detected, LABELS)
    assert scores.precision == 0.5 and scores.recall == 0.5 and scores.f1 == pytest.approx(0.5)


def test_events_on_unlabelled_streams_are_false_positives():
    scores = event_scores({"other": [(_t("2026-01-01"), _t("2026-01-01 01:00"))]}, LABELS)
    assert scores.false_events == 1 and scores.recall == 0.0 and scores.f1 == 0.0


def test_no_point_adjustment_one_event_counts_once():
    # one event overlapping both windows finds both, and counts as one true event
    scores = event_scores({"s": [(_t("2026-01-01 11:00"), _t("2026-01-02 11:00"))]}, LABELS)
    assert (scores.true_events, scores.found_labels) == (1, 2)


def test_load_labels_in_nab_format(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(
        json.dumps({"a.csv": [["2026-01-01 10:00:00.000000", "2026-01-01 12:00:00.000000"]], "b": []})
    )
    labels = load_labels(path)
    assert labels["a.csv"] == [(_t("2026-01-01 10:00"), _t("2026-01-01 12:00"))]
    assert labels["b"] == []


def test_bad_labels_file_names_the_problem(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text('{"a": [["not a time", "2026-01-01"]]}')
    with pytest.raises(DataError, match=r"labels.json, stream 'a': bad \[start, end\] pair"):
        load_labels(path)


def test_alarm_intervals_merge_adjacent_rows():
    stamps = pd.date_range("2026-01-01", periods=6, freq="1h", tz="UTC")
    intervals = alarm_intervals(stamps, np.array([1, 1, 0, 0, 1, 1]))
    assert intervals == [(stamps[0], stamps[1]), (stamps[4], stamps[5])]
    assert alarm_intervals(stamps, np.zeros(6)) == []


def test_pr_auc_on_tiny_rankings():
    labels = np.array([0, 0, 1, 1])
    assert pr_auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == pytest.approx(1.0)
    # ranking: 1 (pos), 0.8 (neg), 0.5 (pos): precision 1 at recall 0.5, 2/3 at recall 1
    assert pr_auc(labels, np.array([0.8, 0.1, 1.0, 0.5])) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert pr_auc(np.zeros(4), np.arange(4)) is None
