import numpy as np
import pytest

from anomaly.errors import ModelError
from anomaly.thresholds import (
    UNSUPERVISED_THRESHOLDS,
    BlockMaximaConfig,
    BlockMaximaThreshold,
    LabelTunedConfig,
    MadConfig,
    MadThreshold,
    threshold_config_type,
    threshold_for,
    threshold_from_dict,
    threshold_methods,
)


def test_every_method_is_registered_and_fits_the_database_column():
    assert set(threshold_methods()) == {"block_maxima", "mad", "quantile", "spot", "dynamic", "label_tuned"}
    assert all(len(method) <= 32 for method in threshold_methods())
    assert {threshold.method for threshold in UNSUPERVISED_THRESHOLDS} == set(threshold_methods()) - {
        "label_tuned"
    }


def test_lookups_by_name():
    assert threshold_config_type("mad") is MadConfig
    assert threshold_config_type("label_tuned") is LabelTunedConfig
    with pytest.raises(ValueError, match="unknown threshold method 'foo'; choose one of block_maxima, "):
        threshold_config_type("foo")
    assert type(threshold_for(MadConfig(k=2))) is MadThreshold
    assert type(threshold_for(BlockMaximaConfig())) is BlockMaximaThreshold


def test_a_saved_threshold_that_is_not_one_is_a_model_error():
    saved = threshold_for(MadConfig()).fit(np.arange(10.0)).to_dict()
    with pytest.raises(ModelError, match="not a saved threshold: KeyError"):
        threshold_from_dict({"config": saved["config"]})
    with pytest.raises(ModelError, match="unknown threshold method 'foo'"):
        threshold_from_dict({**saved, "config": {"method": "foo"}})
    with pytest.raises(ModelError, match="saved threshold config is not valid: k: "):
        threshold_from_dict({**saved, "config": {"method": "mad", "k": -1}})
