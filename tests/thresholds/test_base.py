"""The contract every registered threshold method meets, checked on each from the registry."""

import json

import numpy as np
import pytest

from anomaly.errors import ModelError
from anomaly.thresholds import (
    UNSUPERVISED_THRESHOLDS,
    Threshold,
    threshold_config,
    threshold_for,
    threshold_from_dict,
    threshold_methods,
)

UNSUPERVISED = [threshold.method for threshold in UNSUPERVISED_THRESHOLDS]
REQUIRED_FIELDS = {"label_tuned": {"labels": "labels.json"}}


def unfitted(method: str) -> Threshold:
    """The method with its default config (plus the fields it cannot do without)."""
    return threshold_for(threshold_config(method=method, **REQUIRED_FIELDS.get(method, {})))


@pytest.mark.parametrize("method", threshold_methods())
def test_contract(method, labelled_errors):
    errors, labelled = labelled_errors
    threshold = unfitted(method)
    assert threshold.method == method
    assert isinstance(threshold.config, type(threshold).config_type)
    with pytest.raises(ModelError, match="not fitted"):
        threshold.keep_events(np.array([1.0]), 0.5)
    with pytest.raises(ModelError, match="not fitted"):
        threshold.to_dict()

    assert threshold.fit(errors, labelled) is threshold
    assert np.isfinite(threshold.threshold_)
    assert unfitted(method).fit(errors.copy(), labelled.copy()).threshold_ == threshold.threshold_

    peaks = np.array([3.0, 0.9, 1.0, 0.95])
    keep = threshold.keep_events(peaks, 0.5)
    assert keep.dtype == bool
    assert keep.shape == peaks.shape
    assert threshold.keep_events(np.array([]), 0.5).shape == (0,)

    saved = json.loads(json.dumps(threshold.to_dict()))
    assert set(saved) == {"config", "threshold"}
    loaded = threshold_from_dict(saved)
    assert type(loaded) is type(threshold)
    assert loaded.config == threshold.config
    assert loaded.threshold_ == threshold.threshold_
    assert loaded.to_dict() == threshold.to_dict()
    np.testing.assert_array_equal(loaded.keep_events(peaks, 0.5), keep)


@pytest.mark.parametrize("method", threshold_methods())
def test_non_finite_errors_are_ignored_and_the_labels_mask_follows(method, labelled_errors):
    errors, labelled = labelled_errors
    holed = np.insert(errors, [0, 1000, 3000], [np.nan, np.inf, -np.inf])
    holed_labels = np.insert(labelled, [0, 1000, 3000], True)
    expected = unfitted(method).fit(errors, labelled).threshold_
    assert unfitted(method).fit(holed, holed_labels).threshold_ == expected


@pytest.mark.parametrize("method", threshold_methods())
def test_input_errors(method):
    with pytest.raises(ValueError, match="no finite"):
        unfitted(method).fit(np.array([np.nan]))
    with pytest.raises(ValueError, match="one entry per window"):
        unfitted(method).fit(np.ones(10), np.ones(9, dtype=bool))


@pytest.mark.parametrize("method", threshold_methods())
def test_constant_errors_never_flag_normal_data(method):
    errors = np.full(300, 0.25)  # enough for SPOT to have a tail
    assert unfitted(method).fit(errors).threshold_ > 0.25
    assert unfitted(method).fit(errors, np.arange(300) % 50 == 0).threshold_ > 0.25


@pytest.mark.parametrize("method", UNSUPERVISED)
def test_threshold_separates_normal_errors_from_outliers(method):
    rng = np.random.default_rng(0)
    normal = rng.gamma(2.0, 0.01, size=2000)
    threshold = unfitted(method).fit(normal).threshold_
    assert np.mean(normal > threshold) < 0.02
    assert threshold < 1.0  # an error 50x the typical one is flagged


@pytest.mark.parametrize("method", UNSUPERVISED)
def test_unsupervised_methods_ignore_labels(method, labelled_errors):
    errors, labelled = labelled_errors
    assert unfitted(method).fit(errors, labelled).threshold_ == unfitted(method).fit(errors).threshold_
