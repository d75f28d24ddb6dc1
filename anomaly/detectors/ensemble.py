"""The ensemble detector: several detectors judge the same windows, and a window is as anomalous as
the member that finds it most so.

Each member learns its own threshold from the data, as it would alone; a window's ensemble error is the
largest of its members' error-to-threshold ratios, so the ensemble's threshold is 1 and an alarm means
"at least one member is past its own threshold". Members answer different questions (the LSTM: does
this window look like the stream's windows; the seasonal naive detector: is it what this time of the
cycle usually is), so their alarms add up rather than average out, and a member that has nothing to
say about a stream (NaN errors) leaves the decision to the others. Embeddings, reconstructions and
the embedding space are the first member's.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from anomaly.config import PipelineConfig, ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.detectors.base import Detector, LabelIntervals, quantile_sample
from anomaly.detectors.registry import detector_class
from anomaly.model.training_set import clear_of
from anomaly.results import WindowScores
from anomaly.thresholds import threshold_config, threshold_from_dict
from anomaly.windowing import window_starts

ENSEMBLE_THRESHOLD = 1.0
THRESHOLD_FLOOR = 1e-12
"""A member's threshold is taken as at least this, so that a member whose threshold is 0 (errors that
never vary) gives a large, finite ratio for any error, and none for a missing one."""


class EnsembleDetector(Detector):
    """Members fitted on the same rows; window error = max over members of error / member threshold.

    Fitted state besides ``Detector``'s: the fitted ``members`` themselves (in configuration order).
    """

    name = "ensemble"

    def __init__(
        self,
        *,
        members: list[Detector],
        window: WindowConfig,
        threshold: ThresholdConfig,
        max_clusters: int = 8,
    ) -> None:
        super().__init__(window=window, threshold=threshold, max_clusters=max_clusters)
        self.members = members

    @classmethod
    def from_config(cls, config: PipelineConfig) -> Self:
        """The members ``[ensemble] members`` names, each set up from the same configuration."""
        return cls(
            members=[detector_class(name).from_config(config) for name in config.ensemble.members],
            window=config.window,
            threshold=config.threshold,
            max_clusters=config.embeddings.max_clusters,
        )

    @property
    def primary(self) -> Detector:
        """The first member: the one whose embeddings and reconstructions the ensemble shows."""
        return self.members[0]

    def _fit_core(self, stream: PreparedStream, excluded: np.ndarray, labels: LabelIntervals | None) -> None:
        for member in self.members:
            member.fit(stream, exclude_rows=excluded, labels=labels)
        primary = self.primary
        self.channels_ = primary.channels_
        self.scaler_ = primary.scaler_
        self.embedding_space_ = primary.embedding_space_
        self.n_training_windows_ = primary.n_training_windows_
        self.val_loss_ = primary.val_loss_
        self.threshold_method_ = threshold_from_dict(
            {"config": self.threshold.model_dump(mode="json"), "threshold": ENSEMBLE_THRESHOLD}
        )
        scores = self._combined(stream, first_row=0)
        fitted = np.isin(
            scores.starts,
            clear_of(window_starts(stream.segment, self.window.length, 1), excluded, self.window.length),
        )
        normal = scores.window_errors[fitted]
        self.reference_errors_ = quantile_sample(normal[np.isfinite(normal) & (normal <= ENSEMBLE_THRESHOLD)])
        self._record_training_span(stream)

    def _score_core(self, stream: PreparedStream, first_row: int) -> WindowScores:
        return self._combined(stream, first_row=first_row)

    def _combined(self, stream: PreparedStream, *, first_row: int) -> WindowScores:
        """The members' scores as ratios to their thresholds, window by window (the union of their
        windows; a member without a window's score leaves it to the others), and their maximum."""
        member_scores = [member.score_samples(stream, first_row=first_row) for member in self.members]
        starts = reduce(np.union1d, (scores.starts for scores in member_scores))
        window_ratios = np.full((len(self.members), len(starts)), np.nan)
        step_ratios = np.full((len(self.members), len(starts), self.window.length), np.nan)
        for place, (member, scores) in enumerate(zip(self.members, member_scores, strict=True)):
            threshold = max(member.threshold_, THRESHOLD_FLOOR)
            at = np.searchsorted(starts, scores.starts)
            window_ratios[place, at] = scores.window_errors / threshold
            step_ratios[place, at] = scores.step_errors / threshold
        return WindowScores(
            starts=starts,
            window_errors=reduce(np.fmax, window_ratios),
            step_errors=np.nan_to_num(reduce(np.fmax, step_ratios)),
        )

    @property
    def windows_to_confirm(self) -> int:
        """What the quickest member needs: any member alone may flag a window."""
        return min(member.windows_to_confirm for member in self.members)

    def history_rows_needed(self, frequency: pd.Timedelta) -> int:
        """What the member needing the most history needs."""
        return max(member.history_rows_needed(frequency) for member in self.members)

    def reconstruct(self, stream: PreparedStream, starts: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """The first member's reconstructions and embeddings."""
        self._check_fitted()
        return self.primary.reconstruct(stream, starts)

    def _embed(self, windows: np.ndarray) -> np.ndarray:
        return self.primary._embed(windows)

    def training_summary(self) -> str:
        """Each member's summary, by name."""
        return "; ".join(f"{member.name}: {member.training_summary()}" for member in self.members)

    def _record_core(self) -> dict[str, Any]:
        return {"members": [member.record() for member in self.members]}

    def _save_files(self, directory: Path) -> None:
        for place, member in enumerate(self.members):
            member_directory = _member_directory(directory, place)
            member_directory.mkdir(parents=True, exist_ok=True)
            member._save_files(member_directory)

    @classmethod
    def _unfitted_from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            members=[],
            window=WindowConfig(**record["window"]),
            threshold=threshold_config(record["threshold_config"]),
            max_clusters=record["max_clusters"],
        )

    def _restore_core(self, record: dict[str, Any], directory: Path) -> None:
        self.members = [
            detector_class(member["detector"]).from_record(member, _member_directory(directory, place))
            for place, member in enumerate(record["members"])
        ]


def _member_directory(directory: Path, place: int) -> Path:
    """Where the ``place``-th member keeps its files inside the ensemble's artifact folder."""
    return directory / f"member-{place}"
