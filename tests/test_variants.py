"""The prediction and composite model variants: coverage, embeddings, persistence, detection."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.config import ModelConfig, ScoringConfig, ThresholdConfig, WindowConfig
from anomaly.errors import ConfigError
from anomaly.model.detector import LSTMAutoencoderDetector
from anomaly.model.targets import prediction_targets
from anomaly.windowing import gather_windows
from tests.conftest import sensor_frame
from tests.test_detector import _prepared

VARIANTS = ["prediction", "composite"]


def _detector(variant: str, **model) -> LSTMAutoencoderDetector:
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
        threshold=ThresholdConfig(),
        scoring=ScoringConfig(ewma_alpha=1.0),
        max_clusters=3,
    )


@pytest.fixture(scope="module")
def stream():
    return _prepared(sensor_frame("s", n=400, seed=3))


@pytest.fixture(scope="module", params=VARIANTS)
def fitted(request, stream):
    return _detector(request.param).fit(stream)


def test_every_row_is_covered_and_embeddings_have_fixed_length(stream, fitted):
    scores = fitted.score(stream)
    assert len(scores.starts) == len(stream.values) - 16 + 1
    assert np.isfinite(scores.window_errors).all() and (scores.window_errors > 0).all()
    assert scores.step_errors.shape == (len(scores.starts), 16)
    windows = gather_windows(fitted.scaler_.transform(stream.values.to_numpy()), scores.starts[:5], 16)
    assert fitted.transform(windows).shape == (5, 8)
    reconstructions, embeddings = fitted.reconstruct(stream, scores.starts[:5])
    assert reconstructions.shape == (5, 16, 1) and embeddings.shape == (5, 8)


def test_save_and_load_round_trip(tmp_path, stream, fitted):
    fitted.save(tmp_path / "v1")
    loaded = LSTMAutoencoderDetector.load(tmp_path / "v1")
    assert loaded.model.variant == fitted.model.variant
    np.testing.assert_array_equal(loaded.score(stream).window_errors, fitted.score(stream).window_errors)


def test_composite_error_is_the_sum_of_both_decoders(stream):
    composite = _detector("composite").fit(stream)
    scaled = composite.scaler_.transform(stream.values.to_numpy())
    starts = np.arange(40, 60)
    residuals = composite._residuals(scaled, stream.segment, starts)
    expected = (residuals.reconstruction**2).mean(axis=(1, 2)) + (residuals.prediction**2).mean(axis=(1, 2))
    np.testing.assert_allclose(composite.score(stream).window_errors[starts], expected, rtol=1e-5)


def test_a_window_is_judged_by_the_prediction_of_its_last_rows():
    segment = np.array([0] * 30 + [1] * 17)
    targets = prediction_targets(segment, np.array([0, 2, 10, 14, 30, 31]), length=16, horizon=4)
    # Windows at least `horizon` rows into their segment: predicted from 4 rows earlier, their last 4 rows.
    np.testing.assert_array_equal(targets.inputs[2:4], [6, 10])
    np.testing.assert_array_equal(targets.offsets[2], [12, 13, 14, 15])
    assert targets.valid[2:4].all()
    # The first windows of a segment share its first window's prediction; a short segment cuts it off.
    np.testing.assert_array_equal(targets.inputs[[0, 1, 4, 5]], [0, 0, 30, 30])
    np.testing.assert_array_equal(targets.rows[1], [16, 17, 18, 19])
    np.testing.assert_array_equal(targets.valid[4], [True, False, False, False])


def test_windows_next_to_a_gap_are_scored(stream):
    detector = _detector("prediction").fit(stream)
    frame = sensor_frame("s", n=300, seed=5)
    gapped = _prepared(frame.drop(index=range(150, 170)))
    scores = detector.score(gapped)
    assert len(np.unique(gapped.segment)) == 2
    covered = np.zeros(len(gapped.values), dtype=bool)
    for start in scores.starts:
        covered[start : start + 16] = True
    assert covered.all() and np.isfinite(scores.window_errors).all()


def test_horizon_longer_than_the_window_is_refused(stream):
    with pytest.raises(ConfigError, match="horizon"):
        _detector("prediction", horizon=17).fit(stream)


def test_prediction_detects_a_spike():
    stream = _prepared(sensor_frame("s", n=600, seed=4, spike_at=520))
    detector = _detector("prediction", epochs=8).fit(stream)
    scores = detector.score(stream)
    around = (scores.starts >= 505) & (scores.starts <= 522)
    elsewhere = scores.starts < 480
    assert scores.window_errors[around].max() > 3 * scores.window_errors[elsewhere].max()
    flagged = scores.starts[detector.predict(scores.window_errors)]
    assert len(flagged) > 0 and all(500 <= start <= 530 for start in flagged)
