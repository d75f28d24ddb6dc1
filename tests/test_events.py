import numpy as np

from anomaly.events import (
    ESCALATION_FACTOR,
    MERGE_GAP_WINDOWS,
    MIN_FLAGGED_WINDOWS,
    OpenEventRows,
    merge_flagged_windows,
)


def _merge(starts, errors, threshold=1.0, length=3, segment=None, n_rows=20, open_event=None):
    starts = np.asarray(starts)
    segment = np.zeros(n_rows, dtype=int) if segment is None else np.asarray(segment)
    step_errors = np.zeros(n_rows)
    return merge_flagged_windows(
        starts,
        np.asarray(errors, float),
        threshold,
        length,
        segment,
        step_errors,
        min_windows=MIN_FLAGGED_WINDOWS,
        open_event=open_event,
    )


def test_overlapping_flagged_windows_make_one_event():
    errors = np.zeros(20)
    errors[1 : 1 + MIN_FLAGGED_WINDOWS] = 2
    errors[3] = 3
    events = _merge(range(20), errors, n_rows=30)
    assert len(events) == 1
    event = events[0]
    assert (event.first_row, event.last_row) == (1, MIN_FLAGGED_WINDOWS + 2)
    assert event.n_windows == MIN_FLAGGED_WINDOWS
    assert event.peak_error == 3
    assert event.severity == 3


def _run(first: int) -> list[int]:
    """Starts of the fewest consecutive flagged windows that make an event, from ``first``."""
    return list(range(first, first + MIN_FLAGGED_WINDOWS))


def test_touching_windows_merge_and_distant_ones_do_not():
    # a run of windows ending at row 4 and one starting at row 3 + MIN - 1 touch; a window starting
    # MERGE_GAP_WINDOWS lengths after the last one is a new event
    second = MIN_FLAGGED_WINDOWS
    far = second + MIN_FLAGGED_WINDOWS - 1 + MERGE_GAP_WINDOWS * 3
    starts = _run(0) + _run(second) + _run(far)
    events = _merge(starts, [2] * len(starts), n_rows=far + MIN_FLAGGED_WINDOWS + 2)
    last = second + MIN_FLAGGED_WINDOWS + 1
    assert [(e.first_row, e.last_row) for e in events] == [(0, last), (far, far + MIN_FLAGGED_WINDOWS + 1)]


def test_windows_fewer_than_the_merge_gap_apart_are_one_event():
    # an error that dips under the threshold and returns a few windows later is the same anomaly:
    # starts one row short of MERGE_GAP_WINDOWS lengths apart join, starts exactly that far apart do not
    near = MIN_FLAGGED_WINDOWS - 1 + MERGE_GAP_WINDOWS * 3 - 1
    far = near + MERGE_GAP_WINDOWS * 3
    starts = [*_run(0), near, *_run(far)]
    events = _merge(starts, [2] * len(starts), n_rows=far + MIN_FLAGGED_WINDOWS + 2)
    assert [(e.first_row, e.last_row) for e in events] == [
        (0, near + 2),
        (far, far + MIN_FLAGGED_WINDOWS + 1),
    ]


def test_events_never_join_across_a_gap():
    segment = [0] * 6 + [1] * 6
    starts = _run(0) + _run(6)
    events = _merge(starts, [2] * len(starts), segment=segment, n_rows=12)
    last = MIN_FLAGGED_WINDOWS + 1
    assert [(e.first_row, e.last_row) for e in events] == [(0, last), (6, 6 + last)]


def test_a_blip_of_fewer_windows_than_an_event_needs_is_none_and_an_event_is_confirmed_by_its_last():
    blip = list(range(MIN_FLAGGED_WINDOWS - 1))
    far = MIN_FLAGGED_WINDOWS + MERGE_GAP_WINDOWS * 3
    starts = blip + _run(far)
    (event,) = _merge(starts, [2] * len(starts), n_rows=far + MIN_FLAGGED_WINDOWS + 2)
    assert event.first_row == far
    # positions index the scored windows: the confirming one is the run's last
    assert event.confirming_position == len(starts) - 1


def test_peak_is_where_step_error_is_largest():
    n_windows = MIN_FLAGGED_WINDOWS + 2
    starts = np.arange(n_windows)
    step_errors = np.zeros(n_windows + 3)
    step_errors[3] = 9.0
    errors = np.r_[0.0, [2.0] * MIN_FLAGGED_WINDOWS, 0.0]
    events = merge_flagged_windows(
        starts, errors, 1.0, 3, np.zeros(n_windows + 3, int), step_errors, min_windows=MIN_FLAGGED_WINDOWS
    )
    assert events[0].peak_row == 3


def test_nothing_flagged_gives_no_events():
    assert _merge(range(5), [0.1] * 5) == []


