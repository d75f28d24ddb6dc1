"""Training several streams at once: shapes, determinism, and models as good as one-at-a-time fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.config import config_from_dict
from anomaly.data.types import PreparationReport, PreparedStream
from anomaly.detectors.lstm_autoencoder import LSTMAutoencoderDetector
from anomaly.model.stopping import BranchEarlyStopping
from benchmarks.perf.fleet import fit_detectors

# Fleet and sequential fits start from the same weights and see the same batches in another order,
# so their best validation losses differ only by that; 35% is far inside what a broken branch
# (another stream's gradient, a wrong gate order) would give.
VAL_LOSS_TOLERANCE = 0.35


def _stream(name: str, seed: int, n: int = 400) -> PreparedStream:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-01", periods=n, freq="10min", tz="UTC")
    values = np.sin(np.arange(n) * 2 * np.pi / (60 + 10 * seed)) + rng.normal(0, 0.05, n)
    return PreparedStream(
        name=name,
        values=pd.DataFrame({"value": values}, index=index),
        segment=np.zeros(n, dtype=np.int64),
        frequency=pd.Timedelta("10min"),
        report=PreparationReport(input_rows=n),
    )


@pytest.fixture(scope="module")
def config():
    return config_from_dict(
        {
            "source": {"path": "."},
            "window": {"length": 16, "train_stride": 4},
            "model": {"units": 8, "epochs": 4, "batch_size": 32, "patience": 2, "variant": "reconstruction"},
            "embeddings": {"max_clusters": 3},
        }
    )


@pytest.fixture(scope="module")
def streams() -> list[PreparedStream]:
    return [_stream(f"s{seed}", seed) for seed in range(3)]


@pytest.fixture(scope="module")
def fleet(streams, config) -> list[LSTMAutoencoderDetector]:
    return fit_detectors(streams, config)


@pytest.fixture(scope="module")
def sequential(streams, config) -> list[LSTMAutoencoderDetector]:
    return [LSTMAutoencoderDetector.from_config(config).fit(stream) for stream in streams]


def test_weights_have_the_shapes_of_a_sequential_fit(fleet, sequential, config):
    for detector in fleet:
        assert [w.shape for w in detector.weights_] == [w.shape for w in sequential[0].weights_]
        assert detector.threshold_ > 0
        assert 1 <= detector.epochs_trained_ <= config.model.epochs


def test_fleet_training_is_deterministic(fleet, streams, config):
    again = fit_detectors(streams, config)
    for first, second in zip(fleet, again, strict=True):
        for a, b in zip(first.weights_, second.weights_, strict=True):
            np.testing.assert_array_equal(a, b)
        assert first.threshold_ == second.threshold_


def test_validation_losses_match_sequential_fits(fleet, sequential):
    for detector, alone in zip(fleet, sequential, strict=True):
        assert detector.val_loss_ == pytest.approx(alone.val_loss_, rel=VAL_LOSS_TOLERANCE)


def test_fitted_detectors_score_like_sequential_ones(fleet, sequential, streams):
    for detector, alone, stream in zip(fleet, sequential, streams, strict=True):
        together, apart = detector.score_samples(stream), alone.score_samples(stream)
        np.testing.assert_array_equal(together.starts, apart.starts)
        assert np.isfinite(together.window_errors).all()
        # Another batch order gives other weights, but the same model: errors of the same size, rising
        # and falling together along the series.
        assert np.median(together.window_errors) == pytest.approx(
            np.median(apart.window_errors), rel=VAL_LOSS_TOLERANCE
        )
        assert np.corrcoef(together.window_errors, apart.window_errors)[0, 1] > 0.8


def test_early_stopping_keeps_each_branch_best_and_stops_it_alone():
    stopping = BranchEarlyStopping(2, patience=2)
    losses = [[1.0, 1.0], [0.5, 2.0], [0.4, 3.0], [0.3, 4.0]]
    running = np.arange(2)
    for epoch, pair in enumerate(losses):
        weights = [np.full((len(running), 1), float(epoch))]
        stopping.update(epoch, running, np.array(pair)[running], weights)
        running = running[stopping.active[running]]
    assert stopping.active.tolist() == [True, False]
    assert stopping.best.tolist() == [0.3, 1.0]
    assert stopping.best_weights[0][:, 0].tolist() == [3.0, 0.0]
    assert stopping.epochs.tolist() == [4, 3]
