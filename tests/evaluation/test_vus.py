"""VUS-PR: hand-computed cases, the properties that make it a ranking measure, and agreement with the
TSB-AD reference code on the series in ``vus_reference.json`` (made by ``make_vus_reference.py``)."""

import json
import time
from math import sqrt
from pathlib import Path

import numpy as np
import pytest

from anomaly.evaluation.metrics import pr_auc
from anomaly.evaluation.vus import FALLBACK_WINDOW, sliding_window, vus_pr

REFERENCE = json.loads(Path(__file__).with_name("vus_reference.json").read_text(encoding="utf-8"))


def _labels(n_rows, ranges):
    labels = np.zeros(n_rows, dtype=int)
    for first, last in ranges:
        labels[first : last + 1] = 1
    return labels


@pytest.mark.parametrize("case", REFERENCE["vus_pr"], ids=lambda case: f"{case['rows']}-rows")
def test_agrees_with_the_reference_code(case):
    labels = _labels(case["rows"], case["ranges"])
    scores = np.array(case["score_thousandths"]) / 1000
    assert vus_pr(labels, scores, max_buffer=case["max_buffer"]) == pytest.approx(case["vus_pr"], abs=1e-9)


@pytest.mark.parametrize("case", REFERENCE["sliding_window"], ids=lambda case: str(case["window"]))
def test_sliding_window_agrees_with_the_reference_code(case):
    assert sliding_window(np.array(case["value_hundredths"]) / 100) == case["window"]


def test_sliding_window_finds_a_period_and_falls_back_without_one():
    rng = np.random.default_rng(0)
    assert sliding_window(np.sin(np.arange(2000) * 2 * np.pi / 48) + 0.1 * rng.standard_normal(2000)) == 48
    assert sliding_window(np.ones(1000)) == FALLBACK_WINDOW
    assert sliding_window(np.array([np.nan, 1.0, 2.0])) == FALLBACK_WINDOW


@pytest.mark.parametrize("max_buffer", [0, 1, 7, 40])
@pytest.mark.parametrize("ranges", [[(30, 39)], [(0, 4), (50, 50), (95, 99)], [(10, 12), (14, 15)]])
def test_a_perfect_score_gets_one(ranges, max_buffer):
    labels = _labels(100, ranges)
    assert vus_pr(labels, labels * 0.9 + 0.05, max_buffer=max_buffer) == pytest.approx(1.0)


def test_a_constant_score_gets_the_anomaly_rate_with_its_buffer():
    """Every threshold flags every row: precision is (P + B) / n, recall 1, so each buffer length
    contributes (P + B) / n, where B sums the ramp sqrt(1 - d / l) over d = 1 .. l // 2 on both sides."""
    n_rows, labels = 200, _labels(200, [(100, 109)])
    ramp = [2 * sum(sqrt(1 - d / length) for d in range(1, length // 2 + 1)) for length in range(11)]
    expected = np.mean([(10 + buffer) / n_rows for buffer in ramp])
    assert vus_pr(labels, np.full(n_rows, 0.3), max_buffer=10) == pytest.approx(expected)
    assert vus_pr(labels, np.full(n_rows, 0.3), max_buffer=0) == pytest.approx(10 / n_rows)


def test_a_peak_beside_the_anomaly_gets_credit_from_the_buffer_only():
    """Ten rows, anomaly at rows 4-5, the only high score at row 3; buffer lengths 0, 1, 2.

    Lengths 0 and 1 have no buffer: at the high threshold nothing labelled is flagged, at the low one
    everything, precision 2/10, so AP 0.2, as point-wise PR-AUC. Length 2 extends the range by one row
    each side with weight s = sqrt(1/2): at the high threshold TP = s, recall s / (2 + s / 2),
    precision s; at the low one recall 1 and precision (2 + 2 s) / 10.
    """
    labels, scores = _labels(10, [(4, 5)]), np.zeros(10)
    scores[3] = 1.0
    s = sqrt(0.5)
    first_recall = s / (2 + s / 2)
    buffered = first_recall * s + (1 - first_recall) * (2 + 2 * s) / 10
    assert vus_pr(labels, scores, max_buffer=2) == pytest.approx((0.2 + 0.2 + buffered) / 3)
    assert vus_pr(labels, scores, max_buffer=1) == pytest.approx(0.2)
    assert pr_auc(labels, scores) == pytest.approx(0.2)


def test_the_nearer_the_peak_to_the_anomaly_the_higher():
    labels = _labels(400, [(200, 219)])
    results = []
    for distance in (1, 4, 12, 30, 150):
        scores = np.zeros(400)
        scores[200 - distance] = 1.0
        results.append(vus_pr(labels, scores, max_buffer=50))
    assert results == sorted(results, reverse=True) and len(set(results)) == len(results) - 1
    assert results[-2] == results[-1]  # beyond the longest buffer: no credit at all


def test_ranking_more_of_the_anomaly_first_scores_higher():
    rng = np.random.default_rng(1)
    labels = _labels(1000, [(100, 129), (600, 609), (800, 849)])
    noise = rng.random(1000)
    results = [vus_pr(labels, noise + lift * labels, max_buffer=40) for lift in (0.0, 0.2, 0.5, 1.0)]
    # Separated, but 250 thresholds at evenly spaced ranks need not fall between the last labelled row
    # and the first other one.
    assert results == sorted(results) and results[-1] > 0.99
    assert 0 < results[0] < 0.5


def test_rows_without_a_score_rank_with_the_lowest():
    rng = np.random.default_rng(2)
    labels = _labels(300, [(100, 119), (250, 255)])
    scores = rng.random(300) + 0.5 * labels
    missing = scores.copy()
    missing[[0, 5, 110, 290]] = np.nan
    lowest = np.where(np.isnan(missing), np.nanmin(missing), missing)
    assert vus_pr(labels, missing, max_buffer=20) == pytest.approx(vus_pr(labels, lowest, max_buffer=20))
    assert pr_auc(labels, missing) == pytest.approx(pr_auc(labels, lowest))
    constant = vus_pr(labels, np.zeros(300), max_buffer=20)
    assert vus_pr(labels, np.full(300, np.nan), max_buffer=20) == pytest.approx(constant)


def test_no_labelled_row_gives_none_and_a_negative_buffer_is_refused():
    assert vus_pr(np.zeros(50), np.arange(50.0), max_buffer=10) is None
    with pytest.raises(ValueError, match="max_buffer"):
        vus_pr(np.ones(5), np.arange(5.0), max_buffer=-1)


def test_a_long_series_takes_well_under_a_second():
    rng = np.random.default_rng(3)
    labels = np.zeros(20_000, dtype=int)
    for start in rng.choice(19_900, 20, replace=False):
        labels[start : start + rng.integers(1, 80)] = 1
    scores = rng.random(20_000) + 0.3 * labels
    started = time.perf_counter()
    vus_pr(labels, scores, max_buffer=300)  # TSB-AD's longest window
    assert time.perf_counter() - started < 1.0
