"""The NAB score on hand-made files whose answers are known."""

import numpy as np
import pandas as pd
import pytest

from anomaly.evaluation.nab import (
    PROFILES,
    NabScore,
    best_threshold,
    nab_rows,
    nab_score,
    probationary_length,
    rising_edges,
    scaled_sigmoid,
)

STANDARD = PROFILES[0]


def _file(n=200, windows=((100, 119), (150, 159))):
    """A file of ``n`` minutely rows with windows given as inclusive row ranges."""
    stamps = pd.date_range("2026-01-01", periods=n, freq="1min", tz="UTC")
    return nab_rows(stamps, [(stamps[a], stamps[b]) for a, b in windows])


def _alarms(n, *rows):
    alarms = np.zeros(n, dtype=bool)
    alarms[list(rows)] = True
    return alarms


def test_probationary_length_follows_nab():
    assert probationary_length(100) == 15
    assert probationary_length(10_000) == 750


def test_scaled_sigmoid():
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + np.exp(-5)) - 1)
    assert scaled_sigmoid(3.5) == -1.0


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_perfect_detector_scores_100_and_null_detector_0(profile):
    rows = _file()
    perfect = nab_score(rows, _alarms(200, 100, 150), profile)
    null = nab_score(rows, _alarms(200), profile)
    assert perfect.raw == pytest.approx(2 * profile.tp)
    assert perfect.normalised == pytest.approx(100.0)
    assert null.raw == pytest.approx(-2 * profile.fn)
    assert null.normalised == pytest.approx(0.0)


def test_early_detection_scores_more_than_late_and_only_the_first_counts():
    rows = _file()
    early = nab_score(rows, _alarms(200, 102), STANDARD).raw
    late = nab_score(rows, _alarms(200, 118), STANDARD).raw
    both = nab_score(rows, _alarms(200, 102, 110, 118), STANDARD).raw
    assert early > late > -2.0
    assert both == pytest.approx(early)


def test_false_positive_far_from_windows_costs_a_fp():
    rows = _file()
    base = nab_score(rows, _alarms(200, 100, 150), STANDARD).raw
    before_any_window = nab_score(rows, _alarms(200, 50, 100, 150), STANDARD).raw
    long_after = nab_score(rows, _alarms(200, 100, 150, 199), STANDARD).raw
    just_after = nab_score(rows, _alarms(200, 100, 120, 150), STANDARD).raw
    assert before_any_window - base == pytest.approx(-STANDARD.fp)
    assert long_after - base == pytest.approx(-STANDARD.fp)
    assert -STANDARD.fp < just_after - base < 0


def test_probationary_detections_are_ignored():
    rows = _file()  # 200 rows: the first 30 are probationary
    assert nab_score(rows, _alarms(200, 5, 29, 100), STANDARD).raw == pytest.approx(
        nab_score(rows, _alarms(200, 100), STANDARD).raw
    )


def test_scores_add_up_over_files_before_normalising():
    total = NabScore(1.0, -2.0, 2.0) + NabScore(-2.0, -2.0, 2.0)
    assert total.normalised == pytest.approx(100 * (-1 + 4) / 8)
    assert NabScore(-0.11, 0.0, 0.0).normalised is None


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_best_threshold_matches_scoring_at_that_threshold(profile):
    rng = np.random.default_rng(0)
    files = [(_file(), rng.random(200)), (_file(300, ((250, 269),)), rng.random(300))]
    best = best_threshold(files, profile)
    at_best = sum(
        (nab_score(rows, rising_edges(scores >= best.threshold), profile) for rows, scores in files),
        NabScore(0, 0, 0),
    )
    assert best.score.raw == pytest.approx(at_best.raw)
    assert best.score.null == at_best.null and best.score.perfect == at_best.perfect
    for threshold in np.linspace(0, 1, 21):
        total = sum(nab_score(rows, rising_edges(scores >= threshold), profile).raw for rows, scores in files)
        assert total <= best.score.raw + 1e-9


def test_best_threshold_finds_a_perfect_ranking():
    rows = _file()
    scores = np.zeros(200)
    scores[[100, 150]] = 0.9
    best = best_threshold([(rows, scores)], STANDARD)
    assert best.threshold == pytest.approx(0.9)
    assert best.score.normalised == pytest.approx(100.0)


def test_rising_edges_raise_one_alarm_per_run():
    above = np.array([True, True, False, True, False, False, True, True, True])
    assert np.flatnonzero(rising_edges(above)).tolist() == [0, 3, 6]
    # after a quiet stretch of 2 rows only: the run at 3 follows a single quiet row
    assert np.flatnonzero(rising_edges(above, quiet_rows=2)).tolist() == [0, 6]


def test_best_threshold_samples_candidates_when_there_are_many():
    rng = np.random.default_rng(1)
    files = [(_file(), rng.random(200))]
    exact, sampled = best_threshold(files, STANDARD), best_threshold(files, STANDARD, max_candidates=64)
    assert sampled.score.raw <= exact.score.raw + 1e-12
    at_sampled = nab_score(files[0][0], rising_edges(files[0][1] >= sampled.threshold), STANDARD)
    assert sampled.score.raw == pytest.approx(at_sampled.raw)
