"""The one decision path (``anomaly.decisions.decide``): events, the threshold method's pruning, alarms."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd

from anomaly.analysis import analyse_stream
from anomaly.config import ModelConfig, WindowConfig
from anomaly.data.types import PreparationReport, PreparedStream
from anomaly.decisions import decide
from anomaly.detectors import LSTMAutoencoderDetector
from anomaly.events import MIN_FLAGGED_WINDOWS
from anomaly.results import OpenEvent, WindowScores
from anomaly.thresholds import Threshold, threshold_config, threshold_for
from tests.conftest import prepared_stream, sensor_frame


@dataclass
class _Decided:
    """The part of a detector ``decide`` reads, with a threshold set by hand."""

    threshold_method_: Threshold
    max_normal_error_: float
    windows_to_confirm: int = MIN_FLAGGED_WINDOWS
    window: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(length=3))

    @property
    def threshold_(self) -> float:
        return self.threshold_method_.threshold_


def _fixed(method: str, threshold: float, **settings) -> Threshold:
    fitted = threshold_for(threshold_config({"method": method, **settings}))
    fitted.threshold_ = threshold
    return fitted


def _stream(n_rows: int) -> PreparedStream:
    index = pd.date_range("2026-01-01", periods=n_rows, freq="10min", tz="UTC")
    return PreparedStream(
        name="s",
        values=pd.DataFrame({"value": np.zeros(n_rows)}, index=index),
        segment=np.zeros(n_rows, dtype=int),
        frequency=pd.Timedelta("10min"),
        report=PreparationReport(input_rows=n_rows),
    )


N_SCORED = 40
CLEAR = slice(5, 5 + MIN_FLAGGED_WINDOWS)
# barely above the threshold and the largest normal error; starts 19 rows after the last clearly
# anomalous window, beyond the merge gap (6 windows of 3 rows), so a separate event
BARELY = slice(CLEAR.stop + 18, CLEAR.stop + 18 + MIN_FLAGGED_WINDOWS)


def _scores() -> WindowScores:
    errors = np.full(N_SCORED, 0.5)
    errors[CLEAR] = 3.0  # clearly anomalous
    errors[BARELY] = 1.05
    return WindowScores(starts=np.arange(N_SCORED), window_errors=errors, step_errors=np.zeros((N_SCORED, 3)))


def test_dynamic_threshold_prunes_events_close_to_normal_errors_and_others_do_not():
    stream, scores = _stream(N_SCORED + 10), _scores()
    kept = decide(_Decided(_fixed("block_maxima", 1.0), 1.0), stream, scores)
    assert [event.peak_error for event in kept.events] == [3.0, 1.05]
    pruned = decide(_Decided(_fixed("dynamic", 1.0, dynamic_min_decrease=0.13), 1.0), stream, scores)
    assert [event.peak_error for event in pruned.events] == [3.0]
    assert pruned.flagged_windows.tolist() == [CLEAR.start <= i < CLEAR.stop for i in range(N_SCORED)]
    # the run's own largest unflagged error counts as normal too: 1.05 -> 0.5 is a clear decrease
    alone = decide(_Decided(_fixed("dynamic", 1.0, dynamic_min_decrease=0.6), 0.0), stream, scores)
    assert len(alone.events) == 1


def test_alarms_are_one_per_event_at_its_start_or_when_it_can_be_known():
    decisions = decide(_Decided(_fixed("block_maxima", 1.0), 1.0), _stream(N_SCORED + 10), _scores())
    assert decisions.alarm_rows(causal=False).tolist() == [CLEAR.start, BARELY.start]
    # the last row (+2, windows of 3) of each event's last needed flagged window: when it is confirmed
    assert decisions.alarm_rows(causal=True).tolist() == [CLEAR.stop - 1 + 2, BARELY.stop - 1 + 2]
    later = decide(
        _Decided(_fixed("block_maxima", 1.0), 1.0), _stream(N_SCORED + 10), _scores(), first_row=10
    )
    assert np.isnan(later.row_errors[:10]).all()


def test_a_blip_at_the_threshold_is_no_event():
    errors = np.full(N_SCORED, 0.5)
    errors[CLEAR.start : CLEAR.stop - 1] = 3.0  # one window fewer than an event needs
    scores = WindowScores(
        starts=np.arange(N_SCORED), window_errors=errors, step_errors=np.zeros((N_SCORED, 3))
    )
    decisions = decide(_Decided(_fixed("block_maxima", 1.0), 1.0), _stream(N_SCORED + 10), scores)
    assert decisions.events == [] and not decisions.flagged_windows.any()


def test_detector_tunes_on_labels_inside_its_rows_and_dynamic_prunes_events():
    stream = prepared_stream(sensor_frame("s", n=600, seed=4, spike_at=300))
    spike = stream.values.index[300:303]
    later = (pd.Timestamp("2030-01-01", tz="UTC"), pd.Timestamp("2030-01-02", tz="UTC"))
    detector = LSTMAutoencoderDetector(
        window=WindowConfig(length=16, train_stride=4),
        model=ModelConfig(units=8, epochs=3, batch_size=32, patience=2),
        threshold=threshold_config({"method": "label_tuned", "labels": "labels.json"}),
        max_clusters=3,
    ).fit(stream, labels=[(spike[0], spike[-1]), later])
    scores = detector.score_samples(stream)
    flagged_starts = scores.starts[detector.predict(stream)]
    assert len(flagged_starts) > 0
    assert all(285 <= start <= 302 for start in flagged_starts)  # windows overlapping the spike only

    # a low threshold flags many noise events of similar peaks; 'dynamic' prunes them, keeps the spike
    low = float(np.nanquantile(scores.window_errors, 0.85))
    detector.threshold_method_ = _fixed("block_maxima", low)
    unpruned = analyse_stream(detector, stream).events
    detector.threshold_method_ = _fixed("dynamic", low)
    pruned = analyse_stream(detector, stream)
    assert len(pruned.events) < len(unpruned)
    assert any(event.first_row <= 300 <= event.last_row for event in pruned.events)
    assert pruned.flagged_windows.sum() < sum(event.n_windows for event in unpruned)


def test_a_run_of_new_rows_keeps_a_short_group_at_its_first_window_as_the_rest_of_an_earlier_one():
    # a scheduled run every row scores one window: were it held to MIN_FLAGGED_WINDOWS, no anomaly
    # would ever be an event; a short group is kept where it begins at the first window of such a run
    errors = np.full(N_SCORED, 0.5)
    errors[:2] = 3.0
    errors[20:22] = 3.0  # the same, inside the run: a blip
    scores = WindowScores(
        starts=np.arange(N_SCORED), window_errors=errors, step_errors=np.zeros((N_SCORED, 3))
    )
    detector = _Decided(_fixed("block_maxima", 1.0), 1.0)
    one_shot = decide(detector, _stream(N_SCORED + 10), scores)
    assert one_shot.events == []
    later = decide(detector, _stream(N_SCORED + 10), scores, first_row=2)
    assert [event.window_positions.tolist() for event in later.events] == [[0, 1]]
    assert later.alarm_rows(causal=True).tolist() == [1 + 2]


def test_windows_continuing_the_open_event_raise_no_alarm_and_are_not_pruned():
    # the open event's last flagged window started two rows before this stream's first row read;
    # the first windows here (barely above the threshold: 'dynamic' would prune them) continue it
    stream = _stream(N_SCORED + 10)
    errors = np.full(N_SCORED, 0.5)
    errors[:2] = 1.05
    errors[BARELY] = 3.0
    scores = WindowScores(
        starts=np.arange(N_SCORED), window_errors=errors, step_errors=np.zeros((N_SCORED, 3))
    )
    earlier = OpenEvent(
        last_window_start=stream.values.index[0] - 2 * stream.frequency, severity=2.0, anomaly_id=7
    )
    detector = _Decided(_fixed("dynamic", 1.0, dynamic_min_decrease=0.13), 1.0)
    decisions = decide(detector, stream, scores, first_row=0, open_event=earlier)
    assert [(event.continues, event.window_positions[0]) for event in decisions.events] == [
        (True, 0),
        (False, BARELY.start),
    ]
    assert decisions.flagged_windows[:2].all()
    assert decisions.alarm_rows(causal=True).tolist() == [BARELY.stop - 1 + 2]
    assert decisions.alarm_rows(causal=False).tolist() == [BARELY.start]
    # stored times come back naive from SQLite: they are UTC
    naive = OpenEvent(
        last_window_start=earlier.last_window_start.tz_localize(None), severity=2.0, anomaly_id=7
    )
    assert decide(detector, stream, scores, open_event=naive).events[0].continues
