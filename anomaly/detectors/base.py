"""The detector contract every detector keeps, and the steps all detectors share.

It follows scikit-learn's outlier detectors (``IsolationForest``): ``__init__`` only stores
keyword-only parameters; ``fit`` validates its input, then calls the subclass's ``_fit_core``, and
everything learnt ends in an underscore; ``score_samples`` gives the window errors, ``threshold_`` is
the learnt threshold, ``decision_function`` is their difference and ``predict`` the flags;
``transform`` gives the windows' embeddings. A detector works on windows of a prepared stream, so the
pipeline, the evaluation protocols and the decision path (``anomaly.decisions``) can take any of them.
"""

from __future__ import annotations

import platform
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from anomaly import events
from anomaly.config import ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.embeddings import EmbeddingSpace
from anomaly.errors import DataError, ModelError
from anomaly.results import WindowScores
from anomaly.scaling import ChannelScaler
from anomaly.thresholds import (
    Threshold,
    fit_setting_aside_flagged,
    labelled_windows,
    threshold_for,
    threshold_from_dict,
)
from anomaly.windowing import gather_windows, window_starts

if TYPE_CHECKING:
    from anomaly.config import PipelineConfig

REFERENCE_SIZE = 1000
LabelIntervals = Sequence[tuple[pd.Timestamp, pd.Timestamp]]


