import typing

import pytest
from pydantic import ValidationError

from anomaly.thresholds import (
    BlockMaximaConfig,
    MadConfig,
    ThresholdConfig,
    UnsupervisedThresholdConfig,
    threshold_config,
    threshold_config_type,
    threshold_methods,
)

CHOICES = "'block_maxima', 'dynamic', 'mad', 'quantile', 'spot', 'label_tuned'"


def _members(union) -> set[type]:
    return set(typing.get_args(typing.get_args(union)[0]))


def test_the_unions_hold_every_registered_method():
    assert _members(ThresholdConfig) == {threshold_config_type(method) for method in threshold_methods()}
    assert _members(UnsupervisedThresholdConfig) == _members(ThresholdConfig) - {
        threshold_config_type("label_tuned")
    }


def test_without_a_method_the_config_is_block_maxima():
    assert threshold_config() == BlockMaximaConfig()
    assert threshold_config({"margin": 2.0}) == BlockMaximaConfig(margin=2.0)
    assert threshold_config({"method": "mad"}, k=3) == MadConfig(k=3)


def test_an_unknown_method_is_an_error_naming_the_choices():
    with pytest.raises(ValidationError, match=f"Input tag 'foo' found using 'method' .* tags: {CHOICES}"):
        threshold_config(method="foo")


def test_a_parameter_of_another_method_is_an_error():
    with pytest.raises(ValidationError, match=r"mad\.blocks\n  Extra inputs are not permitted"):
        threshold_config(method="mad", blocks=3)
    with pytest.raises(ValidationError, match=r"block_maxima\.k\n  Extra inputs are not permitted"):
        threshold_config(k=3)


def test_configs_are_frozen():
    with pytest.raises(ValidationError, match="frozen"):
        threshold_config().margin = 2.0
