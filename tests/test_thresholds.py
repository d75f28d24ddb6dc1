import json
import typing

import numpy as np
import pandas as pd
import pytest

from anomaly.config import ThresholdConfig, ThresholdMethod, config_from_dict, load_config
from anomaly.detection import analyse_stream
from anomaly.errors import ConfigError
from anomaly.events import merge_flagged_windows
from anomaly.threshold_methods.dynamic import dynamic_threshold, prune_sequences
from anomaly.threshold_methods.label_tuned import event_f1
from anomaly.threshold_methods.spot import ParetoTail, fit_pareto_tail
from anomaly.thresholds import learn_threshold

UNSUPERVISED = ["block_maxima", "mad", "quantile", "spot", "dynamic"]


@pytest.mark.parametrize("method", UNSUPERVISED)
def test_threshold_separates_normal_errors_from_outliers(method):
    rng = np.random.default_rng(0)
    normal = rng.gamma(2.0, 0.01, size=2000)
    threshold = learn_threshold(normal, ThresholdConfig(method=method))
    assert np.mean(normal > threshold) < 0.02
    assert threshold < 1.0  # an error 50x the typical one is flagged


def test_mad_threshold_is_robust_to_a_few_anomalies():
    rng = np.random.default_rng(1)
    normal = rng.normal(1.0, 0.1, size=1000)
    contaminated = np.concatenate([normal, np.full(20, 100.0)])
    clean = learn_threshold(normal, ThresholdConfig(method="mad", k=5))
    dirty = learn_threshold(contaminated, ThresholdConfig(method="mad", k=5))
    assert dirty == pytest.approx(clean, rel=0.05)
    assert dirty < 100.0


def test_mad_formula():
    errors = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, MAD 1
    assert learn_threshold(errors, ThresholdConfig(method="mad", k=2)) == pytest.approx(3 + 2 * 1.4826)


def test_constant_errors_never_flag_normal_data():
    errors = np.full(300, 0.25)  # enough for SPOT to have a tail
    for method in UNSUPERVISED:
        assert learn_threshold(errors, ThresholdConfig(method=method)) > 0.25


def test_no_finite_errors_is_an_error():
    with pytest.raises(ValueError, match="no finite"):
        learn_threshold(np.array([np.nan]), ThresholdConfig())


def test_block_maxima_sits_above_recurring_normal_peaks_and_below_a_rare_anomaly():
    rng = np.random.default_rng(2)
    errors = rng.gamma(2.0, 0.01, size=2000)
    errors[::100] = 0.3  # a hard but normal pattern, recurring in every block
    errors[1500:1520] = 1.0  # one anomaly
    threshold = learn_threshold(errors, ThresholdConfig(method="block_maxima"))
    assert 0.3 < threshold < 1.0
    assert threshold == pytest.approx(ThresholdConfig().margin * 0.3)


def test_block_maxima_formula():
    errors = np.arange(1.0, 11.0)  # ten blocks of one error each
    config = ThresholdConfig(method="block_maxima", blocks=10, block_quantile=0.5, margin=2.0)
    assert learn_threshold(errors, config) == pytest.approx(2.0 * 5.5)


# -- spot --------------------------------------------------------------------------------------------


def test_spot_on_exponential_errors_is_close_to_the_analytic_quantile():
    errors = np.random.default_rng(3).exponential(1.0, size=200_000)
    threshold = learn_threshold(errors, ThresholdConfig(method="spot", spot_risk=1e-4))
    # P(error > z) = exp(-z) = 1e-4; the tail above the 0.98 quantile is extrapolated 200 times further
    assert threshold == pytest.approx(-np.log(1e-4), rel=0.05)


def test_spot_on_a_heavy_tail_fits_a_positive_shape_and_its_quantile():
    errors = np.random.default_rng(4).pareto(3.0, size=200_000)  # Lomax: P(X > x) = (1 + x)^-3
    tail = fit_pareto_tail(errors, 0.98)
    assert 0.25 < tail.gamma < 0.45  # 1 / 3 in theory
    assert tail.threshold(1e-4) == pytest.approx(1e-4 ** (-1 / 3) - 1, rel=0.1)


