"""The contract every threshold method implements, and the config fields they all share.

A threshold must sit above the errors normal data reaches, yet below anomalies that unlabelled
fitting data usually contains; methods differ only in how they find that level. So the checks every
method needs (finite errors, a labels mask that matches them, a threshold kept above errors that
barely vary) live here once, in ``Threshold.fit``, and each method implements ``_fit_core`` alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, Literal, Self, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from anomaly.errors import ModelError


class BaseThresholdConfig(BaseModel):
    """The fields every method's config has; each method's model narrows ``method`` to its name.

    Frozen and closed like the pipeline config's sections (unknown keys, including a parameter of
    another method, are rejected), but defined here so that the thresholds do not import
    ``anomaly.config``, which imports them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    errors: Literal["fitted", "validation"] = Field(
        "fitted", description="learn from every window of the fitted rows, or only the held-out tail"
    )
    refits: int = Field(
        3,
        ge=0,
        le=10,
        description="learn again up to this many times without the windows the last threshold flagged "
        "and those overlapping them, so that anomalies in the training data do not lift the threshold "
        "above themselves (anomaly.thresholds.refit); 3 was chosen on the four development families, "
        "see docs/quality.md; 0 learns once",
    )


ConfigT = TypeVar("ConfigT", bound=BaseThresholdConfig)


class Threshold(ABC, Generic[ConfigT]):
    """A method that learns, from window errors assumed mostly normal, the error above which a window
    is anomalous (``threshold_``), and may then veto some of the events its threshold flags.

    ``__init__`` only stores the config; ``fit`` validates its input and sets ``threshold_``.
    ``method`` (the registry name) and ``config_type`` (the method's config model) are class
    attributes, ``method`` being set by ``register_threshold`` from the config's ``method`` field.
    """

    method: ClassVar[str]
    config_type: ClassVar[type[BaseThresholdConfig]]
    threshold_: float

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    def fit(self, errors: np.ndarray, labelled: np.ndarray | None = None) -> Self:
        """Learn ``threshold_`` from window ``errors`` (n,) in time order; NaN and inf are ignored.

        ``labelled`` (n,) bool, True where a window overlaps a labelled anomaly, is used by methods
        that tune on labels and ignored by the others. When the errors barely vary (a perfectly learnt
        or constant series) the threshold is kept strictly above the largest error, so that normal
        data is never flagged.
        """
        errors = np.asarray(errors, dtype=float)
        finite = np.isfinite(errors)
        if not finite.any():
            raise ValueError("no finite window errors to learn a threshold from")
        if labelled is not None:
            labelled = np.asarray(labelled, dtype=bool)
            if labelled.shape != errors.shape:
                raise ValueError(f"labelled must have one entry per window error, {errors.size}")
            labelled = labelled[finite]
        errors = errors[finite]
        threshold = self._fit_core(errors, labelled)
        floor = _above_the_bulk(errors) if _errors_barely_vary(errors) else 0.0
        self.threshold_ = max(float(threshold), floor)
        return self

    @abstractmethod
    def _fit_core(self, errors: np.ndarray, labelled: np.ndarray | None) -> float:
        """The method's threshold for finite ``errors`` (n,) in time order and ``labelled`` (n,) or None."""

    def keep_events(self, peak_errors: np.ndarray, max_normal_error: float) -> np.ndarray:
        """Which flagged events stay anomalous: (n_events,) bool, one per event's ``peak_errors``.

        ``max_normal_error`` is the largest error known to be normal. Every event is kept unless the
        method prunes (see ``DynamicThreshold``).
        """
        self._check_fitted()
        return self._keep(np.asarray(peak_errors, dtype=float), max_normal_error)

    def _keep(self, peak_errors: np.ndarray, max_normal_error: float) -> np.ndarray:
        return np.ones(peak_errors.shape, dtype=bool)

    def to_dict(self) -> dict:
        """The fitted threshold as JSON-ready data: ``{"config": ..., "threshold": ...}``."""
        self._check_fitted()
        return {"config": self.config.model_dump(mode="json"), "threshold": self.threshold_}

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise ModelError(
                f"the {self.method!r} threshold is not fitted yet: call fit(window_errors) first"
            )


BULK_QUANTILE = 0.99


def _above_the_bulk(errors: np.ndarray) -> float:
    """Just above the ``BULK_QUANTILE`` of ``errors``: where most errors are equal, a spread-based
    threshold collapses onto them and would flag normal noise, so it is kept above the bulk; but not
    above the largest error, which in a series that holds its anomalies is the anomaly itself."""
    return float(np.quantile(errors, BULK_QUANTILE)) * 1.000001 + 1e-12


def _errors_barely_vary(errors: np.ndarray) -> bool:
    """Whether the errors are (nearly) all equal, which makes any spread-based threshold meaningless."""
    return float(np.median(np.abs(errors - np.median(errors)))) <= 1e-12 * max(
        1.0, float(np.abs(errors).max())
    )