class Detector(ABC):
    """A per-stream anomaly detector over windows of ``window.length`` rows.

    Learnt state common to every detector: ``channels_``, ``scaler_`` (per-channel standardisation
    fitted on the training rows), ``threshold_method_`` (the fitted ``anomaly.thresholds.Threshold``),
    ``reference_errors_`` (up to 1,000 quantiles of the errors of normal held-out windows, against
    which ``anomaly.retrain`` tests later errors for drift), ``embedding_space_``, ``trained_from_``,
    ``trained_to_``, ``n_training_windows_`` and ``val_loss_`` (None where nothing is validated).
    """

    name: ClassVar[str]

    def __init__(self, *, window: WindowConfig, threshold: ThresholdConfig, max_clusters: int = 8) -> None:
        self.window = window
        self.threshold = threshold
        self.max_clusters = max_clusters

    @classmethod
    @abstractmethod
    def from_config(cls, config: PipelineConfig) -> Self:
        """A detector set up from the pipeline configuration."""

    # -- the contract ------------------------------------------------------------------------------
    def fit(
        self,
        stream: PreparedStream,
        *,
        exclude_rows: np.ndarray | None = None,
        labels: LabelIntervals | None = None,
    ) -> Self:
        """Learn from ``stream``, without labels unless ``labels`` gives some.

        ``exclude_rows`` (n_rows,) bool marks rows the detector must not learn from, such as confirmed
        anomalies: no window overlapping one reaches training, the threshold or the reference errors.
        ``labels`` are (start, end) intervals of known anomalies; only a label-tuned threshold uses
        them, and only those reaching into the fitted windows.
        """
        n_rows = len(stream.values)
        excluded = np.zeros(n_rows, dtype=bool) if exclude_rows is None else np.asarray(exclude_rows)
        if excluded.shape != (n_rows,) or excluded.dtype != bool:
            raise ValueError(f"exclude_rows must be a boolean array of shape ({n_rows},)")
        self._fit_core(stream, excluded, labels)
        return self

    def score_samples(self, stream: PreparedStream, *, first_row: int = 0) -> WindowScores:
        """Errors of every stride-1 window ending at or after ``first_row`` (so each new row is covered).

        Incremental runs give the errors a one-shot run gives: what a window's error depends on
        before ``first_row`` (smoothing, trailing statistics) is recomputed, not assumed.
        """
        self._check_fitted()
        self._check_channels(stream)
        return self._score_core(stream, first_row)

    def decision_function(self, stream: PreparedStream, *, first_row: int = 0) -> np.ndarray:
        """Window errors minus the threshold (n_windows,): positive means anomalous."""
        return self.score_samples(stream, first_row=first_row).window_errors - self.threshold_

    def predict(self, stream: PreparedStream, *, first_row: int = 0) -> np.ndarray:
        """Flags (n_windows,): True where a window's error is above the threshold, before events are
        merged and pruned (``anomaly.decisions.decide`` does that)."""
        return self.decision_function(stream, first_row=first_row) > 0

    def transform(self, stream: PreparedStream, starts: np.ndarray | None = None) -> np.ndarray:
        """Embeddings (n_windows, dim) of the windows at ``starts`` (default: every stride-1 window)."""
        self._check_fitted()
        self._check_channels(stream)
        if starts is None:
            starts = window_starts(stream.segment, self.window.length, 1)
        return self._embed(self._scaled_windows(stream, np.asarray(starts)))

    @abstractmethod
    def reconstruct(self, stream: PreparedStream, starts: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """For the windows at ``starts``: the detector's version of them (n, window, channels) in the
        data's units, or None where it has none, and their embeddings (n, dim)."""

    @abstractmethod
    def history_rows_needed(self, frequency: pd.Timedelta) -> int:
        """Grid steps before the first row to score that its scores depend on, for a stream on a grid of
        ``frequency``: given those rows and the ones after, ``score_samples`` gives what it gives with
        the whole history, so a scheduled run reads no more of the source than that."""

    @property
    def threshold_(self) -> float:
        """The learnt threshold, on the scale of the window errors."""
        self._check_fitted()
        return self.threshold_method_.threshold_

    @property
    def windows_to_confirm(self) -> int:
        """Flagged windows that make an event (``anomaly.events.MIN_FLAGGED_WINDOWS``): a window's error
        describes all of its rows, so every window holding an anomalous row sees the anomaly, and a few
        windows at the threshold are its noise."""
        return events.MIN_FLAGGED_WINDOWS

    @property
    def max_normal_error_(self) -> float:
        """The largest error of a normal held-out window seen in fitting: the floor of event pruning."""
        self._check_fitted()
        return float(self.reference_errors_.max(initial=0.0))

    def training_summary(self) -> str:
        """A few words on how fitting went, for the run log."""
        return f"threshold {self.threshold_:.4g}"

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write the artifact (``anomaly.detectors.artifacts``) to ``directory``."""
        from anomaly.detectors.artifacts import save_detector

        save_detector(self, directory)

    @classmethod
    def load(cls, directory: Path) -> Detector:
        """Rebuild a fitted detector of any registered kind from ``save`` output."""
        from anomaly.detectors.artifacts import load_detector

        return load_detector(directory)

    def record(self) -> dict[str, Any]:
        """Everything but weight files, as JSON: also what the ``models.params`` column stores."""
        self._check_fitted()
        return {
            "detector": self.name,
            "window": self.window.model_dump(),
            "threshold_config": self.threshold.model_dump(mode="json"),
            "max_clusters": self.max_clusters,
            "channels": self.channels_,
            "scaler": self.scaler_.to_dict(),
            "threshold": self.threshold_,
            "reference_errors": self.reference_errors_.tolist(),
            "n_training_windows": self.n_training_windows_,
            "val_loss": self.val_loss_,
            "trained_from": self.trained_from_.isoformat(),
            "trained_to": self.trained_to_.isoformat(),
            "embedding_space": self.embedding_space_.to_dict(),
            "versions": {"python": platform.python_version(), "numpy": np.__version__},
            **self._record_core(),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], directory: Path) -> Self:
        """Inverse of ``record`` (plus the files ``_save_files`` wrote to ``directory``)."""
        detector = cls._unfitted_from_record(record)
        detector.channels_ = record["channels"]
        detector.scaler_ = ChannelScaler.from_dict(record["scaler"])
        detector.threshold_method_ = threshold_from_dict(
            {"config": record["threshold_config"], "threshold": record["threshold"]}
        )
        detector.reference_errors_ = np.asarray(record.get("reference_errors", []), dtype=float)
        detector.n_training_windows_ = record["n_training_windows"]
        detector.val_loss_ = record.get("val_loss")
        detector.trained_from_ = datetime.fromisoformat(record["trained_from"])
        detector.trained_to_ = datetime.fromisoformat(record["trained_to"])
        detector.embedding_space_ = EmbeddingSpace.from_dict(record["embedding_space"])
        detector._restore_core(record, directory)
        return detector

    def _save_files(self, directory: Path) -> None:  # noqa: B027 - most detectors need no files
        """Write what the JSON record does not hold (weights) to ``directory``."""

    # -- what each detector implements ------------------------------------------------------------
    @abstractmethod
    def _fit_core(self, stream: PreparedStream, excluded: np.ndarray, labels: LabelIntervals | None) -> None:
        """Learn every fitted attribute (see the class)."""

    @abstractmethod
    def _embed(self, windows: np.ndarray) -> np.ndarray:
        """Embeddings (n, dim) of scaled ``windows`` (n, window, channels)."""

    @abstractmethod
    def _score_core(self, stream: PreparedStream, first_row: int) -> WindowScores:
        """``score_samples`` after the checks."""

    @abstractmethod
    def _record_core(self) -> dict[str, Any]:
        """The detector's own parameters and state for the JSON record."""

    @classmethod
    @abstractmethod
    def _unfitted_from_record(cls, record: dict[str, Any]) -> Self:
        """The detector with the parameters ``_record_core`` stored, not yet fitted."""

    @abstractmethod
    def _restore_core(self, record: dict[str, Any], directory: Path) -> None:
        """Restore the detector's own fitted state from the record and the artifact's files."""

    # -- steps every detector shares ---------------------------------------------------------------
    def _learn_threshold(
        self,
        stream: PreparedStream,
        starts: np.ndarray,
        errors: np.ndarray,
        labels: LabelIntervals | None,
        held_out_starts: np.ndarray,
    ) -> None:
        """Fit ``threshold_method_`` on the errors of the windows at ``starts``, and keep the reference
        errors: those of the ``held_out_starts`` windows at or below the threshold, i.e. what new normal
        data should give."""
        scored = np.isfinite(errors)
        starts, errors = starts[scored], errors[scored]
        labelled = None
        if labels is not None:
            labelled = labelled_windows(labels, stream.values.index, starts, self.window.length)
        method: Threshold = threshold_for(self.threshold)
        try:
            fit_setting_aside_flagged(method, errors, starts, self.window.length, labelled)
        except ValueError as exc:  # e.g. too few windows for SPOT's tail: this stream's problem, said so
            raise DataError(f"cannot learn the threshold: {exc}", stream=stream.name) from None
        self.threshold_method_ = method
        reference = errors[np.isin(starts, held_out_starts)]
        self.reference_errors_ = quantile_sample(reference[reference <= method.threshold_])

    def _scaled_windows(self, stream: PreparedStream, starts: np.ndarray) -> np.ndarray:
        """The windows of ``stream`` at ``starts``, (n, window, channels), in the scaler's units."""
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        return gather_windows(scaled, starts, self.window.length)

    def _record_training_span(self, stream: PreparedStream) -> None:
        """Keep the first and last timestamps of the data fitted on (``trained_from_``, ``trained_to_``)."""
        self.trained_from_ = stream.values.index[0].to_pydatetime()
        self.trained_to_ = stream.values.index[-1].to_pydatetime()

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_method_"):
            raise ModelError("this detector has not been fitted: call fit() or load() first")

    def _check_channels(self, stream: PreparedStream) -> None:
        if stream.channels != self.channels_:
            raise ModelError(
                f"stream {stream.name!r} has channels {stream.channels}, but its model was trained on "
                f"{self.channels_}; retrain it"
            )


def quantile_sample(errors: np.ndarray, size: int = REFERENCE_SIZE) -> np.ndarray:
    """At most ``size`` evenly spaced quantiles of ``errors`` (all of them, sorted, when fewer), kept to
    six significant digits: a compact stand-in for the distribution in the JSON record."""
    errors = np.sort(np.asarray(errors, dtype=float))
    if len(errors) > size:
        errors = np.quantile(errors, np.linspace(0, 1, size))
    return np.array([float(f"{error:.6g}") for error in errors])