def test_spot_threshold_formula():
    # 20 of 1000 errors exceed t = 1, so q * n / N_t = 1e-3 * 1000 / 20 = 0.05
    assert ParetoTail(1.0, 0.0, 2.0, 1000, 20).threshold(1e-3) == pytest.approx(1 - 2 * np.log(0.05))
    assert ParetoTail(1.0, 0.5, 2.0, 1000, 20).threshold(1e-3) == pytest.approx(1 + 4 * (0.05**-0.5 - 1))
    with pytest.raises(ValueError, match="risk"):
        ParetoTail(1.0, 0.0, 2.0, 1000, 20).threshold(0.05)


def test_spot_with_few_excesses_takes_an_exponential_tail():
    errors = np.random.default_rng(5).exponential(1.0, size=300)  # 6 errors above the 0.98 quantile
    tail = fit_pareto_tail(errors, 0.98)
    excesses = errors[errors > tail.initial_threshold] - tail.initial_threshold
    assert tail.n_excesses == len(excesses) < 10
    assert (tail.gamma, tail.sigma) == (0.0, pytest.approx(excesses.mean()))


def test_spot_falls_back_to_moments_when_the_likelihood_fit_fails(monkeypatch):
    import scipy.stats

    def failing_fit(*args, **kwargs):
        raise RuntimeError("no convergence")

    monkeypatch.setattr(scipy.stats.genpareto, "fit", failing_fit)
    errors = np.random.default_rng(6).exponential(1.0, size=50_000)
    tail = fit_pareto_tail(errors, 0.98)
    excesses = errors[errors > tail.initial_threshold] - tail.initial_threshold
    ratio = excesses.mean() ** 2 / excesses.var(ddof=1)
    assert tail.gamma == pytest.approx(0.5 * (1 - ratio))
    assert abs(tail.gamma) < 0.1


def test_spot_with_too_few_errors_is_a_clear_error():
    with pytest.raises(ValueError, match="SPOT needs at least 250 errors"):
        learn_threshold(np.random.default_rng(7).exponential(size=100), ThresholdConfig(method="spot"))


# -- dynamic -----------------------------------------------------------------------------------------


def test_dynamic_threshold_separates_injected_errors_from_gaussian_noise():
    rng = np.random.default_rng(8)
    normal = rng.normal(1.0, 0.1, size=2000)
    errors = normal.copy()
    for start in (300, 900, 1500):
        errors[start : start + 5] = rng.normal(3.0, 0.05, size=5)
    threshold = learn_threshold(errors, ThresholdConfig(method="dynamic"))
    injected = np.zeros(errors.size, dtype=bool)
    for start in (300, 900, 1500):
        injected[start : start + 5] = True
    assert errors[~injected].max() < threshold < errors[injected].min()


def test_dynamic_threshold_takes_the_largest_candidate_when_none_qualifies():
    rng = np.random.default_rng(9)
    errors = rng.normal(1.0, 0.1, size=2000)
    errors[::100] = 5.0  # 20 separate sequences at every candidate that flags anything: over the limit of 5
    expected = errors.mean() + 10.0 * errors.std()
    assert dynamic_threshold(errors, (2.0, 10.0, 0.5), buffer=10) == pytest.approx(expected)


def _telemanom_prune(maxima, max_normal, p):
    """telemanom's walk, written out: indices of the sequences it removes."""
    ladder = [*sorted(maxima, reverse=True), max_normal]
    to_remove = []
    for i in range(len(ladder) - 1):
        if (ladder[i] - ladder[i + 1]) / ladder[i] < p:
            to_remove.append(maxima.index(ladder[i]))
        else:
            to_remove = []
    return sorted(to_remove)


