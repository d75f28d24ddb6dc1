"""Mahalanobis window errors: distances, singular covariances, error vectors."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import mahalanobis

from anomaly.scoring import MahalanobisScorer, error_vectors


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
