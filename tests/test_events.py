import numpy as np

from anomaly.events import MERGE_GAP_WINDOWS, merge_flagged_windows


def _merge(starts, errors, threshold=1.0, length=3, segment=None, n_rows=20):
    starts = np.asarray(starts)
    segment = np.zeros(n_rows, dtype=int) if segment is None else np.asarray(segment)
    step_errors = np.zeros(n_rows)
    return merge_flagged_windows(starts, np.asarray(errors, float), threshold, length, segment, step_errors)


def test_overlapping_flagged_windows_make_one_event():
    events = _merge(range(10), [0, 2, 3, 2, 0, 0, 0, 0, 0, 0])
    assert len(events) == 1
    event = events[0]
    assert (event.first_row, event.last_row) == (1, 5)
    assert event.n_windows == 3
    assert event.peak_error == 3
    assert event.severity == 3


def test_touching_windows_merge_and_distant_ones_do_not():
    # windows at 0 (rows 0-2) and 3 (rows 3-5) touch; a window starting MERGE_GAP_WINDOWS lengths
    # after the last one is a new event
    far = 3 + MERGE_GAP_WINDOWS * 3
    events = _merge([0, 3, far], [2, 2, 2], n_rows=far + 3)
    assert [(e.first_row, e.last_row) for e in events] == [(0, 5), (far, far + 2)]


def test_windows_fewer_than_the_merge_gap_apart_are_one_event():
    # an error that dips under the threshold and returns a few windows later is the same anomaly:
    # starts one row short of MERGE_GAP_WINDOWS lengths apart join, starts exactly that far apart do not
    near = MERGE_GAP_WINDOWS * 3 - 1
    far = near + MERGE_GAP_WINDOWS * 3
    events = _merge([0, near, far], [2, 2, 2], n_rows=far + 3)
    assert [(e.first_row, e.last_row) for e in events] == [(0, near + 2), (far, far + 2)]


def test_events_never_join_across_a_gap():
    segment = [0] * 5 + [1] * 5
    events = _merge([1, 2, 5], [2, 2, 2], segment=segment, n_rows=10)
    assert [(e.first_row, e.last_row) for e in events] == [(1, 4), (5, 7)]


def test_peak_is_where_step_error_is_largest():
    starts = np.arange(5)
    step_errors = np.array([0, 0, 0, 9.0, 0, 0, 0, 0])
    events = merge_flagged_windows(starts, np.array([0, 2, 2, 2, 0.0]), 1.0, 3, np.zeros(8, int), step_errors)
    assert events[0].peak_row == 3


def test_nothing_flagged_gives_no_events():
    assert _merge(range(5), [0.1] * 5) == []


def test_an_event_is_cut_to_the_rows_where_its_error_is_high():
    # windows of 8 rows at 10..14 are flagged for a burst of error in rows 17-19 (peak 18)
    step_errors = np.zeros(40)
    step_errors[17:20] = [3.0, 6.0, 4.0]
    step_errors[12] = 2.9  # under half the peak: outside
    errors = np.zeros(30)
    errors[10:15] = 2.0
    (event,) = merge_flagged_windows(np.arange(30), errors, 1.0, 8, np.zeros(40, dtype=int), step_errors)
    assert (event.first_row, event.peak_row, event.last_row) == (17, 18, 19)
    assert event.n_windows == 5