def test_pruning_keeps_sequences_above_the_last_clear_decrease():
    # sorted: 10, 9.5, 5.0, 4.8, then the largest normal error 4.5; decreases 5%, 47%, 4%, 6%
    maxima = np.array([5.0, 10.0, 4.8, 9.5])
    keep = prune_sequences(maxima, max_normal_error=4.5, min_decrease=0.13)
    # 10 is within 13% of 9.5 but kept: the clear drop from 9.5 to 5.0 comes after it
    np.testing.assert_array_equal(keep, [False, True, False, True])
    assert _telemanom_prune(maxima.tolist(), 4.5, 0.13) == [0, 2]


def test_pruning_against_the_largest_normal_error():
    assert not prune_sequences(np.array([1.05]), max_normal_error=1.0, min_decrease=0.13)[0]
    assert prune_sequences(np.array([2.0]), max_normal_error=1.0, min_decrease=0.13)[0]
    assert prune_sequences(np.array([]), max_normal_error=1.0, min_decrease=0.13).size == 0


@pytest.mark.parametrize("seed", range(5))
def test_pruning_agrees_with_telemanoms_walk(seed):
    rng = np.random.default_rng(seed)
    maxima = rng.uniform(1.0, 2.0, size=8)
    keep = prune_sequences(maxima, max_normal_error=0.95, min_decrease=0.05)
    assert np.flatnonzero(~keep).tolist() == _telemanom_prune(maxima.tolist(), 0.95, 0.05)


def test_merging_prunes_events_close_to_normal_errors():
    starts = np.arange(30)
    errors = np.full(30, 0.5)
    errors[5:8] = 3.0  # clearly anomalous
    errors[20:22] = 1.05  # barely above the threshold and the largest normal error
    args = (starts, errors, 1.0, 3, np.zeros(40, dtype=int), np.zeros(40))
    assert len(merge_flagged_windows(*args)) == 2
    pruned = merge_flagged_windows(*args, min_decrease=0.13, max_normal_error=1.0)
    assert [event.peak_error for event in pruned] == [3.0]
    # the run's own largest unflagged error counts as normal too
    assert len(merge_flagged_windows(*args, min_decrease=0.6, max_normal_error=0.0)) == 1  # 1.05 -> 0.5


# -- label_tuned -------------------------------------------------------------------------------------


def _labelled_errors():
    rng = np.random.default_rng(10)
    errors = rng.gamma(2.0, 0.01, size=3000)
    labelled = np.zeros(errors.size, dtype=bool)
    for start, peak in ((500, 0.5), (1700, 0.4), (2600, 0.6)):
        labelled[start : start + 20] = True
        errors[start + 5 : start + 15] = peak
    return errors, labelled


def test_label_tuned_threshold_lies_between_normal_errors_and_labelled_anomalies():
    errors, labelled = _labelled_errors()
    config = ThresholdConfig(method="label_tuned", labels="labels.json")
    threshold = learn_threshold(errors, config, labelled=labelled)
    assert errors[~labelled].max() <= threshold < 0.4


def test_label_tuned_falls_back_without_labelled_windows():
    errors, _ = _labelled_errors()
    for fallback in ("block_maxima", "mad"):
        config = ThresholdConfig(method="label_tuned", labels="labels.json", label_fallback=fallback)
        expected = learn_threshold(errors, ThresholdConfig(method=fallback))
        assert learn_threshold(errors, config, labelled=np.zeros(errors.size, dtype=bool)) == expected
        assert learn_threshold(errors, config) == expected
    assert expected != learn_threshold(errors, ThresholdConfig(method="block_maxima"))


def test_label_tuned_mask_must_match_the_errors():
    config = ThresholdConfig(method="label_tuned", labels="labels.json")
    with pytest.raises(ValueError, match="one entry per window"):
        learn_threshold(np.ones(10), config, labelled=np.ones(9, dtype=bool))