def test_an_event_is_cut_to_the_rows_where_its_error_is_high():
    # windows of 8 rows from 10 on are flagged for a burst of error in rows 17-19 (peak 18)
    step_errors = np.zeros(40)
    step_errors[17:20] = [3.0, 6.0, 4.0]
    step_errors[12] = 2.9  # under half the peak: outside
    errors = np.zeros(30)
    errors[10 : 10 + MIN_FLAGGED_WINDOWS] = 2.0
    (event,) = merge_flagged_windows(
        np.arange(30), errors, 1.0, 8, np.zeros(40, dtype=int), step_errors, min_windows=MIN_FLAGGED_WINDOWS
    )
    assert (event.first_row, event.peak_row, event.last_row) == (17, 18, 19)
    assert event.n_windows == MIN_FLAGGED_WINDOWS


def test_error_returning_far_worse_after_a_dip_starts_a_new_event_and_a_milder_return_does_not():
    # length 3: a first run at error 2, a dip of more than a window length, then a return inside the
    # merge gap; at 2.5 (under ESCALATION_FACTOR x 2) it is the same event, at 7 a new one confirmed
    # at its first window above 6 (or its MIN-th window, if that is later)
    second = MIN_FLAGGED_WINDOWS + 4
    starts = np.arange(second + 2 * MIN_FLAGGED_WINDOWS + 5)
    for returned, expected in ((2.5, 1), (ESCALATION_FACTOR * 2 + 1, 2)):
        errors = np.zeros(len(starts))
        errors[:MIN_FLAGGED_WINDOWS] = 2.0
        errors[second : second + 2 * MIN_FLAGGED_WINDOWS] = 1.5
        errors[second + 1 :: 2][:MIN_FLAGGED_WINDOWS] = returned
        found = _merge(starts, errors, n_rows=len(starts) + 3)
        assert len(found) == expected
    first, later = found
    assert first.confirming_position == MIN_FLAGGED_WINDOWS - 1
    assert later.first_row == second
    assert later.confirming_position == max(second + 1, second + MIN_FLAGGED_WINDOWS - 1)


def test_a_return_after_a_dip_shorter_than_a_window_stays_in_its_event_however_high():
    starts = np.arange(3 * MIN_FLAGGED_WINDOWS)
    errors = np.zeros(len(starts))
    errors[:MIN_FLAGGED_WINDOWS] = 2.0
    errors[MIN_FLAGGED_WINDOWS + 2 : 2 * MIN_FLAGGED_WINDOWS + 2] = 100.0  # starts 3 rows on: not > 3
    (event,) = _merge(starts, errors, n_rows=len(starts) + 3)
    assert event.n_windows == 2 * MIN_FLAGGED_WINDOWS


def test_windows_within_the_merge_gap_of_the_open_event_continue_it_however_few():
    # the open event's last flagged window started 4 rows before this run's first row (length 3);
    # two flagged windows soon after continue it (no alarm of their own), later ones make a new event
    errors = np.zeros(40)
    errors[2:4] = 2.0
    far = 2 + MERGE_GAP_WINDOWS * 3 + 2
    errors[far : far + MIN_FLAGGED_WINDOWS] = 2.0
    earlier = OpenEventRows(last_start=-4, peak_error=1.5)
    continued, new = _merge(np.arange(40), errors, n_rows=45, open_event=earlier)
    assert continued.continues and continued.window_positions.tolist() == [2, 3]
    assert not new.continues and new.first_row == far
    # without the open event the two windows are a blip; beyond the merge gap they are one too
    assert [e.first_row for e in _merge(np.arange(40), errors, n_rows=45)] == [far]
    gone = OpenEventRows(last_start=2 - MERGE_GAP_WINDOWS * 3, peak_error=1.5)
    assert [e.continues for e in _merge(np.arange(40), errors, n_rows=45, open_event=gone)] == [False]


def test_the_open_event_is_not_continued_across_a_gap_in_the_data_nor_by_a_far_worse_return():
    errors = np.zeros(20)
    errors[5 : 5 + MIN_FLAGGED_WINDOWS] = 2.0
    earlier = OpenEventRows(last_start=1, peak_error=1.5)
    (same,) = _merge(np.arange(20), errors, n_rows=25, open_event=earlier)
    assert same.continues
    segment = np.zeros(25, dtype=int)
    segment[4:] = 1  # a gap between the open event and these windows
    (after_gap,) = _merge(np.arange(20), errors, segment=segment, n_rows=25, open_event=earlier)
    assert not after_gap.continues
    # a return more than a window length on, above ESCALATION_FACTOR x its peak: a new, worse fault
    worse = errors * (ESCALATION_FACTOR * 1.5 / 2.0 + 0.1)
    (escalated,) = _merge(np.arange(20), worse, n_rows=25, open_event=earlier)
    assert not escalated.continues and escalated.first_row == 5
    # within a window length of the open event's last window, it is the same run still rising
    close = OpenEventRows(last_start=3, peak_error=1.5)
    (rising,) = _merge(np.arange(20), worse, n_rows=25, open_event=close)
    assert rising.continues
