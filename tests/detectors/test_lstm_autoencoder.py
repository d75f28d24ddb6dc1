"""What is particular to the LSTM autoencoder detector (the contract suite covers the rest): its
training rows, each variant's error, windows at gaps, smoothing, its artifact files, detection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from anomaly.config import ModelConfig, ScoringConfig, WindowConfig
from anomaly.detectors import LSTMAutoencoderDetector, load_detector
from anomaly.errors import ConfigError, ModelError
from anomaly.thresholds import threshold_config
from tests.conftest import prepared_stream, sensor_frame


def _detector(
    variant: str = "reconstruction", *, scoring: dict | None = None, **model
) -> LSTMAutoencoderDetector:
    return LSTMAutoencoderDetector(
        window=WindowConfig(length=16, train_stride=4),
        model=ModelConfig(
            **{
                "variant": variant,
                "horizon": 4,
                "units": 8,
                "epochs": 3,
                "batch_size": 32,
                "patience": 2,
                **model,
            }
        ),
        threshold=threshold_config(),
        scoring=ScoringConfig(**{"ewma_alpha": 1.0, **(scoring or {})}),
        max_clusters=3,
    )


@pytest.fixture(scope="module")
def stream():
    return prepared_stream(sensor_frame("s", n=400, seed=3))


@pytest.fixture(scope="module")
def fitted(stream):
    return _detector().fit(stream)


def test_scaler_is_fitted_on_training_rows_only(stream, fitted):
    split = int(len(stream.values) * (1 - fitted.model.validation_fraction))
    training = stream.values.to_numpy()[:split]
    assert fitted.scaler_.mean[0] == pytest.approx(training.mean())
    assert fitted.scaler_.scale[0] == pytest.approx(training.std())
    assert fitted.scaler_.mean[0] != pytest.approx(stream.values.to_numpy().mean(), abs=1e-9)
    assert fitted.epochs_trained_ >= 1


def test_reconstruction_error_is_the_mean_of_the_step_errors_and_windows_are_rebuilt(stream, fitted):
    scores = fitted.score_samples(stream)
    np.testing.assert_allclose(scores.window_errors, scores.step_errors.mean(axis=1), rtol=1e-5)
    reconstructions, embeddings = fitted.reconstruct(stream, scores.starts[:5])
    assert reconstructions.shape == (5, 16, 1)
    assert embeddings.shape == (5, 8)


def test_composite_error_is_the_sum_of_both_decoders(stream):
    composite = _detector("composite").fit(stream)
    scaled = composite.scaler_.transform(stream.values.to_numpy())
    starts = np.arange(40, 60)
    residuals = composite._residuals(scaled, stream.segment, starts)
    expected = (residuals.reconstruction**2).mean(axis=(1, 2)) + (residuals.prediction**2).mean(axis=(1, 2))
    np.testing.assert_allclose(composite.score_samples(stream).window_errors[starts], expected, rtol=1e-5)


@pytest.mark.parametrize("variant", ["prediction", "composite"])
def test_windows_after_a_gap_are_scored_without_looking_ahead(stream, variant):
    detector = _detector(variant).fit(stream)
    gapped = prepared_stream(sensor_frame("s", n=300, seed=5).drop(index=range(150, 170)))
    scores = detector.score_samples(gapped)
    assert len(np.unique(gapped.segment)) == 2
    segment_first = np.flatnonzero(np.diff(gapped.segment, prepend=-1))
    into_segment = scores.starts - segment_first[gapped.segment[scores.starts]]
    # The first `horizon` windows of each segment have only a prediction of rows after their end: no
    # score. Every other window is scored, and every row but those windows' first rows is covered.
    assert np.isnan(scores.window_errors[into_segment < 4]).all()
    assert np.isfinite(scores.window_errors[into_segment >= 4]).all()
    covered = np.zeros(len(gapped.values), dtype=bool)
    for start in scores.starts[into_segment >= 4]:
        covered[start : start + 16] = True
    assert np.flatnonzero(~covered).tolist() == [
        row for first in segment_first for row in range(first, first + 4)
    ]
    reconstructions, embeddings = detector.reconstruct(gapped, scores.starts[:5])
    assert reconstructions.shape == (5, 16, 1) and embeddings.shape == (5, 8)
    if variant == "prediction":  # an unjudged window is shown as it is: it has no error to show
        np.testing.assert_allclose(reconstructions[0], gapped.values.to_numpy()[:16], rtol=1e-5, atol=1e-5)


def test_horizon_longer_than_the_window_is_refused(stream):
    with pytest.raises(ConfigError, match="horizon"):
        _detector("prediction", horizon=17).fit(stream)


def test_trailing_z_scores_are_incremental_and_two_sided(stream):
    detector = _detector(scoring={"ewma_alpha": 0.5, "trailing": 40}).fit(stream)
    one_shot = detector.score_samples(stream)
    incremental = detector.score_samples(stream, first_row=300)
    position = np.searchsorted(one_shot.starts, incremental.starts)
    np.testing.assert_allclose(incremental.window_errors, one_shot.window_errors[position], rtol=1e-5)
    assert detector.threshold_ > 0 and (one_shot.window_errors < 0).any()


def test_smoothing_calms_the_errors_and_restarts_at_a_gap(stream, fitted):
    detector = _detector(scoring={"ewma_alpha": 0.2}).fit(stream)
    smoothed, raw = detector.score_samples(stream), fitted.score_samples(stream)
    assert np.abs(np.diff(smoothed.window_errors)).mean() < np.abs(np.diff(raw.window_errors)).mean()
    gapped = prepared_stream(sensor_frame("s", n=300, seed=5).drop(index=range(150, 170)))
    second = gapped.segment >= gapped.segment.max()
    whole = detector.score_samples(gapped)
    after_gap = detector.score_samples(gapped, first_row=int(np.flatnonzero(second)[0]))
    in_second = second[whole.starts]
    np.testing.assert_allclose(whole.window_errors[in_second], after_gap.window_errors, rtol=1e-12)
    assert whole.window_errors[in_second][0] != pytest.approx(whole.window_errors[~in_second][-1])


def test_mahalanobis_learns_one_covariance_per_decoder(stream):
    detector = _detector("composite", scoring={"error": "mahalanobis"}).fit(stream)
    assert detector.window_scorer_.mahalanobis_["reconstruction"].precision.shape == (16, 16)
    assert detector.window_scorer_.mahalanobis_["prediction"].precision.shape == (4, 4)


def test_loading_a_broken_artifact_is_a_clear_error(tmp_path, fitted):
    with pytest.raises(ModelError, match=r"missing its model.json"):
        load_detector(tmp_path / "nothing")
    fitted.save(tmp_path / "v1")
    (tmp_path / "v1" / "weights.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match="cannot be read"):
        load_detector(tmp_path / "v1")
    (tmp_path / "v1" / "model.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_detector(tmp_path / "v1")


def test_a_format_1_record_still_loads(tmp_path, stream, fitted):
    """Artifacts written before detectors were pluggable: no detector name, one flat threshold section
    holding every method's parameters, no scoring section."""
    fitted.save(tmp_path / "v1")
    path = tmp_path / "v1" / "model.json"
    record = json.loads(path.read_text())
    flat_threshold = {
        "method": "block_maxima",
        "errors": "fitted",
        "blocks": 10,
        "block_quantile": 0.75,
        "margin": 1.35,
        "k": 6.0,
        "quantile": 0.995,
        "spot_risk": 1e-4,
        "labels": None,
        "label_fallback": "block_maxima",
    }
    old = {key: value for key, value in record.items() if key not in {"detector", "scoring", "mahalanobis"}}
    path.write_text(json.dumps({**old, "format": 1, "threshold_config": flat_threshold}))
    loaded = load_detector(tmp_path / "v1")
    assert isinstance(loaded, LSTMAutoencoderDetector)
    assert loaded.scoring == ScoringConfig() and loaded.window_scorer_.mahalanobis_ == {}
    assert loaded.threshold == threshold_config({"method": "block_maxima", "margin": 1.35})
    assert loaded.threshold_ == fitted.threshold_


def test_channels_must_match_the_model(fitted):
    other = prepared_stream(sensor_frame("s", n=200).rename(columns={"value": "pressure"}))
    with pytest.raises(ModelError, match="channels"):
        fitted.score_samples(other)


def test_a_spike_scores_above_the_threshold_and_nowhere_else():
    stream = prepared_stream(sensor_frame("s", n=600, seed=4, spike_at=520))
    detector = _detector(epochs=8).fit(stream)
    flagged = detector.score_samples(stream).starts[detector.predict(stream)]
    assert len(flagged) > 0
    assert all(505 <= start <= 522 for start in flagged)


def test_prediction_detects_a_spike():
    stream = prepared_stream(sensor_frame("s", n=600, seed=4, spike_at=520))
    detector = _detector("prediction", epochs=8).fit(stream)
    scores = detector.score_samples(stream)
    around = (scores.starts >= 505) & (scores.starts <= 522)
    elsewhere = scores.starts < 480
    assert scores.window_errors[around].max() > 3 * np.nanmax(scores.window_errors[elsewhere])
    flagged = scores.starts[detector.predict(stream)]
    assert len(flagged) > 0 and all(500 <= start <= 530 for start in flagged)
