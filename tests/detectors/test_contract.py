"""The detector contract (after scikit-learn's estimator checks), run on every detector configuration.

The LSTM autoencoder is checked over variant x activation x error type x threshold method, in a set
of combinations that holds every pair of values at least once (the full product would train 72
models); the rolling z-score, seasonal naive and noise-level detectors over every threshold method, and the
ensemble of a small LSTM with the seasonal detector over two. The stream's cycle is a day (72 rows of
20 minutes), so the seasonal detector has a calendar cycle to compare with. Threshold methods are read from
the registry, so a new one is checked here without editing this file.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from anomaly.config import ModelConfig, ScoringConfig, WindowConfig
from anomaly.detectors import (
    Detector,
    EnsembleDetector,
    LSTMAutoencoderDetector,
    NoiseLevelDetector,
    RollingZScoreDetector,
    SeasonalNaiveDetector,
    load_detector,
)
from anomaly.errors import ModelError
from anomaly.thresholds import threshold_config, threshold_methods
from tests.conftest import prepared_stream, sensor_frame

VARIANTS = ("reconstruction", "prediction", "composite")
ACTIVATIONS = ("tanh", "relu")
ERRORS = ("mse", "mahalanobis")
SPIKE_AT = 300


def pairwise(*factors: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A few combinations of ``factors`` that hold every pair of values of any two factors: greedily,
    the combination of the full product that covers most pairs not yet covered, until none is left."""

    def pairs(combination: tuple[str, ...]) -> set[tuple[int, str, int, str]]:
        return {
            (i, combination[i], j, combination[j]) for i, j in itertools.combinations(range(len(factors)), 2)
        }

    product = list(itertools.product(*factors))
    uncovered = set().union(*(pairs(combination) for combination in product))
    chosen = []
    while uncovered:
        best = max(product, key=lambda combination: len(pairs(combination) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen


def _threshold(method: str):
    """The method's defaults; a label-tuned threshold names a labels file only the pipeline reads."""
    return threshold_config(
        {"method": method, **({"labels": "labels.json"} if method == "label_tuned" else {})}
    )


def _lstm(variant: str, activation: str, error: str, method: str) -> LSTMAutoencoderDetector:
    return LSTMAutoencoderDetector(
        window=WindowConfig(length=16, train_stride=4),
        model=ModelConfig(
            variant=variant, horizon=4, activation=activation, units=8, epochs=2, batch_size=32, patience=1
        ),
        threshold=_threshold(method),
        scoring=ScoringConfig(error=error, ewma_alpha=1.0 if error == "mse" else 0.5),
        max_clusters=3,
    )


def _zscore(method: str) -> RollingZScoreDetector:
    return RollingZScoreDetector(window=WindowConfig(length=16, train_stride=4), threshold=_threshold(method))


def _seasonal(method: str) -> SeasonalNaiveDetector:
    return SeasonalNaiveDetector(window=WindowConfig(length=16, train_stride=4), threshold=_threshold(method))


def _noise_level(method: str) -> NoiseLevelDetector:
    return NoiseLevelDetector(window=WindowConfig(length=16, train_stride=4), threshold=_threshold(method))


def _ensemble(method: str) -> EnsembleDetector:
    return EnsembleDetector(
        members=[_lstm("prediction", "tanh", "mse", method), _seasonal(method)],
        window=WindowConfig(length=16, train_stride=4),
        threshold=_threshold(method),
    )


LSTM_CASES = [
    pytest.param((_lstm, combination), id="-".join(combination))
    for combination in pairwise(VARIANTS, ACTIVATIONS, ERRORS, threshold_methods())
]
ZSCORE_CASES = [pytest.param((_zscore, (method,)), id=f"zscore-{method}") for method in threshold_methods()]
SEASONAL_CASES = [
    pytest.param((_seasonal, (method,)), id=f"seasonal-{method}") for method in threshold_methods()
]
NOISE_LEVEL_CASES = [
    pytest.param((_noise_level, (method,)), id=f"noise-level-{method}") for method in threshold_methods()
]
ENSEMBLE_CASES = [
    pytest.param((_ensemble, (method,)), id=f"ensemble-{method}") for method in ("block_maxima", "dynamic")
]
CASES = LSTM_CASES + ZSCORE_CASES + SEASONAL_CASES + NOISE_LEVEL_CASES + ENSEMBLE_CASES


@pytest.fixture(scope="module")
def stream():
    return prepared_stream(sensor_frame("s", n=504, seed=3, spike_at=SPIKE_AT, freq="20min"))


@pytest.fixture(scope="module")
def labels(stream):
    """The spike's interval, passed to ``fit`` (only a label-tuned threshold uses it)."""
    index = stream.values.index
    return [(index[SPIKE_AT], index[SPIKE_AT + 2])]


@pytest.fixture(scope="module", params=CASES)
def case(request, stream, labels):
    """A detector factory, its arguments and one fitted detector."""
    make, arguments = request.param
    return make, arguments, make(*arguments).fit(stream, labels=labels)


def test_every_threshold_method_and_detector_is_in_the_suite():
    combinations = [param.values[0][1] for param in LSTM_CASES]
    factors = (VARIANTS, ACTIVATIONS, ERRORS, threshold_methods())
    for i, j in itertools.combinations(range(len(factors)), 2):
        covered = {(combination[i], combination[j]) for combination in combinations}
        assert covered == set(itertools.product(factors[i], factors[j]))
    assert {param.values[0][1][0] for param in ZSCORE_CASES} == set(threshold_methods())
    assert {param.values[0][1][0] for param in SEASONAL_CASES} == set(threshold_methods())
    assert {param.values[0][1][0] for param in NOISE_LEVEL_CASES} == set(threshold_methods())


def test_fit_returns_self(case, stream, labels):
    make, arguments, _ = case
    detector = make(*arguments)
    assert detector.fit(stream, labels=labels) is detector
    assert isinstance(detector, Detector)


def test_unfitted_detector_raises(case, stream, tmp_path):
    make, arguments, _ = case
    detector = make(*arguments)
    for call in (
        lambda: detector.score_samples(stream),
        lambda: detector.decision_function(stream),
        lambda: detector.predict(stream),
        lambda: detector.transform(stream),
        lambda: detector.threshold_,
        lambda: detector.save(tmp_path / "unfitted"),
    ):
        with pytest.raises(ModelError, match="not been fitted"):
            call()


def test_learned_state_and_shapes(case, stream):
    _, _, fitted = case
    scores = fitted.score_samples(stream)
    assert len(scores.starts) == len(stream.values) - 16 + 1
    assert scores.window_errors.shape == scores.starts.shape
    assert scores.step_errors.shape == (len(scores.starts), 16)
    assert np.isfinite(fitted.threshold_) and fitted.threshold_ > 0
    np.testing.assert_array_equal(fitted.decision_function(stream), scores.window_errors - fitted.threshold_)
    np.testing.assert_array_equal(fitted.predict(stream), scores.window_errors > fitted.threshold_)
    embeddings = fitted.transform(stream)
    assert embeddings.shape[0] == len(scores.starts) and np.isfinite(embeddings).all()
    assert fitted.transform(stream, scores.starts[:5]).shape == (5, embeddings.shape[1])
    assert fitted.channels_ == ["value"]


def test_same_data_and_seed_give_the_same_flags(case, stream, labels):
    make, arguments, fitted = case
    again = make(*arguments).fit(stream, labels=labels)
    assert again.threshold_ == fitted.threshold_
    np.testing.assert_array_equal(
        again.score_samples(stream).window_errors, fitted.score_samples(stream).window_errors
    )
    np.testing.assert_array_equal(again.predict(stream), fitted.predict(stream))


def test_save_and_load_give_identical_scores_and_parameters(case, stream, tmp_path: Path):
    _, _, fitted = case
    fitted.save(tmp_path / "v1")
    loaded = load_detector(tmp_path / "v1")
    assert type(loaded) is type(fitted)
    assert _comparable(loaded.record()) == _comparable(fitted.record())
    assert loaded.threshold == fitted.threshold  # every method's parameters, restored
    assert loaded.threshold_method_.to_dict() == fitted.threshold_method_.to_dict()
    np.testing.assert_array_equal(
        loaded.score_samples(stream).window_errors, fitted.score_samples(stream).window_errors
    )
    np.testing.assert_array_equal(loaded.transform(stream), fitted.transform(stream))


def test_incremental_scores_equal_one_shot_scores(case, stream):
    _, _, fitted = case
    whole = fitted.score_samples(stream)
    later = fitted.score_samples(stream, first_row=250)
    assert (later.starts + 16 - 1 >= 250).all()
    position = np.searchsorted(whole.starts, later.starts)
    np.testing.assert_allclose(later.window_errors, whole.window_errors[position], rtol=1e-6, atol=1e-9)


def test_a_run_with_nothing_new_scores_no_window(case, stream):
    _, _, fitted = case
    nothing = fitted.score_samples(stream, first_row=len(stream.values))
    assert len(nothing.starts) == len(nothing.window_errors) == 0
    assert fitted.transform(stream, nothing.starts).shape[0] == 0
    reconstructions, embeddings = fitted.reconstruct(stream, nothing.starts)
    assert len(embeddings) == 0 and (reconstructions is None or len(reconstructions) == 0)


def _comparable(record: dict) -> dict:
    """A record less what describes the machine rather than the model."""
    return {key: value for key, value in record.items() if key not in {"versions", "framework_versions"}}


def test_history_rows_needed_is_all_the_history_scores_depend_on(case):
    """Scores of the last rows of a stream cut ``history_rows_needed`` steps before its first new row
    are those of the whole stream: what lets a scheduled run read only the end of a long source."""
    _, _, fitted = case
    long = prepared_stream(sensor_frame("s", n=1100, seed=4, freq="20min"))
    first_row = 1050
    cut = first_row - fitted.history_rows_needed(long.frequency)
    assert cut > 0
    shorter = replace(long, values=long.values.iloc[cut:], segment=long.segment[cut:])
    whole = fitted.score_samples(long, first_row=first_row)
    tail = fitted.score_samples(shorter, first_row=first_row - cut)
    np.testing.assert_array_equal(tail.starts + cut, whole.starts)
    # Equal but for rounding: the seasonal detector's window means are differences of running sums.
    np.testing.assert_allclose(tail.window_errors, whole.window_errors, rtol=1e-12, atol=0)
    np.testing.assert_allclose(tail.step_errors, whole.step_errors, rtol=1e-12, atol=0)
    assert np.isfinite(whole.window_errors).any()