def test_event_f1_counts_runs_without_point_adjustment():
    flagged = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0], dtype=bool)
    labelled = np.array([0, 0, 1, 1, 0, 0, 0, 1, 1], dtype=bool)
    # one true event (1-2), one false (5); one of two labelled intervals found: P = R = 1/2
    assert event_f1(flagged, labelled) == pytest.approx(0.5)


# -- configuration -----------------------------------------------------------------------------------


def test_every_threshold_method_fits_the_database_column():
    assert all(len(method) <= 32 for method in typing.get_args(ThresholdMethod))
    assert set(typing.get_args(ThresholdMethod)) == {*UNSUPERVISED, "label_tuned"}


@pytest.mark.parametrize(
    ("threshold", "message"),
    [
        ({"method": "label_tuned"}, "threshold: .*'label_tuned' needs 'labels'"),
        ({"spot_initial_quantile": 0.99, "spot_risk": 0.02}, "spot_risk must be below"),
        ({"dynamic_z_range": [5.0, 2.0, 0.5]}, "dynamic_z_range: .*start <= stop"),
        ({"dynamic_z_range": [2.0, 10.0, 0.0]}, "step > 0"),
        ({"label_fallback": "label_tuned"}, "label_fallback"),
        ({"dynamic_min_decrease": 0}, "dynamic_min_decrease"),
    ],
)
def test_threshold_config_errors_are_one_line(threshold, message):
    with pytest.raises(ConfigError, match=message) as caught:
        config_from_dict({"source": {"path": "data.csv"}, "threshold": threshold})
    assert "\n" not in str(caught.value)


def test_relative_labels_path_is_taken_from_the_config_folder(tmp_path):
    (tmp_path / "pipeline.toml").write_text(
        '[source]\npath = "data.csv"\n[threshold]\nmethod = "label_tuned"\nlabels = "labels.json"\n'
    )
    config = load_config(tmp_path / "pipeline.toml")
    assert config.threshold.labels == tmp_path / "labels.json"


# -- wiring in the detector and the analysis ---------------------------------------------------------


def test_detector_tunes_on_labels_inside_its_rows_and_dynamic_prunes_events(tmp_path):
    from anomaly.config import ModelConfig, PreparationConfig, WindowConfig
    from anomaly.data import prepare_stream
    from anomaly.data.types import RawStream
    from anomaly.model.detector import LSTMAutoencoderDetector
    from tests.conftest import sensor_frame

    frame = sensor_frame("s", n=600, seed=4, spike_at=300).drop(columns="stream")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    stream = prepare_stream(
        RawStream(name="s", frame=frame, rows=np.arange(2, 602), origin="test"),
        PreparationConfig(),
        window_length=16,
    )
    spike = stream.values.index[300:303]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"s": [[str(spike[0]), str(spike[-1])], ["2030-01-01", "2030-01-02"]]}))
    detector = LSTMAutoencoderDetector(
        window=WindowConfig(length=16, train_stride=4),
        model=ModelConfig(units=8, epochs=3, batch_size=32, patience=2),
        threshold=ThresholdConfig(method="label_tuned", labels=labels),
        max_clusters=3,
    ).fit(stream)
    scores = detector.score(stream)
    flagged_starts = scores.starts[detector.predict(scores.window_errors)]
    assert len(flagged_starts) > 0
    assert all(285 <= start <= 302 for start in flagged_starts)  # windows overlapping the spike only
    record = json.loads(json.dumps(detector.record()))
    assert ThresholdConfig(**record["threshold_config"]) == detector.threshold

    # a low threshold flags many noise events of similar peaks; 'dynamic' prunes them, keeps the spike
    detector.threshold_ = float(np.quantile(scores.window_errors, 0.6))
    unpruned = analyse_stream(detector, stream).events
    detector.threshold = ThresholdConfig(method="dynamic")
    pruned = analyse_stream(detector, stream).events
    assert len(pruned) < len(unpruned)
    assert any(event.first_row <= 300 <= event.last_row for event in pruned)
