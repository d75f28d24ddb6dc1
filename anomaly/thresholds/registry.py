"""The registry of threshold methods by name, and the lookups that go through it.

Configs, saved models and the database name a method by a string; the registry turns that string
into the class. It sits below the method modules (each registers itself with ``@register_threshold``)
and imports none of them, so that any module of the package can look a method up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar, Union

from pydantic import BeforeValidator, Field, ValidationError

from anomaly.errors import ModelError
from anomaly.thresholds.base import BaseThresholdConfig, Threshold

DEFAULT_METHOD = "block_maxima"

_THRESHOLDS: dict[str, type[Threshold]] = {}

ThresholdT = TypeVar("ThresholdT", bound=type[Threshold])


def register_threshold(cls: ThresholdT) -> ThresholdT:
    """Class decorator: register ``cls`` under the name its ``config_type`` gives ``method``."""
    method = cls.config_type.model_fields["method"].default
    if not isinstance(method, str) or method in _THRESHOLDS:
        raise TypeError(f"{cls.__name__}: its config needs a unique default 'method', got {method!r}")
    cls.method = method
    _THRESHOLDS[method] = cls
    return cls


def threshold_methods() -> tuple[str, ...]:
    """The names of the registered methods, in registration order."""
    return tuple(_THRESHOLDS)


def threshold_config_type(method: str) -> type[BaseThresholdConfig]:
    """The config model of the registered ``method``; ValueError naming the registered ones otherwise."""
    if method not in _THRESHOLDS:
        raise ValueError(f"unknown threshold method {method!r}; choose one of {', '.join(_THRESHOLDS)}")
    return _THRESHOLDS[method].config_type


def threshold_for(config: BaseThresholdConfig) -> Threshold:
    """An unfitted threshold of the method ``config`` is the model of."""
    return _THRESHOLDS[config.method](config)


def threshold_from_dict(data: Mapping[str, Any]) -> Threshold:
    """The fitted threshold that ``Threshold.to_dict`` saved; ``ModelError`` when ``data`` is not one."""
    try:
        config = data["config"]
        threshold = threshold_for(threshold_config_type(config["method"]).model_validate(config))
        threshold.threshold_ = float(data["threshold"])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ModelError(f"saved threshold config is not valid: {problems}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"not a saved threshold: {type(exc).__name__}: {exc}") from None
    return threshold


def _with_default_method(value: object) -> object:
    """A config given as a dict without ``method`` is one of ``DEFAULT_METHOD``."""
    if isinstance(value, Mapping) and "method" not in value:
        return {"method": DEFAULT_METHOD, **value}
    return value


def config_union(methods: Iterable[type[Threshold]]) -> Any:
    """The pydantic type of a config of any of ``methods``: a union told apart by ``method`` (a dict
    without it being one of ``DEFAULT_METHOD``), whose errors name the valid methods."""
    configs = Union[tuple(method.config_type for method in methods)]  # noqa: UP007 - built at run time
    return Annotated[configs, Field(discriminator="method"), BeforeValidator(_with_default_method)]
