"""Mahalanobis window errors and EWMA smoothing, alone and inside the detector."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import mahalanobis

from anomaly.config import ModelConfig, ScoringConfig, ThresholdConfig, WindowConfig
from anomaly.model.detector import LSTMAutoencoderDetector
from anomaly.scoring import MahalanobisScorer, error_vectors, ewma, ewma_warm_up, trailing_z
from tests.conftest import sensor_frame
from tests.test_detector import _prepared


def _detector(**scoring) -> LSTMAutoencoderDetector:
    return LSTMAutoencoderDetector(
        window=WindowConfig(length=16, train_stride=4),
        model=ModelConfig(variant="reconstruction", units=8, epochs=3, batch_size=32, patience=2),
        threshold=ThresholdConfig(),
        scoring=ScoringConfig(**{"ewma_alpha": 1.0, **scoring}),
        max_clusters=3,
    )


def test_mahalanobis_distances_match_scipy_on_a_known_covariance():
    rng = np.random.default_rng(0)
    covariance = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.0], [0.1, 0.0, 0.5]])
    mean = np.array([1.0, 2.0, 0.5])
    scorer = MahalanobisScorer.fit(rng.multivariate_normal(mean, covariance, size=(4000, 5)))
    np.testing.assert_allclose(np.linalg.inv(scorer.precision), covariance, atol=0.06)
    points = rng.multivariate_normal(mean, covariance, size=(7, 5))
    expected = [[mahalanobis(step, scorer.mean, scorer.precision) for step in window] for window in points]
    np.testing.assert_allclose(scorer.window_errors(points), np.mean(expected, axis=1), rtol=1e-10)


def test_mahalanobis_survives_a_singular_covariance_and_round_trips():
    vectors = np.zeros((50, 1, 4))
    vectors[:, 0, 0] = np.linspace(0, 1, 50)  # three constant components
    scorer = MahalanobisScorer.fit(vectors)
    assert np.isfinite(scorer.window_errors(vectors)).all()
    again = MahalanobisScorer.from_dict(scorer.to_dict())
    np.testing.assert_array_equal(again.window_errors(vectors), scorer.window_errors(vectors))


def test_error_vectors_are_per_step_over_channels_or_per_window_over_steps():
    residuals = np.arange(24, dtype=float).reshape(2, 4, 3) - 10
    assert error_vectors(residuals).shape == (2, 4, 3)
    assert error_vectors(residuals[:, :, :1]).shape == (2, 1, 4)
    assert (error_vectors(residuals) >= 0).all()


def test_ewma_smooths_within_runs_and_restarts_after_a_gap():
    values = np.array([1.0, 3.0, 3.0, 10.0, 10.0])
    starts = np.array([0, 1, 2, 40, 41])
    smoothed = ewma(values, starts, alpha=0.5)
    np.testing.assert_allclose(smoothed, [1.0, 2.0, 2.5, 10.0, 10.0])
    assert ewma_warm_up(None) == 0 and ewma_warm_up(1.0) == 0
    assert 0.5 ** ewma_warm_up(0.5) <= 1e-6 < 0.5 ** (ewma_warm_up(0.5) - 1)


def test_trailing_z_scores_each_error_against_the_ones_before_it_within_a_run():
    values = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 9.0, 5.0, 5.0])
    starts = np.array([*range(12), 12, 50, 51])
    z = trailing_z(values, starts, windows=12)
    before = values[:12]
    assert z[12] == pytest.approx((9.0 - before.mean()) / before.std(ddof=1))
    assert (z[:10] == 0).all()  # fewer than 10 errors before them: no judgement
    assert z[10] == pytest.approx((3.0 - values[:10].mean()) / values[:10].std(ddof=1))
    assert (z[13:] == 0).all()  # a gap restarts the history
    steady = trailing_z(np.r_[np.full(20, 1.0), 1.05], np.arange(21), windows=20)
    assert steady[-1] == pytest.approx(0.05 / 0.1)  # the spread floor: 10% of the mean


@pytest.fixture(scope="module")
def stream():
    return _prepared(sensor_frame("s", n=400, seed=3))


def test_incremental_smoothed_errors_equal_one_shot(stream):
    detector = _detector(ewma_alpha=0.3).fit(stream)
    one_shot = detector.score(stream)
    incremental = detector.score(stream, first_row=300)
    position = np.searchsorted(one_shot.starts, incremental.starts)
    np.testing.assert_array_equal(one_shot.starts[position], incremental.starts)
    np.testing.assert_allclose(incremental.window_errors, one_shot.window_errors[position], rtol=1e-6)
    raw = _detector().fit(stream).score(stream)
    assert np.abs(np.diff(one_shot.window_errors)).mean() < np.abs(np.diff(raw.window_errors)).mean()


def test_incremental_trailing_z_scores_equal_one_shot(stream):
    detector = _detector(ewma_alpha=0.5, trailing=40).fit(stream)
    one_shot = detector.score(stream)
    incremental = detector.score(stream, first_row=300)
    position = np.searchsorted(one_shot.starts, incremental.starts)
    np.testing.assert_allclose(incremental.window_errors, one_shot.window_errors[position], rtol=1e-5)
    assert detector.threshold_ > 0 and (one_shot.window_errors < 0).any()  # z-scores, both sides


def test_smoothing_restarts_at_a_gap(stream):
    detector = _detector(ewma_alpha=0.2).fit(stream)
    gapped = _prepared(sensor_frame("s", n=300, seed=5).drop(index=range(150, 170)))
    second = gapped.segment >= gapped.segment.max()
    smoothed = detector.score(gapped)
    after_gap = detector.score(gapped, first_row=int(np.flatnonzero(second)[0]))
    in_second = second[smoothed.starts]
    np.testing.assert_allclose(smoothed.window_errors[in_second], after_gap.window_errors, rtol=1e-12)
    assert smoothed.window_errors[in_second][0] != pytest.approx(smoothed.window_errors[~in_second][-1])


def test_mahalanobis_detector_round_trips(tmp_path, stream):
    detector = _detector(error="mahalanobis").fit(stream)
    assert detector.mahalanobis_["reconstruction"].precision.shape == (16, 16)
    detector.save(tmp_path / "v1")
    loaded = LSTMAutoencoderDetector.load(tmp_path / "v1")
    assert loaded.scoring == detector.scoring
    np.testing.assert_array_equal(loaded.score(stream).window_errors, detector.score(stream).window_errors)


def test_a_record_without_scoring_loads_with_the_defaults(tmp_path, stream):
    import json

    _detector().fit(stream).save(tmp_path / "v1")
    path = tmp_path / "v1" / "model.json"
    record = json.loads(path.read_text())
    del record["scoring"], record["mahalanobis"]
    path.write_text(json.dumps(record))
    loaded = LSTMAutoencoderDetector.load(tmp_path / "v1")
    assert loaded.scoring == ScoringConfig() and loaded.mahalanobis_ == {}
