"""Contract checks of the detector (after scikit-learn's estimator checks), on a tiny model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.config import ModelConfig, PreparationConfig, ScoringConfig, ThresholdConfig, WindowConfig
from anomaly.data import prepare_stream
from anomaly.data.types import RawStream
from anomaly.errors import ModelError
from anomaly.model.detector import LSTMAutoencoderDetector
from tests.conftest import sensor_frame


def _prepared(frame: pd.DataFrame, window: int = 16):
    frame = frame.drop(columns="stream").assign(timestamp=lambda f: pd.to_datetime(f.timestamp, utc=True))
    raw = RawStream(name="s", frame=frame, rows=np.arange(2, len(frame) + 2), origin="test")
    return prepare_stream(raw, PreparationConfig(), window_length=window)


def _detector(**model) -> LSTMAutoencoderDetector:
    """The article's reconstruction autoencoder, unsmoothed (the default variant is tested in
    tests/test_variants.py and through the pipeline tests)."""
    return LSTMAutoencoderDetector(
        window=WindowConfig(length=16, train_stride=4),
        model=ModelConfig(
            **{"variant": "reconstruction", "units": 8, "epochs": 3, "batch_size": 32, "patience": 2, **model}
        ),
        threshold=ThresholdConfig(),
        scoring=ScoringConfig(ewma_alpha=1.0),
        max_clusters=3,
    )


@pytest.fixture(scope="module")
def stream():
    return _prepared(sensor_frame("s", n=500, seed=3))


@pytest.fixture(scope="module")
def fitted(stream):
    return _detector().fit(stream)


def test_fit_returns_self_with_learned_state(stream):
    detector = _detector()
    assert detector.fit(stream) is detector
    assert detector.threshold_ > 0
    assert detector.channels_ == ["value"]
    assert detector.epochs_trained_ >= 1


def test_unfitted_detector_refuses_to_score(stream):
    with pytest.raises(ModelError, match="not been fitted"):
        _detector().score(stream)


def test_scaler_is_fitted_on_training_rows_only(stream, fitted):
    split = int(len(stream.values) * (1 - fitted.model.validation_fraction))
    training = stream.values.to_numpy()[:split]
    assert fitted.scaler_.mean[0] == pytest.approx(training.mean())
    assert fitted.scaler_.scale[0] == pytest.approx(training.std())
    assert fitted.scaler_.mean[0] != pytest.approx(stream.values.to_numpy().mean(), abs=1e-9)


def test_scores_cover_every_window_and_embeddings_have_fixed_length(stream, fitted):
    scores = fitted.score(stream)
    assert len(scores.starts) == len(stream.values) - 16 + 1
    assert scores.step_errors.shape == (len(scores.starts), 16)
    np.testing.assert_allclose(scores.window_errors, scores.step_errors.mean(axis=1), rtol=1e-5)
    reconstructions, embeddings = fitted.reconstruct(stream, scores.starts[:5])
    assert reconstructions.shape == (5, 16, 1)
    assert embeddings.shape == (5, 8)


def test_same_data_and_seed_give_identical_results(stream, fitted):
    again = _detector().fit(stream)
    assert again.threshold_ == fitted.threshold_
    np.testing.assert_array_equal(again.score(stream).window_errors, fitted.score(stream).window_errors)


def test_save_and_load_round_trip(tmp_path, stream, fitted):
    fitted.save(tmp_path / "v1")
    loaded = LSTMAutoencoderDetector.load(tmp_path / "v1")
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.scaler_ == fitted.scaler_
    np.testing.assert_allclose(
        loaded.score(stream).window_errors, fitted.score(stream).window_errors, rtol=1e-6
    )


def test_loading_a_broken_artifact_is_a_clear_error(tmp_path, fitted):
    with pytest.raises(ModelError, match=r"missing its model.json"):
        LSTMAutoencoderDetector.load(tmp_path / "nothing")
    fitted.save(tmp_path / "v1")
    (tmp_path / "v1" / "weights.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match="cannot be read"):
        LSTMAutoencoderDetector.load(tmp_path / "v1")


def test_channels_must_match_the_model(fitted):
    other = _prepared(sensor_frame("s", n=200).rename(columns={"value": "pressure"}))
    with pytest.raises(ModelError, match="channels"):
        fitted.score(other)


def test_relu_activation_is_available(stream):
    detector = _detector(activation="relu").fit(stream)
    assert np.isfinite(detector.score(stream).window_errors).all()


def test_a_spike_scores_above_the_threshold():
    frame = sensor_frame("s", n=600, seed=4, spike_at=520)
    stream = _prepared(frame)
    detector = _detector(epochs=8).fit(stream)
    scores = detector.score(stream)
    flagged_starts = scores.starts[detector.predict(scores.window_errors)]
    assert len(flagged_starts) > 0
    assert all(505 <= start <= 522 for start in flagged_starts)
