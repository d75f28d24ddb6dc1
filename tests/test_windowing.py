import numpy as np

from anomaly.windowing import (
    gather_windows,
    max_over_covering_windows,
    mean_over_covering_windows,
    window_starts,
)


def test_windows_never_span_a_gap():
    segment = np.array([0] * 10 + [1] * 3 + [2] * 7)
    starts = window_starts(segment, 4, 1)
    for start in starts:
        assert len(set(segment[start : start + 4])) == 1
    # segment 1 (3 rows) is too short for a window of 4
    assert not any(10 <= s < 13 for s in starts)
    assert list(starts) == [0, 1, 2, 3, 4, 5, 6, 13, 14, 15, 16]


def test_stride_restarts_in_each_segment():
    segment = np.array([0] * 9 + [1] * 9)
    assert list(window_starts(segment, 4, 3)) == [0, 3, 9, 12]


def test_first_end_keeps_only_windows_reaching_new_rows():
    segment = np.zeros(10, dtype=int)
    starts = window_starts(segment, 4, 1, first_end=8)
    assert list(starts) == [5, 6]
    assert all(start + 3 >= 8 for start in starts)


def test_gather_windows_shape_and_content():
    values = np.arange(20, dtype=float).reshape(10, 2)
    windows = gather_windows(values, np.array([0, 3]), 4)
    assert windows.shape == (2, 4, 2)
    np.testing.assert_array_equal(windows[1], values[3:7])


def test_every_row_of_a_segment_is_covered_by_scoring_windows():
    segment = np.array([0] * 12 + [1] * 6)
    starts = window_starts(segment, 5, 1)
    covered = max_over_covering_windows(np.ones(len(starts)), starts, 5, len(segment))
    assert np.isfinite(covered).all()


def test_row_error_is_max_of_covering_windows():
    starts = np.array([0, 1, 2])
    row_errors = max_over_covering_windows(np.array([1.0, 5.0, 2.0]), starts, 3, 6)
    np.testing.assert_array_equal(row_errors[:5], [1.0, 5.0, 5.0, 5.0, 2.0])
    assert np.isnan(row_errors[5])


def test_step_errors_average_over_covering_windows():
    starts = np.array([0, 1])
    steps = np.array([[1.0, 2.0], [4.0, 6.0]])
    np.testing.assert_allclose(mean_over_covering_windows(steps, starts, 4), [1.0, 3.0, 6.0, np.nan])
