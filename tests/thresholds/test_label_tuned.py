from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from anomaly.thresholds import (
    BlockMaximaConfig,
    LabelTunedConfig,
    LabelTunedThreshold,
    MadConfig,
    event_f1,
    labelled_windows,
    threshold_config,
    threshold_for,
)


def test_label_tuned_threshold_lies_between_normal_errors_and_labelled_anomalies(labelled_errors):
    errors, labelled = labelled_errors
    threshold = LabelTunedThreshold(LabelTunedConfig(labels="labels.json")).fit(errors, labelled).threshold_
    assert errors[~labelled].max() <= threshold < 0.4


def test_label_tuned_falls_back_without_labelled_windows(labelled_errors):
    errors, _ = labelled_errors
    for fallback in ("block_maxima", "mad"):
        tuned = LabelTunedThreshold(LabelTunedConfig(labels="labels.json", label_fallback=fallback))
        expected = threshold_for(threshold_config(method=fallback)).fit(errors).threshold_
        assert tuned.fit(errors, np.zeros(errors.size, dtype=bool)).threshold_ == expected
        assert tuned.fit(errors).threshold_ == expected
    assert expected != threshold_for(threshold_config(method="block_maxima")).fit(errors).threshold_


def test_label_tuned_mask_must_match_the_errors():
    with pytest.raises(ValueError, match="one entry per window"):
        LabelTunedThreshold(LabelTunedConfig(labels="labels.json")).fit(np.ones(10), np.ones(9, dtype=bool))


def test_event_f1_counts_runs_without_point_adjustment():
    flagged = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0], dtype=bool)
    labelled = np.array([0, 0, 1, 1, 0, 0, 0, 1, 1], dtype=bool)
    # one true event (1-2), one false (5); one of two labelled intervals found: P = R = 1/2
    assert event_f1(flagged, labelled) == pytest.approx(0.5)
    nothing = np.zeros(9, dtype=bool)
    assert event_f1(nothing, labelled) == 0.0  # P = 1 (nothing flagged), R = 0
    assert event_f1(flagged, nothing) == 0.0  # P = 0, R = 1 (nothing to find)
    assert event_f1(labelled, labelled) == 1.0


def test_labelled_windows_overlap_the_intervals_inside_the_windows():
    timestamps = pd.date_range("2026-01-01", periods=20, freq="h", tz="UTC")
    intervals = [
        (timestamps[8], timestamps[9]),
        (pd.Timestamp("2030-01-01", tz="UTC"), pd.Timestamp("2030-01-02", tz="UTC")),  # after the rows
    ]
    starts = np.arange(0, 16, 2)  # windows of 4 rows: [0, 3], [2, 5], ..., [14, 17]
    labelled = labelled_windows(intervals, timestamps, starts, 4)
    np.testing.assert_array_equal(labelled, np.isin(starts, [6, 8]))  # [6, 9] and [8, 11] reach rows 8-9
    assert not labelled_windows([], timestamps, starts, 4).any()


def test_label_fallback_is_an_unsupervised_config_or_a_method_name():
    assert LabelTunedConfig(labels="l.json").label_fallback == BlockMaximaConfig()
    assert LabelTunedConfig(labels="l.json", label_fallback="mad").label_fallback == MadConfig()
    assert LabelTunedConfig(labels="l.json", label_fallback={"method": "mad", "k": 3}).label_fallback == (
        MadConfig(k=3)
    )
    assert LabelTunedConfig(labels="l.json", label_fallback={"margin": 2}).label_fallback == (
        BlockMaximaConfig(margin=2)
    )
    fallbacks = "'block_maxima', 'dynamic', 'mad', 'quantile', 'spot'"
    not_a_fallback = rf"label_fallback\n  Input tag 'label_tuned' .* expected tags: {fallbacks} \["
    with pytest.raises(ValidationError, match=not_a_fallback):
        LabelTunedConfig(labels="l.json", label_fallback="label_tuned")
    with pytest.raises(ValidationError, match=r"label_fallback\.mad\.blocks\n  Extra inputs"):
        LabelTunedConfig(labels="l.json", label_fallback={"method": "mad", "blocks": 3})


def test_label_tuned_needs_labels():
    with pytest.raises(ValidationError, match="labels\n  Field required"):
        LabelTunedConfig()
    config = LabelTunedConfig(labels="l.json")
    assert (config.labels, config.label_candidates) == (Path("l.json"), 200)
